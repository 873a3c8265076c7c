//! Tenant isolation, routing: no organisation can register a listen path, or a
//! host and path, that overlaps another's; APIs bound to a domain are matched by `Host`; the
//! path is normalised once at the door, so `..` and `%2e%2e` cannot slip past `allowed_urls`.
//! Raw paths go over a plain TCP socket: reqwest (the `url` crate) would resolve them first.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request written as given (path and headers untouched); the status and the body.
async fn raw(app: &TestApp, method: &str, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let addr = app.gateway.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status line: {text}"));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // The gateway may stream the answer chunked: keep the JSON object, drop the chunk sizes.
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.find('{').and_then(|s| body.rfind('}').map(|e| body[s..=e].to_owned())).unwrap_or_default()
    } else {
        body.to_owned()
    };
    (status, body)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn overlap(path: &str) -> Value {
    tyk_error(&format!("proxy.listen_path: '{path}' overlaps an API of another organisation"))
}

fn def(listen_path: &str, target: &str, extra: Value) -> Value {
    let mut d = json!({ "name": listen_path, "proxy": { "listen_path": listen_path, "target_url": target, "strip_listen_path": true },
                        "version_data": { "not_versioned": true } });
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    json!({ "api_definition": d })
}

fn key_of(created: &Value) -> String {
    created["key_id"].as_str().unwrap().to_owned()
}

async fn takeover_beneath_another_org_is_refused(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("Attacker").await;
    let b = app.caller("Bank").await;
    let pay = app.create_gateway_api(&b, "/pay/", &format!("{up}/bank"), json!({})).await;
    let b_key = key_of(&app.create_key(&b, json!({ "access_rights": rights(&pay, "Default") })).await);

    // A keyless API beneath B's, a catch-all, B's own path without its slash: all refused,
    // without naming B.
    for lp in ["/pay/v2/", "/", "/pay", "/pay/v2/charge"] {
        let reply = json_of(app.post(&a, "/api/apis", &def(lp, &format!("{up}/attacker"), json!({ "use_keyless": true }))).await, StatusCode::CONFLICT).await;
        assert_eq!(reply, overlap(lp));
        assert!(!reply.to_string().contains(&b.org), "the other organisation is not named");
    }
    assert_eq!(json_of(app.get(&a, "/api/apis").await, StatusCode::OK).await["apis"], json!([]), "nothing was stored for A");
    // A neighbour by name only is not an overlap, and serves only its own segment.
    app.create_gateway_api(&a, "/payments/", &format!("{up}/attacker"), json!({ "use_keyless": true })).await;

    // B's clients still reach B's upstream, with B's key, on every path below /pay/.
    for (path, upstream_path) in [("/pay/v2/charge", "/bank/v2/charge"), ("/pay", "/bank/"), ("/pay/", "/bank/")] {
        let resp = app.client.get(app.gw(path)).header("Authorization", &b_key).send().await.unwrap();
        assert_eq!(json_of(resp, StatusCode::OK).await["path"], upstream_path, "{path}");
    }
    let resp = app.client.get(app.gw("/payments/x")).send().await.unwrap();
    assert_eq!(json_of(resp, StatusCode::OK).await["path"], "/attacker/x");
    // `/pay` no longer catches `/payx`: listen paths serve whole segments.
    let resp = app.client.get(app.gw("/payx")).header("Authorization", &b_key).send().await.unwrap();
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await, json!({ "error": "No API is registered at this path" }));
}

async fn root_is_refused_when_another_org_has_an_api(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    // The first organisation may take `/` while it is alone; then nobody else can register.
    app.create_gateway_api(&a, "/", "http://127.0.0.1:9", json!({})).await;
    for lp in ["/b/", "/", "/x/y/z"] {
        assert_eq!(json_of(app.post(&b, "/api/apis", &def(lp, "http://127.0.0.1:9", json!({}))).await, StatusCode::CONFLICT).await, overlap(lp));
    }
    // A may nest below its own catch-all.
    app.create_gateway_api(&a, "/a/", "http://127.0.0.1:9", json!({})).await;
}

