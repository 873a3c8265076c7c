use crate::helpers::*;
use reqwest::StatusCode;

async fn raw_and_bearer_credentials(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let org = app.create_org("Acme").await;
    let (_, key) = app.create_user(&org, "ann@example.org").await;

    let raw = json_of(app.api_get("/api/users/me", &key).await, StatusCode::OK).await;
    assert_eq!(raw["email_address"], "ann@example.org");
    let bearer = json_of(app.api_get("/api/users/me", &format!("Bearer {key}")).await, StatusCode::OK).await;
    assert_eq!(bearer["email_address"], "ann@example.org");
    let list = json_of(app.api_get("/api/users", &key).await, StatusCode::OK).await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1, "only the caller's organisation");
}

async fn wrong_and_missing_credentials(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let org = app.create_org("Acme").await;
    let (_, key) = app.create_user(&org, "ann@example.org").await;

    let wrong = app.api_get("/api/users", "0123456789abcdef0123456789abcdef").await;
    assert_eq!(json_of(wrong, StatusCode::UNAUTHORIZED).await, tyk_error("Not authorised"));
    let prefix = app.api_get("/api/users", &key[..31]).await;
    assert_eq!(prefix.status(), StatusCode::UNAUTHORIZED);
    let missing = app.client.get(app.url("/api/users")).send().await.unwrap();
    assert_eq!(json_of(missing, StatusCode::UNAUTHORIZED).await, tyk_error("Not authorised"));
    let empty_bearer = app.api_get("/api/users", "Bearer ").await;
    assert_eq!(empty_bearer.status(), StatusCode::UNAUTHORIZED);
}

async fn reset_key_replaces_credential(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let org = app.create_org("Acme").await;
    let (id, old) = app.create_user(&org, "ann@example.org").await;
    let resp = app
        .client
        .put(app.url(&format!("/api/users/{id}/actions/key/reset")))
        .header("Authorization", &old)
        .send()
        .await
        .unwrap();
    let body = json_of(resp, StatusCode::OK).await;
    assert_eq!(body["Message"], "User session renewed");
    let new = body["Meta"]["access_key"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(app.api_get("/api/users/me", &old).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.api_get("/api/users/me", new).await.status(), StatusCode::OK);
}

async fn other_organisations_users_are_invisible(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let a = app.create_org("A").await;
    let b = app.create_org("B").await;
    let (_, key_a) = app.create_user(&a, "a@example.org").await;
    let (id_b, _) = app.create_user(&b, "b@example.org").await;

    let resp = app.api_get(&format!("/api/users/{id_b}"), &key_a).await;
    assert_eq!(json_of(resp, StatusCode::NOT_FOUND).await, tyk_error("Could not retrieve user detail."));
    let resp = app
        .client
        .put(app.url(&format!("/api/users/{id_b}/actions/key/reset")))
        .header("Authorization", &key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let list = json_of(app.api_get("/api/users", &key_a).await, StatusCode::OK).await;
    assert!(list["users"].as_array().unwrap().iter().all(|u| u["org_id"] == a));
}

crate::on_both_databases!(
    raw_and_bearer_credentials,
    wrong_and_missing_credentials,
    reset_key_replaces_credential,
    other_organisations_users_are_invisible,
);
