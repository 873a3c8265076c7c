//! `/api/apis`: the APIs of the caller's organisation, in Tyk's Dashboard shapes.

use super::error::DashboardError;
use super::json::{from_value, JsonBody};
use super::responses::{ApiDefinitionWrapper, ApiDefinitionsResponse, ApiResponse, Meta};
use super::{pages, PageQuery};
use crate::auth::ApiUser;
use crate::state::AppState;
use app::model::ApiDefinition;
use super::query::Query;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/apis", get(list).post(create))
        .route("/api/apis/search", get(search))
        .route("/api/apis/{api_id}", get(one).put(update).delete(delete))
}

/// Tyk wraps definitions in `{"api_definition": …}`; a bare definition is accepted too.
fn definition(mut body: Value) -> Result<ApiDefinition, DashboardError> {
    match body.get_mut("api_definition").map(Value::take) {
        Some(def) => from_value(def, "api_definition"),
        None => from_value(body, ""),
    }
}

/// Register an API
///
/// The definition is accepted wrapped (`{"api_definition": …}`, as Tyk's Dashboard sends it) or
/// bare. Fields Portcullis does not use are kept and returned as sent.
#[utoipa::path(post, path = "/api/apis", operation_id = "postApis", tag = "APIs", security(("dashboard_auth" = [])),
    request_body = ApiDefinitionWrapper,
    responses(
        (status = 200, description = "`API created`: `Meta` is the internal id, `ID` the `api_id`", body = ApiResponse),
        (status = 400, description = "The definition is invalid; the message names the field", body = ApiResponse),
        (status = 409, description = "The `api_id` or the listen path is taken, or the listen path overlaps an API of another organisation", body = ApiResponse),
    ))]
async fn create(ApiUser(user): ApiUser, State(s): State<AppState>, JsonBody(body): JsonBody<Value>) -> Result<Json<ApiResponse>, DashboardError> {
    let api = s.apis.create(&user.org_id, &user.actor(), definition(body)?).await?;
    let reply = ApiResponse::ok("API created", Meta::Id(api.row.mongo_id.to_string()));
    Ok(Json(ApiResponse { id: Some(api.row.api_id.to_string()), ..reply }))
}

/// List APIs
#[utoipa::path(get, path = "/api/apis", operation_id = "getApis", tag = "APIs", security(("dashboard_auth" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of APIs", body = ApiDefinitionsResponse)))]
async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(page): Query<PageQuery>) -> Result<Json<ApiDefinitionsResponse>, DashboardError> {
    let (limit, offset) = page.window();
    let (apis, total) = s.apis.list(&user.org_id, &page.q, limit, offset).await?;
    let apis = apis.iter().map(ApiDefinitionWrapper::from).collect();
    Ok(Json(ApiDefinitionsResponse { apis, pages: pages(total) }))
}

/// Search APIs
///
/// The same as listing them, with `q`.
#[utoipa::path(get, path = "/api/apis/search", operation_id = "searchApis", tag = "APIs", security(("dashboard_auth" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of matching APIs", body = ApiDefinitionsResponse)))]
async fn search(user: ApiUser, s: State<AppState>, page: Query<PageQuery>) -> Result<Json<ApiDefinitionsResponse>, DashboardError> {
    list(user, s, page).await
}

/// Get an API
#[utoipa::path(get, path = "/api/apis/{apiId}", operation_id = "getApi", tag = "APIs", security(("dashboard_auth" = [])),
    params(("apiId" = String, Path, description = "The API's `api_id` or internal id")),
    responses(
        (status = 200, description = "The API", body = ApiDefinitionWrapper),
        (status = 404, description = "No such API", body = ApiResponse),
    ))]
async fn one(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<ApiDefinitionWrapper>, DashboardError> {
    Ok(Json(ApiDefinitionWrapper::from(&s.apis.get(&user.org_id, &id).await?)))
}

/// Update an API
#[utoipa::path(put, path = "/api/apis/{apiId}", operation_id = "putApi", tag = "APIs", security(("dashboard_auth" = [])),
    params(("apiId" = String, Path, description = "The API's `api_id` or internal id")),
    request_body = ApiDefinitionWrapper,
    responses(
        (status = 200, description = "`API updated`", body = ApiResponse),
        (status = 400, description = "The definition is invalid, or changes `api_id`", body = ApiResponse),
        (status = 404, description = "No such API", body = ApiResponse),
        (status = 409, description = "The listen path is taken, or overlaps an API of another organisation", body = ApiResponse),
    ))]
async fn update(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<ApiResponse>, DashboardError> {
    s.apis.update(&user.org_id, &user.actor(), &id, definition(body)?).await?;
    Ok(Json(ApiResponse::ok("API updated", Meta::None)))
}

/// Delete an API
#[utoipa::path(delete, path = "/api/apis/{apiId}", operation_id = "deleteApi", tag = "APIs", security(("dashboard_auth" = [])),
    params(("apiId" = String, Path, description = "The API's `api_id` or internal id")),
    responses(
        (status = 200, description = "`API deleted`", body = ApiResponse),
        (status = 404, description = "No such API", body = ApiResponse),
        (status = 409, description = "Keys still grant access to the API", body = ApiResponse),
    ))]
async fn delete(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<ApiResponse>, DashboardError> {
    s.apis.delete(&user.org_id, &user.actor(), &id).await?;
    Ok(Json(ApiResponse::ok("API deleted", Meta::None)))
}