async fn overlap_is_refused_on_update(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    app.create_gateway_api(&b, "/pay/", "http://127.0.0.1:9", json!({ "domain": "pay.example" })).await;
    let mine = app.create_gateway_api(&a, "/mine/", "http://127.0.0.1:9", json!({})).await;
    let path = format!("/api/apis/{mine}");
    // Moving beneath B's path, with or without a domain that meets B's, is refused.
    for (lp, extra) in [("/pay/v2/", json!({})), ("/pay/", json!({ "domain": "PAY.example" })), ("/", json!({ "domain": "pay.example" }))] {
        let reply = json_of(app.put(&a, &path, &def(lp, "http://127.0.0.1:9", extra)).await, StatusCode::CONFLICT).await;
        assert_eq!(reply, overlap(lp));
    }
    let stored = json_of(app.get(&a, &path).await, StatusCode::OK).await;
    assert_eq!(stored["api_definition"]["proxy"]["listen_path"], "/mine/", "the refused update changed nothing");
    // On another host the same path is A's to take; moving it back to every host is refused.
    json_of(app.put(&a, &path, &def("/pay/", "http://127.0.0.1:9", json!({ "domain": "a.example" }))).await, StatusCode::OK).await;
    assert_eq!(json_of(app.put(&a, &path, &def("/pay/", "http://127.0.0.1:9", json!({}))).await, StatusCode::CONFLICT).await, overlap("/pay/"));
    // Changing anything else keeps working.
    let mut renamed = def("/pay/", "http://127.0.0.1:9", json!({ "domain": "a.example" }));
    renamed["api_definition"]["name"] = json!("Renamed");
    json_of(app.put(&a, &path, &renamed).await, StatusCode::OK).await;
}

async fn nesting_inside_one_org_is_allowed(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("A").await;
    app.create_gateway_api(&a, "/pay/", &format!("{up}/outer"), json!({ "use_keyless": true })).await;
    app.create_gateway_api(&a, "/pay/v2/", &format!("{up}/inner"), json!({ "use_keyless": true })).await;
    // The same route twice is still a conflict, and says so.
    let reply = json_of(app.post(&a, "/api/apis", &def("/pay/v2/", "http://127.0.0.1:9", json!({}))).await, StatusCode::CONFLICT).await;
    assert_eq!(reply, tyk_error("proxy.listen_path: '/pay/v2/' is already used by another API"));
    // The longest listen path wins.
    for (path, upstream_path) in [("/pay/v2/x", "/inner/x"), ("/pay/v2", "/inner/"), ("/pay/v3", "/outer/v3"), ("/pay/v2x", "/outer/v2x")] {
        let resp = app.client.get(app.gw(path)).send().await.unwrap();
        assert_eq!(json_of(resp, StatusCode::OK).await["path"], upstream_path, "{path}");
    }
}

async fn domains_route_by_host(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    let c = app.caller("C").await;
    app.create_gateway_api(&a, "/pay/", &format!("{up}/a"), json!({ "use_keyless": true, "domain": "A.example.com" })).await;
    app.create_gateway_api(&b, "/pay/", &format!("{up}/b"), json!({ "use_keyless": true, "domain": "b.example.com" })).await;
    // The domain is stored as a host name in lower case.
    let listed = json_of(app.get(&a, "/api/apis").await, StatusCode::OK).await;
    assert_eq!(listed["apis"][0]["api_definition"]["domain"], "a.example.com");

    // Case-insensitive, with or without a port.
    for (host, upstream_path) in [("a.example.com", "/a/x"), ("A.EXAMPLE.COM:8080", "/a/x"), ("b.example.com", "/b/x"), ("b.example.com.", "/b/x")] {
        let (status, body) = raw(&app, "GET", "/pay/x", &[("Host", host)]).await;
        assert_eq!((status, json(&body)["path"].clone()), (200, json!(upstream_path)), "{host}");
    }
    let (status, body) = raw(&app, "GET", "/pay/x", &[("Host", "c.example.com")]).await;
    assert_eq!((status, json(&body)), (404, json!({ "error": "No API is registered at this path" })), "another host has no API");

    // An API for every host meets both domain-bound ones.
    assert_eq!(json_of(app.post(&c, "/api/apis", &def("/pay/v2/", "http://127.0.0.1:9", json!({}))).await, StatusCode::CONFLICT).await, overlap("/pay/v2/"));
    assert_eq!(json_of(app.post(&c, "/api/apis", &def("/", "http://127.0.0.1:9", json!({}))).await, StatusCode::CONFLICT).await, overlap("/"));
    // C on its own host may use the same path; on A's host it may not.
    app.create_gateway_api(&c, "/pay/", &format!("{up}/c"), json!({ "use_keyless": true, "domain": "c.example.com" })).await;
    assert_eq!(
        json_of(app.post(&c, "/api/apis", &def("/pay/v2/", "http://127.0.0.1:9", json!({ "domain": "a.example.com" }))).await, StatusCode::CONFLICT).await,
        overlap("/pay/v2/")
    );
    // And an API for every host, registered first, keeps other organisations' domains off its path.
    app.create_gateway_api(&a, "/open/", &format!("{up}/open"), json!({ "use_keyless": true })).await;
    assert_eq!(
        json_of(app.post(&b, "/api/apis", &def("/open/x/", "http://127.0.0.1:9", json!({ "domain": "b.example.com" }))).await, StatusCode::CONFLICT).await,
        overlap("/open/x/")
    );
    let (status, body) = raw(&app, "GET", "/open/y", &[("Host", "b.example.com")]).await;
    assert_eq!((status, json(&body)["path"].clone()), (200, json!("/open/y")), "no domain: every host");
    // A domain must be a host name.
    for bad in ["https://a.example.com", "a.example.com:80", "a.example.com/pay", "*.example.com"] {
        let reply = json_of(app.post(&c, "/api/apis", &def("/d/", "http://127.0.0.1:9", json!({ "domain": bad }))).await, StatusCode::BAD_REQUEST).await;
        assert!(reply["Message"].as_str().unwrap().starts_with("domain: must be a host name"), "{bad}: {reply}");
    }
}

