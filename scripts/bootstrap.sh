#!/usr/bin/env bash
# Installs what is missing (a pinned pnpm into .tools/, then the workspace) without global state.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
if [ ! -x .tools/node_modules/.bin/pnpm ] || [ "$(.tools/node_modules/.bin/pnpm -v 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "› installing pnpm $PNPM_VERSION into .tools/"
  npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null
fi
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "› installing workspace dependencies"
  if [ -f pnpm-lock.yaml ]; then pnpm install --frozen-lockfile --config.confirmModulesPurge=false --reporter=append-only 2>&1 | tail -n 3
  else pnpm install --config.confirmModulesPurge=false --reporter=append-only 2>&1 | tail -n 3; fi
fi
