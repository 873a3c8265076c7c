use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

async fn organisations_roundtrip(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let body = json!({ "owner_name": "Jively", "cname": "jive.ly", "cname_enabled": true, "id": "ignored" });
    let created = json_of(app.admin_post("/admin/organisations", &body).await, StatusCode::OK).await;
    assert_eq!(created["Status"], "OK");
    assert_eq!(created["Message"], "Org created");
    let id = created["Meta"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let org = json_of(app.admin_get(&format!("/admin/organisations/{id}")).await, StatusCode::OK).await;
    assert_eq!(org["id"], id);
    assert_eq!(org["owner_name"], "Jively");
    assert_eq!(org["cname"], "jive.ly", "fields we do not use are kept");

    let list = json_of(app.admin_get("/admin/organisations").await, StatusCode::OK).await;
    let orgs = list["organisations"].as_array().unwrap();
    // The bootstrap organisation and ours.
    assert_eq!(orgs.len(), 2);
    assert!(orgs.iter().any(|o| o["id"] == id));
}

async fn unknown_organisation(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app.admin_get("/admin/organisations/5e9d9544a1dcd60001d0ed20").await;
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await, tyk_error("Could not retrieve org detail"));
}

/// What has no id's shape is answered as an unknown id.
async fn malformed_ids_are_unknown(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app.admin_get("/admin/organisations/has%20space").await;
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await, tyk_error("Could not retrieve org detail"));
    let resp = app.admin_get("/admin/users/has%20space").await;
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await, tyk_error("Could not retrieve user detail"));
    let resp = app.admin_get("/admin/users?org_id=has%20space").await;
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await["Message"], "Organisation 'has space' does not exist");
}

async fn missing_and_wrong_secret(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let missing = app.client.get(app.url("/admin/organisations")).send().await.unwrap();
    assert_eq!(json_of(missing, StatusCode::UNAUTHORIZED).await, tyk_error("Not authorised"));
    let wrong = app
        .client
        .post(app.url("/admin/organisations"))
        .header("Admin-Auth", "not-the-secret")
        .json(&json!({ "owner_name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(wrong, StatusCode::UNAUTHORIZED).await, tyk_error("Not authorised"));
    // Nothing was created by the refused call.
    let list = json_of(app.admin_get("/admin/organisations").await, StatusCode::OK).await;
    assert_eq!(list["organisations"].as_array().unwrap().len(), 1);
}

async fn admin_api_off_without_secret(db: Db) {
    let Some(app) = spawn_app_with(db, |c| c.admin_secret = None).await else { return };
    let resp = app.admin_get("/admin/organisations").await;
    let body = json_of(resp, StatusCode::NOT_FOUND).await;
    assert!(body["Message"].as_str().unwrap().contains("PORTCULLIS_ADMIN_SECRET"), "{body}");
}

async fn bad_bodies(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app
        .client
        .post(app.url("/admin/organisations"))
        .header("Admin-Auth", ADMIN_SECRET)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let body = json_of(resp, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().starts_with("Request body malformed"), "{body}");

    let body = json_of(app.admin_post("/admin/organisations", &json!({ "cname": "x" })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "owner_name: is required");
    let body = json_of(app.admin_post("/admin/organisations", &json!({ "owner_name": 7 })).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "owner_name: must be a string");

    let body = json_of(app.admin_post("/admin/users", &json!({ "email_address": 5 })).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().contains("email_address"), "{body}");

    // Just over the limit: the whole body still fits in the socket buffers, so the client
    // reads the answer instead of hitting a closed connection halfway through writing.
    let huge = json!({ "owner_name": "x".repeat(server::rest::MAX_BODY_BYTES + 1024) });
    let resp = app.admin_post("/admin/organisations", &huge).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let list = json_of(app.admin_get("/admin/organisations").await, StatusCode::OK).await;
    assert_eq!(list["organisations"].as_array().unwrap().len(), 1, "refused bodies create nothing");
}

async fn users_roundtrip(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let org = app.create_org("Acme").await;
    let body = json!({ "email_address": "Ann@Example.org", "first_name": "Ann", "last_name": "Lee",
                       "org_id": org, "password": "a long password", "user_permissions": { "IsAdmin": "admin" } });
    let created = json_of(app.admin_post("/admin/users", &body).await, StatusCode::OK).await;
    assert_eq!(created["Status"], "OK");
    let key = created["Message"].as_str().unwrap();
    assert_eq!(created["Meta"]["access_key"], key, "Tyk returns the access key in Message and Meta");
    assert_eq!(key.len(), 32);
    assert_eq!(created["Meta"]["email_address"], "ann@example.org");
    assert_eq!(created["Meta"]["org_id"], org);

    // The key works on /api and identifies the user.
    let me = json_of(app.api_get("/api/users/me", key).await, StatusCode::OK).await;
    assert_eq!(me["email_address"], "ann@example.org");
    assert!(me.get("access_key").is_none(), "the key is stored hashed and never shown again");

    let list = json_of(app.admin_get(&format!("/admin/users?org_id={org}")).await, StatusCode::OK).await;
    let users = list["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["first_name"], "Ann");
    assert!(users[0].get("access_key").is_none());

    let id = created["Meta"]["id"].as_str().unwrap();
    let one = json_of(app.admin_get(&format!("/admin/users/{id}")).await, StatusCode::OK).await;
    assert_eq!(one["last_name"], "Lee");

    // The new user can sign in to the dashboard with the password given.
    assert_eq!(app.sign_in("ann@example.org", "a long password").await.status(), StatusCode::OK);
}

async fn duplicate_email(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let org = app.create_org("Acme").await;
    app.create_user(&org, "dup@example.org").await;
    let body = json!({ "email_address": "DUP@example.org", "org_id": org });
    let resp = app.admin_post("/admin/users", &body).await;
    assert_eq!(json_of(resp, StatusCode::FORBIDDEN).await, tyk_error("User email already exists"));
}

async fn user_for_unknown_org(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let body = json!({ "email_address": "x@example.org", "org_id": "000000000000000000000000" });
    let resp = app.admin_post("/admin/users", &body).await;
    let body = json_of(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "Organisation '000000000000000000000000' does not exist");

    let resp = app.admin_get("/admin/users?org_id=000000000000000000000000").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let body = json!({ "email_address": "not-an-email", "org_id": "x" });
    let body = json_of(app.admin_post("/admin/users", &body).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["Message"], "email_address: is not a valid email address");

    let org = app.create_org("Acme").await;
    let body = json!({ "email_address": "y@example.org", "org_id": org, "password": "short" });
    let body = json_of(app.admin_post("/admin/users", &body).await, StatusCode::BAD_REQUEST).await;
    assert!(body["Message"].as_str().unwrap().starts_with("password:"), "{body}");
}

crate::on_both_databases!(
    organisations_roundtrip,
    unknown_organisation,
    malformed_ids_are_unknown,
    missing_and_wrong_secret,
    admin_api_off_without_secret,
    bad_bodies,
    users_roundtrip,
    duplicate_email,
    user_for_unknown_org,
);