async fn domain_bound_api_wins_on_its_host(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("A").await;
    // Inside one organisation: the API for the host comes before the one for every host.
    app.create_gateway_api(&a, "/pay/v2/", &format!("{up}/any"), json!({ "use_keyless": true })).await;
    app.create_gateway_api(&a, "/pay/", &format!("{up}/host"), json!({ "use_keyless": true, "domain": "a.example.com" })).await;
    let (_, body) = raw(&app, "GET", "/pay/v2/x", &[("Host", "a.example.com")]).await;
    assert_eq!(json(&body)["path"], "/host/v2/x");
    let (_, body) = raw(&app, "GET", "/pay/v2/x", &[("Host", "other.example.com")]).await;
    assert_eq!(json(&body)["path"], "/any/x");
}

/// B's API with a key that may only GET `^/public`.
async fn public_only(app: &TestApp, up: &str) -> (String, Caller) {
    let b = app.caller("Bank").await;
    let api = app.create_gateway_api(&b, "/pay/", &format!("{up}/bank"), json!({})).await;
    let rights = json!({ api.clone(): { "versions": ["Default"], "allowed_urls": [{ "url": "^/public", "methods": ["GET"] }] } });
    (key_of(&app.create_key(&b, json!({ "access_rights": rights })).await), b)
}

async fn dot_segments_cannot_bypass_allowed_urls(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let (key, _) = public_only(&app, &up).await;
    let auth = [("Authorization", key.as_str())];
    for path in [
        "/pay/public/../admin",
        "/pay/public/%2e%2e/admin",
        "/pay/public/%2E%2e/admin",
        "/pay/public/.%2E/admin",
        "/pay/public/x/../../admin",
        "/pay/./admin",
        "/pay/public/..",
    ] {
        let (status, body) = raw(&app, "GET", path, &auth).await;
        assert_eq!((status, json(&body)), (403, json!({ "error": "Access to this resource has been disallowed" })), "{path}");
    }
    // What passes reaches the upstream normalised: it never sees a dot segment.
    for (path, upstream_path) in [
        ("/pay/public/x", "/bank/public/x"),
        ("/pay/public/./x", "/bank/public/x"),
        ("/pay/admin/../public/x", "/bank/public/x"),
        ("/pay/%70ublic/%2e/x?q=1", "/bank/public/x"),
        ("/pay/public/a%2Fb", "/bank/public/a%2Fb"),
    ] {
        let (status, body) = raw(&app, "GET", path, &auth).await;
        let seen = json(&body);
        assert_eq!((status, seen["path"].clone()), (200, json!(upstream_path)), "{path}: {body}");
        assert!(!seen["path"].as_str().unwrap().contains(".."));
    }
    let (_, body) = raw(&app, "GET", "/pay/%70ublic/%2e/x?q=1", &auth).await;
    assert_eq!(json(&body)["query"], "q=1", "the query is kept");
}

async fn climbing_above_the_listen_path_is_refused(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let (key, b) = public_only(&app, &up).await;
    // B's own open API elsewhere: a path that addressed /pay/ must not end up there.
    app.create_gateway_api(&b, "/admin/", &format!("{up}/admin"), json!({ "use_keyless": true })).await;
    let message = json!({ "error": "The path's '..' segments climb above the root or out of the API's listen path" });
    for path in ["/pay/../admin/x", "/pay/%2e%2e/admin/x", "/pay/%2E%2E/", "/pay/..", "/..", "/../pay/public", "/pay/public/../../..", "/%2e%2e/pay/public"] {
        let (status, body) = raw(&app, "GET", path, &[("Authorization", key.as_str())]).await;
        assert_eq!((status, json(&body)), (400, message.clone()), "{path}");
    }
    // Climbing back into the same API is only a longer spelling.
    let (status, body) = raw(&app, "GET", "/pay/../pay/public/x", &[("Authorization", key.as_str())]).await;
    assert_eq!((status, json(&body)["path"].clone()), (200, json!("/bank/public/x")));
    let (status, _) = raw(&app, "GET", "/admin/x", &[]).await;
    assert_eq!(status, 200, "the open API itself is served");
}

