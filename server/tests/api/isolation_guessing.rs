//! Tenant isolation: guessing a credential costs the guesser, not the server. Sign-in
//! and gateway basic-auth attempts are counted before bcrypt runs; unknown basic-auth users cost
//! what a wrong password does; a flood of random keys evicts no valid key; detailed recording
//! streams bodies and keeps only their first KiB; HMAC secrets are shown once.

use crate::helpers::*;
use futures_util::StreamExt;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::gateway::cache::Cached;
use std::time::{Duration, Instant};

/// Sends all at once; returns (status, Retry-After, body) of each.
async fn all_at_once<F, Fut>(n: usize, send: F) -> Vec<(StatusCode, Option<String>, Value)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let answers = futures_util::future::join_all((0..n).map(|_| send())).await;
    let mut out = Vec::new();
    for resp in answers {
        let retry = resp.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
        let status = resp.status();
        out.push((status, retry, resp.json().await.unwrap_or(Value::Null)));
    }
    out
}

fn count(answers: &[(StatusCode, Option<String>, Value)], status: StatusCode) -> usize {
    answers.iter().filter(|a| a.0 == status).count()
}

async fn parallel_wrong_sign_ins_are_counted_before_bcrypt(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let answers = all_at_once(40, || app.sign_in(ADMIN_EMAIL, "wrong password")).await;
    let (refused, throttled) = (count(&answers, StatusCode::UNAUTHORIZED), count(&answers, StatusCode::TOO_MANY_REQUESTS));
    // Only the free allowance (5 per account) ever reaches bcrypt.
    assert!((1..=5).contains(&refused), "{refused} wrong passwords were checked");
    assert_eq!(refused + throttled, 40, "{answers:?}");
    for (status, retry, body) in answers.iter().filter(|a| a.0 == StatusCode::TOO_MANY_REQUESTS) {
        assert!(retry.as_deref().is_some_and(|r| r.parse::<u64>().unwrap() >= 1), "{status} without Retry-After");
        assert!(body["Message"].as_str().unwrap().starts_with("Too many failed sign-in attempts"), "{body}");
    }
    // The right password waits too (it cannot be told from a guess until it is checked)...
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait <= 2, "{wait}");
    // ...and gets in once the wait has passed.
    tokio::time::sleep(Duration::from_millis(wait * 1000 + 100)).await;
    json_of(app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::OK).await;
}

async fn overlong_email_is_refused_before_anything(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let long = format!("{}@example.org", "a".repeat(300));
    // More than the address's free allowance (20): none of them is counted.
    for _ in 0..25 {
        let body = json_of(app.sign_in(&long, "whatever it is").await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body, tyk_error("email must be at most 254 characters"));
    }
    // One over the limit is refused; the limit itself is an ordinary (unknown) email.
    let over = format!("{}@example.org", "a".repeat(255 - "@example.org".len()));
    assert_eq!(app.sign_in(&over, "whatever it is").await.status(), StatusCode::BAD_REQUEST);
    let at = format!("{}@example.org", "a".repeat(254 - "@example.org".len()));
    assert_eq!(app.sign_in(&at, "whatever it is").await.status(), StatusCode::UNAUTHORIZED);
    json_of(app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::OK).await;
}

/// An API behind basic auth with the user `ann` (password `s3cret:pw`); returns its id.
async fn basic_api(app: &TestApp, c: &Caller) -> String {
    let up = spawn_upstream().await;
    let api = app.create_gateway_api(c, "/basic/", &up, json!({ "use_basic_auth": true })).await;
    let body = json!({ "basic_auth_data": { "password": "s3cret:pw" }, "access_rights": rights(&api, "Default") });
    json_of(app.post(c, "/api/apis/keys/basic/ann", &body).await, StatusCode::OK).await;
    api
}

