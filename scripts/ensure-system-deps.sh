#!/usr/bin/env bash
# Installs the Debian packages the tests start for real (redis-server, haproxy,
# chromium, prometheus: the server scrapes a deployment, promtool lints /metrics
# and tests the alert rules), when they are missing. Without root it stops and
# names them.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# prometheus and promtool are used: not the node exporter the package recommends
lean=()
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then lean+=(prometheus); fi
[ ${#need[@]} -eq 0 ] && [ ${#lean[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need these Debian packages: ${need[*]} ${lean[*]}" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y ${need[*]} ${lean[*]}" >&2
  exit 1
fi
echo "== installing ${need[*]} ${lean[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq "${need[@]}" >/dev/null; fi
if [ ${#lean[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null; fi
