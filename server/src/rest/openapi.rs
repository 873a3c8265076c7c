//! `GET /api/openapi.json`: the OpenAPI document of the REST APIs, generated from the handlers'
//! `#[utoipa::path]` annotations, the model's `ToSchema` derives and the types the handlers
//! answer with (`rest::responses`), so that it cannot drift from the code.
//!
//! Every operation that Tyk also has keeps Tyk's path template, method, operationId, query
//! parameters and response codes (`shared/tyk/*.yml`), with one exception: Tyk's three files are
//! three documents, ours is one, and an operationId must be unique in a document. Where a Gateway
//! API operation (`/tyk`) has the same id as a Dashboard API one, it is prefixed with `gateway`
//! (`addKey` → `gatewayAddKey`); see [`GATEWAY_RENAMED`].
//!
//! The answers that every operation of an API shares (a wrong credential, a disabled API, an
//! unreadable or oversized body, a storage failure) are added by [`CommonResponses`] rather than
//! repeated on each handler.

use super::{activity, admin, apis, audit, health, keys, keys_bulk, policies, responses, tyk, users};
use crate::state::AppState;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use std::sync::LazyLock;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(document))
}

/// Gateway API operations whose Tyk operationId is also a Dashboard API one: (Tyk's id, ours).
pub const GATEWAY_RENAMED: [(&str, &str); 7] = [
    ("listKeys", "gatewayListKeys"),
    ("addKey", "gatewayAddKey"),
    ("createCustomKey", "gatewayCreateCustomKey"),
    ("deleteKey", "gatewayDeleteKey"),
    ("validateAKeyDefinition", "gatewayValidateAKeyDefinition"),
    ("getPolicy", "gatewayGetPolicy"),
    ("deletePolicy", "gatewayDeletePolicy"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis",
        description = "Portcullis speaks Tyk's key API. `/api` is Tyk's Dashboard API (a user's API \
            credential in `Authorization`), `/admin` its Dashboard Admin API (`Admin-Auth`), `/tyk` \
            Tyk's Gateway API (`X-Tyk-Authorization`). Bodies, status codes and operationIds follow \
            Tyk's published OpenAPI files; the operations and query filters Tyk does not have are \
            Portcullis's own.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        document, health::health, health::ready, health::metrics,
        crate::web::signin::login, crate::web::signin::logout,
        keys::create, keys::create_custom, keys::one, keys::update, keys::delete, keys::detailed,
        keys::preview, keys::list, keys::create_basic, keys::update_basic, keys::list_for_api,
        keys::search_for_api, keys::one_for_api, keys::update_for_api, keys::delete_for_api,
        keys_bulk::bulk, keys_bulk::export,
        apis::list, apis::search, apis::create, apis::one, apis::update, apis::delete,
        policies::list, policies::search, policies::create, policies::one, policies::update, policies::delete,
        users::list, users::me, users::one, users::create, users::update, users::delete, users::reset_key,
        audit::list, activity::key_activity,
        admin::list_orgs, admin::create_org, admin::get_org, admin::list_users, admin::create_user, admin::get_user,
        tyk::list_keys, tyk::create_key, tyk::create_key_at_create, tyk::preview_key, tyk::set_policies,
        tyk::get_key, tyk::create_custom_key, tyk::update_key, tyk::delete_key,
        tyk::list_policies, tyk::create_policy, tyk::get_policy, tyk::update_policy, tyk::delete_policy,
    ),
    components(schemas(
        responses::ApiResponse, responses::ApiStatusMessage, responses::ApiModifyKeySuccess, responses::BulkSummaryLine,
        app::model::SessionState, app::model::Policy, app::model::ApiDefinition,
    )),
    modifiers(&SecuritySchemes, &CommonResponses),
    tags(
        (name = "Keys", description = "Tyk's Dashboard key API"),
        (name = "Basic Authentication", description = "Keys that are basic-auth users"),
        (name = "APIs", description = "The APIs the gateway protects"),
        (name = "Policies", description = "Limits and access rights shared by keys"),
        (name = "Users", description = "Dashboard users of the caller's organisation"),
        (name = "Audit", description = "Who changed what (Portcullis's own)"),
        (name = "Analytics", description = "Traffic through the gateway"),
        (name = "Admin: Organisations", description = "Tyk's Dashboard Admin API"),
        (name = "Admin: Users", description = "Tyk's Dashboard Admin API"),
        (name = "Gateway: Keys", description = "Tyk's Gateway API, for tools that talk to a Tyk gateway"),
        (name = "Gateway: Policies", description = "Tyk's Gateway API"),
        (name = "Service", description = "Health checks, sign-in and this document (Portcullis's own)"),
    ),
)]
pub struct ApiDoc;

/// The document, generated once.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| ApiDoc::openapi().to_json().expect("the OpenAPI document serialises"));

/// This OpenAPI document.
///
/// Public: it describes the APIs, it does not call them.
#[utoipa::path(get, path = "/api/openapi.json", operation_id = "getOpenApi", tag = "Service",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn document() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

