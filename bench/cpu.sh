#!/usr/bin/env bash
# Where the CPU of one proxied request goes: drives (c) the gateway's proxy and (d) nginx's
# proxy (no checks) to the same hello-world upstream with wrk, and prints, per request, the
# user and kernel CPU time of the proxy, of the upstream and of wrk, read from /proc. A
# diagnostic beside bench/gateway.sh (which measures throughput): on a machine whose cores are
# shared by the load generator, the upstream and the proxy, throughput follows the total.
# PORTCULLIS_BIN runs another build of the gateway (to compare two builds in one sitting).
# Needs: wrk, nginx, curl, python3. Usage: bench/cpu.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
CONNS=32
HELLO=127.0.0.1:39011 DASH=127.0.0.1:39012 GW=127.0.0.1:39013 NGINX=127.0.0.1:39014
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 1; }

cargo build --release --locked -p server --bin portcullis --example hello
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

target/release/examples/hello "$HELLO" & hello=$!; pids+=($hello)
PORTCULLIS_LISTEN=$DASH PORTCULLIS_GATEWAY_LISTEN=$GW PORTCULLIS_DATA_DIR=$work/data \
  PORTCULLIS_ADMIN_SECRET=bench RUST_LOG=warn ${PORTCULLIS_BIN:-target/release/portcullis} serve >/dev/null & gw=$!; pids+=($gw)
for _ in $(seq 100); do curl -sf "http://$DASH/ready" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
org=$(curl -sf -H 'Admin-Auth: bench' -d '{"owner_name":"Bench"}' "http://$DASH/admin/organisations" | json '["Meta"]')
cred=$(curl -sf -H 'Admin-Auth: bench' -d "{\"email_address\":\"b@example.org\",\"org_id\":\"$org\"}" "http://$DASH/admin/users" | json '["Message"]')
api=$(curl -sf -H "Authorization: $cred" -d "{\"name\":\"bench\",\"proxy\":{\"listen_path\":\"/bench/\",\"target_url\":\"http://$HELLO\",\"strip_listen_path\":true}}" "http://$DASH/api/apis" | json '["ID"]')
key=$(curl -sf -H "Authorization: $cred" -d "{\"rate\":1000000000,\"per\":1,\"quota_max\":1000000000000,\"quota_renewal_rate\":86400,\"access_rights\":{\"$api\":{\"versions\":[]}}}" "http://$DASH/api/keys" | json '["key_id"]')

cat > "$work/nginx.conf" <<NGINX
worker_processes ${NGINX_WORKERS:-auto}; pid $work/nginx.pid; error_log $work/error.log warn;
events { worker_connections 1024; }
http { access_log off;
  client_body_temp_path $work/cb; proxy_temp_path $work/px; fastcgi_temp_path $work/fc; uwsgi_temp_path $work/uw; scgi_temp_path $work/sc;
  upstream hello { server $HELLO; keepalive 64; }
  server { listen $NGINX; location /bench/ { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://hello/; } } }
NGINX
nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' & nginx=$!; pids+=($nginx)
sleep 0.5
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
  measure c "$gw" "http://$GW/bench/x" "Authorization: $key"
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
