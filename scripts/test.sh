#!/usr/bin/env bash
# Builds evstore and runs every test, in every configuration CI checks:
#   release   gcc, -Werror, all unit + stress tests (+ install/consumer check)
#   tsan-gcc  ThreadSanitizer with gcc      (unit + stress)
#   tsan-clang ThreadSanitizer with clang   (unit + stress)
#   asan      ASan + UBSan + LeakSanitizer with gcc (unit + stress)
# Usage: scripts/test.sh [--only NAME[,NAME...]] [--jobs N]
# Build trees go under build-test/ (gitignored).  Exits non-zero on any
# failure; the last line is "test.sh: N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
only=""
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "usage: $0 [--only NAME[,NAME...]] [--jobs N]" >&2; exit 2 ;;
  esac
done

"$root/scripts/setup.sh" || { echo "test.sh: setup failed"; exit 1; }

passed=0
failed=0
failures=()
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
step() {  # step NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

# configure_build DIR CC [cmake args...]
configure_build() {
  local dir=$1 cc=$2; shift 2
  CC=$cc cmake -S "$root" -B "$dir" -DEVSTORE_WERROR=ON "$@" >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 \
    || { tail -50 "$dir.build.log"; return 1; }
}
run_ctest() {  # run_ctest DIR [ctest args...]
  local dir=$1; shift
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "$@")
}

mkdir -p build-test

if want release; then
  step "release: build" configure_build build-test/release gcc -DCMAKE_BUILD_TYPE=Release
  step "release: ctest" run_ctest build-test/release
  step "release: install + pkg-config + find_package consumers" \
    "$root/scripts/check-install.sh" build-test/release
fi
if want tsan-gcc; then
  step "tsan-gcc: build" configure_build build-test/tsan-gcc gcc -DEVSTORE_SANITIZE=thread \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "tsan-gcc: ctest" run_ctest build-test/tsan-gcc -L 'unit|stress'
fi
if want tsan-clang; then
  step "tsan-clang: build" configure_build build-test/tsan-clang clang -DEVSTORE_SANITIZE=thread \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "tsan-clang: ctest" run_ctest build-test/tsan-clang -L 'unit|stress'
fi
if want asan; then
  step "asan: build" configure_build build-test/asan gcc -DEVSTORE_SANITIZE=address \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "asan: ctest" run_ctest build-test/asan -L 'unit|stress'
fi

echo
if [ $failed -gt 0 ]; then
  printf 'test.sh: failed steps:\n'; printf '  %s\n' "${failures[@]}"
fi
echo "test.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
