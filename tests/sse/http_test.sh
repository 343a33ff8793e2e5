#!/usr/bin/env bash
# HTTP tests of evs-sse-server with curl as the client: resume by
# Last-Event-ID and ?lastEventId=, live follow across the replay seam, the
# reset event (truncated, foreign epoch, purged log, unparsable id),
# heartbeats, bad input, and a clean shutdown with a parked stream.
#
# Usage: http_test.sh PATH/TO/evs-sse-server [STORE]
#   STORE: memory (default), caching, or redis.  With redis the script starts
#   its own two redis-server nodes (one on a free loopback TCP port, one on a
#   unix socket, no persistence), runs every check against --store redis over
#   both, and adds the cross-instance checks: two servers on the same Redis.
# Loopback only, free ports (--port 0), every curl bounded by --max-time;
# every process started here is stopped on exit.
set -uo pipefail

server=${1:?usage: http_test.sh PATH/TO/evs-sse-server [STORE]}
store=${2:-memory}
command -v curl >/dev/null || { echo "FAIL: curl not found: run scripts/setup.sh"; exit 1; }
[ -x "$server" ] || { echo "FAIL: $server is not executable"; exit 1; }
if [ "$store" == redis ]; then
  for prog in redis-server redis-cli timeout; do
    command -v "$prog" >/dev/null ||
      { echo "FAIL: $prog not found: run scripts/setup.sh"; exit 1; }
  done
fi

tmp=$(mktemp -d)
pids=()
redis_pids=()
# stop_bounded PID: SIGTERM, then SIGKILL if it is still there after 5 s.
stop_bounded() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  # Redis last: the servers above may still have been talking to it.
  for p in "${redis_pids[@]}"; do stop_bounded "$p"; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP     # so that the EXIT trap runs

passed=0
failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/       /'; }
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1" "expected: $2
got:      $3"; fi
}

# start_redis NAME tcp|unix: a redis-server of our own, without persistence;
# sets NODE (for --redis-node) and RCLI (redis-cli arguments to reach it).
# A TCP port is picked at random below the ephemeral range; if it is taken,
# redis-server exits and another is tried.
start_redis() {
  local name=$1 kind=$2 dir="$tmp/$1" pid
  local -a where
  mkdir -p "$dir"
  for _ in 1 2 3 4 5; do
    if [ "$kind" == unix ]; then
      where=(--port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700)
      RCLI=(-s "$dir/redis.sock")
      NODE="unix:$dir/redis.sock"
    else
      local port=$((10000 + RANDOM % 20000))
      where=(--port "$port" --bind 127.0.0.1)
      RCLI=(-h 127.0.0.1 -p "$port")
      NODE="127.0.0.1:$port"
    fi
    # timeout: even if this script is killed, the server goes away.
    timeout 175 redis-server "${where[@]}" --save "" --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
    pid=$!
    for _ in $(seq 1 200); do          # up to 10 s
      kill -0 "$pid" 2>/dev/null || break
      if [ "$(redis-cli "${RCLI[@]}" ping 2>/dev/null)" == PONG ]; then
        redis_pids+=("$pid")
        return 0
      fi
      sleep 0.05
    done
    stop_bounded "$pid"
  done
  echo "FAIL: redis-server ($name) did not start"; cat "$dir/redis.log"; exit 1
}

store_args=()
if [ "$store" == redis ]; then
  start_redis r1 tcp
  node1=$NODE; cli1=("${RCLI[@]}")
  start_redis r2 unix
  node2=$NODE; cli2=("${RCLI[@]}")
  redis_ttl=600000
  store_args=(--redis-node "$node1" --redis-node "$node2"
              --redis-prefix sse-test: --redis-ttl-ms "$redis_ttl")
fi

