#!/usr/bin/env bash
# Proves the stress tests catch real bugs: builds the library once per bug
# planted in src/memory.c (EVSTORE_INJECT_BUG=<name>), in the configuration
# that should expose it, runs the stress suite, and requires it to FAIL
# (a TSan report, an ASan report or a failed check).  A bug the suite does
# not catch within the allowed attempts fails this script.
#
#   scripts/check-injected-bugs.sh [--only BUG[,BUG...]] [--attempts N] [--seconds S]
#
# Build trees go under build-test/bugs/ (gitignored).  Prints one line per
# bug with what caught it, then "check-injected-bugs: N passed, N failed"
# (passed = bug caught).  docs/TESTING.md has the results and what each bug is.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
only=""
attempts=3
seconds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --attempts) attempts="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    *) echo "usage: $0 [--only BUG[,BUG...]] [--attempts N] [--seconds S]" >&2; exit 2 ;;
  esac
done
jobs=$(nproc 2>/dev/null || echo 2)

# bug name | compiler | sanitizer | what it breaks
bugs=(
  "relaxed_publish|gcc|thread|slot published by a relaxed store/CAS: record fields not ordered before the pointer"
  "publish_before_write|gcc|thread|payload copied after the slot was published"
  "free_before_gp|gcc|address|evicted records freed at once, not after an RCU grace period"
  "purge_free_early|gcc|address|purged session freed at once, not after an RCU grace period"
  "reuse_before_gp|gcc|thread|evicted record reused by the next append at once, not after an RCU grace period"
  "skip_seq_check|gcc||reader trusts a slot without checking its record's seq"
  "truncated_off_by_one|gcc||replay reports truncated when only after_id itself was evicted"
)

want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
passed=0
failed=0
results=()
mkdir -p build-test/bugs

for entry in "${bugs[@]}"; do
  IFS='|' read -r bug cc san what <<<"$entry"
  want "$bug" || continue
  dir="build-test/bugs/$bug"
  log="$dir.log"
  t0=$SECONDS
  echo "=== $bug ($cc${san:+, $san}, stress points on): $what"
  if ! CC=$cc cmake -S "$root" -B "$dir" -DEVSTORE_WERROR=ON -DEVSTORE_INJECT_BUG="$bug" \
        -DEVSTORE_SANITIZE="$san" -DEVSTORE_STRESS_POINTS=ON -DEVSTORE_STRESS_SECONDS="$seconds" \
        -DEVSTORE_BUILD_BENCH=OFF -DEVSTORE_BUILD_EXAMPLES=OFF -DEVSTORE_BUILD_STATIC=OFF \
        >"$log" 2>&1 ||
     ! cmake --build "$dir" -j "$jobs" --target stress_torture stress_memory stress_memory_single >>"$log" 2>&1; then
    echo "    build failed; see $log"; tail -20 "$log"
    failed=$((failed + 1)); results+=("$bug: BUILD FAILED"); continue
  fi
  # Each stress test on its own, up to $attempts runs, so the table shows
  # which tests catch which bug.  The bug counts as caught if any does.
  caught=""
  for t in stress_memory stress_memory_single stress_torture; do
    res="not caught"
    for try in $(seq 1 "$attempts"); do
      out="$dir.$t.run$try.log"
      if (cd "$dir" && ctest -R "^$t\$" --output-on-failure --timeout 120) >"$out" 2>&1; then
        continue
      fi
      # What caught it: the first sanitizer report or failed check.
      how=$(grep -m1 -oE 'ThreadSanitizer: [a-z -]+[a-z]|AddressSanitizer: [a-z-]+|check failed at [^ ]+( [0-9]+)?: [^(]{0,60}' "$out" \
              | sed -E 's#check failed at [^ ]*/#check failed at #' || true)
      res="run $try: ${how:-failed, see $out}"
      break
    done
    echo "    $t: $res"
    results+=("| $bug | ${san:-none} | $t | $res |")
    [ "$res" = "not caught" ] || caught=yes
  done
  if [ -n "$caught" ]; then
    passed=$((passed + 1)); echo "    CAUGHT [$((SECONDS - t0)) s]"
  else
    failed=$((failed + 1)); echo "    NOT CAUGHT [$((SECONDS - t0)) s]"
    results+=("| $bug | ${san:-none} | (all) | NOT CAUGHT |")
  fi
done

echo
echo "| bug | sanitizer | test | result |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
echo "check-injected-bugs: $passed passed, $failed failed"
[ $failed -eq 0 ]