async fn parallel_wrong_basic_auth_passwords_get_429(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    basic_api(&app, &c).await;
    let hashes = app.state.metrics.password_hashes.get();
    let answers = all_at_once(40, || async { app.client.get(app.gw("/basic/")).basic_auth("ann", Some("guess")).send().await.unwrap() }).await;
    let (refused, throttled) = (count(&answers, StatusCode::UNAUTHORIZED), count(&answers, StatusCode::TOO_MANY_REQUESTS));
    assert!((1..=5).contains(&refused), "{refused} wrong passwords were checked");
    assert_eq!(refused + throttled, 40, "{answers:?}");
    let ran = app.state.metrics.password_hashes.get() - hashes;
    assert_eq!(ran as usize, refused, "bcrypt ran once per checked attempt, never for a throttled one");
    for (_, retry, body) in answers.iter().filter(|a| a.0 == StatusCode::TOO_MANY_REQUESTS) {
        assert!(retry.is_some(), "429 without Retry-After");
        assert!(body["error"].as_str().unwrap().starts_with("Too many failed attempts; try again in"), "{body}");
    }
    // Unknown users from this address are counted too: the address's own allowance runs out.
    let mut last = StatusCode::OK;
    for i in 0..60 {
        last = app.client.get(app.gw("/basic/")).basic_auth(format!("user{i}"), Some("guess")).send().await.unwrap().status();
        if last == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "per-address throttling");
}

async fn unknown_user_answers_like_a_wrong_password(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    basic_api(&app, &c).await;
    let app = &app;
    let call = |user: &'static str, pw: &'static str| async move {
        let before = app.state.metrics.password_hashes.get();
        let started = Instant::now();
        let resp = app.client.get(app.gw("/basic/")).basic_auth(user, Some(pw)).send().await.unwrap();
        let took = started.elapsed();
        let status = resp.status();
        let challenge = resp.headers().get("www-authenticate").cloned();
        let body = resp.text().await.unwrap();
        (status, challenge, body, app.state.metrics.password_hashes.get() - before, took)
    };
    // Warm the key cache, so that neither side pays a database read.
    assert_eq!(call("ann", "s3cret:pw").await.0, StatusCode::OK);
    let (mut unknown_time, mut wrong_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..3 {
        let unknown = call("nobody", "guess").await;
        let wrong = call("ann", "guess").await;
        assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
        assert_eq!((&unknown.0, &unknown.1, &unknown.2), (&wrong.0, &wrong.1, &wrong.2), "same status, challenge and body");
        assert_eq!(unknown.2, json!({ "error": "User not authorised" }).to_string());
        assert_eq!((unknown.3, wrong.3), (1, 1), "both ran bcrypt once");
        unknown_time += unknown.4;
        wrong_time += wrong.4;
    }
    // Reported, not asserted: wall time on a shared machine is no test.
    eprintln!("unknown user {unknown_time:?}, wrong password {wrong_time:?}, ratio {:.2}", unknown_time.as_secs_f64() / wrong_time.as_secs_f64());
}

async fn random_key_flood_does_not_evict_a_valid_key(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let KeyedApi { key, hash, .. } = app.keyed_api("/flood/").await;
    let hash = app::model::KeyHash::parse_hex(&hash).unwrap();
    let app = &app;
    let call = |k: String| async move { app.client.get(app.gw("/flood/x")).header("Authorization", k).send().await.unwrap().status() };
    assert_eq!(call(key.clone()).await, StatusCode::OK);
    assert!(matches!(app.state.gateway.cache.get(&hash), Cached::Found(_)));

    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..20_000)
        .map(|i| call(format!("random-{i}-{}", server::secrets::random_hex(8))))
        .buffer_unordered(64)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::FORBIDDEN), "unknown keys are refused");
    let (_, missing) = app.state.gateway.cache.sizes();
    assert!(missing <= server::gateway::cache::MAX_MISSING, "{missing} unknown keys remembered");

    assert!(matches!(app.state.gateway.cache.get(&hash), Cached::Found(_)), "the valid key is still cached");
    let (hits, misses) = (app.state.metrics.cache_hit.get(), app.state.metrics.cache_miss.get());
    assert_eq!(call(key).await, StatusCode::OK);
    assert_eq!((app.state.metrics.cache_hit.get() - hits, app.state.metrics.cache_miss.get() - misses), (1, 0), "served from the cache");
}

