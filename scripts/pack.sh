#!/usr/bin/env bash
# Packs every publishable package of the repository into npm tarballs, for installing Cartridge
# into another project before it is on the npm registry:
#   bash scripts/pack.sh [out-dir]            (default: ./dist-tarballs)
#   cd my-app && npm install <out-dir>/*.tgz  (all of them together: they depend on each other)
# Installs what is missing and builds first. Workspace dependency ranges become exact versions.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-dist-tarballs}" && cd "${1:-dist-tarballs}" && pwd)
bash scripts/bootstrap.sh >/dev/null
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
pnpm exec turbo run build --output-logs=errors-only >/dev/null
rm -f "$out"/*.tgz
for dir in packages/* apps/cli; do
  [ -f "$dir/package.json" ] || continue
  if node -e "process.exit(require('./$dir/package.json').private ? 0 : 1)"; then continue; fi
  # Native addons ship prebuilt for this platform (prebuilds/<platform>-<arch>/), so installing needs no compiler here.
  if node -e "process.exit(require('./$dir/package.json').scripts?.['build:prebuilds'] ? 0 : 1)"; then
    (cd "$dir" && pnpm run build:prebuilds >/dev/null)
  fi
  (cd "$dir" && pnpm pack --pack-destination "$out" >/dev/null)
done
echo "packed $(ls "$out"/*.tgz | wc -l) packages into $out"
echo "install them together in your project:  npm install $out/*.tgz"
