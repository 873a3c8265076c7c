//! `/api/keys` and the key routes under `/api/apis`: Tyk's Dashboard key API.

use super::error::DashboardError;
use super::json::JsonBody;
use super::responses::{AllKeys, ApiResponse, KeyData, Keys, KeysDetailed, Meta};
use super::{pages, PAGE_SIZE};
use crate::auth::ApiUser;
use crate::keys::id::is_set;
use crate::keys::{KeyError, KeyRef, Lookup, NewKey, Paged, Scope};
use crate::state::AppState;
use crate::store::{KeyCursor, KeyFilter, KeyWindow, UserRow};
use app::model::{OrgId, SessionState};
use super::query::Query;
use axum::extract::{Path, State};
use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/keys", post(create))
        .route("/api/keys/detailed", get(detailed))
        .route("/api/keys/preview", post(preview))
        .route("/api/keys/{key_id}", get(one).put(update).delete(delete).post(create_custom))
        .route("/api/apis/keys", get(list))
        .route("/api/apis/keys/basic/{username}", post(create_basic).put(update_basic))
        .route("/api/apis/{api_id}/keys", get(list_for_api))
        .route("/api/apis/{api_id}/keys/search", get(search_for_api))
        .route("/api/apis/{api_id}/keys/{key_id}", get(one_for_api).put(update_for_api).delete(delete_for_api))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct CreateQuery {
    /// Any value but empty, `false`, `0` or `no`: the key is a basic-auth user, named by
    /// `basic_auth_data.user`.
    #[serde(default)]
    basic_auth: String,
}

/// Query of the list endpoints: Tyk's `p` and `q`, and our filters.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Page, from 1 (10 keys a page); a negative page lists every key.
    p: Option<i64>,
    /// Part of a key's hash, alias or basic-auth user id, case-insensitively (Portcullis searches
    /// hashed keys too).
    #[serde(default)]
    q: String,
    /// Only keys whose alias contains this, case-insensitively (Portcullis's own filter).
    #[serde(default)]
    alias: String,
    /// Only keys with this tag, their own or from a policy (Portcullis's own filter).
    #[serde(default)]
    tag: String,
    /// Only keys that apply this policy id (Portcullis's own filter).
    #[serde(default)]
    policy: String,
    /// Keyset paging (Portcullis's own): empty for the page `p` names, with `next` and `prev`
    /// cursors in the answer; a cursor from an answer for the page it points to (`p` is then
    /// ignored). A cursor reads the list without counting the keys before it.
    cursor: Option<String>,
}

/// The API filter of the organisation-wide lists (the per-API lists take it from the path).
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct ApiFilter {
    /// Only keys with access to this API (Portcullis's own filter).
    #[serde(default)]
    api_id: String,
}

impl ListQuery {
    fn filter(self, org_id: &OrgId, api_id: String) -> Result<(KeyFilter, KeyWindow, bool), DashboardError> {
        let (limit, offset) = super::PageQuery { p: self.p, q: String::new() }.window();
        let window = match self.cursor.as_deref().map(str::trim) {
            None | Some("") => KeyWindow::Offset { limit, offset },
            Some(c) => {
                let cursor = KeyCursor::decode(c).map_err(|e| KeyError::Invalid { field: "cursor".into(), message: e.to_string() })?;
                KeyWindow::Cursor { cursor, limit: PAGE_SIZE }
            }
        };
        let filter = KeyFilter {
            org_id: Some(org_id.clone()),
            api_id: KeyFilter::text(&api_id),
            tag: KeyFilter::text(&self.tag),
            policy_id: KeyFilter::text(&self.policy),
            alias: KeyFilter::text(&self.alias),
            q: KeyFilter::text(&self.q),
            ..KeyFilter::default()
        };
        Ok((filter, window, self.cursor.is_some()))
    }
}

#[derive(Deserialize, Default)]
struct UpdateQuery {
    #[serde(flatten)]
    key: KeyRef,
    #[serde(default)]
    suppress_reset: String,
}

pub(super) const SUPPRESS_RESET: &str =
    "Any value but empty, `false`, `0` or `no`: keep the quota used so far. By default an update starts the quota again.";

fn org(user: &UserRow) -> Scope {
    Scope::Org(user.org_id.clone())
}

