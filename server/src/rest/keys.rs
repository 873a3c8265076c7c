//! `/api/keys` and the key routes under `/api/apis`: Tyk's Dashboard key API.

use super::error::DashboardError;
use super::json::JsonBody;
use super::{ok_message, pages, PAGE_SIZE};
use crate::auth::ApiUser;
use crate::keys::id::is_set;
use crate::keys::{KeyRef, NewKey, Scope};
use crate::state::AppState;
use crate::store::{KeyFilter, UserRow};
use app::model::SessionState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/keys", post(create))
        .route("/api/keys/detailed", get(detailed))
        .route("/api/keys/preview", post(preview))
        .route("/api/keys/{key_id}", get(one).put(update).delete(delete).post(create_custom))
        .route("/api/apis/keys", get(list))
        .route("/api/apis/keys/basic/{username}", post(create_basic).put(update_basic))
        .route("/api/apis/{api_id}/keys", get(list_for_api))
        .route("/api/apis/{api_id}/keys/search", get(list_for_api))
        .route("/api/apis/{api_id}/keys/{key_id}", get(one_for_api).put(update_for_api).delete(delete_for_api))
}

#[derive(Deserialize, Default)]
struct CreateQuery {
    #[serde(default)]
    basic_auth: String,
}

/// Query of the list endpoints: Tyk's `p` and `q`, and our filters.
#[derive(Deserialize, Default)]
struct ListQuery {
    p: Option<i64>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    alias: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    policy: String,
    #[serde(default)]
    api_id: String,
}

impl ListQuery {
    fn filter(self, org_id: &str) -> (KeyFilter, i64, i64) {
        let (limit, offset) = super::PageQuery { p: self.p, q: String::new() }.window();
        let filter = KeyFilter {
            org_id: org_id.to_owned(),
            api_id: self.api_id,
            tag: self.tag,
            policy_id: self.policy,
            alias: self.alias,
            q: self.q,
            ..KeyFilter::default()
        };
        (filter, limit, offset)
    }
}

#[derive(Deserialize, Default)]
struct UpdateQuery {
    #[serde(flatten)]
    key: KeyRef,
    #[serde(default)]
    suppress_reset: String,
}

fn org(user: &UserRow) -> Scope {
    Scope::Org(user.org_id.clone())
}

async fn create(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Query(q): Query<CreateQuery>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<Value>, DashboardError> {
    let kind = if is_set(&q.basic_auth) { NewKey::Basic(None) } else { NewKey::Generated };
    let key = s.keys.create(&user.org_id, &user.actor(), kind, session).await?;
    Ok(Json(key.to_json()))
}

async fn create_custom(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(key_id): Path<String>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<Value>, DashboardError> {
    let key = s.keys.create(&user.org_id, &user.actor(), NewKey::Custom(key_id), session).await?;
    Ok(Json(key.to_json()))
}

async fn create_basic(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(username): Path<String>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<Value>, DashboardError> {
    let key = s.keys.create(&user.org_id, &user.actor(), NewKey::Basic(Some(username)), session).await?;
    Ok(Json(key.to_json()))
}

async fn update_basic(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(username): Path<String>,
    Query(q): Query<UpdateQuery>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<Value>, DashboardError> {
    let r = KeyRef { id: username, username: true, ..Default::default() };
    let key = s.keys.update(&org(&user), &user.actor(), &r, session, is_set(&q.suppress_reset)).await?;
    Ok(Json(key.to_json()))
}

async fn one(ApiUser(user): ApiUser, State(s): State<AppState>, Path(key_id): Path<String>, Query(mut r): Query<KeyRef>) -> Result<Json<Value>, DashboardError> {
    r.id = key_id;
    Ok(Json(s.keys.get(&org(&user), &r).await?.to_json()))
}

async fn update(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(key_id): Path<String>,
    Query(mut q): Query<UpdateQuery>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<Value>, DashboardError> {
    q.key.id = key_id;
    let key = s.keys.update(&org(&user), &user.actor(), &q.key, session, is_set(&q.suppress_reset)).await?;
    Ok(Json(key.to_json()))
}

async fn delete(ApiUser(user): ApiUser, State(s): State<AppState>, Path(key_id): Path<String>, Query(mut r): Query<KeyRef>) -> Result<Json<Value>, DashboardError> {
    r.id = key_id;
    s.keys.delete(&org(&user), &user.actor(), &r).await?;
    Ok(ok_message("Key deleted successfully.", Value::Null))
}

async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Value>, DashboardError> {
    let (filter, limit, offset) = q.filter(&user.org_id);
    let (keys, total) = s.keys.list(&filter, limit, offset).await?;
    let ids: Vec<&str> = keys.iter().map(|k| k.listed_id.as_str()).collect();
    Ok(Json(json!({ "data": { "keys": ids }, "pages": page_count(total, limit) })))
}

async fn list_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(api_id): Path<String>,
    Query(mut q): Query<ListQuery>,
) -> Result<Json<Value>, DashboardError> {
    // Internal or external API id; another organisation's API does not exist for the caller.
    let api = s.apis.get(&user.org_id, &api_id).await?;
    q.api_id = api.row.api_id;
    list(ApiUser(user), State(s), Query(q)).await
}

async fn detailed(ApiUser(user): ApiUser, State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<Value>, DashboardError> {
    let (filter, limit, offset) = q.filter(&user.org_id);
    let (keys, total) = s.keys.detailed(&filter, limit, offset).await?;
    let keys: Vec<Value> = keys.iter().map(|k| k.to_json()).collect();
    Ok(Json(json!({ "keys": keys, "pages": page_count(total, limit) })))
}

async fn preview(ApiUser(user): ApiUser, State(s): State<AppState>, JsonBody(session): JsonBody<SessionState>) -> Result<Json<Value>, DashboardError> {
    let data = s.keys.preview(&user.org_id, session).await?;
    Ok(Json(json!({ "api_model": {}, "key_id": "", "data": data, "key_hash": "" })))
}

/// The same key routes, under an API of the caller's organisation.
async fn scoped(s: &AppState, user: &UserRow, api_id: &str) -> Result<(), DashboardError> {
    s.apis.get(&user.org_id, api_id).await?;
    Ok(())
}

async fn one_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path((api_id, key_id)): Path<(String, String)>,
    Query(r): Query<KeyRef>,
) -> Result<Json<Value>, DashboardError> {
    scoped(&s, &user, &api_id).await?;
    one(ApiUser(user), State(s), Path(key_id), Query(r)).await
}

async fn update_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path((api_id, key_id)): Path<(String, String)>,
    Query(q): Query<UpdateQuery>,
    body: JsonBody<SessionState>,
) -> Result<Json<Value>, DashboardError> {
    scoped(&s, &user, &api_id).await?;
    update(ApiUser(user), State(s), Path(key_id), Query(q), body).await
}

async fn delete_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path((api_id, key_id)): Path<(String, String)>,
    Query(r): Query<KeyRef>,
) -> Result<Json<Value>, DashboardError> {
    scoped(&s, &user, &api_id).await?;
    delete(ApiUser(user), State(s), Path(key_id), Query(r)).await
}

fn page_count(total: i64, limit: i64) -> i64 {
    if limit == i64::MAX {
        1
    } else {
        debug_assert_eq!(limit, PAGE_SIZE);
        pages(total)
    }
}
