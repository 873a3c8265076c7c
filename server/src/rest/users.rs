//! `/api/users`: the dashboard users of the caller's organisation, and the caller's own
//! credential. Every route here needs a user's credential (see `auth::ApiUser`).

use super::error::DashboardError;
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

async fn list(ApiUser(caller): ApiUser, State(s): State<AppState>) -> Result<Json<Value>, DashboardError> {
    let users: Vec<Value> = s.accounts.users(Some(&caller.org_id)).await?.iter().map(|u| user_json(u, None)).collect();
    Ok(Json(json!({ "users": users, "pages": 1 })))
}

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

async fn one(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<Value>, DashboardError> {
    Ok(Json(user_json(&org_user(&s, &caller, &user_id).await?, None)))
}

/// Tyk's "reset access key". Tyk does not return the new key (the user reads it in the UI);
/// ours is stored hashed, so it is returned here, once, in `Meta.access_key`.
async fn reset_key(ApiUser(caller): ApiUser, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<Value>, DashboardError> {
    let user = org_user(&s, &caller, &user_id).await?;
    let credential = s.accounts.regenerate_credential(&caller.actor(), &user.id).await?;
    Ok(ok_message("User session renewed", json!({ "access_key": credential })))
}
