#!/usr/bin/env bash
# Builds evstore and runs every test, in every configuration CI checks:
#   release   gcc, -Werror, all unit + stress tests (+ install/consumer check)
#   tsan-gcc  ThreadSanitizer with gcc      (unit + stress)
#   tsan-clang ThreadSanitizer with clang   (unit + stress)
#   asan      ASan + UBSan + LeakSanitizer with gcc (unit + stress)
#   stress-points  stress tests with EVSTORE_STRESS_POINTS (random yields and
#             delays at racy points, more threads than cores): TSan gcc, ASan
#   fault     ASan + LSan + EVSTORE_FAULT_INJECTION: unit tests incl. test_fault
#   fuzz      libFuzzer (clang, ASan + UBSan) on tests/fuzz/fuzz_store.c, 60 s
#   tsan-user examples/tsan_user built against the installed TSan package
#   bugs      scripts/check-injected-bugs.sh: each planted bug must be caught
#   (docs/TESTING.md says what each proves)
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
if want stress-points; then
  step "stress-points: tsan-gcc build" configure_build build-test/sp-tsan gcc \
    -DEVSTORE_SANITIZE=thread -DEVSTORE_STRESS_POINTS=ON \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "stress-points: tsan-gcc ctest" run_ctest build-test/sp-tsan \
    -R '^(stress_memory|stress_memory_single|stress_torture|stress_caching)$'
  step "stress-points: asan build" configure_build build-test/sp-asan gcc \
    -DEVSTORE_SANITIZE=address -DEVSTORE_STRESS_POINTS=ON \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "stress-points: asan ctest" run_ctest build-test/sp-asan \
    -R '^(stress_memory|stress_memory_single|stress_torture|stress_caching)$'
fi
if want fault; then
  step "fault: build" configure_build build-test/fault gcc -DEVSTORE_SANITIZE=address \
    -DEVSTORE_FAULT_INJECTION=ON \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "fault: ctest" run_ctest build-test/fault -L unit
fi
if want fuzz; then
  run_fuzz() {  # 60 s of libFuzzer on a scratch copy of the seed corpus
    local dir=build-test/fuzz corpus
    corpus=$(mktemp -d)
    cp "$root"/tests/fuzz/corpus/* "$corpus"/
    mkdir -p "$dir/artifacts"
    "$dir/tests/fuzz/fuzz_store" -max_total_time="${EVS_FUZZ_SECONDS:-60}" -timeout=20 \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
      "$corpus" >"$dir/fuzz.log" 2>&1
    local rc=$?
    rm -rf "$corpus"
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units)' "$dir/fuzz.log"
    [ $rc -eq 0 ] || { tail -60 "$dir/fuzz.log"; echo "crash input kept in $dir/artifacts/"; }
    return $rc
  }
  step "fuzz: build" configure_build build-test/fuzz clang -DEVSTORE_SANITIZE=address \
    -DEVSTORE_FUZZ=ON \
    -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF
  step "fuzz: seed corpus" run_ctest build-test/fuzz -R '^fuzz_corpus$'
  step "fuzz: libFuzzer ${EVS_FUZZ_SECONDS:-60} s" run_fuzz
fi
if want tsan-user; then
  step "tsan-user: installed TSan package, find_package + pkg-config consumers" \
    "$root/scripts/check-tsan-user.sh" "$root/build-test/tsan-user" gcc
fi
if want bugs; then
  step "bugs: every planted bug is caught by the stress tests" \
    "$root/scripts/check-injected-bugs.sh"
fi

echo
if [ $failed -gt 0 ]; then
  printf 'test.sh: failed steps:\n'; printf '  %s\n' "${failures[@]}"
fi
echo "test.sh: $passed passed, $failed failed"
[ $failed -eq 0 ]
