#!/usr/bin/env bash
# Where the CPU of one proxied request goes: drives (c) the gateway's proxy and (d) nginx's
# proxy (no checks) to the same hello-world upstream with wrk, and prints, per request, the
# user and kernel CPU time of the proxy and of the upstream, read from /proc. A
# diagnostic beside bench/gateway.sh (which measures throughput): on a machine whose cores are
# shared by the load generator, the upstream and the proxy, throughput follows the total.
# bench/stack.sh starts them all (PORTCULLIS_BIN runs another build of the gateway).
# Needs: wrk, nginx, curl, python3. Usage: bench/cpu.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
CONNS=32
HELLO=127.0.0.1:39011 DASH=127.0.0.1:39012 GW=127.0.0.1:39013 NGINX=127.0.0.1:39014
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 1; }

. bench/stack.sh
curl -sf -H "Authorization: $key" "http://$GW/bench/x" >/dev/null
curl -sf "http://$NGINX/bench/x" >/dev/null

# ticks PID...: user and system clock ticks of the processes and all their threads.
ticks() { for p in "$@"; do awk '{print $14, $15}' "/proc/$p/stat"; done | awk '{u+=$1; s+=$2} END {print u, s}'; }
# measure NAME PROXY_PIDS URL [HEADER]
measure() {
  local name=$1 proxy=$2 url=$3 hdr=${4:-}
  local before_p before_h after_p after_h out reqs
  before_p=$(ticks $proxy); before_h=$(ticks $hello)
  if [ -n "$hdr" ]; then out=$(wrk -t1 -c$CONNS -d"${SECS}s" -H "$hdr" "$url"); else out=$(wrk -t1 -c$CONNS -d"${SECS}s" "$url"); fi
  after_p=$(ticks $proxy); after_h=$(ticks $hello)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$name $reqs $before_p $after_p $before_h $after_h"
}
nginx_workers=$(pgrep -P "$nginx" | tr '\n' ' ')
{
  measure c "$portcullis" "http://$GW/bench/x" "Authorization: $key"
  measure d "$nginx $nginx_workers" "http://$NGINX/bench/x"
} > "$work/results"
python3 - "$work/results" "$SECS" "$(getconf CLK_TCK)" <<'PY'
import sys
tck = int(sys.argv[3]); secs = float(sys.argv[2])
print(f"{'run':22} {'req/s':>9} {'proxy user':>11} {'proxy sys':>10} {'upstream':>9}   (µs of CPU per request)")
for line in open(sys.argv[1]):
    f = line.split()
    name, reqs = f[0], int(f[1])
    pu, ps, pu2, ps2, hu, hs, hu2, hs2 = map(int, f[2:10])
    us = lambda t: t / tck * 1e6 / reqs
    label = {"c": "c) gateway proxy", "d": "d) nginx proxy"}[name]
    print(f"{label:22} {reqs/secs:9.0f} {us(pu2-pu):11.2f} {us(ps2-ps):10.2f} {us(hu2-hu+hs2-hs):9.2f}")
PY
