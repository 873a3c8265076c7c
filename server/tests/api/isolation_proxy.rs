//! Tenant isolation, the proxy's part: a key is accepted only in its own mode; no credential and no
//! dashboard session crosses the proxy, either way; the gateway reaches only the upstreams the
//! egress rules allow, checked when an API is saved and again when it connects; and a failed
//! upstream is answered without its address or OS error.

use crate::helpers::*;
use crate::on_both_databases;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const DISALLOWED: &str = "Access to this API has been disallowed";
const UNREACHABLE: &str = "The upstream service could not be reached";

async fn refused(resp: reqwest::Response, status: StatusCode, message: &str) {
    let body = json_of(resp, status).await;
    assert_eq!(body, json!({ "error": message }));
}

/// The user's dashboard session cookie, from a real sign-in (`name=value`).
async fn session_cookie(app: &TestApp, email: &str) -> String {
    let resp = app.sign_in(email, "a long password").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let set = resp.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    let pair = set.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("portcullis_session=") && pair.len() > "portcullis_session=".len() + 10, "{pair}");
    pair
}

/// An upstream that counts the connections it accepts and answers each request 200.
async fn counting_upstream() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn api_body(listen_path: &str, target: &str) -> Value {
    json!({ "api_definition": { "name": listen_path, "proxy": { "listen_path": listen_path, "target_url": target, "strip_listen_path": true },
                                "version_data": { "not_versioned": true }, "use_keyless": true } })
}