/// An upstream that answers a POST with the length and SHA-256 of the body it received, and a
/// GET with `n` bytes (`i % 251`), streamed.
async fn digest_upstream() -> String {
    use axum::body::{Body, Bytes};
    use axum::extract::Request;
    use sha2::{Digest, Sha256};
    async fn answer(req: Request) -> axum::response::Response {
        use axum::response::IntoResponse;
        let (parts, body) = req.into_parts();
        if parts.method == axum::http::Method::POST {
            let mut stream = body.into_data_stream();
            let (mut len, mut digest) = (0usize, Sha256::new());
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.unwrap();
                len += chunk.len();
                digest.update(&chunk);
            }
            return axum::Json(json!({ "len": len, "sha256": hex::encode(digest.finalize()) })).into_response();
        }
        let n: usize = parts.uri.path().rsplit('/').next().unwrap().parse().unwrap();
        let chunks = (0..n).step_by(64 * 1024).map(move |start| {
            Ok::<_, std::io::Error>(Bytes::from((start..(start + 64 * 1024).min(n)).map(|i| (i % 251) as u8).collect::<Vec<u8>>()))
        });
        Body::from_stream(futures_util::stream::iter(chunks)).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(answer)).await.unwrap() });
    format!("http://{addr}")
}

async fn detailed_recording_streams_bodies_and_keeps_their_first_kib(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.security.detailed_body_kb = 16).await else { return };
    let up = digest_upstream().await;
    let c = app.caller("Acme").await;
    let api = app.create_gateway_api(&c, "/rec/", &up, json!({})).await;
    let created = app.create_key(&c, json!({ "enable_detailed_recording": true, "access_rights": rights(&api, "Default") })).await;
    let key = created["key_id"].as_str().unwrap().to_owned();
    const FIVE_MB: usize = 5 * 1024 * 1024;

    // 5 MB up: the upstream gets every byte, with its Content-Length.
    let sent: Vec<u8> = (0..FIVE_MB).map(|i| (i * 7 % 256) as u8).collect();
    let digest = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(&sent))
    };
    let resp = app.client.post(app.gw("/rec/upload")).header("Authorization", &key).body(sent.clone()).send().await.unwrap();
    let got = json_of(resp, StatusCode::OK).await;
    assert_eq!(got, json!({ "len": FIVE_MB, "sha256": digest }), "the upstream received the body whole");

    // 5 MB down: the client gets every byte.
    let resp = app.client.get(app.gw(&format!("/rec/bytes/{FIVE_MB}"))).header("Authorization", &key).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), FIVE_MB);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8), "the answer arrived intact");

    // The records keep 16 KiB of each body, no more.
    let mut stored = 0;
    for _ in 0..50 {
        stored = app.state.store.count_analytics(&c.org).await.unwrap();
        if stored >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 2);
    use base64::Engine;
    use sqlx::Row;
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows = sqlx::query("SELECT path, raw_request, raw_response FROM analytics WHERE org_id = $1 ORDER BY at_ms, id")
        .bind(&c.org)
        .fetch_all(&db)
        .await
        .unwrap();
    let raw = |r: &sqlx::any::AnyRow, col: &str| base64::engine::general_purpose::STANDARD.decode(r.try_get::<Option<String>, _>(col).unwrap().unwrap()).unwrap();
    let upload_request = raw(&rows[0], "raw_request");
    assert_eq!(upload_request.len(), 16 * 1024);
    assert_eq!(&upload_request[..], &sent[..16 * 1024]);
    let download_response = raw(&rows[1], "raw_response");
    assert_eq!(download_response.len(), 16 * 1024);
    assert_eq!(&download_response[..], &body[..16 * 1024]);
    assert!(raw(&rows[1], "raw_request").is_empty(), "an empty request body is recorded empty");
    db.close().await;
}

