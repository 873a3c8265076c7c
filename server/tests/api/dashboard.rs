//! The dashboard's server functions (`/rpc/...`): they reach the same services as the REST API,
//! apply the shared form rules, and answer a broken rule with 400 and the field it concerns.

use crate::helpers::*;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

async fn session(app: &TestApp) -> String {
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let set = resp.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// A server function (they all take JSON).
async fn rpc(app: &TestApp, cookie: &str, name: &str, body: Value) -> Response {
    app.client.post(app.url(&format!("/rpc/{name}"))).header(COOKIE, cookie).json(&body).send().await.unwrap()
}

fn query(q: &str, status: &str) -> Value {
    json!({ "query": { "q": q, "status": status, "sort": "Newest", "page": 1 } })
}

async fn aliases(app: &TestApp, cookie: &str, q: &str, status: &str) -> Vec<String> {
    let page = json_of(rpc(app, cookie, "list_keys", query(q, status)).await, StatusCode::OK).await;
    page["keys"].as_array().unwrap().iter().map(|k| k["alias"].as_str().unwrap().to_owned()).collect()
}

async fn dashboard_keys_follow_the_shared_rules(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = session(&app).await;

    let api = json!({ "api_id": null, "form": {
        "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:9", "auth_mode": "Key" } });
    let api_id = json_of(rpc(&app, &cookie, "save_api", api).await, StatusCode::OK).await;
    let api_id = api_id.as_str().unwrap().to_owned();

    // The form's rule, checked again on the server: 400, at the field.
    let bad = json!({ "form": { "limits": { "rate": "lots", "per": "60" } } });
    assert_eq!(
        json_of(rpc(&app, &cookie, "create_key", bad).await, StatusCode::BAD_REQUEST).await,
        json!({ "Invalid": { "field": "rate", "message": "Enter the number of requests as a number, e.g. 100" } })
    );
    // A service's rule (an unknown API), also at its field.
    let unknown = json!({ "form": { "access_rights": [{ "api_id": "nope", "versions": ["Default"] }] } });
    let body = json_of(rpc(&app, &cookie, "create_key", unknown).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Invalid"]["field"], "access_rights", "{body}");

    let form = json!({ "form": {
        "access_rights": [{ "api_id": api_id, "versions": ["Default"] }],
        "tags": ["mobile"], "alias": "ann",
        "limits": { "rate": "100", "per": "60", "throttle_disabled": true, "quota_unlimited": false,
                    "quota_max": "1000", "quota_renewal_rate": 86400 },
        "expiry": { "In": 3600 } } });
    let created = json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::OK).await;
    let key = created["key"].as_str().unwrap().to_owned();
    let hash = created["key_hash"].as_str().unwrap().to_owned();
    assert_eq!(created["hmac_secret"], Value::Null);

    // The REST API sees the same key.
    let credential = json_of(rpc(&app, &cookie, "regenerate_credential", json!({})).await, StatusCode::OK).await;
    let rest = json_of(app.api_get(&format!("/api/keys/{key}"), credential.as_str().unwrap()).await, StatusCode::OK).await;
    assert_eq!(rest["data"]["rate"], 100);
    assert_eq!(rest["data"]["quota_max"], 1000);
    assert_eq!(rest["data"]["alias"], "ann");
    assert_eq!(rest["key_hash"], hash.as_str());

    // Search by alias, tag, API name; status filters.
    for q in ["ann", "mobil", "orders", ""] {
        assert_eq!(aliases(&app, &cookie, q, "All").await, vec!["ann"], "search {q:?}");
    }
    assert!(aliases(&app, &cookie, "nothing-like-it", "All").await.is_empty());
    assert_eq!(aliases(&app, &cookie, "", "Active").await, vec!["ann"]);
    rpc(&app, &cookie, "set_key_active", json!({ "key_hash": hash, "active": false })).await;
    assert!(aliases(&app, &cookie, "", "Active").await.is_empty());
    assert_eq!(aliases(&app, &cookie, "", "Inactive").await, vec!["ann"]);
    let detail = json_of(rpc(&app, &cookie, "get_key", json!({ "key_hash": hash })).await, StatusCode::OK).await;
    assert_eq!(detail["summary"]["status"], "Inactive");
    assert_eq!(detail["form"]["limits"]["quota_max"], "1000");

    // Lookup by the key's value.
    let found = json_of(rpc(&app, &cookie, "lookup_key", json!({ "key": key })).await, StatusCode::OK).await;
    assert_eq!(found, hash.as_str());

    // A basic-auth username is unique: the second one is refused at the username field.
    let basic = json!({ "form": { "auth": "Basic", "basic_username": "bob", "basic_password": "a password" } });
    json_of(rpc(&app, &cookie, "create_key", basic.clone()).await, StatusCode::OK).await;
    let body = json_of(rpc(&app, &cookie, "create_key", basic).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Invalid"]["field"], "basic_auth_data.user", "{body}");

    // The API cannot go while the key grants it.
    let body = json_of(rpc(&app, &cookie, "delete_api", json!({ "api_id": api_id })).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Invalid"]["message"].as_str().unwrap().contains("1 key(s) grant access"), "{body}");
    json_of(rpc(&app, &cookie, "delete_key", json!({ "key_hash": hash })).await, StatusCode::OK).await;
    let gone = rpc(&app, &cookie, "get_key", json!({ "key_hash": hash })).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    json_of(rpc(&app, &cookie, "delete_api", json!({ "api_id": api_id })).await, StatusCode::OK).await;

    // Without a session, nothing.
    let resp = rpc(&app, "portcullis_session=nope", "list_keys", query("", "All")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

async fn dashboard_policies_lock_what_they_govern(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = session(&app).await;
    let api = json!({ "api_id": null, "form": { "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:9" } });
    let api_id = json_of(rpc(&app, &cookie, "save_api", api).await, StatusCode::OK).await;
    let policy = json!({ "id": null, "form": {
        "name": "Gold", "limits": { "rate": "10", "per": "60" },
        "access_rights": [{ "api_id": api_id, "versions": ["Default"] }],
        "partitions": { "acl": true, "rate_limit": true } } });
    let id = json_of(rpc(&app, &cookie, "save_policy", policy).await, StatusCode::OK).await;
    let id = id.as_str().unwrap().to_owned();

    // The policy decides the rate limit: the key's own (unreadable) rate is not checked...
    let form = json!({ "form": { "use_policies": true, "policies": [id], "alias": "gold-key",
                                 "limits": { "rate": "garbage" } } });
    let created = json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::OK).await;
    let hash = created["key_hash"].as_str().unwrap().to_owned();
    let detail = json_of(rpc(&app, &cookie, "get_key", json!({ "key_hash": hash })).await, StatusCode::OK).await;
    assert_eq!(detail["rate"], 10.0);
    assert_eq!(detail["summary"]["policies"][0]["name"], "Gold");
    // ...and searching by the policy's name finds the key.
    assert_eq!(aliases(&app, &cookie, "gold", "All").await, vec!["gold-key"]);
    // ...but a policy that grants no API cannot be a key's only source of access (the APIs come
    // from the policies alone), and its rate limit is the key's own again, checked.
    let quota_only = json!({ "id": null, "form": { "name": "Quota", "partitions": { "quota": true } } });
    let qid = json_of(rpc(&app, &cookie, "save_policy", quota_only).await, StatusCode::OK).await;
    let form = json!({ "form": { "use_policies": true, "policies": [qid], "limits": { "rate": "garbage" } } });
    let body = json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Invalid"]["field"], "apply_policies", "{body}");
    let form = json!({ "form": { "use_policies": true, "policies": [qid, id], "limits": { "rate": "garbage" } } });
    json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::OK).await;

    // The list says how many keys use each policy; deleting says it too.
    let list = json_of(rpc(&app, &cookie, "list_policies", json!({})).await, StatusCode::OK).await;
    let gold = list.as_array().unwrap().iter().find(|p| p["choice"]["name"] == "Gold").unwrap();
    assert_eq!(gold["key_count"], 2);
    let named = json_of(rpc(&app, &cookie, "delete_policy", json!({ "id": id })).await, StatusCode::OK).await;
    assert_eq!(named, 2);
}

crate::on_both_databases!(dashboard_keys_follow_the_shared_rules, dashboard_policies_lock_what_they_govern);
