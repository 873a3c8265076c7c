//! `/api/apis`: the APIs of the caller's organisation, in Tyk's Dashboard shapes.

use super::error::DashboardError;
use super::json::{from_value, JsonBody};
use super::{ok_message, pages, PageQuery};
use crate::apis::api_json;
use crate::auth::ApiUser;
use crate::state::AppState;
use app::model::ApiDefinition;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/apis", get(list).post(create))
        .route("/api/apis/search", get(list))
        .route("/api/apis/{api_id}", get(one).put(update).delete(delete))
}

/// Tyk wraps definitions in `{"api_definition": …}`; a bare definition is accepted too.
fn definition(mut body: Value) -> Result<ApiDefinition, DashboardError> {
    match body.get_mut("api_definition").map(Value::take) {
        Some(def) => from_value(def, "api_definition"),
        None => from_value(body, ""),
    }
}

async fn create(ApiUser(user): ApiUser, State(s): State<AppState>, JsonBody(body): JsonBody<Value>) -> Result<Json<Value>, DashboardError> {
    let api = s.apis.create(&user.org_id, &user.actor(), definition(body)?).await?;
    let mut reply = ok_message("API created", Value::String(api.row.mongo_id.clone()));
    reply["ID"] = Value::String(api.row.api_id.clone());
    Ok(reply)
}

async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(page): Query<PageQuery>) -> Result<Json<Value>, DashboardError> {
    let (limit, offset) = page.window();
    let (apis, total) = s.apis.list(&user.org_id, &page.q, limit, offset).await?;
    let apis: Vec<Value> = apis.iter().map(api_json).collect();
    Ok(Json(json!({ "apis": apis, "pages": pages(total) })))
}

async fn one(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, DashboardError> {
    Ok(Json(api_json(&s.apis.get(&user.org_id, &id).await?)))
}

async fn update(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, DashboardError> {
    s.apis.update(&user.org_id, &user.actor(), &id, definition(body)?).await?;
    Ok(ok_message("API updated", Value::Null))
}

async fn delete(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, DashboardError> {
    s.apis.delete(&user.org_id, &user.actor(), &id).await?;
    Ok(ok_message("API deleted", Value::Null))
}