/// Create a key
///
/// The key is generated (the organisation id and 32 hex characters) and shown in `key_id` this
/// once; it is stored as its SHA-256, `key_hash`.
#[utoipa::path(post, path = "/api/keys", operation_id = "addKey", tag = "Keys", security(("dashboard_auth" = [])),
    params(CreateQuery), request_body = SessionState,
    responses(
        (status = 200, description = "The new key", body = KeyData),
        (status = 400, description = "The definition is invalid; the message names the field", body = ApiResponse),
        (status = 409, description = "The basic-auth username is taken", body = ApiResponse),
    ))]
async fn create(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Query(q): Query<CreateQuery>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<KeyData>, DashboardError> {
    let kind = if is_set(&q.basic_auth) { NewKey::Basic(None) } else { NewKey::Generated };
    let key = s.keys.create(&user.org_id, &user.actor(), kind, session).await?;
    Ok(Json(key.into()))
}

/// Create a key with a chosen id
///
/// The organisation id is put in front of `keyId` unless it is there already.
#[utoipa::path(post, path = "/api/keys/{keyId}", operation_id = "createCustomKey", tag = "Keys", security(("dashboard_auth" = [])),
    params(("keyId" = String, Path, description = "The key to create (3 to 256 printable characters, no spaces)")),
    request_body = SessionState,
    responses(
        (status = 200, description = "The new key", body = KeyData),
        (status = 400, description = "The id or the definition is invalid", body = ApiResponse),
        (status = 409, description = "The key exists already", body = ApiResponse),
    ))]
async fn create_custom(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(key_id): Path<String>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<KeyData>, DashboardError> {
    let key = s.keys.create(&user.org_id, &user.actor(), NewKey::Custom(key_id), session).await?;
    Ok(Json(key.into()))
}

/// Create a basic-auth user
#[utoipa::path(post, path = "/api/apis/keys/basic/{username}", operation_id = "createBasicAuthUser", tag = "Basic Authentication",
    security(("dashboard_auth" = [])),
    params(("username" = String, Path, description = "The user's name; `basic_auth_data.password` is the password")),
    request_body = SessionState,
    responses(
        (status = 200, description = "The new user's key", body = KeyData),
        (status = 400, description = "The definition is invalid (a password is required)", body = ApiResponse),
        (status = 409, description = "The username is taken in this organisation", body = ApiResponse),
    ))]
async fn create_basic(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(username): Path<String>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<KeyData>, DashboardError> {
    let key = s.keys.create(&user.org_id, &user.actor(), NewKey::Basic(Some(username)), session).await?;
    Ok(Json(key.into()))
}

/// Update a basic-auth user
///
/// Portcullis's own: Tyk updates basic-auth users through `PUT /api/keys/{keyId}?username=true`,
/// which works here too. The password is kept unless one is sent.
#[utoipa::path(put, path = "/api/apis/keys/basic/{username}", operation_id = "updateBasicAuthUser", tag = "Basic Authentication",
    security(("dashboard_auth" = [])),
    params(("username" = String, Path), ("suppress_reset" = Option<String>, Query, description = SUPPRESS_RESET)),
    request_body = SessionState,
    responses(
        (status = 200, description = "The user's key, as updated", body = KeyData),
        (status = 400, description = "The definition is invalid", body = ApiResponse),
        (status = 404, description = "No such user", body = ApiResponse),
    ))]
async fn update_basic(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(username): Path<String>,
    Query(q): Query<UpdateQuery>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<KeyData>, DashboardError> {
    let r = KeyRef::new(username, Lookup::Username);
    let key = s.keys.update(&org(&user), &user.actor(), &r, session, is_set(&q.suppress_reset)).await?;
    Ok(Json(key.into()))
}

/// Get a key
#[utoipa::path(get, path = "/api/keys/{keyId}", operation_id = "getKeyDetail", tag = "Keys", security(("dashboard_auth" = [])),
    params(("keyId" = String, Path, description = "The key, its hash (`hashed`) or a basic-auth username (`username`)"), KeyRef),
    responses(
        (status = 200, description = "The key, with its policies applied", body = KeyData),
        (status = 400, description = "The key belongs to another organisation", body = ApiResponse),
        (status = 404, description = "No such key", body = ApiResponse),
    ))]
