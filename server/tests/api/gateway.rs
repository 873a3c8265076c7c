//! The gateway over real HTTP: every check with Tyk's status and body, the proxy, limits.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

async fn refusal(resp: reqwest::Response, status: StatusCode, message: &str) {
    assert_eq!(json_of(resp, status).await, json!({ "error": message }));
}

async fn proxies_with_a_valid_key(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let KeyedApi { upstream: up, caller: c, key, .. } = app.keyed_api("/orders/").await;

    let resp = app
        .client
        .post(app.gw("/orders/items/7?x=1&y=2"))
        .header("Authorization", format!("Bearer {key}"))
        .header("Connection", "keep-alive, x-hop")
        .header("X-Hop", "drop me")
        .header("X-Custom", "kept")
        .body("hello upstream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-upstream"], "yes");
    let echo = json_of(resp, StatusCode::OK).await;
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/items/7", "the listen path is stripped");
    assert_eq!(echo["query"], "x=1&y=2");
    assert_eq!(echo["body"], "hello upstream");
    let h = &echo["headers"];
    assert!(h.get("authorization").is_none(), "the client's key never reaches the upstream");
    assert!(h.get("x-hop").is_none(), "headers named in Connection are hop-by-hop");
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert!(h["x-forwarded-host"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(h["host"], up.trim_start_matches("http://"), "the upstream sees its own host");

    // Without stripping, the upstream sees the whole path.
    let api2 = app.create_gateway_api(&c, "/full/", &format!("{up}/base"), json!({ "proxy": { "listen_path": "/full/", "target_url": format!("{up}/base"), "strip_listen_path": false } })).await;
    let key2 = app.create_key(&c, json!({ "access_rights": rights(&api2, "Default") })).await["key_id"].as_str().unwrap().to_owned();
    let echo = json_of(app.client.get(app.gw("/full/a")).header("Authorization", &key2).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(echo["path"], "/base/full/a");
}

async fn missing_unknown_and_foreign_keys(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    app.create_gateway_api(&a, "/a/", &up, json!({})).await;
    let api_b = app.create_gateway_api(&b, "/b/", &up, json!({})).await;
    refusal(app.client.get(app.gw("/a/x")).send().await.unwrap(), StatusCode::UNAUTHORIZED, "Authorization field missing").await;
    refusal(app.client.get(app.gw("/a/x")).header("Authorization", "nope-not-a-key").send().await.unwrap(), StatusCode::FORBIDDEN, "Access to this API has been disallowed").await;
    // B's key, even with no access rights (all of B's APIs), cannot open A's API.
    let kb = app.create_key(&b, json!({})).await["key_id"].as_str().unwrap().to_owned();
    refusal(app.client.get(app.gw("/a/x")).header("Authorization", &kb).send().await.unwrap(), StatusCode::FORBIDDEN, "Access to this API has been disallowed").await;
    assert_eq!(app.client.get(app.gw(&format!("/b/x?api={api_b}"))).header("Authorization", &kb).send().await.unwrap().status(), StatusCode::OK);
    refusal(app.client.get(app.gw("/nothing-here")).send().await.unwrap(), StatusCode::NOT_FOUND, "No API is registered at this path").await;
}

async fn inactive_expired_deleted(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/svc/", &up, json!({})).await;
    let body = json!({ "alias": "k", "access_rights": rights(&api, "Default") });
    let key = app.create_key(&c, body.clone()).await;
    let (id, hash) = (key["key_id"].as_str().unwrap().to_owned(), key["key_hash"].as_str().unwrap().to_owned());
    let get = || app.client.get(app.gw("/svc/")).header("Authorization", &id).send();
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);

    // Deactivated through the API: refused on the very next request.
    let mut off = body.clone();
    off["is_inactive"] = json!(true);
    app.put(&c, &format!("/api/keys/{hash}?hashed=1"), &off).await;
    refusal(get().await.unwrap(), StatusCode::FORBIDDEN, "Key is inactive, please renew").await;
    app.put(&c, &format!("/api/keys/{hash}?hashed=1"), &body).await;
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);

    // Expired.
    let mut past = body.clone();
    past["expires"] = json!(1_600_000_000);
    app.put(&c, &format!("/api/keys/{hash}?hashed=1"), &past).await;
    refusal(get().await.unwrap(), StatusCode::UNAUTHORIZED, "Key has expired, please renew").await;

    // Deleted.
    app.delete(&c, &format!("/api/keys/{hash}?hashed=1")).await;
    refusal(get().await.unwrap(), StatusCode::FORBIDDEN, "Access to this API has been disallowed").await;

    // An inactive policy deactivates its keys at once.
    let p = json!({ "name": "P", "access_rights": rights(&api, "Default") });
    let pid = json_of(app.post(&c, "/api/portal/policies", &p).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let pk = app.create_key(&c, json!({ "apply_policies": [pid] })).await["key_id"].as_str().unwrap().to_owned();
    let getp = || app.client.get(app.gw("/svc/")).header("Authorization", &pk).send();
    assert_eq!(getp().await.unwrap().status(), StatusCode::OK);
    let mut p_off = p.clone();
    p_off["is_inactive"] = json!(true);
    app.put(&c, &format!("/api/portal/policies/{pid}"), &p_off).await;
    refusal(getp().await.unwrap(), StatusCode::FORBIDDEN, "Key is inactive, please renew").await;
}

async fn access_rights_versions_and_paths(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let versioned = json!({ "version_data": { "not_versioned": false, "default_version": "v1",
                              "versions": { "v1": { "name": "v1" }, "v2": { "name": "v2" } } },
                            "definition": { "location": "header", "key": "x-api-version" } });
    let api = app.create_gateway_api(&c, "/v/", &up, versioned).await;
    let other = app.create_gateway_api(&c, "/other/", &up, json!({})).await;
    let rights = json!({ api.clone(): { "versions": ["v1"], "allowed_urls": [{ "url": "^/items", "methods": ["GET"] }] } });
    let key = app.create_key(&c, json!({ "access_rights": rights })).await["key_id"].as_str().unwrap().to_owned();
    let call = |method: Method, path: &str, version: Option<&str>| {
        let mut r = app.client.request(method, app.gw(path)).header("Authorization", &key);
        if let Some(v) = version {
            r = r.header("x-api-version", v);
        }
        r.send()
    };
    assert_eq!(call(Method::GET, "/v/items/1", None).await.unwrap().status(), StatusCode::OK, "default version v1");
    assert_eq!(call(Method::GET, "/v/items/1", Some("v1")).await.unwrap().status(), StatusCode::OK);
    refusal(call(Method::GET, "/v/items/1", Some("v2")).await.unwrap(), StatusCode::FORBIDDEN, "Access to this API has been disallowed").await;
    refusal(call(Method::GET, "/v/items/1", Some("v9")).await.unwrap(), StatusCode::FORBIDDEN, "This API version does not seem to exist").await;
    refusal(call(Method::POST, "/v/items/1", None).await.unwrap(), StatusCode::FORBIDDEN, "Access to this resource has been disallowed").await;
    refusal(call(Method::GET, "/v/users", None).await.unwrap(), StatusCode::FORBIDDEN, "Access to this resource has been disallowed").await;
    refusal(call(Method::GET, "/other/", None).await.unwrap(), StatusCode::FORBIDDEN, "Access to this API has been disallowed").await;
    let _ = other;
}

async fn rate_limit_burst_and_window(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/r/", &up, json!({})).await;
    let key = app.create_key(&c, json!({ "rate": 10, "per": 1, "access_rights": rights(&api, "Default") })).await["key_id"].as_str().unwrap().to_owned();
    let get = || app.client.get(app.gw("/r/")).header("Authorization", &key).send();
    for i in 0..10 {
        let resp = get().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "request {i}");
        assert_eq!(resp.headers()["x-ratelimit-limit"], "10");
        assert_eq!(resp.headers()["x-ratelimit-remaining"], (9 - i).to_string().as_str());
    }
    let eleventh = get().await.unwrap();
    assert_eq!(eleventh.headers()["x-ratelimit-remaining"], "0");
    assert!(eleventh.headers().contains_key("x-ratelimit-reset"));
    refusal(eleventh, StatusCode::TOO_MANY_REQUESTS, "Rate Limit Exceeded").await;
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(get().await.unwrap().status(), StatusCode::OK, "passes again after the window");
}

