#!/usr/bin/env bash
# The heyso profile at scale on this machine: `samesong up` (Redis, matchmakers,
# app servers, no HAProxy) pinned to one core, `samesong load` pinned to the
# other, balancing over the app servers client-side, spreading its connections
# over loopback source addresses (the default for loopback targets).
#
#   bash bench/heyso-100k.sh            # 100,000 users, 10 minutes
#   USERS=20000 DURATION=3m bash bench/heyso-100k.sh
#
# Environment: USERS (peak users at once), RATE (instead of USERS: peak new
# users/s), DURATION (whole run; the heyso phases scale to it), APPS (app
# servers; default: enough for USERS at each process's open-file limit),
# MATCHMAKERS, WORKERS (generator processes), OUT (results directory).
# Bounded: the run lasts DURATION plus the scenario's drain; everything is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

USERS=${USERS:-100000}
DURATION=${DURATION:-10m}
MATCHMAKERS=${MATCHMAKERS:-1}
OUT=${OUT:-test-output/heyso-100k}
LIMIT=$(ulimit -n)
# Each app server keeps a margin of its limit for Redis, logs and HTTP.
APPS=${APPS:-$(((USERS + LIMIT * 8 / 10 - 1) / (LIMIT * 8 / 10)))}
((APPS < 2)) && APPS=2
SERVER_CORE=0
LOAD_CORE=1
if (($(nproc) < 2)); then
  echo "heyso-100k: one core only; server and generator share it" >&2
  LOAD_CORE=0
fi
mkdir -p "$OUT"
[[ -f bin/samesong.js && -d dist ]] || npm run build >/dev/null

echo "heyso-100k: $APPS app servers, $MATCHMAKERS matchmaker(s) on core $SERVER_CORE; generator on core $LOAD_CORE; open-file limit $LIMIT"
taskset -c "$SERVER_CORE" node bin/samesong.js up --apps "$APPS" --matchmakers "$MATCHMAKERS" --no-haproxy \
  >"$OUT/up.log" 2>&1 &
UP_PID=$!
trap 'kill -INT $UP_PID 2>/dev/null; wait $UP_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  grep -q 'ready at' "$OUT/up.log" && break
  kill -0 $UP_PID 2>/dev/null || { cat "$OUT/up.log" >&2; exit 1; }
  sleep 0.5
done
grep -q 'ready at' "$OUT/up.log" || { echo "heyso-100k: samesong up did not start in 60 s" >&2; exit 1; }
TARGETS=$(grep -o 'app server(s): .*' "$OUT/up.log" | cut -d: -f2- | tr ' ' '\n' | grep '^http' |
  sed 's#^http#ws#; s#$#/ws#' | paste -sd, -)
echo "heyso-100k: targets $TARGETS"

SCALE=(--users "$USERS")
[[ -n ${RATE:-} ]] && SCALE=(--rate "$RATE")
WORKER_FLAG=()
[[ -n ${WORKERS:-} ]] && WORKER_FLAG=(--workers "$WORKERS")
set +e
taskset -c "$LOAD_CORE" node bin/samesong.js load scenarios/heyso.yaml "${SCALE[@]}" --duration "$DURATION" \
  --target "$TARGETS" "${WORKER_FLAG[@]}" --out "$OUT/results.json" | tee "$OUT/summary.txt"
CODE=${PIPESTATUS[0]}
set -e
node bin/samesong.js report "$OUT/results.json" -o "$OUT/report.html" || true
echo "heyso-100k: load exited $CODE; results in $OUT/results.json, report in $OUT/report.html"
exit "$CODE"