async fn one(ApiUser(user): ApiUser, State(s): State<AppState>, Path(key_id): Path<String>, Query(mut r): Query<KeyRef>) -> Result<Json<KeyData>, DashboardError> {
    r.id = key_id;
    Ok(Json(s.keys.get(&org(&user), &r).await?.into()))
}

/// Update a key
///
/// Replaces the key's definition.
#[utoipa::path(put, path = "/api/keys/{keyId}", operation_id = "updateKeyDetail", tag = "Keys", security(("dashboard_auth" = [])),
    params(("keyId" = String, Path), KeyRef, ("suppress_reset" = Option<String>, Query, description = SUPPRESS_RESET)),
    request_body = SessionState,
    responses(
        (status = 200, description = "The key, as updated", body = KeyData),
        (status = 400, description = "The definition is invalid, or the key belongs to another organisation", body = ApiResponse),
        (status = 404, description = "No such key", body = ApiResponse),
    ))]
async fn update(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(key_id): Path<String>,
    Query(mut q): Query<UpdateQuery>,
    JsonBody(session): JsonBody<SessionState>,
) -> Result<Json<KeyData>, DashboardError> {
    q.key.id = key_id;
    let key = s.keys.update(&org(&user), &user.actor(), &q.key, session, is_set(&q.suppress_reset)).await?;
    Ok(Json(key.into()))
}

/// Delete a key
#[utoipa::path(delete, path = "/api/keys/{keyId}", operation_id = "deleteKey", tag = "Keys", security(("dashboard_auth" = [])),
    params(("keyId" = String, Path), KeyRef),
    responses(
        (status = 200, description = "`Key deleted successfully.`", body = ApiResponse),
        (status = 400, description = "The key belongs to another organisation", body = ApiResponse),
        (status = 404, description = "No such key", body = ApiResponse),
    ))]
async fn delete(ApiUser(user): ApiUser, State(s): State<AppState>, Path(key_id): Path<String>, Query(mut r): Query<KeyRef>) -> Result<Json<ApiResponse>, DashboardError> {
    r.id = key_id;
    s.keys.delete(&org(&user), &user.actor(), &r).await?;
    Ok(Json(ApiResponse::ok("Key deleted successfully.", Meta::None)))
}

/// List keys
///
/// Hashed keys are listed too (unlike Tyk's), with the filters Portcullis adds.
#[utoipa::path(get, path = "/api/apis/keys", operation_id = "listKeys", tag = "Keys", security(("dashboard_auth" = [])),
    params(ListQuery, ApiFilter),
    responses((status = 200, description = "A page of key hashes", body = Keys)))]
async fn list(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
    Query(f): Query<ApiFilter>,
) -> Result<Response, DashboardError> {
    let (filter, window, cursors) = q.filter(&user.org_id, f.api_id)?;
    if everything(&window) {
        return Ok(stream_all(s, filter, Listing::Ids));
    }
    let page = s.keys.page(&filter, &window).await?;
    let pages = page_count(page.total, &window);
    let cursors = cursors_of(cursors, &page);
    let keys = page.items.into_iter().map(|k| k.listed_id).collect();
    Ok(Json(Keys { data: AllKeys { keys }, pages, next: cursors.0, prev: cursors.1 }).into_response())
}

/// List the keys of an API
#[utoipa::path(get, path = "/api/apis/{apiID}/keys", operation_id = "listApiKeys", tag = "Keys", security(("dashboard_auth" = [])),
    params(("apiID" = String, Path, description = "The API's `api_id` or internal id"), ListQuery),
    responses(
        (status = 200, description = "A page of the hashes of the keys with access to the API", body = Keys),
        (status = 404, description = "No such API", body = ApiResponse),
    ))]
async fn list_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path(api_id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, DashboardError> {
    // Internal or external API id; another organisation's API does not exist for the caller.
    let api = s.apis.get(&user.org_id, &api_id).await?;
    list(ApiUser(user), State(s), Query(q), Query(ApiFilter { api_id: api.row.api_id })).await
}

/// Search the keys of an API
///
/// The same as listing them, with `q`.
#[utoipa::path(get, path = "/api/apis/{apiId}/keys/search", operation_id = "SearchKeys", tag = "Keys", security(("dashboard_auth" = [])),
    params(("apiId" = String, Path, description = "The API's `api_id` or internal id"), ListQuery),
    responses(
        (status = 200, description = "A page of the hashes of the matching keys", body = Keys),
        (status = 404, description = "No such API", body = ApiResponse),
    ))]
