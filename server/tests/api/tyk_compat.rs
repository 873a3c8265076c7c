//! Where Tyk accepts what a stricter reading would refuse, Portcullis accepts it too, so that
//! Tyk's policies and keys can be brought over: `rate: -1` ("unlimited"), and a key that lists
//! a policy which does not exist beside others that do.

use crate::helpers::*;
use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A policy through the Dashboard API; returns its id.
async fn policy(app: &TestApp, c: &Caller, body: Value) -> String {
    let reply = json_of(app.post(c, "/api/portal/policies", &body).await, StatusCode::OK).await;
    reply["Message"].as_str().unwrap().to_owned()
}

/// `n` requests with `key`: their statuses, and whether any carried a rate-limit header.
async fn hammer(app: &TestApp, path: &str, key: &str, n: usize) -> (Vec<StatusCode>, bool) {
    let mut statuses = Vec::new();
    let mut limited = false;
    for _ in 0..n {
        let resp = app.client.get(app.gw(path)).header("Authorization", key).send().await.unwrap();
        limited |= resp.headers().contains_key("x-ratelimit-limit");
        statuses.push(resp.status());
    }
    (statuses, limited)
}

async fn unlimited_rate_is_accepted_on_every_way_in(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/u/", &up, json!({})).await;

    // Policies: Tyk's dashboard writes "unlimited" as rate and per -1.
    let open = policy(&app, &c, json!({ "name": "Open", "rate": -1, "per": -1, "access_rights": rights(&api, "Default") })).await;
    let slow = policy(&app, &c, json!({ "name": "Slow", "rate": 1, "per": 60, "access_rights": rights(&api, "Default") })).await;
    let stored = json_of(app.get(&c, &format!("/api/portal/policies/{open}")).await, StatusCode::OK).await;
    assert_eq!((stored["rate"].clone(), stored["per"].clone()), (json!(-1), json!(-1)));
    let tyk_policy = json!({ "id": "tyk-open", "org_id": c.org, "name": "Open via /tyk", "rate": -1, "per": -1,
                             "access_rights": rights(&api, "Default") });
    json_of(app.tyk(Method::POST, "/tyk/policies", Some(&tyk_policy)).await, StatusCode::OK).await;

    // Keys, through both APIs.
    let own = app.create_key(&c, json!({ "rate": -1, "per": -1, "access_rights": rights(&api, "Default") })).await;
    assert_eq!(own["data"]["rate"], -1);
    let own = own["key_id"].as_str().unwrap().to_owned();
    let via_tyk = json!({ "org_id": c.org, "rate": -1, "per": 60, "access_rights": rights(&api, "Default") });
    let via_tyk = json_of(app.tyk(Method::POST, "/tyk/keys", Some(&via_tyk)).await, StatusCode::OK).await;
    let via_tyk = via_tyk["key"].as_str().unwrap().to_owned();
    assert_eq!(json_of(app.tyk(Method::GET, &format!("/tyk/keys/{via_tyk}"), None).await, StatusCode::OK).await["rate"], -1);

    // In the merge "unlimited" beats a finite rate, whatever the order.
    let merged = app.create_key(&c, json!({ "apply_policies": [slow, open] })).await;
    assert_eq!((merged["data"]["rate"].clone(), merged["data"]["per"].clone()), (json!(-1), json!(-1)));
    let merged = merged["key_id"].as_str().unwrap().to_owned();
    let limited = app.create_key(&c, json!({ "apply_policies": [slow] })).await["key_id"].as_str().unwrap().to_owned();

    // The gateway: no rate limit at all for -1, while the finite policy still limits.
    for key in [&own, &via_tyk, &merged] {
        let (statuses, headers) = hammer(&app, "/u/", key, 25).await;
        assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
        assert!(!headers, "an unlimited key reports no rate limit");
    }
    let (statuses, _) = hammer(&app, "/u/", &limited, 2).await;
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);

    // What stays refused: other negative values, and a positive rate without a period.
    for (body, message) in [
        (json!({ "rate": -2, "per": 1 }), "rate: must be -1 (unlimited), 0 (no rate limit) or more"),
        (json!({ "rate": -0.5, "per": 1 }), "rate: must be -1 (unlimited), 0 (no rate limit) or more"),
        (json!({ "rate": 0, "per": -5 }), "per: must be -1, 0 or more"),
        (json!({ "rate": 5, "per": -1 }), "per: must be greater than 0 when rate is set"),
    ] {
        let key = json_of(app.post(&c, "/api/keys", &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(key["Message"], message, "{body}");
        let mut p = body.clone();
        p["name"] = json!("Bad");
        let pol = json_of(app.post(&c, "/api/portal/policies", &p).await, StatusCode::BAD_REQUEST).await;
        assert!(pol["Message"].as_str().unwrap().ends_with(message.split_once(": ").unwrap().1), "{pol}");
        let mut t = body.clone();
        t["org_id"] = json!(c.org);
        let tyk = app.tyk(Method::POST, "/tyk/keys", Some(&t)).await;
        assert_eq!(tyk.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

async fn unlimited_rate_in_the_dashboard(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = dashboard_session(&app).await;
    let api = json!({ "api_id": null, "form": { "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:9" } });
    let api_id = json_of(rpc(&app, &cookie, "save_api", api).await, StatusCode::OK).await;
    // "-1" typed as the rate, with no period: Tyk's "unlimited".
    let form = json!({ "id": null, "form": { "name": "Open", "limits": { "rate": "-1", "per": "" },
                                             "access_rights": [{ "api_id": api_id, "versions": ["Default"] }] } });
    let id = json_of(rpc(&app, &cookie, "save_policy", form).await, StatusCode::OK).await;
    let detail = json_of(rpc(&app, &cookie, "get_policy", json!({ "id": id })).await, StatusCode::OK).await;
    assert_eq!(detail["form"]["limits"]["rate"], "-1", "{detail}");
    assert_eq!(detail["form"]["limits"]["rate_disabled"], false);
    let key = json!({ "form": { "access_rights": [{ "api_id": api_id, "versions": ["Default"] }],
                                "limits": { "rate": "-1", "per": "" } } });
    let created = json_of(rpc(&app, &cookie, "create_key", key).await, StatusCode::OK).await;
    let detail = json_of(rpc(&app, &cookie, "get_key", json!({ "key_hash": created["key_hash"] })).await, StatusCode::OK).await;
    assert_eq!(detail["rate"], -1.0);
    let bad = json!({ "form": { "limits": { "rate": "-3", "per": "60" } } });
    let body = json_of(rpc(&app, &cookie, "create_key", bad).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Invalid"]["field"], "rate", "{body}");
}

async fn missing_policies_are_skipped_unless_alone(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/m/", &up, json!({})).await;
    let p1 = policy(&app, &c, json!({ "name": "One", "rate": 100, "per": 1, "tags": ["one"], "access_rights": rights(&api, "Default") })).await;
    let p2 = policy(&app, &c, json!({ "name": "Two", "tags": ["two"], "access_rights": rights(&api, "Default") })).await;

    // Created with a policy that never existed: accepted, and the answer says so.
    let created = app.create_key(&c, json!({ "apply_policies": [p1, "gone"] })).await;
    assert_eq!(created["missing_policies"], json!(["gone"]));
    assert_eq!(created["data"]["rate"], 100);
    assert!(created["data"].get("missing_policies").is_none(), "beside the session, not in it");
    let key = created["key_id"].as_str().unwrap().to_owned();
    let read = json_of(app.get(&c, &format!("/api/keys/{key}")).await, StatusCode::OK).await;
    assert_eq!(read["missing_policies"], json!(["gone"]));
    assert_eq!(read["data"]["apply_policies"], json!([p1, "gone"]), "the key keeps what it was given");
    assert_eq!(hammer(&app, "/m/", &key, 1).await.0, vec![StatusCode::OK]);

    // A policy deleted later: the key works on with the other, and both APIs say which is gone.
    let second = app.create_key(&c, json!({ "apply_policies": [p1, p2] })).await;
    assert!(second.get("missing_policies").is_none(), "nothing missing, nothing said");
    let second = second["key_id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&c, &format!("/api/portal/policies/{p2}")).await.status(), StatusCode::OK);
    let read = json_of(app.get(&c, &format!("/api/keys/{second}")).await, StatusCode::OK).await;
    assert_eq!(read["missing_policies"], json!([p2]));
    assert_eq!(read["data"]["tags"], json!(["one"]));
    let resp = app.tyk(Method::GET, &format!("/tyk/keys/{second}"), None).await;
    assert_eq!(resp.headers()["x-portcullis-missing-policies"], p2.as_str());
    let session = json_of(resp, StatusCode::OK).await;
    assert!(session.get("missing_policies").is_none(), "Tyk's answer is the bare session");
    assert_eq!(hammer(&app, "/m/", &second, 1).await.0, vec![StatusCode::OK]);
    // Sent back as read, the session is accepted and stored without any note of its own.
    let put = app.tyk(Method::PUT, &format!("/tyk/keys/{second}"), Some(&session)).await;
    assert_eq!(put.status(), StatusCode::OK);
    let again = app.tyk(Method::GET, &format!("/tyk/keys/{second}"), None).await;
    assert!(json_of(again, StatusCode::OK).await.get("missing_policies").is_none());

    // Through /tyk too.
    let body = json!({ "org_id": c.org, "apply_policies": ["gone", p1] });
    let added = json_of(app.tyk(Method::POST, "/tyk/keys", Some(&body)).await, StatusCode::OK).await;
    let head = app.tyk(Method::GET, &format!("/tyk/keys/{}", added["key"].as_str().unwrap()), None).await;
    assert_eq!(head.headers()["x-portcullis-missing-policies"], "gone");

    // Alone, a missing policy is refused as before; and a key whose policies are all missing
    // has nothing to apply.
    let body = json_of(app.post(&c, "/api/keys", &json!({ "apply_policies": ["gone"] })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "apply_policies: policy 'gone' does not exist in your organisation");
    let body = json_of(app.post(&c, "/api/keys", &json!({ "apply_policies": ["gone", "lost"] })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "apply_policies: key has no valid policies to be applied");
    let body = json!({ "org_id": c.org, "apply_policies": ["gone"] });
    assert_eq!(app.tyk(Method::POST, "/tyk/keys", Some(&body)).await.status(), StatusCode::BAD_REQUEST);

    // All of a stored key's policies gone: the gateway refuses it, as before.
    let p3 = policy(&app, &c, json!({ "name": "Three", "access_rights": rights(&api, "Default") })).await;
    let lonely = app.create_key(&c, json!({ "apply_policies": [p3] })).await["key_id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&c, &format!("/api/portal/policies/{p3}")).await.status(), StatusCode::OK);
    assert_eq!(hammer(&app, "/m/", &lonely, 1).await.0, vec![StatusCode::FORBIDDEN]);
}

async fn missing_policies_in_the_dashboard(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = dashboard_session(&app).await;
    let api = json!({ "api_id": null, "form": { "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:9" } });
    let api_id = json_of(rpc(&app, &cookie, "save_api", api).await, StatusCode::OK).await;
    let gold = json!({ "id": null, "form": { "name": "Gold", "access_rights": [{ "api_id": api_id, "versions": ["Default"] }] } });
    let gold = json_of(rpc(&app, &cookie, "save_policy", gold).await, StatusCode::OK).await;
    let form = json!({ "form": { "use_policies": true, "policies": [gold, "gone"], "alias": "half" } });
    let created = json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::OK).await;
    let hash = created["key_hash"].as_str().unwrap().to_owned();
    let detail = json_of(rpc(&app, &cookie, "get_key", json!({ "key_hash": hash })).await, StatusCode::OK).await;
    assert_eq!(detail["missing_policies"], json!(["gone"]));
    let page = app.client.get(app.url(&format!("/keys/{hash}"))).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"missing-policies\"") && html.contains("gone"), "the key's page names the missing policy");

    // Alone, it is refused, at its field.
    let form = json!({ "form": { "use_policies": true, "policies": ["gone"] } });
    let body = json_of(rpc(&app, &cookie, "create_key", form).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Invalid"]["field"], "apply_policies", "{body}");
}

async fn dashboard_session(app: &TestApp) -> String {
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let set = resp.headers().get(reqwest::header::SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn rpc(app: &TestApp, cookie: &str, name: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(&format!("/rpc/{name}"))).header(COOKIE, cookie).json(&body).send().await.unwrap()
}

crate::on_both_databases!(
    unlimited_rate_is_accepted_on_every_way_in,
    unlimited_rate_in_the_dashboard,
    missing_policies_are_skipped_unless_alone,
    missing_policies_in_the_dashboard,
);
