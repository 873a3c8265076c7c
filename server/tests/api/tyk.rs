//! Tyk's Gateway API (`/tyk`), with the gateway's own envelopes.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn gateway_key_lifecycle(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let body = json!({ "org_id": c.org, "rate": 5, "per": 1, "access_rights": rights(&api, "v1"), "hmac_enabled": true });
    let added = json_of(app.tyk(Method::POST, "/tyk/keys/create", Some(&body)).await, StatusCode::OK).await;
    assert_eq!(added["status"], "ok");
    assert_eq!(added["action"], "added");
    let key = added["key"].as_str().unwrap().to_owned();
    let hash = added["key_hash"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&c.org));

    // The generated HMAC secret is in the creation answer, once; the raw session comes back,
    // unwrapped, with it masked.
    assert_eq!(added["hmac_string"].as_str().unwrap().len(), 44);
    let session = json_of(app.tyk(Method::GET, &format!("/tyk/keys/{key}"), None).await, StatusCode::OK).await;
    assert_eq!(session["rate"], 5);
    assert_eq!(session["hmac_string"], "****");
    let by_hash = json_of(app.tyk(Method::GET, &format!("/tyk/keys/{hash}?hashed=true"), None).await, StatusCode::OK).await;
    assert_eq!(by_hash["rate"], 5);

    let list = json_of(app.tyk(Method::GET, "/tyk/keys", None).await, StatusCode::OK).await;
    assert_eq!(list["keys"], json!([hash]));
    let filtered = json_of(app.tyk(Method::GET, "/tyk/keys?api_id=nope", None).await, StatusCode::OK).await;
    assert_eq!(filtered["keys"], json!([]));

    let upd = json!({ "org_id": c.org, "rate": 9, "per": 1, "access_rights": rights(&api, "v1") });
    let modified = json_of(app.tyk(Method::PUT, &format!("/tyk/keys/{key}?suppress_reset=1"), Some(&upd)).await, StatusCode::OK).await;
    assert_eq!(modified, json!({ "key": key, "status": "ok", "action": "modified", "key_hash": hash }));
    // The same key seen through the Dashboard API.
    let dash = json_of(app.get(&c, &format!("/api/keys/{hash}?hashed=1")).await, StatusCode::OK).await;
    assert_eq!(dash["data"]["rate"], 9);

    let deleted = json_of(app.tyk(Method::DELETE, &format!("/tyk/keys/{key}"), None).await, StatusCode::OK).await;
    assert_eq!(deleted, json!({ "key": key, "status": "ok", "action": "deleted" }));
    let gone = app.tyk(Method::GET, &format!("/tyk/keys/{key}"), None).await;
    assert_eq!(json_of(gone, StatusCode::NOT_FOUND).await, json!({ "status": "error", "message": "Key not found" }));
    let gone = app.tyk(Method::DELETE, &format!("/tyk/keys/{key}"), None).await;
    assert_eq!(json_of(gone, StatusCode::NOT_FOUND).await, json!({ "status": "error", "message": "There is no such key found" }));
    let gone = app.tyk(Method::PUT, &format!("/tyk/keys/{key}"), Some(&upd)).await;
    assert_eq!(json_of(gone, StatusCode::NOT_FOUND).await, json!({ "status": "error", "message": "Key is not found" }));
}

async fn gateway_policies_and_key_policy_update(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let p = json!({ "id": "gw-policy", "org_id": c.org, "name": "GW", "rate": 77, "per": 1, "access_rights": rights(&api, "v1") });
    let added = json_of(app.tyk(Method::POST, "/tyk/policies", Some(&p)).await, StatusCode::OK).await;
    assert_eq!(added, json!({ "key": "gw-policy", "status": "ok", "action": "added" }));
    let all = json_of(app.tyk(Method::GET, "/tyk/policies", None).await, StatusCode::OK).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(json_of(app.tyk(Method::GET, "/tyk/policies/gw-policy", None).await, StatusCode::OK).await["rate"], 77);

    let key = json!({ "org_id": c.org, "rate": 1, "per": 1 });
    let added = json_of(app.tyk(Method::POST, "/tyk/keys", Some(&key)).await, StatusCode::OK).await;
    let hash = added["key_hash"].as_str().unwrap();
    let instruction = json!({ "apply_policies": ["gw-policy"] });
    let updated = json_of(app.tyk(Method::POST, &format!("/tyk/keys/policy/{hash}"), Some(&instruction)).await, StatusCode::OK).await;
    assert_eq!(updated, json!({ "key": hash, "status": "ok", "action": "updated" }));
    let session = json_of(app.tyk(Method::GET, &format!("/tyk/keys/{hash}?hashed=1"), None).await, StatusCode::OK).await;
    assert_eq!(session["rate"], 77);
    assert_eq!(session["apply_policies"], json!(["gw-policy"]));

    let bad = app.tyk(Method::POST, &format!("/tyk/keys/policy/{hash}"), Some(&json!("nope"))).await;
    assert_eq!(json_of(bad, StatusCode::BAD_REQUEST).await, json!({ "status": "error", "message": "Couldn't decode instruction" }));
    let deleted = json_of(app.tyk(Method::DELETE, "/tyk/policies/gw-policy", None).await, StatusCode::OK).await;
    assert_eq!(deleted["action"], "deleted");
}

