#!/usr/bin/env bash
# Server CPU per user: CPU seconds (user + system, from /proc/<pid>/stat) that
# one `samesong serve` spends under a fixed heyso load run.
#   bench/server-cpu.sh [USERS] [DURATION] [DIST]   (PROFILE=DIR adds --cpu-prof)
# DIST: a compiled dist/ to measure (default: this checkout's dist/, after `npm run build`).
set -euo pipefail
users=${1:-5000}
duration=${2:-60s}
dist=${3:-dist}
cd "$(dirname "$0")/.."
prof=()
if [[ -n "${PROFILE:-}" ]]; then prof=(--cpu-prof --cpu-prof-dir "$PROFILE"); fi
log=$(mktemp)
main=$(realpath "$dist/cli/main.js")
node "${prof[@]}" --input-type=module \
  -e "process.exitCode = await (await import('$main')).main(['serve', '--port', '0', '--log-level', 'warn', '--exempt-addresses', 'loopback'])" \
  >"$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
node bin/samesong.js load scenarios/heyso.yaml --target "$url" --users "$users" --duration "$duration" --workers 1 --quiet >/dev/null 2>&1 || true
after=$(ticks)
kill -INT $pid; wait $pid || true
awk -v b="$before" -v a="$after" -v hz="$hz" -v u="$users" -v d="$dist" \
  'BEGIN { s = (a - b) / hz; printf "%s: %.2f CPU s for %d users (%.2f ms per user)\n", d, s, u, s * 1000 / u }'
