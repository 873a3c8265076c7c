//! `/api/users`: the dashboard users of the caller's organisation, and the caller's own
//! credential. Every route here needs a user's credential (see `auth::ApiUser`).

use super::error::DashboardError;
use super::openapi::schemas::{ApiResponse, User, Users};
use super::{ok_message, user_json};
use crate::accounts::AccountError;
use crate::auth::ApiUser;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list))
        .route("/api/users/me", get(me))
        .route("/api/users/{user_id}", get(one))
        .route("/api/users/{user_id}/actions/key/reset", put(reset_key))
}

/// List the organisation's users
///
/// Not paginated: every user is on the one page.
#[utoipa::path(get, path = "/api/users", operation_id = "getUsers", tag = "Users", security(("dashboard_auth" = [])),
    params(("p" = Option<i64>, Query, description = "Accepted for Tyk's clients; the list is not paginated (`pages` is 1)")),
    responses((status = 200, description = "The users", body = Users)))]
async fn list(ApiUser(caller): ApiUser, State(s): State<AppState>) -> Result<Json<Value>, DashboardError> {
    let users: Vec<Value> = s.accounts.users(Some(&caller.org_id)).await?.iter().map(|u| user_json(u, None)).collect();
    Ok(Json(json!({ "users": users, "pages": 1 })))
}

/// The caller
#[utoipa::path(get, path = "/api/users/me", operation_id = "currentUserDetail", tag = "Users", security(("dashboard_auth" = [])),
    responses((status = 200, description = "The user whose credential was sent", body = User)))]
async fn me(ApiUser(caller): ApiUser) -> Json<Value> {
    Json(user_json(&caller, None))
}

/// Another organisation's user is answered exactly like a missing one.
async fn org_user(s: &AppState, caller: &crate::store::UserRow, user_id: &str) -> Result<crate::store::UserRow, DashboardError> {
    match s.accounts.user(user_id).await {
        Ok(u) if u.org_id == caller.org_id => Ok(u),
        Ok(_) | Err(AccountError::NotFound) => Err(DashboardError::NotFound("Could not retrieve user detail.".into())),
        Err(e) => Err(e.into()),
    }
}

/// Get a user
#[utoipa::path(get, path = "/api/users/{userId}", operation_id = "getUser", tag = "Users", security(("dashboard_auth" = [])),
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No such user in the organisation", body = ApiResponse),
    ))]
async fn one(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<Value>, DashboardError> {
    Ok(Json(user_json(&org_user(&s, &caller, &user_id).await?, None)))
}

/// Reset a user's API credential
///
/// Tyk's "reset access key". Tyk does not return the new key (the user reads it in the UI);
/// ours is stored hashed, so it is returned here, once, in `Meta.access_key`.
#[utoipa::path(put, path = "/api/users/{userId}/actions/key/reset", operation_id = "resetUserKey", tag = "Users",
    security(("dashboard_auth" = [])),
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "`User session renewed`; the new credential is in `Meta.access_key`", body = ApiResponse),
        (status = 404, description = "No such user in the organisation", body = ApiResponse),
    ))]
async fn reset_key(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<Value>, DashboardError> {
    let user = org_user(&s, &caller, &user_id).await?;
    let credential = s.accounts.regenerate_credential(&caller.actor(), &user.id).await?;
    Ok(ok_message("User session renewed", json!({ "access_key": credential })))
}
