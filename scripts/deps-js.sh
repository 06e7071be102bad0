#!/usr/bin/env bash
# deps-js.sh: install the npm packages pinned in package-lock.json (terser, playwright-core) into
# node_modules/, with `npm ci`, unless the ones there already match the lock file.
#
# Called by `make deps` after the Debian packages (nodejs among them). npm itself comes with
# NodeSource's nodejs; with Debian's nodejs it is the separate Debian package npm, installed here
# when missing. A stamp (node_modules/.leadedge-lock.sha256) remembers which lock file the
# installed tree came from, so a second run does nothing and needs no network.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v npm >/dev/null 2>&1; then
    bash scripts/deps.sh npm
fi

stamp=node_modules/.leadedge-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "deps: npm packages match package-lock.json"
    exit 0
fi

echo "deps: npm ci (package-lock.json)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
