//! The bodies the REST APIs answer with have exactly Tyk's fields, no more and no fewer, and an
//! id the server owns is written once, whatever the client stored under the same name.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn fields(v: &Value) -> BTreeSet<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

async fn envelopes_have_tyk_fields(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;

    let created = json_of(app.post(&c, "/api/apis", &json!({ "name": "B", "proxy": { "listen_path": "/b/", "target_url": "http://127.0.0.1:9" } })).await, StatusCode::OK).await;
    assert_eq!(fields(&created), set(&["Status", "Message", "Meta", "ID"]));
    assert_eq!(created["Status"], "OK");

    let key = app.create_key(&c, json!({ "rate": 1, "per": 1, "access_rights": rights(&api, "v1") })).await;
    assert_eq!(fields(&key), set(&["api_model", "key_id", "data", "key_hash"]));
    assert_eq!(key["api_model"], json!({}));
    let hash = key["key_hash"].as_str().unwrap().to_owned();

    let preview = json_of(app.post(&c, "/api/keys/preview", &json!({ "rate": 1, "per": 1 })).await, StatusCode::OK).await;
    assert_eq!((preview["key_id"].as_str(), preview["key_hash"].as_str()), (Some(""), Some("")));

    let list = json_of(app.get(&c, "/api/apis/keys").await, StatusCode::OK).await;
    assert_eq!(list, json!({ "data": { "keys": [hash] }, "pages": 1 }));
    let detailed = json_of(app.get(&c, "/api/keys/detailed").await, StatusCode::OK).await;
    assert_eq!(fields(&detailed), set(&["keys", "pages"]));
    assert_eq!(fields(&detailed["keys"][0]), set(&["api_model", "key_id", "data", "key_hash"]));

    let deleted = json_of(app.delete(&c, &format!("/api/keys/{hash}?hashed=true")).await, StatusCode::OK).await;
    assert_eq!(deleted, json!({ "Status": "OK", "Message": "Key deleted successfully.", "Meta": null }));

    let me = json_of(app.get(&c, "/api/users/me").await, StatusCode::OK).await;
    let user_fields = [
        "id", "org_id", "email_address", "first_name", "last_name", "active", "created_at", "last_login_date",
        "password_updated", "password_max_days", "group_id", "api_model", "user_permissions", "access_key_hint",
    ];
    assert_eq!(fields(&me), set(&user_fields), "no credential once it is stored");
    assert_eq!(me["last_login_date"], "0001-01-01T00:00:00Z", "never signed in: Go's zero time");
    let reset = json_of(app.send(Method::PUT, &format!("/api/users/{}/actions/key/reset", me["id"].as_str().unwrap()), &c.cred, None).await, StatusCode::OK).await;
    assert_eq!(fields(&reset["Meta"]), set(&["access_key"]));

    let made = json_of(app.tyk(Method::POST, "/tyk/keys", Some(&json!({ "org_id": c.org, "rate": 1, "per": 1, "access_rights": rights(&api, "v1") }))).await, StatusCode::OK).await;
    assert_eq!(fields(&made), set(&["key", "status", "action", "key_hash"]));
    assert_eq!((made["status"].as_str(), made["action"].as_str()), (Some("ok"), Some("added")));
    let gone = json_of(app.tyk(Method::DELETE, &format!("/tyk/keys/{}", made["key"].as_str().unwrap()), None).await, StatusCode::OK).await;
    assert_eq!(gone, json!({ "key": made["key"], "status": "ok", "action": "deleted" }));
    let keys = json_of(app.tyk(Method::GET, "/tyk/keys", None).await, StatusCode::OK).await;
    assert_eq!(fields(&keys), set(&["keys"]));
}

async fn server_ids_are_written_once(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    // Tyk's exports carry their dashboard's internal `id`: it is kept as sent nowhere, ours shows.
    let def = json!({ "api_definition": { "id": "5f0c-from-tyk", "name": "Imported",
        "proxy": { "listen_path": "/imported/", "target_url": "http://127.0.0.1:9" } } });
    let created = json_of(app.post(&c, "/api/apis", &def).await, StatusCode::OK).await;
    let internal = created["Meta"].as_str().unwrap().to_owned();
    let resp = app.get(&c, &format!("/api/apis/{}", created["ID"].as_str().unwrap())).await;
    let text = resp.text().await.unwrap();
    assert!(!text.contains("5f0c-from-tyk"), "{text}");
    assert_eq!(text.matches("\"id\":").count(), 1, "one id, the internal one: {text}");
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got["api_definition"]["id"], internal.as_str());

    let org = json_of(app.admin_post("/admin/organisations", &json!({ "owner_name": "Org", "id": "forged", "cname": "org.example" })).await, StatusCode::OK).await;
    let id = org["Meta"].as_str().unwrap().to_owned();
    let text = app.admin_get(&format!("/admin/organisations/{id}")).await.text().await.unwrap();
    assert!(!text.contains("forged"), "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc, json!({ "id": id, "owner_name": "Org", "apis": [], "cname": "org.example" }));
}

crate::on_both_databases!(envelopes_have_tyk_fields, server_ids_are_written_once);
