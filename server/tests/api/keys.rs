use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Seed 004's request body, verbatim.
fn seed_004_body() -> Value {
    json!({
      "alias": "portal-key",
      "allowance": 1000,
      "apply_policies": ["62a0ec9092faf50001395817"],
      "enable_detailed_recording": true,
      "expires": 1718439136,
      "hmac_enabled": false,
      "is_inactive": false,
      "meta_data": { "tyk_developer_id": "62b3fb9a1d5e4f00017226f5" },
      "org_id": "5e9d9544a1dcd60001d0ed20",
      "per": 60,
      "quota_max": -1,
      "quota_remaining": 0,
      "quota_renewal_rate": -1,
      "quota_renews": 1715847135,
      "rate": 1000,
      "tags": ["edge-eu", "edge"],
      "throttle_interval": 0,
      "throttle_retry_limit": 0
    })
}

async fn seed_004_custom_key_verbatim(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Portal API", "/portal/").await;
    // The policy the seed names, imported with its id.
    let policy = json!({ "id": "62a0ec9092faf50001395817", "name": "Portal", "rate": 1000, "per": 60, "quota_max": -1, "quota_renewal_rate": -1,
                         "access_rights": rights(&api, "v1"), "active": true });
    let reply = json_of(app.post(&c, "/api/portal/policies", &policy).await, StatusCode::OK).await;
    assert_eq!(reply["Message"], "62a0ec9092faf50001395817");

    let created = json_of(app.post(&c, "/api/keys/my-portal-key", &seed_004_body()).await, StatusCode::OK).await;
    assert_eq!(created["api_model"], json!({}));
    let key_id = created["key_id"].as_str().unwrap();
    assert_eq!(key_id, format!("{}my-portal-key", c.org), "Tyk puts the org id in front of a custom id");
    let hash = created["key_hash"].as_str().unwrap();
    assert_eq!(hash, server::secrets::sha256_hex(key_id));

    let data = &created["data"];
    assert_eq!(data["org_id"], c.org.as_str(), "the caller's organisation wins over the body's");
    assert_eq!(data["alias"], "portal-key");
    assert_eq!(data["allowance"], 1000);
    assert_eq!(data["apply_policies"], json!(["62a0ec9092faf50001395817"]));
    assert_eq!(data["enable_detailed_recording"], true);
    assert_eq!(data["expires"], 1718439136, "a past expiry is kept, not turned into 'never'");
    assert_eq!(data["meta_data"]["tyk_developer_id"], "62b3fb9a1d5e4f00017226f5");
    assert_eq!(data["per"], 60);
    assert_eq!(data["rate"], 1000);
    assert_eq!(data["quota_max"], -1);
    // The policy governs the quota; in Tyk's merge -1 and 0 both mean "never renews".
    assert!(data["quota_renewal_rate"].as_i64().unwrap() <= 0);
    assert_eq!(data["tags"], json!(["edge", "edge-eu"]));
    assert_eq!(data["throttle_interval"], 0);
    assert!(data["access_rights"][&api].is_object(), "the policy's access rights apply");

    // Read back by the key, by its hash, and by a guess.
    for path in [format!("/api/keys/{key_id}"), format!("/api/keys/{hash}?hashed=true"), format!("/api/keys/{hash}?auto_guess=true")] {
        let got = json_of(app.get(&c, &path).await, StatusCode::OK).await;
        assert_eq!(got["key_hash"], hash);
        assert_eq!(got["data"]["alias"], "portal-key");
        assert_eq!(got["data"]["expires"], 1718439136);
    }
    // The custom id also works without the org prefix, as at a Tyk gateway.
    assert_eq!(app.get(&c, "/api/keys/my-portal-key").await.status(), StatusCode::OK);
}

async fn generated_keys_are_shown_once(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let created = app.create_key(&c, json!({ "alias": "ci", "rate": 10, "per": 1, "access_rights": rights(&api, "v1") })).await;
    let key = created["key_id"].as_str().unwrap();
    assert!(key.starts_with(&c.org) && key.len() == 56, "{key}");
    let hash = created["key_hash"].as_str().unwrap();

    let list = json_of(app.get(&c, "/api/apis/keys?p=1").await, StatusCode::OK).await;
    assert_eq!(list["data"]["keys"], json!([hash]), "lists show the hash, never the key");
    assert_eq!(list["pages"], 1);
    let detailed = json_of(app.get(&c, "/api/keys/detailed").await, StatusCode::OK).await;
    assert_eq!(detailed["keys"][0]["key_id"], hash);
    assert!(!detailed.to_string().contains(key));

    // Storage holds the hash only.
    let row = app.state.store.key(&stored(hash)).await.unwrap().unwrap();
    assert!(!row.session.contains(key));
    assert!(row.key_id.is_none());
}

