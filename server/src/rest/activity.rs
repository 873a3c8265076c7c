//! `GET /api/activity/keys/{keyHash}/{startDay}/{startMonth}/{startYear}/{endDay}/{endMonth}/{endYear}`:
//! a key's traffic by hour, as in Tyk's Dashboard API (the end day is included).

use super::error::DashboardError;
use crate::analytics::activity::result_units;
use crate::auth::ApiUser;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/activity/keys/{key_hash}/{sd}/{sm}/{sy}/{ed}/{em}/{ey}", get(key_activity))
}

type DateParts = (String, u8, u8, i32, u8, u8, i32);

fn day_start(d: u8, m: u8, y: i32) -> Result<i64, DashboardError> {
    let month = time::Month::try_from(m).map_err(|_| DashboardError::BadRequest(format!("Invalid month: {m}")))?;
    let date = time::Date::from_calendar_date(y, month, d)
        .map_err(|_| DashboardError::BadRequest(format!("Invalid date: {d}/{m}/{y}")))?;
    Ok(date.midnight().assume_utc().unix_timestamp())
}

/// A key's traffic by hour
///
/// Hits, successes, errors, latencies and (Portcullis's addition) hits by status code, for each
/// hour with traffic between the start day and the end day (included).
#[utoipa::path(get, path = "/api/activity/keys/{keyHash}/{startDay}/{startMonth}/{startYear}/{EndDay}/{EndMonth}/{EndYear}",
    operation_id = "getAnalyticsOfApiKey", tag = "Analytics", security(("dashboard_auth" = [])),
    params(
        ("keyHash" = String, Path, description = "The key's hash (another organisation's key has no traffic here)"),
        ("startDay" = u8, Path), ("startMonth" = u8, Path), ("startYear" = i32, Path),
        ("EndDay" = u8, Path), ("EndMonth" = u8, Path), ("EndYear" = i32, Path),
    ),
    responses(
        (status = 200, description = "The key's traffic by hour", body = super::openapi::schemas::AggregateAnalyticsData),
        (status = 400, description = "A date is not a date, or the range is reversed", body = super::responses::ApiResponse),
    ))]
pub(super) async fn key_activity(ApiUser(user): ApiUser, State(s): State<AppState>, Path((hash, sd, sm, sy, ed, em, ey)): Path<DateParts>) -> Result<Json<Value>, DashboardError> {
    let from = day_start(sd, sm, sy)?;
    let to = day_start(ed, em, ey)? + 86_400;
    if to <= from {
        return Err(DashboardError::BadRequest("The end date is before the start date".into()));
    }
    // Only the caller's organisation's traffic is read.
    let rows = s.store.key_activity(&user.org_id, &hash, from, to).await?;
    Ok(Json(json!({ "data": result_units(&rows), "pages": 1 })))
}
