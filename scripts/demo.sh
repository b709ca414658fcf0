#!/usr/bin/env bash
# The main job: installs what is missing, builds, and drives the `cartridge` CLI through a real session.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
bash scripts/bootstrap.sh
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
pnpm exec turbo run build --output-logs=errors-only >/dev/null
out="${DEMO_DIR:-$PWD/demo-out}"
rm -rf "$out" && mkdir -p "$out/input/docs"
repo="$PWD"
cartridge() { node "$repo/apps/cli/dist/index.js" "$@"; }
# Echo each command as it could be typed (arguments quoted where needed); bold only on a terminal.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
quoted() { local out='' a; for a in "$@"; do if [[ $a =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi; done; printf '%s' "$out"; }
step() { printf '\n%s$ cartridge%s%s\n' "$bold" "$(quoted "$@")" "$plain"; cartridge "$@"; }

echo "Hello, Cartridge!" > "$out/input/readme.txt"
printf '# Guide\n\nOne file, many files inside.\n' > "$out/input/docs/guide.md"
head -c 3000000 /dev/urandom > "$out/input/docs/data.bin"

cd "$out"
step create notes --title "My Notes" --audit
step put notes.cart input/readme.txt input/docs --to /
step ls notes.cart / -l
step ls notes.cart / -r
step cat notes.cart /readme.txt
step get notes.cart /docs/data.bin --out data.copy
cmp input/docs/data.bin data.copy && echo "data.bin round-tripped byte-identical"
step mv notes.cart /docs/guide.md /docs/guide-v2.md
step sql notes.cart /app.db --create "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT)"
step sql notes.cart /app.db "INSERT INTO notes (title, body) VALUES ('first', 'SQLite lives in the container'), ('second', 'beside the files')"
step sql notes.cart /app.db "SELECT id, title, body FROM notes ORDER BY id"
step sql export notes.cart /app.db app-export.db
if command -v sqlite3 >/dev/null; then echo "sqlite3 says: $(sqlite3 app-export.db 'PRAGMA integrity_check; SELECT count(*) FROM notes;' | tr '\n' ' ')"; fi
step snapshot create notes.cart before-cleanup
step rm notes.cart /docs/data.bin
step snapshot list notes.cart
step snapshot diff notes.cart before-cleanup
step ls notes.cart / -r --snapshot before-cleanup
step snapshot restore notes.cart before-cleanup --save-current-as after-cleanup
step ls notes.cart / -r
step vacuum notes.cart
step info notes.cart
step check notes.cart --data
step keygen signer
step freeze notes.cart notes.eng --key signer.key
step verify notes.eng --pub signer.pub
step engram cat notes.eng /readme.txt --pub signer.pub
step audit notes.cart
step audit notes.cart --verify
echo
echo "Demo finished: $out/notes.cart"
echo "To run cartridge yourself: alias cartridge='node $repo/apps/cli/dist/index.js'"
echo "  (or install it into a project: bash scripts/pack.sh DIR, then npm install DIR/*.tgz; see the README)"
