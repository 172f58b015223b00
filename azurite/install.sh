#!/usr/bin/env bash
# Installs the pinned Azurite (azurite/package-lock.json) into
# azurite/node_modules when it is missing or out of date. Idempotent.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$dir/node_modules/.bin/azurite"
stamp="$dir/node_modules/.funchost-lock-sha"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "azurite/install.sh: npm is required (Node 20+)" >&2; exit 1; }
echo "installing pinned Azurite into $dir/node_modules ..." >&2
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
echo "$want" > "$stamp"
