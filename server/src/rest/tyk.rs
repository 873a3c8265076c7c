//! `/tyk`: Tyk's Gateway API for keys and policies, for tools that talk to a Tyk gateway.
//! It holds the node's secret (`X-Tyk-Authorization`), so it sees every organisation; its
//! envelopes are the gateway's: `{key, status, action, key_hash}` and `{status, message}`.

use super::gateway_error::{key_error, GatewayApiError};
use super::json::parse;
// Its rejection answers in the gateway's envelope.
use super::query::GatewayQuery as Query;
use super::responses::{ApiAllKeys, ApiModifyKeySuccess, ApiStatusMessage, Modification};
use crate::audit::Actor;
use crate::keys::id::is_set;
use crate::keys::{org_of, KeyError, KeyRef, NewKey, Scope};
use crate::state::AppState;
use crate::store::KeyFilter;
use app::model::{KeyHash, OrgId, Policy, SessionState};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tyk/keys", get(list_keys).post(create_key))
        .route("/tyk/keys/create", post(create_key_at_create))
        .route("/tyk/keys/preview", post(preview_key))
        .route("/tyk/keys/policy/{key_hash}", post(set_policies))
        .route("/tyk/keys/{key_id}", get(get_key).put(update_key).delete(delete_key).post(create_custom_key))
        .route("/tyk/policies", get(list_policies).post(create_policy))
        .route("/tyk/policies/{id}", get(get_policy).put(update_policy).delete(delete_policy))
}

/// A caller holding `PORTCULLIS_GATEWAY_SECRET` in `X-Tyk-Authorization`.
pub struct GatewayAdmin;

impl FromRequestParts<AppState> for GatewayAdmin {
    type Rejection = GatewayApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(secret) = &state.config.gateway_secret else {
            return Err(GatewayApiError::new(
                StatusCode::NOT_FOUND,
                "The gateway API is disabled: set PORTCULLIS_GATEWAY_SECRET to enable it",
            ));
        };
        let given = parts.headers.get("x-tyk-authorization").map(|v| v.as_bytes()).unwrap_or_default();
        if crate::auth::constant_time_eq(given, secret.expose().as_bytes()) {
            Ok(GatewayAdmin)
        } else {
            Err(GatewayApiError::new(StatusCode::FORBIDDEN, "Attempted administrative access with invalid or missing key!"))
        }
    }
}

fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, GatewayApiError> {
    Ok(parse(bytes)?)
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only keys with access to this API.
    #[serde(default)]
    api_id: String,
}

const HASHED: &str = "The id in the path is the key's hash (any value but empty, `false`, `0` or `no`).";
const AUTO_GUESS: &str = "The id in the path may be the key or its hash: try both.";
const HASHED_ON_CREATE: &str = "Accepted for Tyk's clients; no effect: the answer always carries the key and its `key_hash`.";
const RESET_ON_CREATE: &str = "Accepted for Tyk's clients; no effect: a new key's quota starts full.";

/// List keys
///
/// Every organisation's keys: their hashes, and basic-auth users by their id.
#[utoipa::path(get, path = "/tyk/keys", operation_id = "gatewayListKeys", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(ListQuery),
    responses((status = 200, description = "The keys", body = ApiAllKeys)))]
async fn list_keys(_: GatewayAdmin, State(s): State<AppState>, Query(q): Query<ListQuery>) -> Result<Json<ApiAllKeys>, GatewayApiError> {
    let filter = KeyFilter { api_id: KeyFilter::text(&q.api_id), ..Default::default() };
    let (keys, _) = s.keys.list(&filter, i64::MAX, 0).await.map_err(|e| key_error(e, "Key not found"))?;
    Ok(Json(ApiAllKeys { keys: keys.into_iter().map(|k| k.listed_id).collect() }))
}

async fn create(s: &AppState, kind: NewKey, bytes: &Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    let session: SessionState = body(bytes)?;
    let org = org_of(&session).map_err(|e| key_error(e, "Key not found"))?;
    let key = s.keys.create(&org, &Actor::GatewayApi, kind, session).await.map_err(|e| key_error(e, "Key not found"))?;
    Ok(Json(ApiModifyKeySuccess::key(key.key_id.clone(), Modification::Added, &key)))
}

