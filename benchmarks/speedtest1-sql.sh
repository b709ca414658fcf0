#!/usr/bin/env bash
# Writes the SQL of SQLite's speedtest1 to a file, for the optional replay in workload w6:
#
#   bash benchmarks/speedtest1-sql.sh [OUT.sql] [SIZE]        # default /tmp/speedtest1.sql, size 100
#   SPEEDTEST1_SQL=/tmp/speedtest1.sql node benchmarks/run.mjs --quick --only w6
#
# A C program cannot call the container's VFS (it lives in the Node process), so speedtest1 is
# built against better-sqlite3's own amalgamation and run on a plain file with `--script`, which
# records every statement it executes; w6 then replays that SQL through better-sqlite3 on a plain
# file and through `cart.sqlite()`.
#
# speedtest1.c comes from $SPEEDTEST1_C, or from Debian's sqlite3 source package (`apt-get
# source`, with a private deb-src list under the work directory: /etc/apt is left alone).
# Needs a C compiler. The build takes ~20 s (the amalgamation is large).
set -euo pipefail

out=${1:-/tmp/speedtest1.sql}
size=${2:-100}
here=$(cd "$(dirname "$0")" && pwd)
work=${SPEEDTEST1_WORK:-/tmp/cartridge-speedtest1}
mkdir -p "$work"

amalgamation=$(cd "$here" && node -e "const p=require('path');console.log(p.join(p.dirname(require.resolve('better-sqlite3/package.json')),'deps','sqlite3'))")
[ -f "$amalgamation/sqlite3.c" ] || { echo "no sqlite3.c in $amalgamation" >&2; exit 1; }

src=${SPEEDTEST1_C:-}
if [ -z "$src" ]; then
  src=$(find "$work" -path '*/test/speedtest1.c' 2>/dev/null | head -n 1)
fi
if [ -z "$src" ]; then
  apt="$work/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main" > "$apt/src.list"
  opts=(-o "Dir::Etc::SourceList=$apt/src.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
  apt-get "${opts[@]}" -qq update
  (cd "$work" && apt-get "${opts[@]}" -qq source --download-only sqlite3)
  orig=$(ls "$work"/sqlite3_*.orig.tar.* | grep -v www | head -n 1)
  tar -C "$work" -xf "$orig" --wildcards '*/test/speedtest1.c'
  src=$(find "$work" -path '*/test/speedtest1.c' | head -n 1)
fi
echo "speedtest1.c: $src" >&2

bin="$work/speedtest1"
if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$amalgamation/sqlite3.c" -nt "$bin" ]; then
  echo "building $bin against $amalgamation/sqlite3.c …" >&2
  cc -O2 -I"$amalgamation" -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -o "$bin" "$src" "$amalgamation/sqlite3.c" -lm
fi

db="$work/speedtest1.db"
rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
"$bin" --verify --size "$size" --script "$out" "$db" >&2
rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
echo "wrote $out ($(wc -c < "$out") bytes)" >&2
