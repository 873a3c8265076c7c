//! Every error answers in the envelope of the API it came through: bodies with something after
//! their JSON value, query strings that do not parse, paths an API does not have; and each kind
//! of service error maps to its status once per envelope.

use crate::helpers::*;
use axum::response::IntoResponse;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use server::rest::error::DashboardError;
use server::rest::gateway_error::GatewayApiError;
use server::service_error::{Kind, ServiceError};

/// A raw body, sent as JSON: what `.json()` cannot send.
async fn send_raw(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut req = app.client.request(method, app.url(path)).header(CONTENT_TYPE, "application/json").body(body.to_owned());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

/// The same value twice: after trailing garbage, and as JSON lines.
fn with_trailers(value: &Value) -> [String; 2] {
    [format!("{value} trailing garbage"), format!("{value}\n{value}\n")]
}

async fn dashboard_malformed(resp: Response) {
    let body = json_of(resp, StatusCode::BAD_REQUEST).await;
    let message = body["Message"].as_str().unwrap();
    assert!(message.starts_with("Request body malformed: trailing characters"), "{body}");
    assert_eq!(body["Status"], "Error");
}

async fn keys_of(app: &TestApp, c: &Caller) -> Value {
    json_of(app.get(c, "/api/apis/keys?p=-1").await, StatusCode::OK).await["data"]["keys"].clone()
}

async fn anything_after_the_body_is_refused(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let api = app.create_api(&c, "Orders", "/orders/").await;
    let auth = [("Authorization", c.cred.as_str())];

    for body in with_trailers(&json!({ "alias": "x", "access_rights": rights(&api, "v1") })) {
        dashboard_malformed(send_raw(&app, Method::POST, "/api/keys", &auth, &body).await).await;
    }
    assert_eq!(keys_of(&app, &c).await, json!([]), "no key was created");

    for body in with_trailers(&json!({ "name": "P", "access_rights": rights(&api, "v1") })) {
        dashboard_malformed(send_raw(&app, Method::POST, "/api/portal/policies", &auth, &body).await).await;
    }
    let policies = json_of(app.get(&c, "/api/portal/policies?p=-1").await, StatusCode::OK).await;
    assert_eq!(policies["Data"], json!([]), "no policy was created");

    let def = json!({ "api_definition": { "name": "Other", "proxy": { "listen_path": "/other/", "target_url": "http://127.0.0.1:9" },
                                          "version_data": { "not_versioned": true } } });
    for body in with_trailers(&def) {
        dashboard_malformed(send_raw(&app, Method::POST, "/api/apis", &auth, &body).await).await;
    }
    let apis = json_of(app.get(&c, "/api/apis?p=-1").await, StatusCode::OK).await;
    assert_eq!(apis["apis"].as_array().unwrap().len(), 1, "only the first API: {apis}");

    let gateway = [("X-Tyk-Authorization", GATEWAY_SECRET)];
    for body in with_trailers(&json!({ "org_id": c.org, "alias": "x", "access_rights": rights(&api, "v1") })) {
        let body = json_of(send_raw(&app, Method::POST, "/tyk/keys", &gateway, &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["status"], "error");
        assert!(body["message"].as_str().unwrap().starts_with("Request malformed: trailing characters"), "{body}");
    }
    let listed = json_of(app.tyk(Method::GET, "/tyk/keys", None).await, StatusCode::OK).await;
    assert_eq!(listed["keys"], json!([]), "no key was created through /tyk");

    // A server function's JSON arguments, likewise.
    let cookie = session_cookie(&app).await;
    let form = json!({ "form": { "alias": "x", "access_rights": [{ "api_id": api, "versions": ["v1"] }] } });
    for body in with_trailers(&form) {
        let resp = send_raw(&app, Method::POST, "/rpc/create_key", &[("Cookie", cookie.as_str())], &body).await;
        let body = json_of(resp, StatusCode::BAD_REQUEST).await;
        assert!(body["Invalid"]["message"].as_str().unwrap().contains("trailing characters"), "{body}");
    }
    // So are arguments of the wrong shape.
    let resp = send_raw(&app, Method::POST, "/rpc/create_key", &[("Cookie", cookie.as_str())], r#"{"form": 5}"#).await;
    assert_eq!(json_of(resp, StatusCode::BAD_REQUEST).await["Invalid"]["field"], "");
    let page = app.client.post(app.url("/rpc/list_keys")).header(COOKIE, &cookie)
        .json(&json!({ "query": { "q": "", "status": "All", "sort": "Newest", "page": 1 } })).send().await.unwrap();
    assert_eq!(json_of(page, StatusCode::OK).await["keys"], json!([]), "no key was created through a server function");
    assert_eq!(keys_of(&app, &c).await, json!([]));
}

async fn session_cookie(app: &TestApp) -> String {
    let resp = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let set = resp.headers().get(SET_COOKIE).expect("a session cookie").to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn bad_query_strings_answer_in_the_envelope(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    for path in ["/api/apis?p=abc", "/api/apis/keys?p=abc", "/api/portal/policies?p=1.5", "/api/audit?p=x"] {
        let body = json_of(app.get(&c, path).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["Status"], "Error", "{path}");
        assert!(body["Message"].as_str().unwrap().contains("p: "), "{path}: the parameter is named: {body}");
    }
    let body = json_of(app.admin_get("/admin/users?org_id=a&org_id=b").await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("org_id"), "{body}");

    let body = json_of(app.tyk(Method::GET, "/tyk/keys?api_id=a&api_id=b", None).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["status"], "error");
    assert!(body["message"].as_str().unwrap().contains("api_id"), "{body}");
}

async fn unknown_paths_answer_404_in_the_envelope(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let credentials: [(&str, &str); 4] =
        [("Authorization", &c.cred), ("Admin-Auth", ADMIN_SECRET), ("X-Tyk-Authorization", GATEWAY_SECRET), ("X-None", "")];
    let paths = ["/api", "/api/nope", "/api/keys/x/rotate", "/api/portal/nope/deeper", "/admin", "/admin/nope", "/tyk", "/tyk/nope", "/tyk/keys/x/y"];
    for path in paths {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            for (name, value) in credentials {
                let resp = send_raw(&app, method.clone(), path, &[(name, value)], "{}").await;
                let what = format!("{method} {path} with {name}");
                assert!(resp.headers().get(LOCATION).is_none(), "{what}: no redirect");
                let body = json_of(resp, StatusCode::NOT_FOUND).await;
                let message = if path.starts_with("/tyk") {
                    assert_eq!(body["status"], "error", "{what}: {body}");
                    &body["message"]
                } else {
                    assert_eq!(body["Status"], "Error", "{what}: {body}");
                    &body["Message"]
                };
                assert!(message.as_str().unwrap().contains(path), "{what}: the path is named: {body}");
            }
        }
    }
}

async fn a_method_a_path_does_not_take_is_405_in_the_envelope(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let c = app.caller("Acme").await;
    let resp = app.send(Method::PATCH, "/api/keys", &c.cred, None).await;
    let body = json_of(resp, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["Status"], "Error", "{body}");
    assert!(body["Message"].as_str().unwrap().contains("PATCH"), "{body}");
    let body = json_of(app.tyk(Method::PATCH, "/tyk/keys", None).await, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["status"], "error", "{body}");
    let body = json_of(send_raw(&app, Method::PUT, "/admin/users", &[("Admin-Auth", ADMIN_SECRET)], "{}").await, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["Status"], "Error", "{body}");
}

async fn the_dashboards_unknown_page_is_404(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let cookie = session_cookie(&app).await;
    let resp = app.client.get(app.url("/no-such-page")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("Page not found"));
    // Without a session it is still the sign-in page first.
    let resp = app.client.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(resp.headers()[LOCATION], "/login");
}

crate::on_both_databases!(
    anything_after_the_body_is_refused,
    bad_query_strings_answer_in_the_envelope,
    unknown_paths_answer_404_in_the_envelope,
    a_method_a_path_does_not_take_is_405_in_the_envelope,
    the_dashboards_unknown_page_is_404,
);

const KINDS: [(Kind, StatusCode); 6] = [
    (Kind::Invalid, StatusCode::BAD_REQUEST),
    (Kind::NotFound, StatusCode::NOT_FOUND),
    (Kind::Conflict, StatusCode::CONFLICT),
    (Kind::Forbidden, StatusCode::FORBIDDEN),
    (Kind::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
    (Kind::Internal, StatusCode::INTERNAL_SERVER_ERROR),
];

fn status(r: axum::response::Response) -> StatusCode {
    StatusCode::from_u16(r.status().as_u16()).unwrap()
}

#[test]
fn dashboard_envelope_maps_each_kind() {
    for (kind, expected) in KINDS {
        let e = ServiceError::new(kind, "secret detail").beside("name");
        assert_eq!(status(DashboardError::from(e).into_response()), expected, "{kind:?}");
    }
    // Tyk's own kind wins where it differs (a duplicate email is forbidden to Tyk).
    let email = ServiceError::new(Kind::Conflict, "User email already exists").for_tyk(Kind::Forbidden);
    assert_eq!(status(DashboardError::from(email).into_response()), StatusCode::FORBIDDEN);
    // Faults are not described to the client.
    assert_eq!(DashboardError::from(ServiceError::internal("secret detail")).to_string(), "Internal error");
    assert_eq!(DashboardError::from(ServiceError::invalid("rate", "must be positive")).to_string(), "rate: must be positive");
}

#[test]
fn gateway_envelope_maps_each_kind() {
    for (kind, expected) in KINDS {
        let e = ServiceError::new(kind, "secret detail");
        assert_eq!(status(GatewayApiError::from_service(e, "Key not found").into_response()), expected, "{kind:?}");
    }
}
