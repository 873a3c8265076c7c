//! `/api/portal/policies`: Tyk's Dashboard policy API.

use super::error::DashboardError;
use super::json::JsonBody;
use super::responses::{ApiResponse, Meta, ReturnDataStruct};
use super::{pages, PageQuery};
use crate::auth::ApiUser;
use crate::state::AppState;
use app::model::Policy;
use super::query::Query;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/portal/policies", get(list).post(create))
        .route("/api/portal/policies/search", get(search))
        .route("/api/portal/policies/{id}", get(one).put(update).delete(delete))
}

/// Create a policy
///
/// A chosen `id` (or `_id`) is kept, as for an import from Tyk; otherwise one is generated.
#[utoipa::path(post, path = "/api/portal/policies", operation_id = "postPolicies", tag = "Policies", security(("dashboard_auth" = [])),
    request_body = Policy,
    responses(
        (status = 200, description = "Created: `Message` is the policy's id", body = ApiResponse),
        (status = 400, description = "The policy is invalid, or its name is taken", body = ApiResponse),
        (status = 409, description = "The id is taken", body = ApiResponse),
    ))]
async fn create(ApiUser(user): ApiUser, State(s): State<AppState>, JsonBody(p): JsonBody<Policy>) -> Result<Json<ApiResponse>, DashboardError> {
    let p = s.policies.create(&user.org_id, &user.actor(), p).await?;
    Ok(Json(ApiResponse::ok(p.id, Meta::None)))
}

/// List policies
#[utoipa::path(get, path = "/api/portal/policies", operation_id = "getPolicies", tag = "Policies", security(("dashboard_auth" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of policies", body = ReturnDataStruct)))]
async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(page): Query<PageQuery>) -> Result<Json<ReturnDataStruct>, DashboardError> {
    let (limit, offset) = page.window();
    let (policies, total) = s.policies.list(&user.org_id, &page.q, limit, offset).await?;
    let pages = if page.p.is_some_and(|p| p < 0) { 1 } else { pages(total) };
    Ok(Json(ReturnDataStruct { data: policies, pages }))
}

/// Search policies
///
/// The same as listing them, with `q`.
#[utoipa::path(get, path = "/api/portal/policies/search", operation_id = "searchPolicies", tag = "Policies",
    security(("dashboard_auth" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of matching policies", body = ReturnDataStruct)))]
async fn search(user: ApiUser, s: State<AppState>, page: Query<PageQuery>) -> Result<Json<ReturnDataStruct>, DashboardError> {
    list(user, s, page).await
}

/// Get a policy
#[utoipa::path(get, path = "/api/portal/policies/{id}", operation_id = "getPolicy", tag = "Policies", security(("dashboard_auth" = [])),
    params(("id" = String, Path, description = "The policy's `id` or `_id`")),
    responses(
        (status = 200, description = "The policy", body = Policy),
        (status = 404, description = "No such policy", body = ApiResponse),
    ))]
async fn one(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Policy>, DashboardError> {
    Ok(Json(s.policies.get(&user.org_id, &id).await?))
}

/// Update a policy
///
/// Every key that applies it sees the change at once.
#[utoipa::path(put, path = "/api/portal/policies/{id}", operation_id = "putPolicies", tag = "Policies", security(("dashboard_auth" = [])),
    params(("id" = String, Path)),
    request_body = Policy,
    responses(
        (status = 200, description = "`Data updated`", body = ApiResponse),
        (status = 400, description = "The policy is invalid, changes `id`, or takes another policy's name", body = ApiResponse),
        (status = 404, description = "No such policy", body = ApiResponse),
    ))]
async fn update(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>, JsonBody(p): JsonBody<Policy>) -> Result<Json<ApiResponse>, DashboardError> {
    s.policies.update(&user.org_id, &user.actor(), &id, p).await?;
    Ok(Json(ApiResponse::ok("Data updated", Meta::None)))
}

/// Delete a policy
///
/// Keys that apply it keep the reference; a key whose only policy is gone is refused.
#[utoipa::path(delete, path = "/api/portal/policies/{id}", operation_id = "deletePolicy", tag = "Policies", security(("dashboard_auth" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "`Data deleted`", body = ApiResponse),
        (status = 404, description = "No such policy", body = ApiResponse),
    ))]
async fn delete(ApiUser(user): ApiUser, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<ApiResponse>, DashboardError> {
    s.policies.delete(&user.org_id, &user.actor(), &id).await?;
    Ok(Json(ApiResponse::ok("Data deleted", Meta::None)))
}
