#!/usr/bin/env bash
# Packs every publishable package of the repository into npm tarballs, for installing Cartridge
# into another project before it is on the npm registry:
#   bash scripts/pack.sh [out-dir]            (default: ./dist-tarballs)
#   cd my-app && npm install <out-dir>/*.tgz  (all of them together: they depend on each other)
# Installs what is missing and builds first. Workspace dependency ranges become exact versions.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(mkdir -p "${1:-dist-tarballs}" && cd "${1:-dist-tarballs}" && pwd)
bash scripts/bootstrap.sh >/dev/null
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
pnpm exec turbo run build --output-logs=errors-only >/dev/null
rm -f "$out"/*.tgz
for dir in packages/* apps/cli; do
  [ -f "$dir/package.json" ] || continue
  if node -e "process.exit(require('./$dir/package.json').private ? 0 : 1)"; then continue; fi
  # Native addons ship prebuilt for this platform (prebuilds/<platform>-<arch>/), so installing
  # needs no compiler here. Built in a copy of the package (a rebuild in place would remove the
  # build/ that running processes load), then renamed into place (atomic for any reader).
  if node -e "process.exit(require('./$dir/package.json').scripts?.['build:prebuilds'] ? 0 : 1)"; then
    stage=$(mktemp -d)
    cp -r "$dir/package.json" "$dir/binding.gyp" "$dir/native" "$stage/"
    # prebuildify runs node-gyp from PATH: the one that comes with pnpm; headers from the local install where present.
    (cd "$stage" && PATH="$root/.tools/node_modules/pnpm/dist/node-gyp-bin:$PATH" "$root/$dir/node_modules/.bin/prebuildify" --napi --strip >build.log 2>&1) ||
      { cat "$stage/build.log"; echo "could not prebuild the addon of $dir"; exit 1; }
    for built in "$stage"/prebuilds/*/*.node; do
      target="$dir/prebuilds/$(basename "$(dirname "$built")")"
      mkdir -p "$target"
      cp "$built" "$target/.incoming-$$" && mv -f "$target/.incoming-$$" "$target/$(basename "$built")"
    done
    rm -rf "$stage"
  fi
  (cd "$dir" && pnpm pack --pack-destination "$out" >/dev/null)
done
echo "packed $(ls "$out"/*.tgz | wc -l) packages into $out"
echo "install them together in your project:  npm install $out/*.tgz"
