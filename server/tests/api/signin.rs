use crate::helpers::*;
use reqwest::header::{COOKIE, LOCATION, RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

/// The anti-forgery cookie the sign-in page sets; its value is the form's `csrf_token` field.
async fn csrf(app: &TestApp) -> (String, String) {
    let resp = app.client.get(app.url("/login")).send().await.unwrap();
    let set = resp.headers().get(SET_COOKIE).expect("the anti-forgery cookie").to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    let token = cookie.split_once('=').unwrap().1.to_owned();
    (cookie, token)
}

fn session_cookie(resp: &reqwest::Response) -> String {
    let set = resp.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

async fn good_password_opens_a_session(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    // Without a session, pages send the browser to the sign-in page.
    let resp = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login");

    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = session_cookie(&resp);
    let body = json_of(resp, StatusCode::OK).await;
    assert_eq!(body["Meta"]["email_address"], ADMIN_EMAIL);

    // The server function behind the profile page knows who we are.
    let resp = app.client.post(app.url("/rpc/get_profile")).header(COOKIE, &cookie).json(&serde_json::json!({})).send().await.unwrap();
    let profile = json_of(resp, StatusCode::OK).await;
    assert_eq!(profile["email"], ADMIN_EMAIL);
    assert_eq!(profile["credential_hint"].as_str().unwrap().len(), 4);

    // Sign out ends the session (the form carries its anti-forgery token).
    let (csrf_cookie, token) = csrf(&app).await;
    let resp = app
        .client
        .post(app.url("/auth/logout"))
        .header(COOKIE, format!("{cookie}; {csrf_cookie}"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login");
    let resp = app.client.post(app.url("/rpc/get_profile")).header(COOKIE, &cookie).json(&serde_json::json!({})).send().await.unwrap();
    assert!(!resp.status().is_success());
}

async fn bad_password_and_unknown_user(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let bad = app.sign_in(ADMIN_EMAIL, "wrong password").await;
    assert!(bad.headers().get(SET_COOKIE).is_none());
    assert_eq!(json_of(bad, StatusCode::UNAUTHORIZED).await, tyk_error("Wrong email or password"));
    let unknown = app.sign_in("nobody@example.org", "whatever it is").await;
    assert_eq!(json_of(unknown, StatusCode::UNAUTHORIZED).await, tyk_error("Wrong email or password"));
    let missing = app.client.post(app.url("/auth/login")).json(&json!({ "email": ADMIN_EMAIL })).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}

async fn browser_form_redirects_with_message(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let (csrf_cookie, token) = csrf(&app).await;
    let resp = app
        .client
        .post(app.url("/auth/login"))
        .header(COOKIE, &csrf_cookie)
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong password"), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/login?error=invalid"), "{location}");
    let page = app.client.get(app.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Wrong email or password."), "the sign-in page shows the message");

    let resp = app
        .client
        .post(app.url("/auth/login"))
        .header(COOKIE, &csrf_cookie)
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/");
    let cookie = session_cookie(&resp);
    let home = app.client.get(app.url("/")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("Overview"), "the dashboard renders on the server");
}

async fn repeated_failures_are_throttled_per_account(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    for _ in 0..5 {
        assert_eq!(app.sign_in(ADMIN_EMAIL, "wrong password").await.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now: the attacker learns nothing from trying.
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(resp.headers().get(RETRY_AFTER).is_some());
    let body = json_of(resp, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["Message"].as_str().unwrap().starts_with("Too many failed sign-in attempts"), "{body}");
    // After the wait, the right password works and clears the record.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), StatusCode::OK);
}

async fn repeated_failures_are_throttled_per_address(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    for i in 0..20 {
        let resp = app.sign_in(&format!("guess{i}@example.org"), "wrong password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
}

crate::on_both_databases!(
    good_password_opens_a_session,
    bad_password_and_unknown_user,
    browser_form_redirects_with_message,
    repeated_failures_are_throttled_per_account,
    repeated_failures_are_throttled_per_address,
);