/// On a standard API, a basic-auth user's id (organisation + user name, or the bare name) and
/// an HMAC key's id (sent in clear in every signed request) are unknown keys; each kind still
/// works in its own mode.
async fn key_kinds_only_in_their_own_mode(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("Acme").await;
    let b = app.caller("Bolt").await;
    let std_api = app.create_gateway_api(&a, "/std/", &up, json!({})).await;
    let basic_api = app.create_gateway_api(&a, "/basic/", &up, json!({ "use_basic_auth": true })).await;
    let token = app.create_key(&a, json!({ "access_rights": rights(&std_api, "Default") })).await["key_id"].as_str().unwrap().to_owned();
    let mut all = rights(&std_api, "Default");
    all.as_object_mut().unwrap().extend(rights(&basic_api, "Default").as_object().unwrap().clone());
    let made = app.post(&a, "/api/apis/keys/basic/ann", &json!({ "basic_auth_data": { "password": "s3cret-pw" }, "access_rights": all })).await;
    assert_eq!(made.status(), StatusCode::OK, "{}", made.text().await.unwrap());
    let hmac = app.create_key(&a, json!({ "hmac_enabled": true, "access_rights": rights(&std_api, "Default") })).await;
    let hmac_id = hmac["key_id"].as_str().unwrap().to_owned();
    // Another organisation's basic-auth user of the same name.
    let b_api = app.create_gateway_api(&b, "/bolt/", &up, json!({ "use_basic_auth": true })).await;
    app.post(&b, "/api/apis/keys/basic/bob", &json!({ "basic_auth_data": { "password": "s3cret-pw" }, "access_rights": rights(&b_api, "Default") })).await;

    let bearer = |v: String| app.client.get(app.gw("/std/x")).header("Authorization", v).send();
    assert_eq!(bearer(token.clone()).await.unwrap().status(), StatusCode::OK);
    for presented in ["ann".to_owned(), format!("{}ann", a.org), format!("Bearer {}ann", a.org), hmac_id.clone(), format!("Bearer {hmac_id}"), "bob".into(), format!("{}bob", b.org)] {
        refused(bearer(presented).await.unwrap(), StatusCode::FORBIDDEN, DISALLOWED).await;
    }
    // The basic-auth user still signs in where it belongs, and only with its password.
    let basic = |user: &str, pw: &str| app.client.get(app.gw("/basic/x")).basic_auth(user, Some(pw)).send();
    assert_eq!(basic("ann", "s3cret-pw").await.unwrap().status(), StatusCode::OK);
    assert_eq!(basic("ann", "").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A plain token is no basic-auth user either.
    assert_eq!(basic(&token, "").await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

/// The dashboard's session cookie and the API's credential (header, parameter, cookie: all the
/// places the API reads it, not only the one used) never reach the upstream; other cookies do.
/// The same on a keyless API.
async fn credentials_and_sessions_never_reach_the_upstream(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let up = spawn_upstream().await;
    let a = app.caller("Acme").await;
    let session = session_cookie(&app, "acme@example.org").await;
    let session_value = session.split_once('=').unwrap().1.to_owned();
    let auth = json!({ "auth": { "auth_header_name": "X-Api-Key", "use_param": true, "param_name": "api_key", "use_cookie": true, "cookie_name": "api_cookie" } });
    let keyed = app.create_gateway_api(&a, "/keyed/", &up, auth.clone()).await;
    let mut keyless_def = auth.as_object().unwrap().clone();
    keyless_def.insert("use_keyless".into(), json!(true));
    app.create_gateway_api(&a, "/open/", &up, Value::Object(keyless_def)).await;
    let key = app.create_key(&a, json!({ "access_rights": rights(&keyed, "Default") })).await["key_id"].as_str().unwrap().to_owned();

    let secret_cookies = format!("{session}; __Host-portcullis_session={session_value}; Portcullis_Session=x; api_cookie={key}; theme=dark; cart=42");
    let cases: Vec<(&str, String, Option<&str>, String)> = vec![
        // (path, query, header, cookie)
        ("/keyed/echo", format!("?api_key={key}&page=2"), Some(key.as_str()), secret_cookies.clone()),
        ("/keyed/echo", "?page=2".into(), Some(key.as_str()), format!("{session}; theme=dark; cart=42")),
        ("/keyed/echo", format!("?API_KEY={key}&page=2"), None, format!("theme=dark; {session}; cart=42")),
        ("/keyed/echo", "?page=2".into(), None, secret_cookies.clone()),
        ("/open/echo", format!("?api_key={key}&page=2"), Some(key.as_str()), secret_cookies.clone()),
        ("/open/echo", "?page=2".into(), None, format!("{session};theme=dark;cart=42")),
    ];
    for (path, query, header, cookie) in cases {
        let mut req = app.client.get(app.gw(&format!("{path}{query}"))).header(COOKIE, cookie.as_str());
        if let Some(h) = header {
            req = req.header("X-Api-Key", h);
        }
        let body = json_of(req.send().await.unwrap(), StatusCode::OK).await;
        let seen = body.to_string();
        let what = format!("{path}{query} {header:?} {cookie}");
        assert!(!seen.contains(&key), "the key reached the upstream ({what}): {seen}");
        assert!(!seen.contains(&session_value), "the session reached the upstream ({what}): {seen}");
        assert!(!seen.to_ascii_lowercase().contains("portcullis_session"), "a session cookie name reached the upstream ({what}): {seen}");
        assert!(body["headers"].get("x-api-key").is_none(), "{what}: {seen}");
        assert_eq!(body["headers"]["cookie"], json!("theme=dark; cart=42"), "{what}");
        assert_eq!(body["query"], json!("page=2"), "{what}");
    }
    // Only the session cookie: no Cookie header is left at all.
    let only = app.client.get(app.gw("/open/echo")).header(COOKIE, session.as_str()).send().await.unwrap();
    assert!(json_of(only, StatusCode::OK).await["headers"].get("cookie").is_none());
    // A basic-auth API does not forward the password.
    let basic_api = app.create_gateway_api(&a, "/basic/", &up, json!({ "use_basic_auth": true })).await;
    app.post(&a, "/api/apis/keys/basic/ann", &json!({ "basic_auth_data": { "password": "s3cret-pw" }, "access_rights": rights(&basic_api, "Default") })).await;
    let resp = app.client.get(app.gw("/basic/echo")).basic_auth("ann", Some("s3cret-pw")).header(COOKIE, session.as_str()).send().await.unwrap();
    let body = json_of(resp, StatusCode::OK).await;
    assert!(body["headers"].get("authorization").is_none() && body["headers"].get("cookie").is_none(), "{body}");
}

/// An upstream on the dashboard's host name must not plant (or replace) a dashboard session:
/// its `Set-Cookie` for a session cookie name is dropped, its other cookies pass.
async fn upstream_cannot_set_a_session_cookie(db: Db) {
    use axum::response::IntoResponse;
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("Acme").await;
    let router = axum::Router::new().fallback(|| async {
        let mut resp = "planted".into_response();
        for c in ["portcullis_session=attacker; Path=/; HttpOnly", "__Host-portcullis_session=attacker; Path=/; Secure", "PORTCULLIS_SESSION=x", "theme=dark; Path=/", "cart=42"] {
            resp.headers_mut().append(axum::http::header::SET_COOKIE, c.parse().unwrap());
        }
        resp
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app.create_gateway_api(&a, "/cookies/", &up, json!({ "use_keyless": true })).await;

    let resp = app.client.get(app.gw("/cookies/x")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let set: Vec<String> = resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert_eq!(set, vec!["theme=dark; Path=/".to_owned(), "cart=42".to_owned()]);
    assert_eq!(resp.text().await.unwrap(), "planted");
}

/// Pointing an API at Portcullis itself never works, whatever the allow-list says (the tests
/// allow loopback): refused at save with the setting named, on create and on update.
async fn own_listeners_refused_at_save(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("Acme").await;
    let dashboard = app.base.clone();
    let gateway = app.gateway.clone();
    let localhost_dashboard = dashboard.replace("127.0.0.1", "localhost");
    for (target, setting) in [(dashboard.as_str(), "PORTCULLIS_LISTEN"), (gateway.as_str(), "PORTCULLIS_GATEWAY_LISTEN"), (localhost_dashboard.as_str(), "PORTCULLIS_LISTEN")] {
        let body = json_of(app.post(&a, "/api/apis", &api_body("/self/", &format!("{target}/metrics"))).await, StatusCode::BAD_REQUEST).await;
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(message.starts_with("proxy.target_url: resolves to 127.0.0.1:"), "{body}");
        assert!(message.contains(setting) && message.contains("PORTCULLIS_UPSTREAM_ALLOW"), "{body}");
    }
    let (up, _) = counting_upstream().await;
    let made = json_of(app.post(&a, "/api/apis", &api_body("/fine/", &up)).await, StatusCode::OK).await;
    let id = made["ID"].as_str().unwrap();
    let moved = app.put(&a, &format!("/api/apis/{id}"), &api_body("/fine/", &format!("{dashboard}/metrics"))).await;
    let body = json_of(moved, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("PORTCULLIS_LISTEN"), "{body}");
    // The stored target is unchanged.
    let now = json_of(app.get(&a, &format!("/api/apis/{id}")).await, StatusCode::OK).await;
    assert_eq!(now["api_definition"]["proxy"]["target_url"], json!(up));
}

/// With no allow-list, loopback (by address or by name), link-local and cloud metadata
/// targets are refused at save with the class and the setting to change; a name that does not
/// resolve yet is accepted (it is checked again at connect time), as is an ordinary address.
async fn refused_classes_without_allow_list(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.security.upstream_allow.clear()).await else { return };
    let a = app.caller("Acme").await;
    for (target, shown) in [
        ("http://127.0.0.1:6379", "resolves to 127.0.0.1, a loopback address; set PORTCULLIS_UPSTREAM_ALLOW=127.0.0.0/8 to allow it"),
        ("http://localhost:5432/", "a loopback address; set PORTCULLIS_UPSTREAM_ALLOW="),
        ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254, a cloud metadata address; set PORTCULLIS_UPSTREAM_ALLOW=169.254.169.254/32"),
        ("http://[::ffff:127.0.0.1]:80", "a loopback address"),
        ("http://[::1]:80", "resolves to ::1, a loopback address; set PORTCULLIS_UPSTREAM_ALLOW=::1/128"),
        ("http://0.0.0.0:80", "an unspecified address"),
        ("https://169.254.10.10", "a link-local address; set PORTCULLIS_UPSTREAM_ALLOW=169.254.0.0/16"),
    ] {
        let body = json_of(app.post(&a, "/api/apis", &api_body("/in/", target)).await, StatusCode::BAD_REQUEST).await;
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(message.starts_with("proxy.target_url: ") && message.contains(shown), "{target}: {body}");
    }
    json_of(app.post(&a, "/api/apis", &api_body("/later/", "http://not-yet.invalid:8000")).await, StatusCode::OK).await;
    json_of(app.post(&a, "/api/apis", &api_body("/out/", "http://192.0.2.10:8000")).await, StatusCode::OK).await;
}

/// The address is checked again when the gateway connects: an API saved while loopback was
/// allowed, served after the operator emptied the allow-list (the same database, a server
/// started again), gets the generic 502, and the upstream sees no connection, whether the
/// target is an address or a name.
async fn tightened_allow_list_refuses_at_connect(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("Acme").await;
    let (up, seen) = counting_upstream().await;
    let by_name = up.replace("127.0.0.1", "localhost");
    app.create_gateway_api(&a, "/ip/", &up, json!({ "use_keyless": true })).await;
    app.create_gateway_api(&a, "/name/", &by_name, json!({ "use_keyless": true })).await;
    assert_eq!(app.client.get(app.gw("/ip/x")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    let mut config = test_config(app.database_url.clone());
    config.security.upstream_allow.clear();
    let tightened = server::startup::Application::build(config).await.expect("application starts");
    let gateway = format!("http://{}", tightened.gateway_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tightened.run(async move {
        let _ = stopped.await;
    }));
    for path in ["/ip/x", "/name/x"] {
        let resp = app.client.get(format!("{gateway}{path}")).send().await.unwrap();
        refused(resp, StatusCode::BAD_GATEWAY, UNREACHABLE).await;
    }
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the upstream was reached");
    // The first server, which still allows loopback, still reaches it.
    assert_eq!(app.client.get(app.gw("/name/x")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    let _ = stop.send(());
}

/// A closed port is a 502 whose body says nothing of the address or the OS error.
async fn closed_port_answers_a_generic_502(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.caller("Acme").await;
    let port = closed_port().await;
    app.create_gateway_api(&a, "/gone/", &format!("http://127.0.0.1:{port}"), json!({ "use_keyless": true })).await;
    let resp = app.client.get(app.gw("/gone/x")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let text = resp.text().await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({ "error": UNREACHABLE }));
    for leak in ["os error", "refused", "127.0.0.1", &port.to_string()] {
        assert!(!text.to_ascii_lowercase().contains(leak), "{leak} in {text}");
    }
}

on_both_databases!(
    key_kinds_only_in_their_own_mode,
    credentials_and_sessions_never_reach_the_upstream,
    upstream_cannot_set_a_session_cookie,
    own_listeners_refused_at_save,
    refused_classes_without_allow_list,
    tightened_allow_list_refuses_at_connect,
    closed_port_answers_a_generic_502,
);