async fn search_for_api(user: ApiUser, s: State<AppState>, api_id: Path<String>, q: Query<ListQuery>) -> Result<Response, DashboardError> {
    list_for_api(user, s, api_id, q).await
}

/// List keys with their sessions
#[utoipa::path(get, path = "/api/keys/detailed", operation_id = "getKeysDetailed", tag = "Keys", security(("dashboard_auth" = [])),
    params(ListQuery, ApiFilter),
    responses((status = 200, description = "A page of keys", body = KeysDetailed)))]
async fn detailed(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
    Query(f): Query<ApiFilter>,
) -> Result<Response, DashboardError> {
    let (filter, window, cursors) = q.filter(&user.org_id, f.api_id)?;
    if everything(&window) {
        return Ok(stream_all(s, filter, Listing::Detailed));
    }
    let page = s.keys.detailed(&filter, &window).await?;
    let pages = page_count(page.total, &window);
    let cursors = cursors_of(cursors, &page);
    let keys = page.items.into_iter().map(KeyData::from).collect();
    Ok(Json(KeysDetailed { keys, pages, next: cursors.0, prev: cursors.1 }).into_response())
}

/// Check a key definition
///
/// Validates it and applies its policies, storing nothing.
#[utoipa::path(post, path = "/api/keys/preview", operation_id = "validateAKeyDefinition", tag = "Keys", security(("dashboard_auth" = [])),
    request_body = SessionState,
    responses(
        (status = 200, description = "The session the key would have, in `data`", body = KeyData),
        (status = 400, description = "The definition is invalid", body = ApiResponse),
    ))]
async fn preview(ApiUser(user): ApiUser, State(s): State<AppState>, JsonBody(session): JsonBody<SessionState>) -> Result<Json<KeyData>, DashboardError> {
    let data = s.keys.preview(&user.org_id, session).await?;
    Ok(Json(KeyData::preview(data)))
}

/// The same key routes, under an API of the caller's organisation.
async fn scoped(s: &AppState, user: &UserRow, api_id: &str) -> Result<(), DashboardError> {
    s.apis.get(&user.org_id, api_id).await?;
    Ok(())
}

/// Get a key of an API
#[utoipa::path(get, path = "/api/apis/{apiID}/keys/{keyID}", operation_id = "getApiKeyDetail", tag = "Keys",
    security(("dashboard_auth" = [])),
    params(("apiID" = String, Path), ("keyID" = String, Path), KeyRef),
    responses(
        (status = 200, description = "The key", body = KeyData),
        (status = 400, description = "The key belongs to another organisation", body = ApiResponse),
        (status = 404, description = "No such API or key", body = ApiResponse),
    ))]
async fn one_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path((api_id, key_id)): Path<(String, String)>,
    Query(r): Query<KeyRef>,
) -> Result<Json<KeyData>, DashboardError> {
    scoped(&s, &user, &api_id).await?;
    one(ApiUser(user), State(s), Path(key_id), Query(r)).await
}

/// Update a key of an API
#[utoipa::path(put, path = "/api/apis/{apiID}/keys/{keyID}", operation_id = "updateApiKeyDetail", tag = "Keys",
    security(("dashboard_auth" = [])),
    params(("apiID" = String, Path), ("keyID" = String, Path), KeyRef,
        ("suppress_reset" = Option<String>, Query, description = SUPPRESS_RESET)),
    request_body = SessionState,
    responses(
        (status = 200, description = "The key, as updated", body = KeyData),
        (status = 400, description = "The definition is invalid, or the key belongs to another organisation", body = ApiResponse),
        (status = 404, description = "No such API or key", body = ApiResponse),
    ))]
async fn update_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path((api_id, key_id)): Path<(String, String)>,
    Query(q): Query<UpdateQuery>,
    body: JsonBody<SessionState>,
) -> Result<Json<KeyData>, DashboardError> {
    scoped(&s, &user, &api_id).await?;
    update(ApiUser(user), State(s), Path(key_id), Query(q), body).await
}

