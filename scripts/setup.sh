#!/usr/bin/env bash
# Installs what evstore needs to build, test and benchmark on Debian 12
# (bookworm), skipping packages that are already there.  Safe to re-run.
#   scripts/setup.sh            build + test + bench dependencies
#   EVS_SETUP_BROWSER=0 ...     skip Chromium and playwright-core (browser tests)
set -euo pipefail

pkgs=(build-essential cmake pkg-config gcc clang libclang-rt-14-dev
      libck-dev liburcu-dev libcmocka-dev
      libhiredis-dev redis-server libmicrohttpd-dev
      gnuplot-nox curl python3)
if [ "${EVS_SETUP_BROWSER:-1}" != 0 ]; then
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
  # Some images ship Node.js (with npm bundled) from elsewhere; Debian's
  # npm package would conflict with it, so ask only for what is missing.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# redis-server's Debian package starts a system instance; the tests start
# their own on free loopback ports, so that one is not needed.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

# playwright-core drives the system Chromium; it downloads no browser.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${EVS_SETUP_BROWSER:-1}" != 0 ] && [ -f "$here/tests/sse/package.json" ] \
   && [ ! -d "$here/tests/sse/node_modules/playwright-core" ]; then
  echo "setup: npm install (tests/sse)"
  (cd "$here/tests/sse" && npm install --no-audit --no-fund --silent)
fi
echo "setup: ok"
