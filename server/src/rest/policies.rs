//! `/api/portal/policies`: Tyk's Dashboard policy API.

use super::error::DashboardError;
use super::json::JsonBody;
use super::{ok_message, pages, PageQuery};
use crate::auth::ApiUser;
use crate::state::AppState;
use app::model::Policy;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/portal/policies", get(list).post(create))
        .route("/api/portal/policies/search", get(list))
        .route("/api/portal/policies/{id}", get(one).put(update).delete(delete))
}

async fn create(ApiUser(user): ApiUser, State(s): State<AppState>, JsonBody(p): JsonBody<Policy>) -> Result<Json<Value>, DashboardError> {
    let p = s.policies.create(&user.org_id, &user.actor(), p).await?;
    Ok(ok_message(p.id, Value::Null))
}

async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(page): Query<PageQuery>) -> Result<Json<Value>, DashboardError> {
    let (limit, offset) = page.window();
    let (policies, total) = s.policies.list(&user.org_id, &page.q, limit, offset).await?;
    let pages = if page.p.is_some_and(|p| p < 0) { 1 } else { pages(total) };
    Ok(Json(json!({ "Data": policies, "Pages": pages })))
}

async fn one(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, DashboardError> {
    Ok(Json(serde_json::to_value(s.policies.get(&user.org_id, &id).await?).unwrap_or_default()))
}

async fn update(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>, JsonBody(p): JsonBody<Policy>) -> Result<Json<Value>, DashboardError> {
    s.policies.update(&user.org_id, &user.actor(), &id, p).await?;
    Ok(ok_message("Data updated", Value::Null))
}

async fn delete(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, DashboardError> {
    s.policies.delete(&user.org_id, &user.actor(), &id).await?;
    Ok(ok_message("Data deleted", Value::Null))
}
