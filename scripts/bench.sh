#!/usr/bin/env bash
# evstore's benchmark: set up, build in Release, run the suite, print the
# tables and write the plots (docs/PERFORMANCE.md explains the results).
#   scripts/bench.sh              the default suite (a few minutes)
#   scripts/bench.sh --quick      CI smoke: short trials, under a minute
#   scripts/bench.sh --only append,replay --reps 7 ...   see evs-bench --help
# Results go to ./bench-results/<date-time>/ (results.csv, report.txt, PNGs);
# ./bench-results/latest points at the newest run.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build-release"

# The bench needs no browser: skip that part of the set-up unless asked.
EVS_SETUP_BROWSER="${EVS_SETUP_BROWSER:-0}" "$here/scripts/setup.sh"

mkdir -p "$build"
log="$build/configure.log"
cfg=(-S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEVSTORE_BUILD_TESTS=OFF)
# examples/ holds the SSE server and its load tool (measured when built).
if ! cmake "${cfg[@]}" -DEVSTORE_BUILD_EXAMPLES=ON >"$log" 2>&1; then
  echo "bench.sh: configure failed with the examples; retrying without them" >&2
  cmake "${cfg[@]}" -DEVSTORE_BUILD_EXAMPLES=OFF >"$log" 2>&1 \
    || { cat "$log" >&2; exit 1; }
fi
blog="$build/build.log"
echo "bench.sh: building evs-bench (Release) in build-release/" >&2
cmake --build "$build" --target evs-bench -j"$(nproc)" >"$blog" 2>&1 \
  || { cat "$blog" >&2; exit 1; }

# The SSE load tool, when the tree has it (the suite says so when it does not).
targets=$(cmake --build "$build" --target help 2>/dev/null || true)
redis_built=0
if [[ "$targets" == *evs-bench-redis* ]]; then
  if cmake --build "$build" --target evs-bench-redis -j"$(nproc)" >>"$blog" 2>&1; then
    redis_built=1
  else
    echo "bench.sh: evs-bench-redis did not build (see $blog); the Redis rows are skipped" >&2
  fi
fi
if [[ "$targets" == *evs-sse-load* ]]; then
  cmake --build "$build" --target evs-sse-server evs-sse-load -j"$(nproc)" \
    >>"$blog" 2>&1 \
    || echo "bench.sh: evs-sse-load did not build (see $blog); the suite skips it" >&2
fi

# The Redis rows (issue 6) come from evs-bench-redis, which starts its own
# redis-server; they follow the main suite unless only some scenarios, the
# list or the help were asked for.
whole=1
quick=()
for a in "$@"; do
  case "$a" in
    --only|--list|--help) whole=0 ;;
    --quick) quick=(--quick) ;;
  esac
done
"$build/bench/evs-bench" "$@"
[ "$whole" = 1 ] || exit 0
echo
echo "== redis: the Redis store, and the caching composer over it (evs-bench-redis)"
if [ "$redis_built" = 1 ]; then
  dest=/dev/null
  [ -d bench-results/latest ] && dest=bench-results/latest/redis.txt
  "$build/bench/evs-bench-redis" "${quick[@]}" | tee "$dest"
else
  echo "redis: skipped: evs-bench-redis is not built (hiredis missing: scripts/setup.sh installs it)"
fi
