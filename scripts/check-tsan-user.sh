#!/usr/bin/env bash
# The user's view of a TSan build (docs/TSAN.md): build evstore with
# -DEVSTORE_SANITIZE=thread, install it into a scratch prefix, then build
# examples/tsan_user against the INSTALLED package twice -- with CMake's
# find_package(evstore) and with pkg-config -- and run both under TSan with
# the suppression file the package installs.  Fails on any TSan report.
#   scripts/check-tsan-user.sh [BUILD_DIR] [CC]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-test/tsan-user}
cc=${2:-gcc}
jobs=$(nproc 2>/dev/null || echo 2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

mkdir -p "$build"
CC=$cc cmake -S "$root" -B "$build" -DEVSTORE_SANITIZE=thread -DEVSTORE_WERROR=ON \
  -DEVSTORE_BUILD_TESTS=OFF -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF \
  >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$jobs" >"$build.build.log" 2>&1 || { tail -40 "$build.build.log"; exit 1; }
cmake --install "$build" --prefix "$prefix" >/dev/null

supp=$(find "$prefix" -path '*/evstore/tsan.supp' | head -1)
[ -n "$supp" ] || { echo "check-tsan-user: tsan.supp was not installed"; exit 1; }
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$supp"
libdir=$(dirname "$(find "$prefix" -name 'libevstore.so' | head -1)")

run() {  # run NAME BINARY
  local out="$work/$1.out"
  if ! LD_LIBRARY_PATH="$libdir" "$2" >"$out" 2>&1; then
    cat "$out"; echo "check-tsan-user: $1 failed"; return 1
  fi
  if grep -q "ThreadSanitizer" "$out"; then
    cat "$out"; echo "check-tsan-user: $1: TSan reported"; return 1
  fi
  tail -1 "$out"
}

# 1. CMake consumer: find_package(evstore) from the installed package.
CC=$cc cmake -S "$root/examples/tsan_user" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm" >/dev/null
run find_package "$work/cm/tsan_user"

# 2. pkg-config consumer: the installed evstore.pc adds -fsanitize=thread.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
$cc -std=c11 -g -Wall -Wextra -Werror -o "$work/tsan_user_pc" "$root/examples/tsan_user/main.c" \
  $(pkg-config --cflags --libs evstore) -lpthread
run pkg-config "$work/tsan_user_pc"
echo "check-tsan-user: find_package and pkg-config consumers ran clean under TSan ($cc)"
