# Sourced by bench/gateway.sh and bench/cpu.sh: builds, then starts on loopback the hello-world
# upstream ($HELLO), Portcullis ($DASH, gateway on $GW; PORTCULLIS_BIN runs another build, to
# compare two builds in one sitting) with an API in front of the upstream at /bench/ and a key
# with a rate limit and a quota ($key), and nginx ($NGINX) proxying /bench/ to the same upstream
# with no checks (worker_processes auto, as the gateway has a thread per core; NGINX_WORKERS
# sets it). Sets $hello, $portcullis and $nginx (pids) and $work (a scratch folder); everything
# is stopped and removed on exit.
cargo build --release --locked -p server --bin portcullis --example hello
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

"${CARGO_TARGET_DIR:-target}"/release/examples/hello "$HELLO" & hello=$!; pids+=($hello)
PORTCULLIS_LISTEN=$DASH PORTCULLIS_GATEWAY_LISTEN=$GW PORTCULLIS_DATA_DIR=$work/data \
  PORTCULLIS_ADMIN_SECRET=bench PORTCULLIS_UPSTREAM_ALLOW=127.0.0.0/8 RUST_LOG=warn ${PORTCULLIS_BIN:-${CARGO_TARGET_DIR:-target}/release/portcullis} serve >/dev/null & portcullis=$!; pids+=($portcullis)
for _ in $(seq 100); do curl -sf "http://$DASH/ready" >/dev/null && break; sleep 0.1; done

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