async fn throttling_waits_instead_of_refusing(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/t/", &up, json!({})).await;
    let body = json!({ "rate": 1, "per": 1, "throttle_retry_limit": 5, "throttle_interval": 0.3, "access_rights": rights(&api, "Default") });
    let key = app.create_key(&c, body).await["key_id"].as_str().unwrap().to_owned();
    let get = || app.client.get(app.gw("/t/")).header("Authorization", &key).send();
    assert_eq!(get().await.unwrap().status(), StatusCode::OK);
    let started = std::time::Instant::now();
    assert_eq!(get().await.unwrap().status(), StatusCode::OK, "held, then let through");
    assert!(started.elapsed() >= Duration::from_millis(600), "it waited for the rate to allow it");
}

async fn quota_holds_under_concurrency(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/q/", &up, json!({})).await;
    let created = app.create_key(&c, json!({ "quota_max": 100, "quota_renewal_rate": 3600, "access_rights": rights(&api, "Default") })).await;
    let key = created["key_id"].as_str().unwrap().to_owned();
    let requests = (0..300).map(|_| {
        let (client, url, key) = (app.client.clone(), app.gw("/q/"), key.clone());
        tokio::spawn(async move { client.get(url).header("Authorization", key).send().await.unwrap() })
    });
    let mut passed = 0;
    let mut refused = Vec::new();
    for r in futures_join(requests).await {
        match r.status() {
            StatusCode::OK => passed += 1,
            _ => refused.push(r),
        }
    }
    let statuses: Vec<u16> = refused.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(passed, 100, "exactly quota_max requests pass; the others: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 403), "{statuses:?}");
    let last = refused.pop().unwrap();
    assert_eq!(last.headers()["x-quota-limit"], "100");
    assert_eq!(last.headers()["x-quota-remaining"], "0");
    refusal(last, StatusCode::FORBIDDEN, "Quota exceeded").await;
    // The key's read shows the live quota.
    let read = json_of(app.get(&c, &format!("/api/keys/{key}")).await, StatusCode::OK).await;
    assert_eq!(read["data"]["quota_remaining"], 0);
    // An update without suppress_reset starts the quota again.
    app.put(&c, &format!("/api/keys/{key}"), &json!({ "quota_max": 100, "quota_renewal_rate": 3600, "access_rights": rights(&api, "Default") })).await;
    assert_eq!(app.client.get(app.gw("/q/")).header("Authorization", &key).send().await.unwrap().status(), StatusCode::OK);
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

async fn per_api_limits(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let a = app.create_gateway_api(&c, "/pa/", &up, json!({})).await;
    let b = app.create_gateway_api(&c, "/pb/", &up, json!({})).await;
    let rights = json!({
        a.clone(): { "versions": ["Default"], "limit": { "rate": 100, "per": 1, "quota_max": 2, "quota_renewal_rate": 3600 } },
        b.clone(): { "versions": ["Default"] }
    });
    let key = app.create_key(&c, json!({ "quota_max": 5, "quota_renewal_rate": 3600, "access_rights": rights })).await["key_id"].as_str().unwrap().to_owned();
    let get = |p: &'static str| app.client.get(app.gw(p)).header("Authorization", &key).send();
    assert_eq!(get("/pa/").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/pa/").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/pa/").await.unwrap().status(), StatusCode::FORBIDDEN, "API a has its own quota of 2");
    for _ in 0..5 {
        assert_eq!(get("/pb/").await.unwrap().status(), StatusCode::OK, "API b uses the key's quota of 5");
    }
    assert_eq!(get("/pb/").await.unwrap().status(), StatusCode::FORBIDDEN);
}

async fn key_in_query_or_cookie_and_custom_ids(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/p/", &up, json!({ "auth": { "auth_header_name": "x-api-key", "use_param": true, "param_name": "key", "use_cookie": true, "cookie_name": "session_key" } })).await;
    let key = app.create_key(&c, json!({ "access_rights": rights(&api, "Default") })).await["key_id"].as_str().unwrap().to_owned();
    let echo = json_of(app.client.get(app.gw(&format!("/p/x?key={key}&keep=1"))).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(echo["query"], "keep=1", "the key parameter is removed");
    let echo = json_of(app.client.get(app.gw("/p/x")).header("Cookie", format!("a=1; session_key={key}")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(echo["headers"]["cookie"], "a=1");
    assert_eq!(app.client.get(app.gw("/p/x")).header("x-api-key", &key).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(app.gw("/p/x")).header("Authorization", &key).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A custom key works with or without its organisation prefix.
    app.post(&c, "/api/keys/partner-key-1", &json!({ "access_rights": rights(&api, "Default") })).await;
    assert_eq!(app.client.get(app.gw("/p/x")).header("x-api-key", "partner-key-1").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.client.get(app.gw("/p/x")).header("x-api-key", format!("{}partner-key-1", c.org)).send().await.unwrap().status(), StatusCode::OK);
}

async fn keyless_apis_pass(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    app.create_gateway_api(&c, "/open/", &up, json!({ "use_keyless": true })).await;
    assert_eq!(app.client.get(app.gw("/open/anything")).send().await.unwrap().status(), StatusCode::OK);
}

async fn basic_auth_and_credential_cache(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/basic/", &up, json!({ "use_basic_auth": true })).await;
    app.post(&c, "/api/apis/keys/basic/ann", &json!({ "basic_auth_data": { "password": "s3cret:pw" }, "access_rights": rights(&api, "Default") })).await;
    let call = |user: &str, pw: &str| app.client.get(app.gw("/basic/")).basic_auth(user, Some(pw)).send();
    let ok = call("ann", "s3cret:pw").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let echo: Value = ok.json().await.unwrap();
    assert!(echo["headers"].get("authorization").is_none());
    // Once verified and cached, neither a prefix nor an extension of either part gets in.
    for (user, pw) in [("ann", "s3cret:p"), ("ann", "s3cret:pwx"), ("an", "s3cret:pw"), ("anne", "s3cret:pw"), ("ann", ""), ("ann", &format!("s3cret:pw{}", "x".repeat(80)))] {
        let resp = call(user, pw).await.unwrap();
        assert!(resp.headers().contains_key("www-authenticate"), "{user}:{pw}");
        refusal(resp, StatusCode::UNAUTHORIZED, "User not authorised").await;
    }
    assert_eq!(call("ann", "s3cret:pw").await.unwrap().status(), StatusCode::OK);
    let none = app.client.get(app.gw("/basic/")).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    // A changed password takes effect at once, even though the old one was cached.
    app.put(&c, "/api/keys/ann?username=true", &json!({ "basic_auth_data": { "password": "new-password" }, "access_rights": rights(&api, "Default") })).await;
    assert_eq!(call("ann", "s3cret:pw").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(call("ann", "new-password").await.unwrap().status(), StatusCode::OK);
}

fn sign(algorithm: &str, secret: &str, data: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    macro_rules! mac {
        ($d:ty) => {{
            let mut m = Hmac::<$d>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }};
    }
    let raw = match algorithm {
        "hmac-sha1" => mac!(sha1::Sha1),
        "hmac-sha256" => mac!(sha2::Sha256),
        "hmac-sha384" => mac!(sha2::Sha384),
        "hmac-sha512" => mac!(sha2::Sha512),
        _ => unreachable!(),
    };
    url::form_urlencoded::byte_serialize(base64::engine::general_purpose::STANDARD.encode(raw).as_bytes()).collect()
}

async fn hmac_signatures(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/signed/", &up, json!({ "enable_signature_checking": true, "hmac_allowed_clock_skew": 5000 })).await;
    let created = app.create_key(&c, json!({ "hmac_enabled": true, "access_rights": rights(&api, "Default") })).await;
    let (key, secret) = (created["key_id"].as_str().unwrap().to_owned(), created["data"]["hmac_string"].as_str().unwrap().to_owned());
    let now = httpdate::fmt_http_date(std::time::SystemTime::now());
    let send = |auth: String, date: String| app.client.get(app.gw("/signed/orders")).header("Date", date).header("Authorization", auth).send();
    let header = |alg: &str, sig: &str| format!(r#"Signature keyId="{key}",algorithm="{alg}",headers="(request-target) date",signature="{sig}""#);
    let signing = |date: &str| format!("(request-target): get /signed/orders\ndate: {date}");
    for alg in ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"] {
        let resp = send(header(alg, &sign(alg, &secret, &signing(&now))), now.clone()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{alg}");
    }
    let bad = "Authorization field missing, malformed or invalid";
    refusal(send(header("hmac-sha256", &sign("hmac-sha256", "wrong-secret", &signing(&now))), now.clone()).await.unwrap(), StatusCode::BAD_REQUEST, bad).await;
    let stale = httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(600));
    refusal(send(header("hmac-sha256", &sign("hmac-sha256", &secret, &signing(&stale))), stale).await.unwrap(), StatusCode::BAD_REQUEST, bad).await;
    refusal(send("Signature keyId=\"broken".into(), now.clone()).await.unwrap(), StatusCode::BAD_REQUEST, bad).await;
    refusal(send(format!(r#"Signature algorithm="hmac-sha1",signature="x""#), now.clone()).await.unwrap(), StatusCode::BAD_REQUEST, bad).await;
    let no_date = app.client.get(app.gw("/signed/orders")).header("Authorization", header("hmac-sha1", "x")).send().await.unwrap();
    refusal(no_date, StatusCode::BAD_REQUEST, bad).await;
    refusal(app.client.get(app.gw("/signed/orders")).send().await.unwrap(), StatusCode::BAD_REQUEST, bad).await;
}

async fn upstream_down_or_slow(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.upstream_timeout = 0.5).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let dead = app.create_gateway_api(&c, "/dead/", "http://127.0.0.1:9", json!({})).await;
    let slow = app.create_gateway_api(&c, "/slow/", &up, json!({})).await;
    let key = app.create_key(&c, json!({ "access_rights": { dead.clone(): { "versions": [] }, slow.clone(): { "versions": [] } } })).await["key_id"].as_str().unwrap().to_owned();
    let resp = app.client.get(app.gw("/dead/")).header("Authorization", &key).send().await.unwrap();
    let body = json_of(resp, StatusCode::BAD_GATEWAY).await;
    // The cause (address, OS error) goes to the log, not to the client.
    assert_eq!(body, json!({ "error": "The upstream service could not be reached" }));
    let resp = app.client.get(app.gw("/slow/slow")).header("Authorization", &key).send().await.unwrap();
    refusal(resp, StatusCode::GATEWAY_TIMEOUT, "The upstream service did not answer in time").await;
    // Upstream errors pass through as they are.
    let resp = app.client.get(app.gw("/slow/status/418")).header("Authorization", &key).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::IM_A_TEAPOT);
}

async fn forward_auth_answers_instead_of_proxying(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/fa/", "http://127.0.0.1:9", json!({})).await;
    let created = app.create_key(&c, json!({ "alias": "svc", "rate": 100, "per": 1, "access_rights": rights(&api, "Default") })).await;
    let key = created["key_id"].as_str().unwrap();
    // nginx style.
    let resp = app.client.get(app.gw("/_portcullis/auth")).header("X-Original-URI", "/fa/orders?x=1").header("X-Original-Method", "GET")
        .header("Authorization", key).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-portcullis-key-hash"], created["key_hash"].as_str().unwrap());
    assert_eq!(resp.headers()["x-portcullis-alias"], "svc");
    assert_eq!(resp.headers()["x-portcullis-org"], c.org.as_str());
    assert_eq!(resp.headers()["x-ratelimit-limit"], "100");
    // Traefik style, refused.
    let resp = app.client.get(app.gw("/_portcullis/auth")).header("X-Forwarded-Uri", "/fa/orders").header("X-Forwarded-Method", "GET").send().await.unwrap();
    refusal(resp, StatusCode::UNAUTHORIZED, "Authorization field missing").await;
    // Envoy style: the original path after ours.
    let resp = app.client.get(app.gw("/_portcullis/auth/fa/orders")).header("Authorization", key).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn analytics_are_recorded(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/an/", &up, json!({})).await;
    let pid = json_of(app.post(&c, "/api/portal/policies", &json!({ "name": "P", "access_rights": rights(&api, "Default") })).await, StatusCode::OK).await["Message"].as_str().unwrap().to_owned();
    let created = app.create_key(&c, json!({ "alias": "tracked", "tags": ["t1"], "apply_policies": [pid], "enable_detailed_recording": true })).await;
    let (key, hash) = (created["key_id"].as_str().unwrap(), created["key_hash"].as_str().unwrap());
    for path in ["/an/ok", "/an/status/500", "/an/status/404"] {
        app.client.get(app.gw(path)).header("Authorization", key).send().await.unwrap();
    }
    let plain = app.create_key(&c, json!({ "access_rights": rights(&api, "Default") })).await;
    app.client.post(app.gw("/an/plain")).header("Authorization", plain["key_id"].as_str().unwrap()).body("not kept").send().await.unwrap();
    // Written in batches, off the hot path.
    let mut stored = 0;
    for _ in 0..50 {
        stored = app.state.store.count_analytics(&c.org).await.unwrap();
        if stored >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 4);

    // Each record, as stored.
    use base64::Engine;
    use sqlx::Row;
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows = sqlx::query(
        "SELECT api_id, api_version, key_hash, alias, tags, method, path, status, latency_ms, upstream_ms, raw_request, raw_response \
         FROM analytics WHERE org_id = $1 ORDER BY at_ms, id",
    )
    .bind(&c.org)
    .fetch_all(&db)
    .await
    .unwrap();
    let text = |r: &sqlx::any::AnyRow, col: &str| r.try_get::<String, _>(col).unwrap();
    let raw = |r: &sqlx::any::AnyRow, col: &str| r.try_get::<Option<String>, _>(col).unwrap();
    let requests: Vec<(String, String, i64)> = rows.iter().map(|r| (text(r, "method"), text(r, "path"), r.try_get("status").unwrap())).collect();
    assert_eq!(requests, [("GET", "/an/ok", 200), ("GET", "/an/status/500", 500), ("GET", "/an/status/404", 404), ("POST", "/an/plain", 200)]
        .map(|(m, p, s)| (m.to_owned(), p.to_owned(), s)));
    let tracked = &rows[0];
    assert_eq!(text(tracked, "api_id"), api);
    assert_eq!(text(tracked, "api_version"), "Non Versioned");
    assert_eq!(text(tracked, "key_hash"), hash);
    assert_eq!(text(tracked, "alias"), "tracked");
    let tags: Vec<String> = serde_json::from_str(&text(tracked, "tags")).unwrap();
    assert!(tags.contains(&"t1".to_owned()) && tags.contains(&format!("pol-{pid}")), "{tags:?}");
    let (latency, upstream): (f64, f64) = (tracked.try_get("latency_ms").unwrap(), tracked.try_get("upstream_ms").unwrap());
    assert!(latency >= upstream && upstream > 0.0, "total {latency} ms, upstream {upstream} ms");
    let answer = base64::engine::general_purpose::STANDARD.decode(raw(tracked, "raw_response").unwrap()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&answer).unwrap()["path"], "/ok", "detailed recording keeps the answer's body");
    assert_eq!(raw(tracked, "raw_request").as_deref(), Some(""), "and the request's (empty) body");
    assert_eq!(text(&rows[3], "key_hash"), plain["key_hash"].as_str().unwrap());
    assert_eq!((raw(&rows[3], "raw_request"), raw(&rows[3], "raw_response")), (None, None), "bodies only with enable_detailed_recording");
    db.close().await;
    let path = activity_from_today(hash);
    let activity = json_of(app.get(&c, &path).await, StatusCode::OK).await;
    let unit = &activity["data"][0];
    assert_eq!(unit["hits"], 3);
    assert_eq!(unit["success"], 1);
    assert_eq!(unit["error"], 2);
    assert_eq!(unit["status_codes"]["500"], 1);
    // Another organisation cannot read this key's activity.
    let other = app.caller("Other").await;
    let theirs = json_of(app.get(&other, &path).await, StatusCode::OK).await;
    assert_eq!(theirs["data"], json!([]));
    let bad = app.get(&c, &format!("/api/activity/keys/{hash}/40/13/2024/1/1/2025")).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

/// Upstream connections are kept: one after another, requests whatever their answers (a
/// chunked body of megabytes, an empty 204, a HEAD, a large upload) all reach the upstream on
/// one connection, because each goes back to its worker's pool once its answer has been read.
/// One gateway worker, so that every client connection uses the same pool.
async fn upstream_connections_are_kept_and_reused(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.gateway_threads = 1).await else { return };
    let KeyedApi { key, .. } = app.keyed_api("/pool/").await;
    let peer = |resp: &reqwest::Response| resp.headers()["x-upstream-peer"].to_str().unwrap().to_owned();
    let get = |path: &str| app.client.get(app.gw(path)).header("Authorization", &key);

    let first = get("/pool/a").send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let upstream_conn = peer(&first);
    first.bytes().await.unwrap();

    let big = get("/pool/bytes/3000000").send().await.unwrap();
    assert_eq!(big.status(), StatusCode::OK);
    assert_eq!(peer(&big), upstream_conn);
    let body = big.bytes().await.unwrap();
    assert_eq!(body.len(), 3_000_000);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8), "the streamed body arrives intact");

    let empty = get("/pool/status/204").send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    assert_eq!(peer(&empty), upstream_conn, "an empty answer frees its connection too");

    let head = app.client.head(app.gw("/pool/a")).header("Authorization", &key).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(peer(&head), upstream_conn);

    let upload = "u".repeat(2_000_000);
    let echo = app.client.post(app.gw("/pool/up")).header("Authorization", &key).body(upload.clone()).send().await.unwrap();
    assert_eq!(peer(&echo), upstream_conn);
    assert_eq!(json_of(echo, StatusCode::OK).await["body"].as_str().unwrap().len(), upload.len());

    let last = get("/pool/b").send().await.unwrap();
    assert_eq!(peer(&last), upstream_conn, "still the first connection");
}

/// An upstream that closes its idle connections (a short keep-alive timeout), or says
/// `Connection: close`: the next request goes out on a new connection instead of failing.
async fn closed_upstream_connections_are_replaced(db: Db) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = spawn_app(db).await else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let close = if String::from_utf8_lossy(&request).contains(" /close ") { "connection: close\r\n" } else { "" };
                let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n{close}\r\nok");
                socket.write_all(answer.as_bytes()).await.unwrap();
                // Then the connection is closed, 50 ms later, without a word.
                tokio::time::sleep(Duration::from_millis(50)).await;
            });
        }
    });
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/closing/", &up, json!({})).await;
    let key = app.create_key(&c, json!({ "access_rights": rights(&api, "Default") })).await["key_id"].as_str().unwrap().to_owned();
    for (i, path) in ["/closing/a", "/closing/b", "/closing/close", "/closing/c"].into_iter().enumerate() {
        let resp = app.client.get(app.gw(path)).header("Authorization", &key).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "request {i} ({path})");
        assert_eq!(resp.text().await.unwrap(), "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), i + 1, "request {i} came on a new connection");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

crate::on_both_databases!(
    proxies_with_a_valid_key,
    missing_unknown_and_foreign_keys,
    inactive_expired_deleted,
    access_rights_versions_and_paths,
    rate_limit_burst_and_window,
    throttling_waits_instead_of_refusing,
    quota_holds_under_concurrency,
    per_api_limits,
    key_in_query_or_cookie_and_custom_ids,
    keyless_apis_pass,
    basic_auth_and_credential_cache,
    hmac_signatures,
    upstream_down_or_slow,
    forward_auth_answers_instead_of_proxying,
    analytics_are_recorded,
    upstream_connections_are_kept_and_reused,
    closed_upstream_connections_are_replaced,
);