/// Ids are parsed where they arrive: what has no id's shape names nothing.
async fn malformed_ids_name_nothing(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let instruction = json!({ "apply_policies": [] });
    let resp = app.tyk(Method::POST, "/tyk/keys/policy/not-a-hash", Some(&instruction)).await;
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await, json!({ "status": "error", "message": "Key not found" }));

    let p = json!({ "id": "p1", "org_id": "has space", "name": "P" });
    let resp = app.tyk(Method::POST, "/tyk/policies", Some(&p)).await;
    let body = json_of(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["message"], "org_id: organisation 'has space' does not exist");

    // A key is previewed in an organisation, as it is created in one.
    let resp = app.tyk(Method::POST, "/tyk/keys/preview", Some(&json!({ "rate": 1, "per": 1 }))).await;
    let body = json_of(resp, StatusCode::BAD_REQUEST).await;
    assert!(body["message"].as_str().unwrap().starts_with("org_id"), "{body}");
    let ok = app.tyk(Method::POST, "/tyk/keys/preview", Some(&json!({ "org_id": c.org, "rate": 1, "per": 1 }))).await;
    assert_eq!(json_of(ok, StatusCode::OK).await["rate"].as_f64(), Some(1.0));

    // The Dashboard API: a path that is no key hash has no traffic.
    let activity = json_of(app.get(&c, &activity_from_today("not-a-hash")).await, StatusCode::OK).await;
    assert_eq!(activity["data"], json!([]));
}

async fn gateway_api_refusals(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let forbidden = json!({ "status": "error", "message": "Attempted administrative access with invalid or missing key!" });
    let missing = app.client.get(app.url("/tyk/keys")).send().await.unwrap();
    assert_eq!(json_of(missing, StatusCode::FORBIDDEN).await, forbidden);
    let wrong = app.client.get(app.url("/tyk/keys")).header("X-Tyk-Authorization", "nope").send().await.unwrap();
    assert_eq!(json_of(wrong, StatusCode::FORBIDDEN).await, forbidden);
    let resp = app.client.post(app.url("/tyk/keys")).header("X-Tyk-Authorization", GATEWAY_SECRET).body("{oops").send().await.unwrap();
    let body = json_of(resp, StatusCode::BAD_REQUEST).await;
    assert!(body["message"].as_str().unwrap().starts_with("Request malformed"), "{body}");
    let no_org = app.tyk(Method::POST, "/tyk/keys", Some(&json!({ "rate": 1, "per": 1 }))).await;
    let body = json_of(no_org, StatusCode::BAD_REQUEST).await;
    assert!(body["message"].as_str().unwrap().starts_with("org_id"), "{body}");
    let wrong_type = app.tyk(Method::POST, "/tyk/keys", Some(&json!({ "per": "a minute" }))).await;
    assert!(json_of(wrong_type, StatusCode::BAD_REQUEST).await["message"].as_str().unwrap().contains("per"));

    let off = spawn_app_with(db, |c| c.gateway_secret = None).await.unwrap();
    let resp = off.client.get(off.url("/tyk/keys")).header("X-Tyk-Authorization", GATEWAY_SECRET).send().await.unwrap();
    assert!(json_of(resp, StatusCode::NOT_FOUND).await["message"].as_str().unwrap().contains("PORTCULLIS_GATEWAY_SECRET"));
}

crate::on_both_databases!(gateway_key_lifecycle, gateway_policies_and_key_policy_update, malformed_ids_name_nothing, gateway_api_refusals);
