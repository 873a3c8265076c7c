#!/usr/bin/env bash
# Cluster benchmark (several nodes sharing PostgreSQL and Redis), loopback only, about a minute. Forward-auth with a valid key that
# has a rate limit and a quota, so every request counts in Redis. Measures in one run:
#   (1) one node on PostgreSQL, counters in memory (no Redis): the baseline
#   (2) one node on PostgreSQL + Redis
#   (3) two nodes on PostgreSQL + Redis, the load split between them
# and prints peak req/s, the ratios to (1), and Redis round trips per request (Redis's own
# count of script calls divided by the requests answered).
# Needs: wrk (Debian's package), PostgreSQL on 127.0.0.1:5432 (user postgres, trust),
# redis-server, curl, python3. Usage: bench/cluster.sh [seconds-per-run]; PORTCULLIS_BIN runs
# another build (then nothing is built).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
CONNS=32
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }
BIN=${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-target}/release/portcullis}
[ -n "${PORTCULLIS_BIN:-}" ] || cargo build --release --locked -p server --bin portcullis
SECRET_KEY=$(printf '5e%.0s' $(seq 32))

work=$(mktemp -d)
db=portcullis_bench_$$
REDIS_PORT=39101
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no >/dev/null & pids+=($!)
DB_URL=postgres://postgres@127.0.0.1:5432/$db

# node NAME DASH GW [REDIS_URL]: starts a node in the background.
node() {
  local extra=()
  [ -n "${4:-}" ] && extra=(PORTCULLIS_REDIS_URL="$4")
  env PORTCULLIS_DATABASE_URL=$DB_URL PORTCULLIS_LISTEN=$2 PORTCULLIS_GATEWAY_LISTEN=$3 \
    PORTCULLIS_DATA_DIR=$work/$1 PORTCULLIS_SECRET_KEY=$SECRET_KEY \
    PORTCULLIS_ADMIN_SECRET=bench PORTCULLIS_UPSTREAM_ALLOW=127.0.0.0/8 RUST_LOG=warn "${extra[@]}" "$BIN" serve >/dev/null &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://$2/health" >/dev/null && return; sleep 0.1; done
  echo "node $1 did not start" >&2; exit 1
}
stop_nodes() { for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; pids=("${pids[0]}"); }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
evals() { redis-cli -p $REDIS_PORT INFO commandstats | python3 -c "
import sys; print(sum(int(l.split('calls=')[1].split(',')[0]) for l in sys.stdin if l.startswith(('cmdstat_evalsha:','cmdstat_eval:'))))"; }
# load GW... : runs wrk against each gateway at once (connections and threads split), prints
# total req/s and total answered. Any answer but 200 fails the run: the figures would be wrong.
load() {
  local n=$# i=0 outs=() runs=()
  for gw in "$@"; do
    wrk -t $((2 / n > 0 ? 2 / n : 1)) -c $((CONNS / n)) -d "${SECS}s" -H "X-Original-URI: /bench/x" -H "Authorization: $key" \
      "http://$gw/_portcullis/auth" > "$work/wrk.$i" & runs+=($!); outs+=("$work/wrk.$i"); i=$((i + 1))
  done
  wait "${runs[@]}"
  python3 - "${outs[@]}" <<'PY'
import re, sys
rps = answered = 0
for f in sys.argv[1:]:
    out = open(f).read()
    if "Non-2xx" in out:
        sys.exit(f"refusals during the run:\n{out}")
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    answered += int(re.search(r"(\d+) requests in", out).group(1))
print(f"{rps:.0f} {answered}")
PY
}

# Setup (organisation, user, API, key) before any node starts, as the process tests do it.
key=$(env PORTCULLIS_DATABASE_URL=$DB_URL PORTCULLIS_DATA_DIR=$work/setup PORTCULLIS_SECRET_KEY=$SECRET_KEY \
  PORTCULLIS_UPSTREAM_ALLOW=127.0.0.0/8 RUST_LOG=warn "$BIN" provision --name Bench --listen-path /bench/ \
  --target-url http://127.0.0.1:9 --key '{"rate":1000000000,"per":1,"quota_max":1000000000000,"quota_renewal_rate":86400}' \
  | json '["key"]')

node one 127.0.0.1:39102 127.0.0.1:39103

read -r one one_n < <(load 127.0.0.1:39103)
stop_nodes

node a 127.0.0.1:39104 127.0.0.1:39105 redis://127.0.0.1:$REDIS_PORT
e0=$(evals)
read -r single single_n < <(load 127.0.0.1:39105)
e1=$(evals)
node b 127.0.0.1:39106 127.0.0.1:39107 redis://127.0.0.1:$REDIS_PORT
read -r two two_n < <(load 127.0.0.1:39105 127.0.0.1:39107)
e2=$(evals)

python3 - <<PY
one, single, two = $one, $single, $two
rt1 = ($e1 - $e0) / max($single_n, 1)
rt2 = ($e2 - $e1) / max($two_n, 1)
print(f"{'run':44} {'req/s':>8} {'x (1)':>6} {'Redis trips/req':>16}")
print(f"{'1) one node, in-memory counters':44} {one:8.0f} {1:6.2f} {'-':>16}")
print(f"{'2) one node, Redis counters':44} {single:8.0f} {single/one:6.2f} {rt1:16.2f}")
print(f"{'3) two nodes, Redis counters':44} {two:8.0f} {two/one:6.2f} {rt2:16.2f}")
print(f"two nodes / one node (Redis): {two/single:.2f}")
PY
