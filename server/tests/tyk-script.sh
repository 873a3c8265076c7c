#!/usr/bin/env bash
# A script written against Tyk's Dashboard API documentation, as a Tyk user would write it:
# the request bodies are the examples of Tyk's OpenAPI file, and it checks only the fields and
# messages Tyk documents. It must pass against Portcullis unchanged.
#   usage: tyk-script.sh DASHBOARD_URL API_CREDENTIAL
set -euo pipefail
DASH=$1
AUTH=$2

fail() { echo "FAIL: $*" >&2; exit 1; }
# call METHOD PATH [BODY] -> prints the body; fails unless HTTP 200
call() {
  local out status
  out=$(curl -sS -w '\n%{http_code}' -X "$1" -H "Authorization: $AUTH" -H 'Content-Type: application/json' \
        ${3:+--data "$3"} "$DASH$2")
  status=${out##*$'\n'}
  [ "$status" = 200 ] || fail "$1 $2 answered $status: ${out%$'\n'*}"
  printf '%s' "${out%$'\n'*}"
}
# field JSON EXPR -> prints the value of a Python expression over `j`
field() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }
expect() { [ "$1" = "$2" ] || fail "expected '$2', got '$1' ($3)"; }

# 1. An API (the "Itachi API" the policy example refers to), from the /api/apis example.
api='{"api_definition":{"api_id":"8ddd91f3cda9453442c477b06c4e2da4","auth":{"auth_header_name":"authorization"},"definition":{"key":"version","location":"header"},"name":"Itachi API","proxy":{"listen_path":"/itachi-api/","strip_listen_path":true,"target_url":"https://httpbin.org"},"use_oauth2":true,"version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}}}}'
r=$(call POST /api/apis "$api")
expect "$(field "$r" 'j["Status"]')" OK "create API"
expect "$(field "$r" 'j["Message"]')" "API created" "create API"

# 2. The policy example of POST /api/portal/policies, verbatim.
policy='{"access_rights":{"8ddd91f3cda9453442c477b06c4e2da4":{"allowed_urls":[{"methods":["GET"],"url":"/users"}],"api_id":"8ddd91f3cda9453442c477b06c4e2da4","api_name":"Itachi API","disable_introspection":false,"versions":["Default"]}},"active":true,"hmac_enabled":false,"is_inactive":false,"key_expires_in":2592000.0,"max_query_depth":-1,"meta_data":{"email":"itachi@tyk.io","user_type":"mobile_user"},"name":"Sample policy","partitions":{"acl":true,"complexity":false,"per_api":false,"quota":true,"rate_limit":true},"per":60,"quota_max":10000,"quota_renewal_rate":3600,"rate":1000,"tags":["security"],"throttle_interval":10,"throttle_retry_limit":10}'
r=$(call POST /api/portal/policies "$policy")
expect "$(field "$r" 'j["Status"]')" OK "create policy"
pol=$(field "$r" 'j["Message"]')
r=$(call GET "/api/portal/policies/$pol")
expect "$(field "$r" 'j["name"]')" "Sample policy" "get policy"
r=$(call GET /api/portal/policies)
expect "$(field "$r" 'any(p["id"] == "'"$pol"'" for p in j["Data"])')" True "policy listed"

# 3. A key with that policy, from the POST /api/keys example.
key='{"alias":"portal-key","allowance":1000,"apply_policies":["'"$pol"'"],"enable_detailed_recording":true,"expires":1.718439136e+09,"hmac_enabled":false,"is_inactive":false,"meta_data":{"tyk_developer_id":"62b3fb9a1d5e4f00017226f5"},"org_id":"5e9d9544a1dcd60001d0ed20","per":60,"quota_max":-1,"quota_remaining":0,"quota_renewal_rate":-1,"quota_renews":1.715847135e+09,"rate":1000,"tags":["edge-eu","edge"],"throttle_interval":0,"throttle_retry_limit":0}'
r=$(call POST /api/keys "$key")
key_id=$(field "$r" 'j["key_id"]')
key_hash=$(field "$r" 'j["key_hash"]')
[ -n "$key_id" ] && [ -n "$key_hash" ] || fail "KeyData without key_id/key_hash: $r"
expect "$(field "$r" 'j["data"]["quota_max"]')" 10000 "the policy's quota applies"
expect "$(field "$r" '"security" in j["data"]["tags"]')" True "policy tags"

# 4. Read, update without quota reset, list, delete.
r=$(call GET "/api/keys/$key_id")
expect "$(field "$r" 'j["data"]["alias"]')" portal-key "get key"
r=$(call PUT "/api/keys/$key_id?suppress_reset=1" "$(field "$r" 'json.dumps(dict(j["data"], alias="renamed"))')")
expect "$(field "$r" 'j["data"]["alias"]')" renamed "update key"
r=$(call GET "/api/keys/$key_hash?hashed=true")
expect "$(field "$r" 'j["data"]["alias"]')" renamed "get by hash"
r=$(call GET "/api/apis/keys?p=1")
expect "$(field "$r" 'j["pages"] >= 1 and len(j["data"]["keys"]) >= 1')" True "list keys"
r=$(call GET "/api/apis/8ddd91f3cda9453442c477b06c4e2da4/keys?p=1")
expect "$(field "$r" 'len(j["data"]["keys"])')" 1 "keys of the API"
r=$(call DELETE "/api/keys/$key_id")
expect "$(field "$r" 'j["Message"]')" "Key deleted successfully." "delete key"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $AUTH" "$DASH/api/keys/$key_id")
expect "$status" 404 "deleted key is gone"

# 5. Clean up the policy and the API.
expect "$(field "$(call DELETE "/api/portal/policies/$pol")" 'j["Message"]')" "Data deleted" "delete policy"
expect "$(field "$(call DELETE /api/apis/8ddd91f3cda9453442c477b06c4e2da4)" 'j["Message"]')" "API deleted" "delete API"
echo "tyk-script: all checks passed"
