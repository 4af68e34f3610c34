#!/usr/bin/env bash
# The million-user reference scenario (scenarios/heyso.yaml) on one large machine,
# e.g. 16 cores and 128 GB, in one command:
#   bench/million.sh                       # USERS=1000000, as many app servers as the open-file limit needs
#   USERS=2000 DURATION=20s TUNE=0 bench/million.sh   # the same at a small scale
# Steps: tune the kernel and process limits (samesong tune --apply as root, else
# say what is missing), start redis-server, the matchmakers and the app servers
# (samesong up; HAPROXY=1 puts HAProxy in front), run samesong load with its
# workers spread over the cores and loopback source addresses, balancing over
# the app servers, then write results.json and report.html to OUT.
# Everything it starts is stopped on exit, Ctrl-C included.
#
# Parameters (environment or KEY=VALUE arguments):
#   USERS        peak concurrent users                       [1000000]
#   DURATION     the scenario's length, scaled (15m as written) [15m]
#   APPS         app server processes       [enough for the open-file limit, at least one per 2 cores]
#   MATCHMAKERS  matchmaker shards                           [max(1, cores / 8)]
#   WORKERS      generator processes        [samesong load's default: per core and per open-file limit]
#   HAPROXY      1: clients go through HAProxy instead of balancing over the app servers [0]
#   TUNE         0: skip samesong tune                       [1]
#   OUT          folder for results.json, report.html and the logs [test-output/million]
set -euo pipefail

for arg in "$@"; do
  case "$arg" in
    *=*) export "${arg?}" ;;
    -h | --help)
      sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "million.sh: unknown argument $arg (use KEY=VALUE; --help)" >&2
      exit 2
      ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SAMESONG=(node "$ROOT/bin/samesong.js")
CORES="$(nproc)"
USERS="${USERS:-1000000}"
DURATION="${DURATION:-15m}"
HAPROXY="${HAPROXY:-0}"
TUNE="${TUNE:-1}"
OUT="${OUT:-test-output/million}"
MATCHMAKERS="${MATCHMAKERS:-$((CORES / 8 > 1 ? CORES / 8 : 1))}"
mkdir -p "$OUT"

[[ -f dist/cli/main.js ]] || npm run build >/dev/null

if [[ "$TUNE" == 1 ]]; then
  # Each user holds a socket on each side (generator and app server), and two more through HAProxy.
  CONNECTIONS=$((USERS * (HAPROXY == 1 ? 4 : 2)))
  if [[ "$(id -u)" == 0 ]]; then
    "${SAMESONG[@]}" tune --connections "$CONNECTIONS" --apply || echo "million.sh: tune could not set every limit (above); going on" >&2
  else
    "${SAMESONG[@]}" tune --connections "$CONNECTIONS" || echo "million.sh: not root, so these limits stay as they are (run as root to apply); going on" >&2
  fi
fi

# Per-process connections: the open-file limit, less what the server keeps back.
FILES="$(ulimit -n)"
[[ "$FILES" == unlimited ]] && FILES=1048576
PER_APP=$((FILES - 200))
NEEDED=$(((USERS * 11 / 10 + PER_APP - 1) / PER_APP))
MIN_APPS=$((CORES / 2 > 1 ? CORES / 2 : 1))
APPS="${APPS:-$((NEEDED > MIN_APPS ? NEEDED : MIN_APPS))}"
echo "million.sh: $USERS users over $DURATION; $APPS app servers, $MATCHMAKERS matchmakers on $CORES cores (open files $FILES)"

UP_LOG="$OUT/up.log"
UP_ARGS=(up --apps "$APPS" --matchmakers "$MATCHMAKERS" --port 0)
[[ "$HAPROXY" == 1 ]] || UP_ARGS+=(--no-haproxy)
"${SAMESONG[@]}" "${UP_ARGS[@]}" >"$UP_LOG" 2>&1 &
UP_PID=$!
LOAD_PID=
cleanup() {
  [[ -n "$LOAD_PID" ]] && kill -INT "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
  if kill -INT "$UP_PID" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UP_PID" 2>/dev/null || true
  fi
  wait "$UP_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 600); do
  grep -q 'samesong up: ready' "$UP_LOG" && break
  kill -0 "$UP_PID" 2>/dev/null || { cat "$UP_LOG" >&2; echo "million.sh: samesong up failed" >&2; exit 1; }
  sleep 0.2
done
grep -q 'samesong up: ready' "$UP_LOG" || { cat "$UP_LOG" >&2; echo "million.sh: samesong up did not start in 120 s" >&2; exit 1; }

if [[ "$HAPROXY" == 1 ]]; then
  TARGETS="$(sed -n 's/.*ready at http\(s\{0,1\}\):\/\/\([^ ]*\) .*/ws\1:\/\/\2\/ws/p' "$UP_LOG")"
else
  TARGETS="$(grep -o 'app server(s): .*' "$UP_LOG" | sed 's/app server(s): //; s#http://\([^ ]*\)#ws://\1/ws#g; s/ /,/g')"
fi
echo "million.sh: targets $TARGETS"

LOAD_ARGS=(load scenarios/heyso.yaml --users "$USERS" --duration "$DURATION" --target "$TARGETS" --out "$OUT/results.json")
[[ -n "${WORKERS:-}" ]] && LOAD_ARGS+=(--workers "$WORKERS")
set +e
"${SAMESONG[@]}" "${LOAD_ARGS[@]}" &
LOAD_PID=$!
wait "$LOAD_PID"
STATUS=$?
LOAD_PID=
set -e
[[ -f "$OUT/results.json" ]] || { echo "million.sh: the load run wrote no results (exit $STATUS)" >&2; exit 1; }
"${SAMESONG[@]}" report "$OUT/results.json" -o "$OUT/report.html"
echo "million.sh: $OUT/results.json and $OUT/report.html (load exit $STATUS: 0 passed, 3 a threshold failed)"
exit "$STATUS"