/// Create a key
///
/// The key's organisation is its `org_id`, which must exist.
#[utoipa::path(post, path = "/tyk/keys", operation_id = "gatewayAddKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(("hashed" = Option<bool>, Query, description = HASHED_ON_CREATE)),
    request_body = SessionState,
    responses(
        (status = 200, description = "`added`: the new key and its hash", body = ApiModifyKeySuccess),
        (status = 400, description = "The definition is invalid, or `org_id` does not exist", body = ApiStatusMessage),
    ))]
async fn create_key(_: GatewayAdmin, State(s): State<AppState>, bytes: Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    create(&s, NewKey::Generated, &bytes).await
}

/// Create a key
///
/// The same as `POST /tyk/keys`.
#[utoipa::path(post, path = "/tyk/keys/create", operation_id = "createKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    request_body = SessionState,
    responses(
        (status = 200, description = "`added`: the new key and its hash", body = ApiModifyKeySuccess),
        (status = 400, description = "The definition is invalid, or `org_id` does not exist", body = ApiStatusMessage),
    ))]
async fn create_key_at_create(admin: GatewayAdmin, s: State<AppState>, bytes: Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    create_key(admin, s, bytes).await
}

/// Create a key with a chosen id
#[utoipa::path(post, path = "/tyk/keys/{keyID}", operation_id = "gatewayCreateCustomKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(("keyID" = String, Path, description = "The key to create"),
        ("suppress_reset" = Option<String>, Query, description = RESET_ON_CREATE),
        ("hashed" = Option<bool>, Query, description = HASHED_ON_CREATE)),
    request_body = SessionState,
    responses(
        (status = 200, description = "`added`: the new key and its hash", body = ApiModifyKeySuccess),
        (status = 400, description = "The id or the definition is invalid", body = ApiStatusMessage),
        (status = 409, description = "The key exists already", body = ApiStatusMessage),
    ))]
async fn create_custom_key(_: GatewayAdmin, State(s): State<AppState>, Path(key_id): Path<String>, bytes: Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    create(&s, NewKey::Custom(key_id), &bytes).await
}

/// Check a key definition
///
/// Validates it and applies its policies, storing nothing.
#[utoipa::path(post, path = "/tyk/keys/preview", operation_id = "gatewayValidateAKeyDefinition", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    request_body = SessionState,
    responses(
        (status = 200, description = "The session the key would have", body = SessionState),
        (status = 400, description = "The definition is invalid", body = ApiStatusMessage),
    ))]
async fn preview_key(_: GatewayAdmin, State(s): State<AppState>, bytes: Bytes) -> Result<Json<SessionState>, GatewayApiError> {
    let session: SessionState = body(&bytes)?;
    let org = org_of(&session).map_err(|e| key_error(e, "Key not found"))?;
    let data = s.keys.preview(&org, session).await.map_err(|e| key_error(e, "Key not found"))?;
    Ok(Json(data))
}

/// Get a key
#[utoipa::path(get, path = "/tyk/keys/{keyID}", operation_id = "getKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(("keyID" = String, Path), ("hashed" = Option<bool>, Query, description = HASHED),
        ("auto_guess" = Option<bool>, Query, description = AUTO_GUESS)),
    responses(
        (status = 200, description = "The session, with its policies applied", body = SessionState,
            headers(("x-portcullis-missing-policies" = String, description = "Policies the key lists that do not exist (skipped), comma-separated; only when there are some"))),
        (status = 404, description = "`Key not found`", body = ApiStatusMessage),
    ))]
async fn get_key(_: GatewayAdmin, State(s): State<AppState>, Path(key_id): Path<String>, Query(mut r): Query<KeyRef>) -> Result<Response, GatewayApiError> {
    r.id = key_id;
    let key = s.keys.get(&Scope::Any, &r).await.map_err(|e| key_error(e, "Key not found"))?;
    let mut answer = Json(&key.data).into_response();
    // Tyk's answer is the bare session, which clients send back: the news goes in a header.
    if !key.missing_policies.is_empty() {
        let ids = key.missing_policies.join(",").escape_default().to_string();
        if let Ok(v) = axum::http::HeaderValue::from_str(&ids) {
            answer.headers_mut().insert(MISSING_POLICIES, v);
        }
    }
    Ok(answer)
}

