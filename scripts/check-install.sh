#!/usr/bin/env bash
# Installs a build tree into a scratch prefix and builds two consumers
# against it: one with pkg-config, one with find_package(evstore).
#   scripts/check-install.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" >/dev/null

# pkg-config consumer, shared library
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/$(gcc -print-multiarch 2>/dev/null)/pkgconfig"
cc -std=c11 -Wall -Werror -o "$work/demo-pc" "$root/examples/demo.c" \
  $(pkg-config --cflags --libs evstore) -lpthread
LD_LIBRARY_PATH="$prefix/lib" "$work/demo-pc" >/dev/null
# pkg-config consumer, static library
cc -std=c11 -Wall -Werror -o "$work/demo-static" "$root/examples/demo.c" \
  $(pkg-config --cflags evstore) "$prefix/lib/libevstore.a" \
  $(pkg-config --static --libs-only-l evstore | sed 's/-levstore//') -lpthread
"$work/demo-static" >/dev/null

# CMake consumer
mkdir -p "$work/cm"
cat > "$work/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(evstore 0.1 REQUIRED)
add_executable(demo demo.c)
target_link_libraries(demo PRIVATE evstore::evstore pthread)
add_executable(demo_static demo.c)
target_link_libraries(demo_static PRIVATE evstore::evstore_static pthread)
CM
cp "$root/examples/demo.c" "$work/cm/"
cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm/build" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$work/cm/build/demo" >/dev/null
"$work/cm/build/demo_static" >/dev/null
echo "check-install: pkg-config (shared, static) and find_package (shared, static) consumers built and ran"
