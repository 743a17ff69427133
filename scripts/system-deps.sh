#!/usr/bin/env bash
# Debian packages used by the browser tests (Chromium) and by benchmarks that synthesize speech.
# Installs only what is missing, so repeated runs cost nothing.
set -euo pipefail
needed=()
command -v chromium >/dev/null || needed+=(chromium)
command -v espeak-ng >/dev/null || needed+=(espeak-ng)
command -v flite >/dev/null || needed+=(flite)
command -v sox >/dev/null || needed+=(sox)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing Debian packages: ${needed[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${needed[@]}" >/dev/null