/// Delete a key of an API
#[utoipa::path(delete, path = "/api/apis/{apiID}/keys/{keyID}", operation_id = "deleteApiKeyDetail", tag = "Keys",
    security(("dashboard_auth" = [])),
    params(("apiID" = String, Path), ("keyID" = String, Path), KeyRef),
    responses(
        (status = 200, description = "`Key deleted successfully.`", body = ApiResponse),
        (status = 400, description = "The key belongs to another organisation", body = ApiResponse),
        (status = 404, description = "No such API or key", body = ApiResponse),
    ))]
async fn delete_for_api(
    ApiUser(user): ApiUser,
    State(s): State<AppState>,
    Path((api_id, key_id)): Path<(String, String)>,
    Query(r): Query<KeyRef>,
) -> Result<Json<ApiResponse>, DashboardError> {
    scoped(&s, &user, &api_id).await?;
    delete(ApiUser(user), State(s), Path(key_id), Query(r)).await
}

/// Windows of this many keys make up an answer that lists every key.
const STREAM_WINDOW: i64 = 200;

/// Whether a list asks for every key at once (`p=-1`).
fn everything(window: &KeyWindow) -> bool {
    matches!(window, KeyWindow::Offset { limit: i64::MAX, .. })
}

#[derive(Clone, Copy)]
enum Listing {
    Ids,
    Detailed,
}

/// Every key at once (`p=-1`), in Tyk's shape, written as it is read a window at a time: the
/// answer for a million keys holds one window in memory, not the list. The windows follow
/// cursors, so a key created or deleted meanwhile is listed once or not at all. A failure after
/// the first bytes can only end the body early (the status is sent): the JSON is then cut short.
fn stream_all(s: AppState, filter: KeyFilter, listing: Listing) -> Response {
    use futures_util::stream;
    enum Step {
        Head,
        Window(KeyWindow, bool),
        Tail,
        Done,
    }
    let (head, tail): (&'static str, &'static str) = match listing {
        Listing::Ids => (r#"{"data":{"keys":["#, r#"]},"pages":1}"#),
        Listing::Detailed => (r#"{"keys":["#, r#"],"pages":1}"#),
    };
    let body = stream::unfold(Step::Head, move |step| {
        let (s, filter) = (s.clone(), filter.clone());
        async move {
            let (window, nothing_yet) = match step {
                Step::Head => return Some((Ok(Bytes::from_static(head.as_bytes())), Step::Window(KeyWindow::Offset { limit: STREAM_WINDOW, offset: 0 }, true))),
                Step::Tail => return Some((Ok(Bytes::from_static(tail.as_bytes())), Step::Done)),
                Step::Done => return None,
                Step::Window(window, nothing_yet) => (window, nothing_yet),
            };
            let items: Result<(Vec<Vec<u8>>, Option<KeyCursor>), String> = match listing {
                Listing::Ids => match s.keys.window(&filter, &window).await {
                    Ok((keys, next)) => keys.iter().map(|k| serde_json::to_vec(&k.listed_id)).collect::<Result<_, _>>().map(|v| (v, next)).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
                Listing::Detailed => match s.keys.detailed_window(&filter, &window).await {
                    Ok((keys, next)) => keys
                        .into_iter()
                        .map(|k| serde_json::to_vec(&KeyData::from(k)))
                        .collect::<Result<_, _>>()
                        .map(|v| (v, next))
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
            };
            let (items, next) = match items {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %e, "listing every key failed midway");
                    return Some((Err(std::io::Error::other(e)), Step::Done));
                }
            };
            let empty = items.is_empty();
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                if i > 0 || !nothing_yet {
                    out.push(b',');
                }
                out.extend(item);
            }
            let step = match next {
                Some(cursor) => Step::Window(KeyWindow::Cursor { cursor, limit: STREAM_WINDOW }, nothing_yet && empty),
                None => Step::Tail,
            };
            Some((Ok(Bytes::from(out)), step))
        }
    });
    ([(CONTENT_TYPE, "application/json")], Body::from_stream(body)).into_response()
}

fn page_count(total: i64, window: &KeyWindow) -> i64 {
    match window {
        KeyWindow::Offset { limit: i64::MAX, .. } => 1,
        _ => pages(total),
    }
}

/// The (next, prev) cursors of a page, for an answer to a list asked with `cursor`.
fn cursors_of<T>(asked: bool, page: &Paged<T>) -> (Option<String>, Option<String>) {
    if !asked {
        return (None, None);
    }
    (page.next.as_ref().map(KeyCursor::encode), page.prev.as_ref().map(KeyCursor::encode))
}
