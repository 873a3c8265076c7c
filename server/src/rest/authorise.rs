//! What a Dashboard API user may call: each `/api` route belongs to one permission area (Tyk's
//! `user_permissions`), read for GET and HEAD, write for everything else. One table and one
//! middleware, so that no handler can forget the check; the finer rules of user management
//! (who may grant what, whose credential) live in `accounts`.

use super::error::DashboardError;
use crate::auth::ApiUser;
use crate::state::AppState;
use crate::store::UserRow;
use app::model::{Area, Level};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What a route asks of its caller, beyond a valid credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Not a Dashboard API route, or one that checks for itself (`/api/users/me`, one's own
    /// credential, the OpenAPI document).
    Nothing,
    Area(Area, Level),
    /// An `/api` route this table does not know: only an admin, until someone says otherwise.
    Admin,
}

/// The permission a Dashboard API request needs. Independent of the HTTP engine: it sees only
/// whether the method reads and the path as routed.
pub fn needs(reads: bool, path: &str) -> Needs {
    let Some(rest) = path.strip_prefix("/api/") else {
        return Needs::Nothing;
    };
    let level = if reads { Level::Read } else { Level::Write };
    let segments: Vec<&str> = rest.split('/').collect();
    let area = match segments.as_slice() {
        ["openapi.json"] => return Needs::Nothing,
        ["users", "me"] => return Needs::Nothing,
        // One's own credential: anyone; a colleague's: admins (the accounts service decides).
        ["users", _, "actions", "key", "reset"] => return Needs::Nothing,
        ["users", ..] => Area::Users,
        ["keys", ..] | ["apis", "keys", ..] | ["apis", _, "keys", ..] => Area::Keys,
        ["apis", ..] => Area::Apis,
        ["portal", "policies", ..] => Area::Policies,
        ["activity", ..] => Area::Analytics,
        ["audit", ..] => Area::AuditLogs,
        _ => return Needs::Admin,
    };
    Needs::Area(area, level)
}

/// The caller of an `/api` route that passed the check, kept for the handler's `ApiUser`.
#[derive(Clone)]
pub struct Authorised(pub UserRow);

/// Refuses, with Tyk's 403, a request whose caller's permissions do not cover the route.
pub async fn authorise(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    let needed = needs(reads, req.uri().path());
    if needed == Needs::Nothing {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let user = match ApiUser::from_request_parts(&mut parts, &state).await {
        Ok(ApiUser(user)) => user,
        Err(e) => return e.into_response(),
    };
    let allowed = match needed {
        Needs::Area(area, level) => user.permissions.allows(area, level),
        Needs::Admin => user.permissions.admin,
        Needs::Nothing => true,
    };
    if !allowed {
        tracing::info!(user_id = %user.id, path = %parts.uri.path(), "refused by user permissions");
        return DashboardError::Forbidden(format!("access denied: You do not have permission to access {}", parts.uri.path()))
            .into_response();
    }
    parts.extensions.insert(Authorised(user));
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_to_areas() {
        assert_eq!(needs(true, "/api/keys/abc"), Needs::Area(Area::Keys, Level::Read));
        assert_eq!(needs(false, "/api/keys"), Needs::Area(Area::Keys, Level::Write));
        assert_eq!(needs(false, "/api/keys/bulk"), Needs::Area(Area::Keys, Level::Write));
        assert_eq!(needs(true, "/api/keys/export"), Needs::Area(Area::Keys, Level::Read));
        assert_eq!(needs(true, "/api/apis/keys"), Needs::Area(Area::Keys, Level::Read));
        assert_eq!(needs(false, "/api/apis/a1/keys/k"), Needs::Area(Area::Keys, Level::Write));
        assert_eq!(needs(true, "/api/apis/search"), Needs::Area(Area::Apis, Level::Read));
        assert_eq!(needs(false, "/api/apis/a1"), Needs::Area(Area::Apis, Level::Write));
        assert_eq!(needs(true, "/api/portal/policies/p"), Needs::Area(Area::Policies, Level::Read));
        assert_eq!(needs(true, "/api/activity/keys/h/1/1/2020/2/1/2020"), Needs::Area(Area::Analytics, Level::Read));
        assert_eq!(needs(true, "/api/audit"), Needs::Area(Area::AuditLogs, Level::Read));
        assert_eq!(needs(true, "/api/users"), Needs::Area(Area::Users, Level::Read));
        assert_eq!(needs(false, "/api/users/u1"), Needs::Area(Area::Users, Level::Write));
        assert_eq!(needs(true, "/api/users/me"), Needs::Nothing);
        assert_eq!(needs(false, "/api/users/u1/actions/key/reset"), Needs::Nothing);
        assert_eq!(needs(true, "/api/something-new"), Needs::Admin);
        assert_eq!(needs(true, "/tyk/keys"), Needs::Nothing);
        assert_eq!(needs(true, "/admin/users"), Needs::Nothing);
    }
}