async fn wrong_types_and_bad_bodies(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let body = json_of(app.post(&c, "/api/keys", &json!({ "rate": "fast" })).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("field `rate`"), "{body}");
    let body = json_of(app.post(&c, "/api/keys", &json!({ "tags": "edge" })).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("field `tags`"), "{body}");
    let body = json_of(app.post(&c, "/api/keys", &json!({ "access_rights": { "x": { "versions": "v1" } } })).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("access_rights.x.versions"), "{body}");
    let resp = app.client.post(app.url("/api/keys")).header("Authorization", &c.cred).body("{").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app.client.post(app.url("/api/keys")).header("Authorization", &c.cred).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = json_of(app.post(&c, "/api/keys", &json!({ "rate": 10, "per": 0 })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "per: must be greater than 0 when rate is set");
    let body = json_of(app.post(&c, "/api/keys", &json!({ "quota_max": -5 })).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().starts_with("quota_max"), "{body}");
    let body = json_of(app.post(&c, "/api/keys/ab", &json!({})).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().starts_with("keyId"), "{body}");
    let huge = json!({ "alias": "x".repeat(server::rest::MAX_BODY_BYTES + 10) });
    assert_eq!(app.post(&c, "/api/keys", &huge).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Both of Tyk's JSON forms: omit-zero `{}` and always-present with nulls.
    app.create_key(&c, json!({})).await;
    app.create_key(&c, json!({ "access_rights": null, "tags": null, "apply_policies": null, "meta_data": null,
                               "smoothing": null, "unknown_field": { "kept": true } })).await;
    let list = json_of(app.get(&c, "/api/apis/keys").await, StatusCode::OK).await;
    assert_eq!(list["data"]["keys"].as_array().unwrap().len(), 2, "only the good bodies created keys");
}

async fn rights_and_policies_must_exist_in_the_org(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    let api_a = app.create_api(&a, "A API", "/a/").await;
    let api_b = app.create_api(&b, "B API", "/b/").await;
    let body = json_of(app.post(&a, "/api/keys", &json!({ "access_rights": rights(&api_b, "v1") })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], format!("access_rights: API '{api_b}' does not exist in your organisation"));
    let body = json_of(app.post(&a, "/api/keys", &json!({ "access_rights": rights(&api_a, "v9") })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], format!("access_rights: API '{api_a}' has no version 'v9'"));
    let bad_regex = json!({ api_a.clone(): { "versions": ["v1"], "allowed_urls": [{ "url": "([", "methods": ["GET"] }] } });
    assert_eq!(app.post(&a, "/api/keys", &json!({ "access_rights": bad_regex })).await.status(), StatusCode::BAD_REQUEST);

    let pb = json!({ "name": "B policy", "rate": 1, "per": 1, "access_rights": rights(&api_b, "v1") });
    let pb = json_of(app.post(&b, "/api/portal/policies", &pb).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    for pid in [pb.as_str(), "nope"] {
        let body = json_of(app.post(&a, "/api/keys", &json!({ "apply_policies": [pid] })).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["Message"], format!("apply_policies: policy '{pid}' does not exist in your organisation"));
    }
}

async fn other_orgs_keys_are_refused(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    let key = app.create_key(&a, json!({ "alias": "mine", "rate": 5, "per": 1 })).await;
    let (id, hash) = (key["key_id"].as_str().unwrap(), key["key_hash"].as_str().unwrap());
    let non_owned = tyk_error("Attempted access to non-owned key.");
    assert_eq!(json_of(app.get(&b, &format!("/api/keys/{id}")).await, StatusCode::BAD_REQUEST).await, non_owned);
    assert_eq!(json_of(app.get(&b, &format!("/api/keys/{hash}?hashed=true")).await, StatusCode::BAD_REQUEST).await, non_owned);
    let resp = app.put(&b, &format!("/api/keys/{id}"), &json!({ "alias": "stolen" })).await;
    assert_eq!(json_of(resp, StatusCode::BAD_REQUEST).await, non_owned);
    assert_eq!(json_of(app.delete(&b, &format!("/api/keys/{id}")).await, StatusCode::BAD_REQUEST).await, non_owned);
    let list = json_of(app.get(&b, "/api/apis/keys").await, StatusCode::OK).await;
    assert_eq!(list["data"]["keys"], json!([]));
    // Untouched.
    let got = json_of(app.get(&a, &format!("/api/keys/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["data"]["alias"], "mine");
    let missing = app.get(&a, "/api/keys/does-not-exist").await;
    assert_eq!(json_of(missing, StatusCode::NOT_FOUND).await, tyk_error("Could not retrieve key detail."));
}

async fn update_and_quota_reset(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let key = app.create_key(&c, json!({ "rate": 5, "per": 1, "quota_max": 100, "quota_renewal_rate": 3600 })).await;
    let id = key["key_id"].as_str().unwrap();
    let renews = key["data"]["quota_renews"].as_i64().unwrap();
    assert_eq!(key["data"]["quota_remaining"], 100);
    assert!(renews > 0);
    let created = key["data"]["date_created"].clone();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let body = json!({ "rate": 50, "per": 1, "quota_max": 100, "quota_renewal_rate": 3600, "org_id": "someone-else" });
    let kept = json_of(app.put(&c, &format!("/api/keys/{id}?suppress_reset=1"), &body).await, StatusCode::OK).await;
    assert_eq!(kept["data"]["rate"], 50);
    assert_eq!(kept["data"]["quota_renews"], renews, "suppress_reset keeps the quota window");
    assert_eq!(kept["data"]["org_id"], c.org.as_str());
    assert_eq!(kept["data"]["date_created"], created);

    let reset = json_of(app.put(&c, &format!("/api/keys/{id}"), &body).await, StatusCode::OK).await;
    assert!(reset["data"]["quota_renews"].as_i64().unwrap() > renews, "an update without suppress_reset starts a new window");
    assert_eq!(reset["data"]["quota_remaining"], 100);

    let deleted = json_of(app.delete(&c, &format!("/api/keys/{id}")).await, StatusCode::OK).await;
    assert_eq!(deleted, json!({ "Status": "OK", "Message": "Key deleted successfully.", "Meta": null }));
    assert_eq!(app.get(&c, &format!("/api/keys/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&c, &format!("/api/keys/{id}")).await.status(), StatusCode::NOT_FOUND);
}

async fn hmac_secret_is_generated_and_encrypted(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let key = app.create_key(&c, json!({ "hmac_enabled": true, "hmac_string": "client-chosen" })).await;
    let secret = key["data"]["hmac_string"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 44, "the server makes the secret: {secret}");
    let hash = key["key_hash"].as_str().unwrap();
    let got = json_of(app.get(&c, &format!("/api/keys/{hash}?hashed=1")).await, StatusCode::OK).await;
    assert_eq!(got["data"]["hmac_string"], "****", "shown once, masked on every read");
    let row = app.state.store.key(&stored(hash)).await.unwrap().unwrap();
    assert!(!row.session.contains(&secret) && !row.hmac_secret.as_deref().unwrap().contains(&secret), "stored encrypted");
    // An update keeps the secret (and masks it).
    let updated = json_of(app.put(&c, &format!("/api/keys/{hash}?hashed=1"), &json!({ "hmac_enabled": true, "alias": "x" })).await, StatusCode::OK).await;
    assert_eq!(updated["data"]["hmac_string"], "****");
    let row_after = app.state.store.key(&stored(hash)).await.unwrap().unwrap();
    assert_eq!(row_after.hmac_secret, row.hmac_secret, "the stored secret is unchanged");
    let audit = json_of(app.get(&c, "/api/audit").await, StatusCode::OK).await;
    assert!(!audit.to_string().contains(&secret), "no secret in the audit log");
}

async fn basic_auth_users(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    let body = json!({ "rate": 10, "per": 1, "basic_auth_data": { "user": "ann", "password": "s3cret-pass" } });
    let created = json_of(app.post(&a, "/api/keys?basic_auth=true", &body).await, StatusCode::OK).await;
    assert_eq!(created["key_id"], format!("{}ann", a.org), "listed with the organisation-prefixed id");
    assert_eq!(created["data"]["basic_auth_data"]["user"], "ann");
    assert_eq!(created["data"]["basic_auth_data"]["password"], "", "never returned");
    assert_eq!(created["data"]["basic_auth_data"]["hash_type"], "bcrypt");
    let hash = created["key_hash"].as_str().unwrap();
    let row = app.state.store.key(&stored(hash)).await.unwrap().unwrap();
    assert!(row.session.contains("$2") && !row.session.contains("s3cret-pass"), "bcrypt at rest");

    let dup = app.post(&a, "/api/apis/keys/basic/ann", &json!({ "basic_auth_data": { "password": "other-pass" } })).await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    // Usernames are per organisation.
    let other = app.post(&b, "/api/apis/keys/basic/ann", &json!({ "basic_auth_data": { "password": "other-pass" } })).await;
    assert_eq!(json_of(other, StatusCode::OK).await["key_id"], format!("{}ann", b.org));
    let no_password = app.post(&a, "/api/apis/keys/basic/bob", &json!({})).await;
    let msg = json_of(no_password, StatusCode::BAD_REQUEST).await;
    assert!(msg["Message"].as_str().unwrap().starts_with("basic_auth_data.password"), "{msg}");

    let list = json_of(app.get(&a, "/api/apis/keys").await, StatusCode::OK).await;
    assert_eq!(list["data"]["keys"], json!([format!("{}ann", a.org)]));
    let by_name = json_of(app.get(&a, "/api/keys/ann?username=true").await, StatusCode::OK).await;
    assert_eq!(by_name["key_hash"], hash);
    // An update without a password keeps the stored one.
    let upd = app.put(&a, "/api/keys/ann?username=true", &json!({ "rate": 20, "per": 1, "basic_auth_data": { "user": "ann" } })).await;
    assert_eq!(json_of(upd, StatusCode::OK).await["data"]["rate"], 20);
    let row2 = app.state.store.key(&stored(hash)).await.unwrap().unwrap();
    let pw = |s: &str| serde_json::from_str::<Value>(s).unwrap()["basic_auth_data"]["password"].clone();
    assert_eq!(pw(&row.session), pw(&row2.session));
}

async fn listing_filters_and_search(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let orders = app.create_api(&c, "Orders", "/orders/").await;
    let users = app.create_api(&c, "Users", "/users/").await;
    let gold = json!({ "name": "Gold", "rate": 100, "per": 1, "tags": ["gold"], "access_rights": rights(&users, "v1") });
    let gold = json_of(app.post(&c, "/api/portal/policies", &gold).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let mut hashes = Vec::new();
    for i in 0..12 {
        let body = json!({ "alias": format!("svc-{i}"), "tags": [if i % 2 == 0 { "even" } else { "odd" }],
                           "access_rights": rights(&orders, "v1") });
        hashes.push(app.create_key(&c, body).await["key_hash"].as_str().unwrap().to_owned());
    }
    let with_policy = app.create_key(&c, json!({ "alias": "gold-customer", "apply_policies": [gold] })).await;

    let page1 = json_of(app.get(&c, "/api/apis/keys?p=1").await, StatusCode::OK).await;
    assert_eq!(page1["pages"], 2);
    assert_eq!(page1["data"]["keys"].as_array().unwrap().len(), 10);
    let page2 = json_of(app.get(&c, "/api/apis/keys?p=2").await, StatusCode::OK).await;
    assert_eq!(page2["data"]["keys"].as_array().unwrap().len(), 3);
    let all = json_of(app.get(&c, "/api/apis/keys?p=-1").await, StatusCode::OK).await;
    assert_eq!(all["data"]["keys"].as_array().unwrap().len(), 13);

    let count = |v: &Value| v["data"]["keys"].as_array().unwrap().len();
    assert_eq!(count(&json_of(app.get(&c, "/api/apis/keys?tag=even&p=-1").await, StatusCode::OK).await), 6);
    assert_eq!(count(&json_of(app.get(&c, "/api/apis/keys?tag=gold").await, StatusCode::OK).await), 1, "policy tags are searchable");
    assert_eq!(count(&json_of(app.get(&c, &format!("/api/apis/keys?policy={gold}")).await, StatusCode::OK).await), 1);
    assert_eq!(count(&json_of(app.get(&c, "/api/apis/keys?alias=svc-1").await, StatusCode::OK).await), 3, "svc-1, svc-10, svc-11");
    let for_users = json_of(app.get(&c, &format!("/api/apis/{users}/keys")).await, StatusCode::OK).await;
    assert_eq!(for_users["data"]["keys"], json!([with_policy["key_hash"]]), "a policy's APIs count");
    assert_eq!(count(&json_of(app.get(&c, &format!("/api/apis/{orders}/keys?p=-1")).await, StatusCode::OK).await), 12);
    let prefix = &hashes[3][..10];
    let search = json_of(app.get(&c, &format!("/api/apis/{orders}/keys/search?q={prefix}")).await, StatusCode::OK).await;
    assert_eq!(search["data"]["keys"], json!([hashes[3]]));
    let detailed = json_of(app.get(&c, "/api/keys/detailed?q=gold-customer").await, StatusCode::OK).await;
    assert_eq!(detailed["keys"].as_array().unwrap().len(), 1);
    assert_eq!(detailed["keys"][0]["data"]["rate"], 100, "detailed keys show policy values");
    assert_eq!(app.get(&c, "/api/apis/nope/keys").await.status(), StatusCode::NOT_FOUND);
}

async fn preview_stores_nothing(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let p = json!({ "name": "P", "rate": 100, "per": 10, "quota_max": 1000, "quota_renewal_rate": 60, "access_rights": rights(&api, "v1") });
    let pid = json_of(app.post(&c, "/api/portal/policies", &p).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let preview = json_of(app.post(&c, "/api/keys/preview", &json!({ "rate": 1, "per": 60, "apply_policies": [pid] })).await, StatusCode::OK).await;
    assert_eq!(preview["data"]["rate"], 100);
    assert_eq!(preview["data"]["quota_max"], 1000);
    let list = json_of(app.get(&c, "/api/apis/keys").await, StatusCode::OK).await;
    assert_eq!(list["data"]["keys"], json!([]));
    assert_eq!(app.post(&c, "/api/keys/preview", &json!({ "apply_policies": ["nope"] })).await.status(), StatusCode::BAD_REQUEST);
}

async fn unauthenticated_key_routes(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    for (method, path) in [("GET", "/api/apis/keys"), ("POST", "/api/keys"), ("GET", "/api/keys/x"), ("DELETE", "/api/keys/x"),
                           ("GET", "/api/portal/policies"), ("GET", "/api/apis"), ("GET", "/api/audit")] {
        let resp = app.client.request(method.parse().unwrap(), app.url(path)).json(&json!({})).send().await.unwrap();
        assert_eq!(json_of(resp, StatusCode::UNAUTHORIZED).await, tyk_error("Not authorised"), "{method} {path}");
    }
}

/// A password sent with a key that is not a basic-auth user is dropped: not stored, in clear or
/// otherwise, nor written to the audit trail.
async fn a_token_keys_password_is_never_stored(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let secret = "hunter2-not-for-storage";
    for (path, body) in [
        ("/api/keys", json!({ "access_rights": rights(&api, "v1"), "basic_auth_data": { "user": "ann", "password": secret } })),
        ("/api/keys/custom-with-password", json!({ "access_rights": rights(&api, "v1"), "basic_auth_data": { "password": secret } })),
    ] {
        let created = json_of(app.post(&c, path, &body).await, StatusCode::OK).await;
        let hash = created["key_hash"].as_str().unwrap();
        assert!(!created.to_string().contains(secret));
        let row = app.state.store.key(&stored(hash)).await.unwrap().unwrap();
        assert!(!row.session.contains(secret), "{}", row.session);
    }
    let audit = app.get(&c, "/api/audit").await.text().await.unwrap();
    assert!(!audit.contains(secret));
}

crate::on_both_databases!(
    seed_004_custom_key_verbatim,
    a_token_keys_password_is_never_stored,
    generated_keys_are_shown_once,
    wrong_types_and_bad_bodies,
    rights_and_policies_must_exist_in_the_org,
    other_orgs_keys_are_refused,
    update_and_quota_reset,
    hmac_secret_is_generated_and_encrypted,
    basic_auth_users,
    listing_filters_and_search,
    preview_stores_nothing,
    unauthenticated_key_routes,
);

/// A key hash from an answer, as storage takes it.
fn stored(hash: &str) -> app::model::KeyHash {
    app::model::KeyHash::parse_hex(hash).expect("a key hash")
}