/// The header of a key's GET that names the policies it lists that do not exist.
const MISSING_POLICIES: &str = "x-portcullis-missing-policies";

#[derive(Deserialize, Default)]
struct UpdateQuery {
    #[serde(flatten)]
    key: KeyRef,
    #[serde(default)]
    suppress_reset: String,
}

/// Update a key
#[utoipa::path(put, path = "/tyk/keys/{keyID}", operation_id = "updateKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(("keyID" = String, Path), ("suppress_reset" = Option<String>, Query, description = super::keys::SUPPRESS_RESET),
        ("hashed" = Option<bool>, Query, description = HASHED), ("auto_guess" = Option<bool>, Query, description = AUTO_GUESS)),
    request_body = SessionState,
    responses(
        (status = 200, description = "`modified`", body = ApiModifyKeySuccess),
        (status = 400, description = "The definition is invalid", body = ApiStatusMessage),
        (status = 404, description = "`Key is not found`", body = ApiStatusMessage),
    ))]
async fn update_key(
    _: GatewayAdmin,
    State(s): State<AppState>,
    Path(key_id): Path<String>,
    Query(mut q): Query<UpdateQuery>,
    bytes: Bytes,
) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    let session: SessionState = body(&bytes)?;
    q.key.id = key_id.clone();
    let key = s
        .keys
        .update(&Scope::Any, &Actor::GatewayApi, &q.key, session, is_set(&q.suppress_reset))
        .await
        .map_err(|e| key_error(e, "Key is not found"))?;
    Ok(Json(ApiModifyKeySuccess::key(key_id, Modification::Modified, &key)))
}

/// Delete a key
#[utoipa::path(delete, path = "/tyk/keys/{keyID}", operation_id = "gatewayDeleteKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(("keyID" = String, Path), ("hashed" = Option<bool>, Query, description = HASHED),
        ("auto_guess" = Option<bool>, Query, description = AUTO_GUESS)),
    responses(
        (status = 200, description = "`deleted`", body = ApiModifyKeySuccess),
        (status = 404, description = "`There is no such key found`", body = ApiStatusMessage),
    ))]
async fn delete_key(_: GatewayAdmin, State(s): State<AppState>, Path(key_id): Path<String>, Query(mut r): Query<KeyRef>) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    r.id = key_id.clone();
    s.keys.delete(&Scope::Any, &Actor::GatewayApi, &r).await.map_err(|e| key_error(e, "There is no such key found"))?;
    Ok(Json(ApiModifyKeySuccess::new(key_id, Modification::Deleted)))
}

/// Which policies a key applies: `apply_policies`, or else the single (deprecated) `policy`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PolicyUpdateObj)]
struct PolicyInstruction {
    #[serde(default)]
    policy: String,
    /// `null` as Tyk's gateway reads it: none.
    #[serde(default)]
    apply_policies: Option<Vec<String>>,
}

/// Set a key's policies
#[utoipa::path(post, path = "/tyk/keys/policy/{keyID}", operation_id = "setPoliciesToHashedKey", tag = "Gateway: Keys", security(("gateway_auth" = [])),
    params(("keyID" = String, Path, description = "The key's hash")),
    request_body = PolicyInstruction,
    responses(
        (status = 200, description = "`updated`", body = ApiModifyKeySuccess),
        (status = 400, description = "`Couldn't decode instruction`, or a policy does not exist", body = ApiStatusMessage),
        (status = 404, description = "`Key not found`", body = ApiStatusMessage),
    ))]
async fn set_policies(_: GatewayAdmin, State(s): State<AppState>, Path(key_hash): Path<String>, bytes: Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    let instruction: PolicyInstruction = parse(&bytes)
        .map_err(|_| GatewayApiError::new(StatusCode::BAD_REQUEST, "Couldn't decode instruction"))?;
    let mut ids = instruction.apply_policies.unwrap_or_default();
    if ids.is_empty() && !instruction.policy.is_empty() {
        ids.push(instruction.policy);
    }
    // What is no hash names no key.
    let hash = KeyHash::parse_hex(&key_hash).ok_or(KeyError::NotFound).map_err(|e| key_error(e, "Key not found"))?;
    s.keys.set_policies(&Actor::GatewayApi, &hash, ids).await.map_err(|e| key_error(e, "Key not found"))?;
    Ok(Json(ApiModifyKeySuccess::new(key_hash, Modification::Updated)))
}

