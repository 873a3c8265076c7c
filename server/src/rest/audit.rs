//! `GET /api/audit`: the organisation's audit trail, newest first.

use super::error::DashboardError;
use super::openapi::schemas::AuditLog;
use super::{pages, rfc3339, PageQuery};
use crate::auth::ApiUser;
use crate::state::AppState;
use super::query::Query;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(list))
}

/// The audit trail
///
/// Portcullis's own: every change to keys, policies, APIs and users of the organisation, newest
/// first, with the object before and after.
#[utoipa::path(get, path = "/api/audit", operation_id = "getAudit", tag = "Audit", security(("dashboard_auth" = [])),
    params(("p" = Option<i64>, Query, description = "Page, from 1 (10 entries a page); a negative page lists everything")),
    responses((status = 200, description = "A page of the trail", body = AuditLog)))]
async fn list(ApiUser(user): ApiUser, State(s): State<AppState>, Query(page): Query<PageQuery>) -> Result<Json<Value>, DashboardError> {
    let (limit, offset) = page.window();
    let (rows, total) = s.store.audit(&user.org_id, limit, offset).await?;
    let entries: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "actor": r.actor,
                "action": r.action,
                "object_type": r.object_type,
                "object_id": r.object_id,
                "at": rfc3339(Some(r.at)),
                "changes": serde_json::from_str::<Value>(&r.changes).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "Data": entries, "Pages": pages(total) })))
}
