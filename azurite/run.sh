#!/usr/bin/env bash
# Runs the pinned Azurite on its well-known ports (10000-10002) with its
# data in azurite/data, for `make run`. Extra arguments are passed through.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$dir/install.sh"
mkdir -p "$dir/data"
exec "$dir/node_modules/.bin/azurite" --silent --skipApiVersionCheck --loose --disableTelemetry \
  --location "$dir/data" --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 "$@"
