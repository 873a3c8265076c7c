//! `/api/users`: the dashboard users of the caller's organisation, and the caller's own
//! credential. Every route here needs a user's credential (see `auth::ApiUser`); reading needs
//! `users: read`, changing `users: write` (`rest::authorise`), and `accounts` holds the rest.

use super::error::DashboardError;
use super::responses::{ApiResponse, Meta, User, Users};
use super::json::JsonBody;
use crate::accounts::{AccountError, NewUserRequest, UserUpdate};
use crate::auth::ApiUser;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(create))
        .route("/api/users/me", get(me))
        .route("/api/users/{user_id}", get(one).put(update).delete(delete))
        .route("/api/users/{user_id}/actions/key/reset", put(reset_key))
}

/// List the organisation's users
///
/// Not paginated: every user is on the one page.
#[utoipa::path(get, path = "/api/users", operation_id = "getUsers", tag = "Users", security(("dashboard_auth" = [])),
    params(("p" = Option<i64>, Query, description = "Accepted for Tyk's clients; the list is not paginated (`pages` is 1)")),
    responses((status = 200, description = "The users", body = Users)))]
async fn list(ApiUser(caller): ApiUser, State(s): State<AppState>) -> Result<Json<Users>, DashboardError> {
    let users = s.accounts.users(Some(&caller.org_id)).await?.iter().map(User::from).collect();
    Ok(Json(Users { users, pages: 1 }))
}

/// The caller
#[utoipa::path(get, path = "/api/users/me", operation_id = "currentUserDetail", tag = "Users", security(("dashboard_auth" = [])),
    responses((status = 200, description = "The user whose credential was sent", body = User)))]
async fn me(ApiUser(caller): ApiUser) -> Json<User> {
    Json(User::from(&caller))
}

/// Another organisation's user is answered exactly like a missing one.
fn user_error(e: AccountError) -> DashboardError {
    match e {
        AccountError::NotFound => DashboardError::NotFound("Could not retrieve user detail.".into()),
        other => other.into(),
    }
}

/// Get a user
#[utoipa::path(get, path = "/api/users/{userId}", operation_id = "getUser", tag = "Users", security(("dashboard_auth" = [])),
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 403, description = "The caller may not read users (`users: read`)", body = ApiResponse),
        (status = 404, description = "No such user in the organisation", body = ApiResponse),
    ))]
async fn one(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<User>, DashboardError> {
    Ok(Json(User::from(&s.accounts.member(&caller, &user_id).await.map_err(user_error)?)))
}

/// Add a user
///
/// A user of the caller's organisation, with Tyk's `user_permissions` (required: at least one
/// permission, or `{"IsAdmin": "admin"}`). Needs `users: write`; only an admin creates an admin,
/// and nobody grants more than it has. The new credential is in `Meta.access_key`, this once.
#[utoipa::path(post, path = "/api/users", operation_id = "addUser", tag = "Users", security(("dashboard_auth" = [])),
    request_body = NewUserRequest,
    responses(
        (status = 200, description = "`User and session have been created`; the user in `Meta`", body = ApiResponse),
        (status = 400, description = "The email or password is invalid", body = ApiResponse),
        (status = 403, description = "No permission, no rights given, rights the caller does not have, or the email is taken", body = ApiResponse),
    ))]
async fn create(ApiUser(caller): ApiUser, State(s): State<AppState>, JsonBody(req): JsonBody<NewUserRequest>) -> Result<Json<ApiResponse>, DashboardError> {
    let (user, credential) = s.accounts.create_member(&caller, req).await?;
    let user = User::new(&user, Some(credential));
    Ok(Json(ApiResponse::ok("User and session have been created", Meta::User(Box::new(user)))))
}

/// Update a user
///
/// Names, `active` and `user_permissions`; what is absent stays. The same rules as creating, and
/// a user cannot raise its own rights; only an admin changes an admin.
#[utoipa::path(put, path = "/api/users/{userId}", operation_id = "updateUser", tag = "Users", security(("dashboard_auth" = [])),
    params(("userId" = String, Path)),
    request_body = UserUpdate,
    responses(
        (status = 200, description = "`User updated`", body = ApiResponse),
        (status = 400, description = "Malformed body or invalid email", body = ApiResponse),
        (status = 403, description = "No permission, or rights the caller does not have", body = ApiResponse),
        (status = 404, description = "No such user in the organisation", body = ApiResponse),
        (status = 409, description = "The user is the organisation's last active admin", body = ApiResponse),
    ))]
async fn update(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>, JsonBody(change): JsonBody<UserUpdate>) -> Result<Json<ApiResponse>, DashboardError> {
    s.accounts.update_member(&caller, &user_id, change).await.map_err(user_error)?;
    Ok(Json(ApiResponse::ok("User updated", Meta::None)))
}

/// Delete a user
#[utoipa::path(delete, path = "/api/users/{userId}", operation_id = "deleteUser", tag = "Users", security(("dashboard_auth" = [])),
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "`User deleted`", body = ApiResponse),
        (status = 403, description = "No permission", body = ApiResponse),
        (status = 404, description = "No such user in the organisation", body = ApiResponse),
        (status = 409, description = "The user is the organisation's last active admin", body = ApiResponse),
    ))]
async fn delete(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<ApiResponse>, DashboardError> {
    s.accounts.delete_member(&caller, &user_id).await.map_err(user_error)?;
    Ok(Json(ApiResponse::ok("User deleted", Meta::None)))
}

/// Reset a user's API credential
///
/// Tyk's "reset access key": one's own, or (admins only) a colleague's. Tyk does not return the
/// new key (the user reads it in the UI); ours is stored hashed, so it is returned here, once,
/// in `Meta.access_key`.
#[utoipa::path(put, path = "/api/users/{userId}/actions/key/reset", operation_id = "resetUserKey", tag = "Users",
    security(("dashboard_auth" = [])),
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "`User session renewed`; the new credential is in `Meta.access_key`", body = ApiResponse),
        (status = 403, description = "Another user's credential, and the caller is not an admin", body = ApiResponse),
        (status = 404, description = "No such user in the organisation", body = ApiResponse),
    ))]
async fn reset_key(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<ApiResponse>, DashboardError> {
    let access_key = s.accounts.reset_member_credential(&caller, &user_id).await.map_err(user_error)?;
    Ok(Json(ApiResponse::ok("User session renewed", Meta::AccessKey { access_key })))
}