async fn hmac_secret_is_shown_once(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Signed", "/signed/").await;

    // Dashboard API: in the creation answer, masked on every read after.
    let created = app.create_key(&c, json!({ "hmac_enabled": true, "access_rights": rights(&api, "v1") })).await;
    let secret = created["data"]["hmac_string"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 44);
    let hash = created["key_hash"].as_str().unwrap().to_owned();
    let key = created["key_id"].as_str().unwrap().to_owned();
    let got = json_of(app.get(&c, &format!("/api/keys/{hash}?hashed=1")).await, StatusCode::OK).await;
    assert_eq!(got["data"]["hmac_string"], "****");
    let got = json_of(app.get(&c, &format!("/api/keys/{key}")).await, StatusCode::OK).await;
    assert_eq!(got["data"]["hmac_string"], "****");
    let listed = json_of(app.get(&c, "/api/keys/detailed").await, StatusCode::OK).await;
    assert!(!listed.to_string().contains(&secret), "no secret in the detailed list");
    let tyk = json_of(app.tyk(Method::GET, &format!("/tyk/keys/{key}"), None).await, StatusCode::OK).await;
    assert_eq!(tyk["hmac_string"], "****");
    // A read sent back in an update changes nothing.
    let mut session = got["data"].clone();
    session["alias"] = json!("renamed");
    let updated = json_of(app.put(&c, &format!("/api/keys/{hash}?hashed=1"), &session).await, StatusCode::OK).await;
    assert_eq!(updated["data"]["hmac_string"], "****");

    // Gateway API: the creation answer carries it, the reads mask it.
    let body = json!({ "org_id": c.org, "access_rights": rights(&api, "v1"), "hmac_enabled": true });
    let added = json_of(app.tyk(Method::POST, "/tyk/keys/create", Some(&body)).await, StatusCode::OK).await;
    assert_eq!(added["hmac_string"].as_str().unwrap().len(), 44);
    let tyk_key = added["key"].as_str().unwrap();
    let tyk = json_of(app.tyk(Method::GET, &format!("/tyk/keys/{tyk_key}"), None).await, StatusCode::OK).await;
    assert_eq!(tyk["hmac_string"], "****");
    let rest = json_of(app.get(&c, &format!("/api/keys/{}?hashed=1", added["key_hash"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!(rest["data"]["hmac_string"], "****");

    // A secret made later (HMAC turned on by an update) is shown in that answer, once.
    let plain = app.create_key(&c, json!({ "access_rights": rights(&api, "v1") })).await;
    assert_eq!(plain["data"]["hmac_string"], "");
    let plain_hash = plain["key_hash"].as_str().unwrap();
    let path = format!("/api/keys/{plain_hash}?hashed=1");
    let turned_on = json_of(app.put(&c, &path, &json!({ "hmac_enabled": true, "access_rights": rights(&api, "v1") })).await, StatusCode::OK).await;
    let later = turned_on["data"]["hmac_string"].as_str().unwrap();
    assert_eq!(later.len(), 44);
    assert_ne!(later, secret);
    assert_eq!(json_of(app.get(&c, &path).await, StatusCode::OK).await["data"]["hmac_string"], "****");
    let audit = json_of(app.get(&c, "/api/audit").await, StatusCode::OK).await.to_string();
    assert!(!audit.contains(&secret) && !audit.contains(later), "no secret in the audit log");
}

async fn dashboard_shows_an_hmac_secret_once(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let rpc = |name: &str, body: Value| {
        let req = app.client.post(app.url(&format!("/rpc/{name}"))).header("cookie", &cookie).json(&body);
        async move { json_of(req.send().await.unwrap(), StatusCode::OK).await }
    };
    let mut form = serde_json::to_value(app::model::KeyForm::default()).unwrap();
    form["auth"] = json!("Hmac");
    let created = rpc("create_key", json!({ "form": form })).await;
    let secret = created["hmac_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 44);
    let hash = created["key_hash"].as_str().unwrap().to_owned();
    let detail = rpc("get_key", json!({ "key_hash": hash })).await;
    assert!(!detail.to_string().contains(&secret), "the key page never shows it again");

    // A plain key turned into an HMAC key: the update answers the new secret, this once.
    let plain = rpc("create_key", json!({ "form": app::model::KeyForm::default() })).await;
    assert_eq!(plain["hmac_secret"], Value::Null);
    let plain_hash = plain["key_hash"].as_str().unwrap().to_owned();
    let mut form = rpc("get_key", json!({ "key_hash": plain_hash })).await["form"].clone();
    form["auth"] = json!("Hmac");
    let update = json!({ "key_hash": plain_hash, "form": form, "suppress_reset": false });
    let made = rpc("update_key", update.clone()).await;
    assert_eq!(made.as_str().unwrap().len(), 44, "{made}");
    assert_eq!(rpc("update_key", update).await, Value::Null, "a later update keeps the secret and does not show it");
    assert!(!rpc("get_key", json!({ "key_hash": plain_hash })).await.to_string().contains(made.as_str().unwrap()));
}

crate::on_both_databases!(
    dashboard_shows_an_hmac_secret_once,
    parallel_wrong_sign_ins_are_counted_before_bcrypt,
    overlong_email_is_refused_before_anything,
    parallel_wrong_basic_auth_passwords_get_429,
    unknown_user_answers_like_a_wrong_password,
    random_key_flood_does_not_evict_a_valid_key,
    detailed_recording_streams_bodies_and_keeps_their_first_kib,
    hmac_secret_is_shown_once,
);
