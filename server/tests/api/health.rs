use crate::helpers::*;
use reqwest::StatusCode;

async fn health_and_ready(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let body = json_of(app.client.get(app.url("/health")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(body["status"], "ok");
    let body = json_of(app.client.get(app.url("/ready")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(body["database"], "ok");
}

async fn ready_fails_without_database(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    app.state.store.close().await;
    let body = json_of(app.client.get(app.url("/ready")).send().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["database"], "unreachable");
    // Still alive, though not ready.
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), StatusCode::OK);
}

async fn gateway_listener_answers(db: Db) {
    let Some(app) = spawn_app(db).await else { return };
    let resp = app.client.get(format!("{}/anything", app.gateway)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.json::<serde_json::Value>().await.unwrap()["error"].is_string());
}

crate::on_both_databases!(health_and_ready, ready_fails_without_database, gateway_listener_answers);