/// The three credentials: one per API.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        let header = |name: &str, what: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)))
        };
        c.add_security_scheme(
            "dashboard_auth",
            header("Authorization", "A dashboard user's API credential, raw (as Tyk's docs send it) or as `Bearer <credential>`"),
        );
        c.add_security_scheme("admin_auth", header("Admin-Auth", "The admin secret, PORTCULLIS_ADMIN_SECRET"));
        c.add_security_scheme("gateway_auth", header("X-Tyk-Authorization", "The gateway secret, PORTCULLIS_GATEWAY_SECRET"));
        c.add_security_scheme(
            "metrics_auth",
            header("Authorization", "`Bearer <token>` with PORTCULLIS_METRICS_TOKEN (the metrics listener needs none)"),
        );
    }
}

/// Adds the answers every operation of an API can give, by path prefix, to those its handler
/// documents. A code the handler already documents keeps its own description, extended.
struct CommonResponses;

impl CommonResponses {
    fn common(path: &str, reads: bool, has_body: bool) -> Vec<(u16, &'static str, Option<&'static str>)> {
        const DASH: Option<&str> = Some("ApiResponse");
        const GW: Option<&str> = Some("ApiStatusMessage");
        let mut out = Vec::new();
        if path == "/api/openapi.json" || !["/api/", "/admin/", "/tyk/"].iter().any(|p| path.starts_with(p)) {
            return out;
        }
        let gateway = path.starts_with("/tyk/");
        // The bulk endpoint reads its body a line at a time, answers each line's faults in its
        // answer, and has a limit of its own.
        if has_body && path != "/api/keys/bulk" {
            out.push((400, "The body is not the JSON expected; the message names the field", if gateway { GW } else { DASH }));
            // Over rest::MAX_BODY_BYTES: refused before the body is read; /tyk answers in plain text.
            const _: () = assert!(super::MAX_BODY_BYTES == 1024 * 1024, "update the 413 description");
            out.push((413, "The body is larger than 1 MiB", if gateway { None } else { DASH }));
        }
        if path.starts_with("/api/") {
            out.push((401, "Missing or unknown API credential in `Authorization`", DASH));
            if super::authorise::needs(reads, path) != super::authorise::Needs::Nothing {
                out.push((403, "The caller's `user_permissions` do not allow this (`access denied: ...`)", DASH));
            }
        } else if path.starts_with("/admin/") {
            out.push((401, "Missing or wrong `Admin-Auth` secret", DASH));
            out.push((404, "The Admin API is disabled (PORTCULLIS_ADMIN_SECRET is not set)", DASH));
        } else {
            out.push((403, "Missing or wrong `X-Tyk-Authorization` secret", GW));
            out.push((404, "The Gateway API is disabled (PORTCULLIS_GATEWAY_SECRET is not set)", GW));
        }
        out.push((500, "Internal error", if gateway { GW } else { DASH }));
        if !gateway {
            out.push((503, "The database did not answer; try again shortly", DASH));
        }
        out
    }
}

impl Modify for CommonResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            for (reads, op) in operations(item) {
                // axum's `Query` refuses a number it cannot read (`?p=abc`), in plain text.
                if op.parameters.iter().flatten().any(|p| {
                    let p = serde_json::to_value(p).unwrap_or_default();
                    p["in"] == "query" && p["schema"]["type"].to_string().contains("integer")
                }) {
                    const WHY: &str = "The query string cannot be read (a number that is not one), in plain text";
                    let text = Content::new(Some(RefOr::T(Object::with_type(Type::String).into())));
                    match op.responses.responses.get_mut("400") {
                        Some(RefOr::T(existing)) => {
                            existing.description = format!("{}; or: {WHY}", existing.description);
                            existing.content.insert("text/plain".into(), text);
                        }
                        Some(RefOr::Ref(_)) => {}
                        None => {
                            let r = ResponseBuilder::new().description(WHY).content("text/plain", text).build();
                            op.responses.responses.insert("400".into(), RefOr::T(r));
                        }
                    }
                }
                for (code, description, schema) in Self::common(path, reads, op.request_body.is_some()) {
                    let code = code.to_string();
                    match op.responses.responses.get_mut(&code) {
                        Some(RefOr::T(existing)) => {
                            existing.description = format!("{}; or: {description}", existing.description);
                        }
                        Some(RefOr::Ref(_)) => {}
                        None => {
                            let mut r = ResponseBuilder::new().description(description);
                            if let Some(name) = schema {
                                r = r.content("application/json", Content::new(Some(Ref::from_schema_name(name))));
                            }
                            op.responses.responses.insert(code, RefOr::T(r.build()));
                        }
                    }
                }
            }
        }
    }
}

/// The operations of a path, each with whether it only reads (GET, HEAD).
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (true, &mut item.get),
        (false, &mut item.put),
        (false, &mut item.post),
        (false, &mut item.delete),
        (false, &mut item.patch),
        (true, &mut item.head),
        (false, &mut item.options),
    ]
    .into_iter()
    .filter_map(|(reads, op)| op.as_mut().map(|op| (reads, op)))
}
