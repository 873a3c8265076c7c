//! Tyk's Dashboard Admin API: organisations and users, behind the `Admin-Auth` secret.

use super::error::DashboardError;
use super::json::JsonBody;
use super::responses::{ApiRegister, ApiResponse, Meta, OrganisationDocument, User, Users};
use crate::accounts::{NewOrg, NewUserRequest};
use crate::audit::Actor;
use crate::auth::Admin;
use crate::state::AppState;
use super::query::Query;
use app::model::{OrgId, UserId};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/organisations", get(list_orgs).post(create_org))
        .route("/admin/organisations/{org_id}", get(get_org))
        .route("/admin/users", get(list_users).post(create_user))
        .route("/admin/users/{user_id}", get(get_user))
}

/// Create an organisation
///
/// `owner_name` is required; the rest of the document is kept as sent.
#[utoipa::path(post, path = "/admin/organisations", operation_id = "createOrg", tag = "Admin: Organisations",
    security(("admin_auth" = [])),
    request_body = OrganisationDocument,
    responses(
        (status = 200, description = "`Org created`: `Meta` is the new organisation's id", body = ApiResponse),
        (status = 400, description = "`owner_name` is missing", body = ApiResponse),
    ))]
async fn create_org(_: Admin, State(s): State<AppState>, JsonBody(doc): JsonBody<Value>) -> Result<Json<ApiResponse>, DashboardError> {
    let org = s.accounts.create_org(NewOrg::try_from(doc)?).await?;
    Ok(Json(ApiResponse::ok("Org created", Meta::Id(org.id.to_string()))))
}

/// List organisations
#[utoipa::path(get, path = "/admin/organisations", operation_id = "getOrgs", tag = "Admin: Organisations",
    security(("admin_auth" = [])),
    responses((status = 200, description = "Every organisation", body = ApiRegister)))]
async fn list_orgs(_: Admin, State(s): State<AppState>) -> Result<Json<ApiRegister>, DashboardError> {
    let organisations = s.accounts.orgs().await?.iter().map(OrganisationDocument::from).collect();
    Ok(Json(ApiRegister { organisations, pages: 0 }))
}

/// Get an organisation
#[utoipa::path(get, path = "/admin/organisations/{orgID}", operation_id = "getOrg", tag = "Admin: Organisations",
    security(("admin_auth" = [])),
    params(("orgID" = String, Path)),
    responses(
        (status = 200, description = "The organisation", body = OrganisationDocument),
        (status = 404, description = "No such organisation", body = ApiResponse),
    ))]
async fn get_org(_: Admin, State(s): State<AppState>, Path(org_id): Path<String>) -> Result<Json<OrganisationDocument>, DashboardError> {
    let found = match OrgId::parse(&org_id) {
        Some(id) => s.accounts.org(&id).await,
        None => Err(crate::accounts::AccountError::NotFound),
    };
    match found {
        Ok(org) => Ok(Json(OrganisationDocument::from(&org))),
        Err(crate::accounts::AccountError::NotFound) => Err(DashboardError::NotFound("Could not retrieve org detail".into())),
        Err(e) => Err(e.into()),
    }
}

/// Create a user
///
/// Answers as Tyk does: the new API credential in `Message` and in `Meta.access_key`. It is the
/// only time the credential is shown.
#[utoipa::path(post, path = "/admin/users", operation_id = "createUser", tag = "Admin: Users", security(("admin_auth" = [])),
    request_body = NewUserRequest,
    responses(
        (status = 200, description = "The credential in `Message`, the user in `Meta`", body = ApiResponse),
        (status = 400, description = "The email or password is invalid, or the organisation does not exist", body = ApiResponse),
        (status = 403, description = "The email address is taken", body = ApiResponse),
    ))]
async fn create_user(_: Admin, State(s): State<AppState>, JsonBody(req): JsonBody<NewUserRequest>) -> Result<Json<ApiResponse>, DashboardError> {
    let (user, credential) = s.accounts.create_user(&Actor::AdminApi, req).await?;
    let user = User::new(&user, Some(credential.clone()));
    Ok(Json(ApiResponse::ok(credential, Meta::User(Box::new(user)))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UserFilter {
    /// Only the users of this organisation.
    org_id: Option<String>,
}

/// List users
///
/// Portcullis's own: Tyk's Admin API cannot list users.
#[utoipa::path(get, path = "/admin/users", operation_id = "listAdminUsers", tag = "Admin: Users", security(("admin_auth" = [])),
    params(UserFilter),
    responses(
        (status = 200, description = "The users", body = Users),
        (status = 404, description = "The organisation does not exist", body = ApiResponse),
    ))]
async fn list_users(_: Admin, State(s): State<AppState>, Query(f): Query<UserFilter>) -> Result<Json<Users>, DashboardError> {
    let org = match &f.org_id {
        Some(org) => match OrgId::parse(org) {
            Some(id) if s.accounts.org(&id).await.is_ok() => Some(id),
            _ => return Err(DashboardError::NotFound(format!("Organisation '{org}' does not exist"))),
        },
        None => None,
    };
    let users = s.accounts.users(org.as_ref()).await?.iter().map(User::from).collect();
    Ok(Json(Users { users, pages: 0 }))
}

/// Get a user
#[utoipa::path(get, path = "/admin/users/{userId}", operation_id = "getUserDetail", tag = "Admin: Users",
    security(("admin_auth" = [])),
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 404, description = "No such user", body = ApiResponse),
    ))]
async fn get_user(_: Admin, State(s): State<AppState>, Path(user_id): Path<String>) -> Result<Json<User>, DashboardError> {
    let found = match UserId::parse(&user_id) {
        Some(id) => s.accounts.user(&id).await,
        None => Err(crate::accounts::AccountError::NotFound),
    };
    match found {
        Ok(u) => Ok(Json(User::from(&u))),
        Err(crate::accounts::AccountError::NotFound) => Err(DashboardError::NotFound("Could not retrieve user detail".into())),
        Err(e) => Err(e.into()),
    }
}
