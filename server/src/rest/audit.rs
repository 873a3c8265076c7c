//! `GET /api/audit`: the organisation's audit trail, newest first.

use super::error::DashboardError;
use super::{pages, rfc3339, PageQuery};
use crate::audit::Entry;
use crate::auth::ApiUser;
use crate::state::AppState;
use super::query::Query;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(list))
}

/// A page of the audit trail, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditLog {
    #[serde(rename = "Data")]
    pub data: Vec<AuditEntry>,
    #[serde(rename = "Pages")]
    pub pages: i64,
}

/// One change: who made it, to what, and what changed.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// The user's email, `admin-api`, `gateway-api` or `system`.
    pub actor: String,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    /// `key`, `policy`, `api` or `user`.
    pub object_type: String,
    pub object_id: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// `{"field": {"from": …, "to": …}}` for each field that changed, secrets masked.
    pub changes: Value,
}

impl From<Entry> for AuditEntry {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            actor: e.actor,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            at: rfc3339(Some(e.at)),
            changes: e.changes,
        }
    }
}

/// The audit trail
///
/// Portcullis's own: every change to keys, policies, APIs and users of the organisation, newest
/// first, with the object before and after.
#[utoipa::path(get, path = "/api/audit", operation_id = "getAudit", tag = "Audit", security(("dashboard_auth" = [])),
    params(("p" = Option<i64>, Query, description = "Page, from 1 (10 entries a page); a negative page lists everything")),
    responses((status = 200, description = "A page of the trail", body = AuditLog)))]
async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(page): Query<PageQuery>) -> Result<Json<AuditLog>, DashboardError> {
    let (limit, offset) = page.window();
    let trail = s.audit.page(&user.org_id, limit, offset).await?;
    Ok(Json(AuditLog { data: trail.entries.into_iter().map(AuditEntry::from).collect(), pages: pages(trail.total) }))
}
