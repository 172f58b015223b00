#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the dashboard's browser
# tests (host/dashboard). Idempotent: nothing happens when /usr/bin/chromium
# exists. Needs root (or passwordless sudo) for apt-get on a fresh machine.
set -euo pipefail
bin=/usr/bin/chromium
if [[ -x "$bin" ]]; then
  exit 0
fi
sudo=
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || { echo "scripts/install-chromium.sh: run as root, or install Debian's chromium package yourself" >&2; exit 1; }
  sudo=sudo
fi
command -v apt-get >/dev/null || { echo "scripts/install-chromium.sh: apt-get not found; install Chromium so that $bin exists" >&2; exit 1; }
echo "installing Debian's chromium package for the browser tests ..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium >&2
[[ -x "$bin" ]] || { echo "scripts/install-chromium.sh: apt-get finished but $bin is missing" >&2; exit 1; }
