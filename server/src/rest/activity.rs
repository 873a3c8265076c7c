//! `GET /api/activity/keys/{keyHash}/{startDay}/{startMonth}/{startYear}/{endDay}/{endMonth}/{endYear}`:
//! a key's traffic by hour, as in Tyk's Dashboard API (the end day is included).

use super::error::DashboardError;
use super::rfc3339;
use crate::analytics::Traffic;
use crate::auth::ApiUser;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use app::model::KeyHash;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/activity/keys/{key_hash}/{sd}/{sm}/{sy}/{ed}/{em}/{ey}", get(key_activity))
}

/// A key's traffic: one unit per hour with traffic.
#[derive(Serialize, ToSchema)]
pub struct AggregateAnalyticsData {
    pub data: Vec<ResultUnit>,
    pub pages: i64,
}

/// One hour of a key's traffic (latencies in milliseconds).
#[derive(Serialize, ToSchema)]
pub struct ResultUnit {
    pub id: ResultId,
    pub hits: i64,
    /// Requests answered below 400.
    pub success: i64,
    pub error: i64,
    pub last_hit: String,
    pub request_time: f64,
    pub latency: f64,
    pub upstream_latency: f64,
    pub min_latency: f64,
    pub max_latency: f64,
    pub min_upstream_latency: f64,
    pub max_upstream_latency: f64,
    /// Hits by HTTP status code (Portcullis's addition, for the dashboard's chart).
    pub status_codes: BTreeMap<String, i64>,
}

/// The hour a unit counts (UTC).
#[derive(Serialize, ToSchema)]
pub struct ResultId {
    pub day: u8,
    pub month: u8,
    pub year: i32,
    pub hour: u8,
}

impl From<&Traffic> for ResultUnit {
    fn from(t: &Traffic) -> Self {
        let at = time::OffsetDateTime::from_unix_timestamp(t.start).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Self {
            id: ResultId { day: at.day(), month: u8::from(at.month()), year: at.year(), hour: at.hour() },
            hits: t.hits,
            success: t.successes(),
            error: t.errors(),
            last_hit: rfc3339(Some(t.last_hit_ms / 1000)),
            request_time: t.mean_latency_ms,
            latency: t.mean_latency_ms,
            upstream_latency: t.mean_upstream_ms,
            min_latency: t.min_latency_ms,
            max_latency: t.max_latency_ms,
            min_upstream_latency: t.min_upstream_ms,
            max_upstream_latency: t.max_upstream_ms,
            status_codes: t.by_status.iter().map(|(status, hits)| (status.to_string(), *hits)).collect(),
        }
    }
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
        (status = 200, description = "The key's traffic by hour", body = AggregateAnalyticsData),
        (status = 400, description = "A date is not a date, or the range is reversed", body = super::responses::ApiResponse),
    ))]
pub(super) async fn key_activity(ApiUser(user): ApiUser, State(s): State<AppState>, Path((hash, sd, sm, sy, ed, em, ey)): Path<DateParts>) -> Result<Json<AggregateAnalyticsData>, DashboardError> {
    let from = day_start(sd, sm, sy)?;
    let to = day_start(ed, em, ey)? + 86_400;
    if to <= from {
        return Err(DashboardError::BadRequest("The end date is before the start date".into()));
    }
    // A path that is no key hash names no key: no traffic.
    let Some(hash) = KeyHash::parse_hex(&hash) else {
        return Ok(Json(AggregateAnalyticsData { data: Vec::new(), pages: 1 }));
    };
    let hours = s.reports.key_traffic(&user.org_id, &hash, from, to, 3600).await?;
    Ok(Json(AggregateAnalyticsData { data: hours.iter().map(ResultUnit::from).collect(), pages: 1 }))
}
