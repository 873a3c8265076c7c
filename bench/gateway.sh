#!/usr/bin/env bash
# Gateway load benchmark (throughput and latency against nginx), loopback only, about two minutes. Measures in one run:
#   (a) a bare axum hello-world (same toolchain)      (b) forward-auth with a valid key
#   (c) the proxy with a valid key to (a)             (d) nginx proxying to (a), no checks
# and prints peak throughput, p99 latency at half of each peak, and the ratios b/a and c/d.
# nginx runs with worker_processes auto (Debian's default: one worker per core, as the gateway
# has one thread per core); NGINX_WORKERS=1 gives it one. PORTCULLIS_GATEWAY_THREADS passes
# through; PORTCULLIS_BIN runs another build of the gateway (bench/stack.sh starts them all).
# Needs: oha (cargo install oha), nginx, curl, python3. Usage: bench/gateway.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
CONNS=32
HELLO=127.0.0.1:39001 DASH=127.0.0.1:39002 GW=127.0.0.1:39003 NGINX=127.0.0.1:39004
command -v oha >/dev/null || { echo "install oha first: cargo install oha --locked" >&2; exit 1; }

. bench/stack.sh

# run NAME URL [HEADERS...]: prints "NAME peak_rps p99_ms_at_half"
run() {
  local name=$1 url=$2; shift 2
  local hdr=(); for h in "$@"; do hdr+=(-H "$h"); done
  local peak p99
  peak=$(oha --no-tui --output-format json -z "${SECS}s" -c $CONNS "${hdr[@]}" "$url" | json '["summary"]["requestsPerSec"]')
  p99=$(oha --no-tui --output-format json -z "${SECS}s" -c $CONNS -q "$(python3 -c "print(int($peak/2))")" "${hdr[@]}" "$url" | json '["latencyPercentiles"]["p99"]*1000')
  echo "$name $peak $p99"
}
{
  run a "http://$HELLO/"
  run b "http://$GW/_portcullis/auth" "X-Original-URI: /bench/x" "Authorization: $key"
  run c "http://$GW/bench/x" "Authorization: $key"
  run d "http://$NGINX/bench/x"
} > "$work/results"
python3 - "$work/results" <<'PY'
import sys
r = {l.split()[0]: (float(l.split()[1]), float(l.split()[2])) for l in open(sys.argv[1])}
names = {"a": "axum hello-world", "b": "forward-auth, valid key", "c": "proxy, valid key", "d": "nginx proxy, no checks"}
print(f"{'run':28} {'peak req/s':>11} {'p99 at half peak (ms)':>22}")
for k in "abcd":
    print(f"{k}) {names[k]:25} {r[k][0]:11.0f} {r[k][1]:22.3f}")
print(f"b/a = {r['b'][0]/r['a'][0]:.2f}   (target >= 0.9)")
print(f"c/d = {r['c'][0]/r['d'][0]:.2f}   (target >= 1.0)")
print(f"added p99 (c - d) = {r['c'][1]-r['d'][1]:.3f} ms   (target < 1 ms)")
PY
