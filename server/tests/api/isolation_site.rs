//! Tenant isolation, the dashboard: it is a site of its own. Server functions, sign-in and
//! sign-out take only same-origin requests; the session cookie is `__Host-` over HTTPS; every page carries
//! the security headers; the listeners bound slow and excess connections; `/metrics` is not
//! public.

use crate::helpers::*;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

crate::on_both_databases!(
    cross_site_server_functions_are_refused,
    sign_in_and_out_forms_need_their_token,
    secure_cookies_use_the_host_prefix,
    pages_carry_the_security_headers,
    slow_headers_are_cut_off,
    connections_are_capped,
    metrics_need_the_token_or_their_own_listener,
);

async fn sign_in_cookie(app: &TestApp) -> String {
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let set = resp.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn rpc(app: &TestApp, cookie: &str, name: &str, body: Value) -> Response {
    app.client.post(app.url(&format!("/rpc/{name}"))).header(COOKIE, cookie).json(&body).send().await.unwrap()
}

/// The anti-forgery cookie a page sets, and the hidden field the page renders with it.
async fn csrf(app: &TestApp) -> (String, String) {
    let resp = app.client.get(app.url("/login")).send().await.unwrap();
    let set = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("portcullis_csrf="))
        .expect("the sign-in page sets the anti-forgery cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let html = resp.text().await.unwrap();
    let field = regex::Regex::new(r#"name="csrf_token" value="([0-9a-f]+)""#).unwrap();
    let token = field.captures(&html).expect("the sign-in form has the hidden field")[1].to_owned();
    assert_eq!(cookie, format!("portcullis_csrf={token}"), "double submit: the field repeats the cookie");
    (cookie, token)
}

async fn cross_site_server_functions_are_refused(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = sign_in_cookie(&app).await;
    let api = json!({ "api_id": null, "form": {
        "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:9", "auth_mode": "Key" } });
    let api_id = json_of(rpc(&app, &cookie, "save_api", api).await, StatusCode::OK).await.as_str().unwrap().to_owned();
    let repoint = json!({ "api_id": api_id, "form": {
        "name": "Orders", "listen_path": "/orders/", "target_url": "http://127.0.0.1:10", "auth_mode": "Key" } })
    .to_string();

    // What a page on another site can send with the admin's cookie: a "simple" text/plain POST.
    let evil = app
        .client
        .post(app.url("/rpc/save_api"))
        .header(COOKIE, &cookie)
        .header("Origin", "http://evil.example")
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(repoint.clone())
        .send()
        .await
        .unwrap();
    let body = json_of(evil, StatusCode::FORBIDDEN).await;
    assert!(body["Message"].as_str().unwrap().contains("http://evil.example"), "{body}");
    // Even as JSON: the browser says it comes from another site.
    let cross = app
        .client
        .post(app.url("/rpc/save_api"))
        .header(COOKIE, &cookie)
        .header("Sec-Fetch-Site", "cross-site")
        .header("Content-Type", "application/json")
        .body(repoint.clone())
        .send()
        .await
        .unwrap();
    let body = json_of(cross, StatusCode::FORBIDDEN).await;
    assert!(body["Message"].as_str().unwrap().contains("Sec-Fetch-Site"), "{body}");
    // A sibling subdomain (the gateway's host, say) is same-site but not same-origin.
    let sibling = app
        .client
        .post(app.url("/rpc/save_api"))
        .header(COOKIE, &cookie)
        .header("Sec-Fetch-Site", "same-site")
        .header("Content-Type", "application/json")
        .body(repoint.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(sibling.status(), StatusCode::FORBIDDEN);
    // No Origin at all (an old browser, or a script), but not JSON: 415.
    let plain = app
        .client
        .post(app.url("/rpc/save_api"))
        .header(COOKIE, &cookie)
        .header("Content-Type", "text/plain")
        .body(repoint.clone())
        .send()
        .await
        .unwrap();
    let body = json_of(plain, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(body["Message"].as_str().unwrap().contains("application/json"), "{body}");
    let form = app
        .client
        .post(app.url("/rpc/save_api"))
        .header(COOKIE, &cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("api_id=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // The API is as it was.
    let detail = json_of(rpc(&app, &cookie, "get_api", json!({ "api_id": api_id })).await, StatusCode::OK).await;
    assert_eq!(detail["form"]["target_url"], "http://127.0.0.1:9", "{detail}");

    // The dashboard's own page: same origin, JSON, as the islands send it.
    let own = app
        .client
        .post(app.url("/rpc/save_api"))
        .header(COOKIE, &cookie)
        .header("Origin", &app.base)
        .header("Sec-Fetch-Site", "same-origin")
        .header("Content-Type", "application/json")
        .body(repoint)
        .send()
        .await
        .unwrap();
    json_of(own, StatusCode::OK).await;
    let detail = json_of(rpc(&app, &cookie, "get_api", json!({ "api_id": api_id })).await, StatusCode::OK).await;
    assert_eq!(detail["form"]["target_url"], "http://127.0.0.1:10", "{detail}");
}

async fn sign_in_and_out_forms_need_their_token(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let (csrf_cookie, token) = csrf(&app).await;
    let form = |token: Option<&str>| {
        let mut fields = vec![("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)];
        if let Some(t) = token {
            fields.push(("csrf_token", t));
        }
        app.client.post(app.url("/auth/login")).header(COOKIE, &csrf_cookie).form(&fields)
    };
    // Without the token, with a wrong one, or with the token but without its cookie: refused.
    for resp in [
        form(None).send().await.unwrap(),
        form(Some("00000000000000000000000000000000")).send().await.unwrap(),
        app.client.post(app.url("/auth/login")).form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("csrf_token", token.as_str())]).send().await.unwrap(),
    ] {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.headers().get(SET_COOKIE).is_none(), "no session");
        assert!(resp.text().await.unwrap().contains("anti-forgery token"));
    }
    // The right token but posted from another site: refused too.
    let resp = form(Some(token.as_str())).header("Origin", "http://evil.example").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // JSON from another site (a browser says so): refused; from a script: signed in.
    let resp = app
        .client
        .post(app.url("/auth/login"))
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::FORBIDDEN).await;
    assert_eq!(app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK);

    // The right token, from the page itself: signed in.
    let resp = form(Some(token.as_str())).header("Origin", &app.base).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/");
    let session = resp.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let both = format!("{session}; {csrf_cookie}");

    // The signed-in page's sign-out form carries the same token.
    let home = app.client.get(app.url("/")).header(COOKIE, &both).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.headers().get(SET_COOKIE).is_none(), "the token is kept while its cookie is");
    let html = home.text().await.unwrap();
    assert!(html.contains(&format!(r#"name="csrf_token" value="{token}""#)), "the sign-out form has the field");

    // Sign-out without the token (a cross-site form in an old browser): the session lives on.
    let resp = app.client.post(app.url("/auth/logout")).header(COOKIE, &both).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = app.client.post(app.url("/auth/logout")).header(COOKIE, &both).form(&[("csrf_token", "0")]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(rpc(&app, &session, "get_profile", json!({})).await.status(), StatusCode::OK);
    // With it: signed out.
    let resp = app.client.post(app.url("/auth/logout")).header(COOKIE, &both).form(&[("csrf_token", &token)]).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login");
    assert!(!rpc(&app, &session, "get_profile", json!({})).await.status().is_success());

    // A script signs out with JSON and no token.
    let session = sign_in_cookie(&app).await;
    let resp = app
        .client
        .post(app.url("/auth/logout"))
        .header(COOKIE, &session)
        .header("Accept", "application/json")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await;
    assert!(!rpc(&app, &session, "get_profile", json!({})).await.status().is_success());
}

async fn secure_cookies_use_the_host_prefix(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.secure_cookies = true).await else { return };
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with("__Host-portcullis_session="), "{set}");
    let attributes: Vec<&str> = set.split(';').map(str::trim).collect();
    for wanted in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(attributes.contains(&wanted), "{wanted} in {set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "no Domain: {set}");
    let cookie = attributes[0].to_owned();
    let value = cookie.split_once('=').unwrap().1.to_owned();
    assert_eq!(rpc(&app, &cookie, "get_profile", json!({})).await.status(), StatusCode::OK);
    // The plain name (which a sibling subdomain could plant) is not a session over HTTPS.
    let plain = format!("portcullis_session={value}");
    assert_eq!(rpc(&app, &plain, "list_apis", json!({})).await.status(), StatusCode::UNAUTHORIZED);
    let page = app.client.get(app.url("/")).header(COOKIE, &plain).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "pages do not take the plain name either");
    // The anti-forgery cookie is __Host- too.
    let login = app.client.get(app.url("/login")).send().await.unwrap();
    let csrf = login.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(csrf.starts_with("__Host-portcullis_csrf=") && csrf.contains("Secure") && csrf.contains("Path=/"), "{csrf}");
    // Served over HTTPS, an http:// Origin is another origin.
    let resp = app
        .client
        .post(app.url("/rpc/get_profile"))
        .header(COOKIE, &cookie)
        .header("Origin", &app.base)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let https = app.base.replace("http://", "https://");
    let resp = app.client.post(app.url("/rpc/get_profile")).header(COOKIE, &cookie).header("Origin", https).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Sign-out ends the __Host- cookie.
    let resp = app.client.post(app.url("/auth/logout")).header(COOKIE, &cookie).json(&json!({})).send().await.unwrap();
    let cleared = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("__Host-portcullis_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

async fn pages_carry_the_security_headers(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = sign_in_cookie(&app).await;
    for path in ["/login", "/", "/keys", "/no-such-page"] {
        let resp = app.client.get(app.url(path)).header(COOKIE, &cookie).send().await.unwrap();
        let h = resp.headers().clone();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        for directive in ["frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'", "'wasm-unsafe-eval'", "default-src 'self'"] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        let script_src = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{script_src}");
        // Every inline script carries this response's nonce, and only it.
        let nonce = regex::Regex::new(r"'nonce-([A-Za-z0-9_-]+)'").unwrap().captures(&csp).unwrap_or_else(|| panic!("{path}: a nonce in {csp}"))[1].to_owned();
        let html = resp.text().await.unwrap();
        let scripts = regex::Regex::new(r"<script([^>]*)>").unwrap();
        let mut count = 0;
        for s in scripts.captures_iter(&html) {
            let attrs = &s[1];
            if attrs.contains("src=") {
                continue;
            }
            count += 1;
            assert!(attrs.contains(&format!(r#"nonce="{nonce}""#)), "{path}: inline <script{attrs}> without the nonce");
        }
        assert!(count >= 2, "{path}: the hydration and theme scripts are inline ({count})");
    }
    // A second load gets another nonce.
    let a = app.client.get(app.url("/login")).send().await.unwrap().headers()["content-security-policy"].clone();
    let b = app.client.get(app.url("/login")).send().await.unwrap().headers()["content-security-policy"].clone();
    assert_ne!(a, b);
    // Server functions' answers carry the headers too.
    let resp = rpc(&app, &cookie, "get_profile", json!({})).await;
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
}

/// Opens `n` connections that send half a request head and then nothing more.
async fn half_sent(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: slow.example\r\nX-Slow: ").await.unwrap();
        sockets.push(s);
    }
    sockets
}

/// Whether the server closed `s` within `within`: the read ends (EOF or reset), maybe after a 408.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

async fn slow_headers_are_cut_off(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.security.header_timeout = 1.0).await else { return };
    let started = Instant::now();
    let mut dashboard = half_sent(&host_port(&app.base), 200).await;
    let mut gateway = half_sent(&host_port(&app.gateway), 200).await;
    // Meanwhile, a normal request is served on each listener.
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), StatusCode::OK);
    let resp = app.client.get(format!("{}/nothing-here/", app.gateway)).send().await.unwrap();
    assert!(resp.status().is_client_error(), "the gateway answers: {}", resp.status());
    for s in dashboard.iter_mut().chain(gateway.iter_mut()) {
        assert!(closed_by_server(s, Duration::from_secs(6)).await, "a half-sent request is closed");
    }
    assert!(started.elapsed() < Duration::from_secs(8), "all closed within seconds: {:?}", started.elapsed());
    // A keep-alive client that goes quiet between requests is closed as well.
    let mut idle = TcpStream::connect(host_port(&app.base)).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_by_server(&mut idle, Duration::from_secs(4)).await, "an idle keep-alive connection is closed");
}

/// Whether a request sent on `s` is answered within `within`.
async fn answered(s: &mut TcpStream, within: Duration) -> bool {
    let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 512];
    matches!(tokio::time::timeout(within, s.read(&mut buf)).await, Ok(Ok(n)) if n > 0)
}

async fn connections_are_capped(db: Db) {
    let Some(app) = spawn_app_with(db, |c| {
        c.security.max_connections = 5;
        c.security.header_timeout = 30.0;
    })
    .await
    else {
        return;
    };
    for base in [&app.base, &app.gateway] {
        let addr = host_port(base);
        let mut open = Vec::new();
        for _ in 0..5 {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            assert!(answered(&mut s, Duration::from_secs(5)).await, "{base}: within the cap, served");
            open.push(s);
        }
        // The kernel accepts the 6th, but the server does not take it while 5 are open.
        let mut sixth = TcpStream::connect(&addr).await.unwrap();
        let _ = sixth.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut buf = [0u8; 512];
        let early = tokio::time::timeout(Duration::from_millis(1500), sixth.read(&mut buf)).await;
        assert!(early.is_err(), "{base}: the 6th connection waits");
        // One closes: the 6th is served.
        drop(open.pop());
        let n = tokio::time::timeout(Duration::from_secs(5), sixth.read(&mut buf)).await.expect("served once a place is free").unwrap();
        assert!(n > 0, "{base}: the 6th is answered");
        drop(open);
        drop(sixth);
        // Places are given back as connections close.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn metrics_need_the_token_or_their_own_listener(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body = json_of(resp, StatusCode::UNAUTHORIZED).await;
    assert!(body["Message"].as_str().unwrap().contains("Bearer"), "{body}");
    let wrong = app.client.get(app.url("/metrics")).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = app.client.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("portcullis_"));
    drop(app);

    // Neither token nor listener: not served.
    let Some(app) = spawn_app_with(db, |c| c.security.metrics_token = None).await else { return };
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    drop(app);

    // A listener of its own: served there without a token, and not on the dashboard port.
    let port = free_port();
    let Some(app) = spawn_app_with(db, |c| c.security.metrics_listen = Some(format!("127.0.0.1:{port}").parse().unwrap())).await else {
        return;
    };
    let resp = app.client.get(app.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Asked as Prometheus asks: OpenMetrics (without, the classic text format).
    let resp = app.client.get(format!("http://127.0.0.1:{port}/metrics")).header("accept", "application/openmetrics-text").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let resp = app.client.get(format!("http://127.0.0.1:{port}/api/keys")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "only /metrics there");
}