# start_server NAME ARGS...: sets URL and SPID.
start_server() {
  local name=$1; shift
  # --exit-after-ms: even if this script is killed, the server goes away.
  "$server" --port 0 --store "$store" "${store_args[@]}" --exit-after-ms 150000 "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  SPID=$!
  pids+=("$SPID")
  URL=""
  for _ in $(seq 1 200); do            # up to 10 s
    URL=$(grep -m1 '^http://' "$tmp/$name.out" 2>/dev/null || true)
    [ -n "$URL" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$URL" ]; then
    echo "FAIL: $name server did not start"; cat "$tmp/$name.err"; exit 1
  fi
}

post() {  # post SESSION DATA -> prints the id
  curl -sS --max-time 5 -X POST --data-binary "$2" "${URL}events?session=$1"
}
epoch_of() {
  curl -sS --max-time 5 "${URL}info?session=$1" | sed -n 's/.*"epoch":"\([0-9a-f]*\)".*/\1/p'
}
# ids N1 N2 ...: the "id:" numbers of a stream, one line each
ids_of() { sed -n 's/^id: [0-9a-f]*-\([0-9]*\)\r\{0,1\}$/\1/p' "$1" | tr '\n' ' ' | sed 's/ $//'; }
status() {  # status CURL-ARGS... -> HTTP status
  curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$@"
}

start_server main --capacity 100 --max-event-bytes 1024 --heartbeat-ms 300 --retry-ms 250

# ---- resume with curl -------------------------------------------------------
for i in $(seq 1 10); do
  id=$(post c1 "event $i")
  [ "$id" == "$i" ] || fail "POST returns the id" "expected $i, got '$id'"
done
ok "POST returns ids 1..10"
E=$(epoch_of c1)
[[ "$E" =~ ^[0-9a-f]{16}$ ]] && ok "/info gives a 16-digit epoch" || fail "/info epoch" "$E"

curl -sS -N --max-time 2 -D "$tmp/h1" -H "Last-Event-ID: $E-5" \
  "${URL}events?session=c1" >"$tmp/s1" 2>"$tmp/s1.err"
rc=$?
check "curl -N --max-time ends with exit 28" 28 "$rc"
check "Last-Event-ID: <epoch>-5 resumes at 6, in order" "6 7 8 9 10" "$(ids_of "$tmp/s1")"
check "the stream starts with retry:" "retry: 250" "$(head -1 "$tmp/s1")"
grep -qi '^content-type: text/event-stream' "$tmp/h1" && ok "Content-Type: text/event-stream" || fail "Content-Type" "$(cat "$tmp/h1")"
grep -qi '^cache-control: no-cache' "$tmp/h1" && ok "Cache-Control: no-cache" || fail "Cache-Control" "$(cat "$tmp/h1")"
grep -qi '^x-accel-buffering: no' "$tmp/h1" && ok "X-Accel-Buffering: no" || fail "X-Accel-Buffering" "$(cat "$tmp/h1")"
grep -q '^data: event 6' "$tmp/s1" && ok "data: carries the payload" || fail "payload" "$(cat "$tmp/s1")"
grep -q '^: ping' "$tmp/s1" && ok "idle stream gets ': ping' heartbeats" || fail "heartbeat" "$(cat "$tmp/s1")"

curl -sS -N --max-time 1 "${URL}events?session=c1&lastEventId=$E-8" >"$tmp/s2" 2>/dev/null
check "?lastEventId= fallback resumes at 9" "9 10" "$(ids_of "$tmp/s2")"

curl -sS -N --max-time 1 -H "Last-Event-ID: 7" "${URL}events?session=c1" >"$tmp/s3" 2>/dev/null
check "a bare id resumes in the current log" "8 9 10" "$(ids_of "$tmp/s3")"

curl -sS -N --max-time 1 "${URL}events?session=c1" >"$tmp/s4" 2>/dev/null
check "no id: the whole retained log" "1 2 3 4 5 6 7 8 9 10" "$(ids_of "$tmp/s4")"

# ---- live follow across the seam --------------------------------------------
curl -sS -N --max-time 4 -H "Last-Event-ID: $E-10" "${URL}events?session=c1" >"$tmp/live" 2>/dev/null &
cpid=$!
pids+=("$cpid")
for i in $(seq 11 40); do post c1 "live $i" >/dev/null; done
wait "$cpid"
check "live events after the replay: 11..40 exactly once" "$(seq -s ' ' 11 40)" "$(ids_of "$tmp/live")"

# ---- multi-line payloads ----------------------------------------------------
post ml $'one\ntwo\r\nthree\rfour' >/dev/null
curl -sS -N --max-time 1 "${URL}events?session=ml" >"$tmp/ml" 2>/dev/null
check "CR/LF/CRLF split into data: lines" "data: one|data: two|data: three|data: four" \
  "$(grep '^data:' "$tmp/ml" | tr -d '\r' | paste -sd '|')"

# ---- reset: truncated ------------------------------------------------------
for i in $(seq 1 150); do post t1 "t $i" >/dev/null; done   # capacity 100: 51..150 remain
ET=$(epoch_of t1)
curl -sS -N --max-time 1 -H "Last-Event-ID: $ET-10" "${URL}events?session=t1" >"$tmp/tr" 2>/dev/null
check "truncated resume: reset first" "event: reset" "$(grep -v '^retry:' "$tmp/tr" | grep -v '^$' | head -1)"
check "truncated reset data" "data: {\"reason\":\"truncated\",\"epoch\":\"$ET\",\"after\":10,\"first\":51}" \
  "$(grep -A1 '^event: reset' "$tmp/tr" | sed -n 2p)"
check "truncated resume: then 51..150" "$(seq -s ' ' 51 150)" "$(ids_of "$tmp/tr")"
curl -sS -N --max-time 1 -H "Last-Event-ID: $ET-60" "${URL}events?session=t1" >"$tmp/tr2" 2>/dev/null
grep -q '^event: reset' "$tmp/tr2" && fail "no reset when the id is still held" "$(head -5 "$tmp/tr2")" \
  || ok "no reset when the id is still held"

# ---- reset: another epoch ---------------------------------------------------
curl -sS -N --max-time 1 -H "Last-Event-ID: 00000000deadbeef-3" "${URL}events?session=c1" >"$tmp/ep" 2>/dev/null
check "foreign epoch: reset" "data: {\"reason\":\"epoch\",\"epoch\":\"$E\"}" \
  "$(grep -A1 '^event: reset' "$tmp/ep" | sed -n 2p)"
check "foreign epoch: then the log from its start" "$(seq -s ' ' 1 40)" "$(ids_of "$tmp/ep")"

curl -sS -N --max-time 1 -H "Last-Event-ID: not-an-id" "${URL}events?session=c1" >"$tmp/bad" 2>/dev/null
check "unparsable id: reset bad-id" "data: {\"reason\":\"bad-id\",\"epoch\":\"0000000000000000\"}" \
  "$(grep -A1 '^event: reset' "$tmp/bad" | sed -n 2p)"

# ---- purge while a stream follows -------------------------------------------
curl -sS -N --max-time 3 -H "Last-Event-ID: $E-40" "${URL}events?session=c1" >"$tmp/pg" 2>/dev/null &
cpid=$!
pids+=("$cpid")
sleep 0.5   # let the stream park; the checks below hold either way
check "DELETE purges" 200 "$(status -X DELETE "${URL}events?session=c1")"
check "after a purge ids start again at 1" 1 "$(post c1 "new log")"
E2=$(epoch_of c1)
[ "$E2" != "$E" ] && ok "the new log has a new epoch" || fail "new epoch" "$E2"
wait "$cpid"
if grep -q '"reason":"gone"' "$tmp/pg" || grep -q "\"reason\":\"epoch\",\"epoch\":\"$E2\"" "$tmp/pg"; then
  ok "a following stream is told the log was reset"
else
  fail "reset after purge" "$(cat "$tmp/pg")"
fi
check "... then gets the new log" "$E2-1" "$(sed -n 's/^id: //p' "$tmp/pg" | tr -d '\r' | tail -1)"

# ---- bad input ----------------------------------------------------------------
long=$(head -c 256 /dev/zero | tr '\0' 'x')
check "unknown path: 404" 404 "$(status "${URL}nope")"
check "missing session: 400" 400 "$(status "${URL}events")"
check "empty session: 400" 400 "$(status "${URL}events?session=")"
check "session id of 256 bytes: 400" 400 "$(status "${URL}events?session=$long")"
check "session id of 255 bytes: POST 200" 200 "$(status -X POST --data-binary x "${URL}events?session=${long:1}")"
check "body over --max-event-bytes: 413" 413 \
  "$(status -X POST --data-binary "$(head -c 2000 /dev/zero | tr '\0' 'y')" "${URL}events?session=big")"
check "chunked body over --max-event-bytes: 413" 413 \
  "$(head -c 5000 /dev/zero | tr '\0' 'z' | status -X POST -H 'Transfer-Encoding: chunked' --data-binary @- "${URL}events?session=big")"
check "body at --max-event-bytes: 200" 200 \
  "$(status -X POST --data-binary "$(head -c 1024 /dev/zero | tr '\0' 'y')" "${URL}events?session=big")"
check "PUT: 405" 405 "$(status -X PUT --data-binary x "${URL}events?session=x")"
check "POST /info: 405" 405 "$(status -X POST "${URL}info?session=x")"
check "DELETE /: 405" 405 "$(status -X DELETE "${URL}")"
check "GET / (demo page): 200" 200 "$(status "${URL}")"
check "empty POST is an event" 200 "$(status -X POST "${URL}events?session=empty")"
kill -0 "$SPID" 2>/dev/null && ok "server alive after bad input" || fail "server died"

# ---- redis: two servers over one Redis --------------------------------------
if [ "$store" == redis ]; then
  A_URL=$URL; A_PID=$SPID
  start_server second --capacity 100 --max-event-bytes 1024 --heartbeat-ms 300 --retry-ms 250
  B_URL=$URL; B_PID=$SPID

  URL=$A_URL
  got=""; for i in $(seq 1 10); do got+="$(post xi "x $i") "; done
  check "POST to server A: ids 1..10" "$(seq -s ' ' 1 10) " "$got"
  EA=$(epoch_of xi)
  URL=$B_URL
  check "server B reports A's epoch" "$EA" "$(epoch_of xi)"

  curl -sS -N --max-time 1 -H "Last-Event-ID: $EA-4" "${B_URL}events?session=xi" >"$tmp/xb" 2>/dev/null
  check "Last-Event-ID from A, resumed on B: same epoch, 5..10, no gap" \
    "$(for i in $(seq 5 10); do printf '%s-%s ' "$EA" "$i"; done)" \
    "$(sed -n 's/^id: //p' "$tmp/xb" | tr -d '\r' | tr '\n' ' ')"
  grep -q '^event: reset' "$tmp/xb" && fail "no reset when resuming on B" "$(cat "$tmp/xb")" \
    || ok "no reset when resuming on B"

  # B hears of A's appends at its next replay, forced by the heartbeat.
  curl -sS -N --max-time 3 -H "Last-Event-ID: $EA-10" "${B_URL}events?session=xi" >"$tmp/xl" 2>/dev/null &
  cpid=$!
  pids+=("$cpid")
  URL=$A_URL
  for i in $(seq 11 20); do post xi "x $i" >/dev/null; done
  wait "$cpid"
  check "live on B while A appends: 11..20 exactly once" "$(seq -s ' ' 11 20)" "$(ids_of "$tmp/xl")"

  # A's cache holds 1..20; an append through B must not be missed by it.
  URL=$B_URL
  check "POST to server B continues the log" 21 "$(post xi "x 21")"
  curl -sS -N --max-time 1 -H "Last-Event-ID: $EA-18" "${A_URL}events?session=xi" >"$tmp/xa" 2>/dev/null
  check "resumed on A after B appended: 19 20 21" "19 20 21" "$(ids_of "$tmp/xa")"

  check "DELETE through B" 200 "$(status -X DELETE "${B_URL}events?session=xi")"
  URL=$A_URL
  check "POST to A after B purged: a new log from 1" 1 "$(post xi "new")"
  EN=$(epoch_of xi)
  URL=$B_URL
  [ "$EN" != "$EA" ] && [ "$EN" == "$(epoch_of xi)" ] && ok "both servers see the new epoch" \
    || fail "epoch after purge" "old $EA, A $EN, B $(epoch_of xi)"

  ttl=$(redis-cli "${cli1[@]}" pttl 'sse-test:{xi}:m'; redis-cli "${cli2[@]}" pttl 'sse-test:{xi}:m')
  ttl=$(printf '%s\n' "$ttl" | sort -n | tail -1)
  [ "$ttl" -gt 0 ] 2>/dev/null && [ "$ttl" -le "$redis_ttl" ] \
    && ok "keys carry --redis-prefix and --redis-ttl-ms" || fail "key TTL" "$ttl"
  n1=$(redis-cli "${cli1[@]}" dbsize); n2=$(redis-cli "${cli2[@]}" dbsize)
  [ "${n1:-0}" -gt 0 ] && [ "${n2:-0}" -gt 0 ] && ok "sessions spread over both --redis-node" \
    || fail "sessions on both nodes" "node 1: $n1 keys, node 2: $n2 keys"

  kill -TERM "$B_PID"; wait "$B_PID"
  check "server B: exit 0" 0 "$?"
  URL=$A_URL; SPID=$A_PID
fi

# ---- clean shutdown with parked streams -------------------------------------
for n in 1 2 3; do
  curl -sS -N --max-time 20 "${URL}events?session=park$n" >"$tmp/park$n" 2>/dev/null &
  pids+=($!)
  park[$n]=$!
done
sleep 0.5   # the streams are parked by now; the check holds either way
t0=$SECONDS
kill -TERM "$SPID"
wait "$SPID"
rc=$?
check "SIGTERM with parked streams: exit 0" 0 "$rc"
for n in 1 2 3; do wait "${park[$n]}"; crc=$?
  [ "$crc" != 28 ] && ok "stream $n ended by the server (curl exit $crc)" \
    || fail "stream $n was not ended by the shutdown"
done
[ $((SECONDS - t0)) -lt 10 ] && ok "shutdown finished" || fail "shutdown took $((SECONDS - t0)) s"
grep -q 'stopped by signal 15' "$tmp/main.err" && ok "server reports a clean stop" \
  || fail "stop message" "$(cat "$tmp/main.err")"

echo "sse http ($store store): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