async fn forward_auth_normalises_the_path(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let (key, _) = public_only(&app, "http://127.0.0.1:9").await;
    let ask = |name: &'static str, uri: &'static str| {
        app.client.get(app.gw("/_portcullis/auth")).header(name, uri).header("Authorization", &key).send()
    };
    assert_eq!(ask("X-Original-URI", "/pay/public/x").await.unwrap().status(), StatusCode::OK);
    for (name, uri) in [
        ("X-Original-URI", "/pay/public/../admin"),
        ("X-Original-URI", "/pay/public/%2e%2e/admin?x=1"),
        ("X-Forwarded-Uri", "/pay/public/%2E%2e/admin"),
    ] {
        let resp = ask(name, uri).await.unwrap();
        assert_eq!(json_of(resp, StatusCode::FORBIDDEN).await, json!({ "error": "Access to this resource has been disallowed" }), "{name}: {uri}");
    }
    let resp = ask("X-Original-URI", "/pay/../admin").await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Envoy: the original path after ours, sent raw.
    let (status, _) = raw(&app, "GET", "/_portcullis/auth/pay/public/../admin", &[("Authorization", &key)]).await;
    assert_eq!(status, 403);
    let (status, _) = raw(&app, "GET", "/_portcullis/auth/pay/public/%2e/x", &[("Authorization", &key)]).await;
    assert_eq!(status, 200);
}

async fn forward_auth_matches_the_forwarded_host(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let api = app.create_gateway_api(&a, "/fa/", "http://127.0.0.1:9", json!({ "domain": "a.example.com" })).await;
    let key = key_of(&app.create_key(&a, json!({ "access_rights": rights(&api, "Default") })).await);
    let traefik = |host: &'static str| {
        app.client.get(app.gw("/_portcullis/auth")).header("X-Forwarded-Uri", "/fa/x").header("X-Forwarded-Host", host).header("Authorization", &key).send()
    };
    assert_eq!(traefik("a.example.com").await.unwrap().status(), StatusCode::OK);
    assert_eq!(traefik("b.example.com").await.unwrap().status(), StatusCode::NOT_FOUND);
    // nginx: the subrequest keeps the client's Host.
    let (status, _) = raw(&app, "GET", "/_portcullis/auth", &[("Host", "a.example.com"), ("X-Original-URI", "/fa/x"), ("Authorization", &key)]).await;
    assert_eq!(status, 200);
    let (status, _) = raw(&app, "GET", "/_portcullis/auth", &[("Host", "b.example.com"), ("X-Original-URI", "/fa/x"), ("Authorization", &key)]).await;
    assert_eq!(status, 404);
}

async fn racing_organisations_cannot_both_win(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("A").await;
    let b = app.caller("B").await;
    for round in 0..25 {
        let (outer, inner) = (format!("/race{round}/"), format!("/race{round}/v2/"));
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let (outer, inner) = (def(&outer, "http://127.0.0.1:9", json!({})), def(&inner, "http://127.0.0.1:9", json!({})));
        let (x, y) = tokio::join!(app.post(first, "/api/apis", &outer), app.post(second, "/api/apis", &inner));
        let mut statuses = [x.status(), y.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "round {round}: exactly one wins");
    }
    let mut stored = 0;
    for c in [&a, &b] {
        stored += json_of(app.get(c, "/api/apis?p=-1").await, StatusCode::OK).await["apis"].as_array().unwrap().len();
    }
    assert_eq!(stored, 25, "one API stored per round");
}

crate::on_both_databases!(
    takeover_beneath_another_org_is_refused,
    root_is_refused_when_another_org_has_an_api,
    overlap_is_refused_on_update,
    nesting_inside_one_org_is_allowed,
    domains_route_by_host,
    domain_bound_api_wins_on_its_host,
    dot_segments_cannot_bypass_allowed_urls,
    climbing_above_the_listen_path_is_refused,
    forward_auth_normalises_the_path,
    forward_auth_matches_the_forwarded_host,
    racing_organisations_cannot_both_win,
);