/// List policies
///
/// Every organisation's policies.
#[utoipa::path(get, path = "/tyk/policies", operation_id = "listPolicies", tag = "Gateway: Policies", security(("gateway_auth" = [])),
    responses((status = 200, description = "The policies", body = [Policy])))]
async fn list_policies(_: GatewayAdmin, State(s): State<AppState>) -> Result<Json<Vec<Policy>>, GatewayApiError> {
    Ok(Json(s.policies.all().await?))
}

/// Create a policy
///
/// In the organisation of its `org_id`, which must exist.
#[utoipa::path(post, path = "/tyk/policies", operation_id = "addPolicy", tag = "Gateway: Policies", security(("gateway_auth" = [])),
    request_body = Policy,
    responses(
        (status = 200, description = "`added`: `key` is the policy's id", body = ApiModifyKeySuccess),
        (status = 400, description = "The policy is invalid, or `org_id` does not exist", body = ApiStatusMessage),
        (status = 409, description = "The id is taken", body = ApiStatusMessage),
    ))]
async fn create_policy(_: GatewayAdmin, State(s): State<AppState>, bytes: Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    let p: Policy = body(&bytes)?;
    let org = match OrgId::parse(&p.org_id) {
        Some(org) if s.accounts.org_exists(&org).await? => org,
        _ => return Err(GatewayApiError::new(StatusCode::BAD_REQUEST, format!("org_id: organisation '{}' does not exist", p.org_id))),
    };
    let p = s.policies.create(&org, &Actor::GatewayApi, p).await?;
    Ok(Json(ApiModifyKeySuccess::new(p.id, Modification::Added)))
}

/// Get a policy
#[utoipa::path(get, path = "/tyk/policies/{polID}", operation_id = "gatewayGetPolicy", tag = "Gateway: Policies", security(("gateway_auth" = [])),
    params(("polID" = String, Path)),
    responses(
        (status = 200, description = "The policy", body = Policy),
        (status = 404, description = "`Policy not found`", body = ApiStatusMessage),
    ))]
async fn get_policy(_: GatewayAdmin, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Policy>, GatewayApiError> {
    let (_, p) = s.policies.get_any(&id).await?;
    Ok(Json(p))
}

/// Update a policy
#[utoipa::path(put, path = "/tyk/policies/{polID}", operation_id = "updatePolicy", tag = "Gateway: Policies", security(("gateway_auth" = [])),
    params(("polID" = String, Path)),
    request_body = Policy,
    responses(
        (status = 200, description = "`modified`", body = ApiModifyKeySuccess),
        (status = 400, description = "The policy is invalid", body = ApiStatusMessage),
        (status = 404, description = "`Policy not found`", body = ApiStatusMessage),
    ))]
async fn update_policy(_: GatewayAdmin, State(s): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    let p: Policy = body(&bytes)?;
    let (org, _) = s.policies.get_any(&id).await?;
    let p = s.policies.update(&org, &Actor::GatewayApi, &id, p).await?;
    Ok(Json(ApiModifyKeySuccess::new(p.id, Modification::Modified)))
}

/// Delete a policy
#[utoipa::path(delete, path = "/tyk/policies/{polID}", operation_id = "gatewayDeletePolicy", tag = "Gateway: Policies", security(("gateway_auth" = [])),
    params(("polID" = String, Path)),
    responses(
        (status = 200, description = "`deleted`", body = ApiModifyKeySuccess),
        (status = 404, description = "`Policy not found`", body = ApiStatusMessage),
    ))]
async fn delete_policy(_: GatewayAdmin, State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<ApiModifyKeySuccess>, GatewayApiError> {
    let (org, p) = s.policies.get_any(&id).await?;
    s.policies.delete(&org, &Actor::GatewayApi, &p.id).await?;
    Ok(Json(ApiModifyKeySuccess::new(p.id, Modification::Deleted)))
}
