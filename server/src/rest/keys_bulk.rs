//! `POST /api/keys/bulk` and `GET /api/keys/export`: many keys in and out as JSON lines, both
//! streamed, so that neither the request nor the answer is ever held whole.

use super::error::DashboardError;
use super::query::Query;
use super::responses::{ApiResponse, BulkLine, BulkSummaryLine, ExportedKey};
use crate::auth::ApiUser;
use crate::keys::bulk::{Bulk, ExportCursor, LineResult, Lines};
use crate::keys::id::is_set;
use crate::keys::KeyError;
use crate::state::AppState;
use app::model::OrgId;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use utoipa::IntoParams;

/// The largest bulk request body: far above the 1 MiB of other requests, since it is read a
/// line at a time and never held whole. A larger file is sent in several requests.
pub const MAX_BULK_BYTES: usize = 64 * 1024 * 1024;

const JSON_LINES: &str = "application/x-ndjson";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/keys/bulk", post(bulk))
        .route("/api/keys/export", get(export))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
struct BulkQuery {
    /// Any value but empty, `false`, `0` or `no`: all or nothing. One bad line and no key of
    /// the request is stored (at most 10 000 lines).
    #[serde(default)]
    atomic: String,
}

/// Create keys in bulk
///
/// Portcullis's own. The body is JSON lines: each line the body `POST /api/keys` takes, plus
/// optionally `key_hash` to store a key by its hash (the lines of `GET /api/keys/export`, or
/// hashed keys from another gateway). The answer is JSON lines too, streamed as keys are
/// stored: for each non-blank line, `{"line": n, "key": KeyData}` (the key in clear, shown this
/// once) or `{"line": n, "error": {"field", "message"}}`; then `{"summary": …}`. Keys are written
/// a batch at a time, so a bad line fails alone; with `atomic` none is stored if any line is
/// bad. The body may be up to 64 MiB.
#[utoipa::path(post, path = "/api/keys/bulk", operation_id = "bulkCreateKeys", tag = "Keys", security(("dashboard_auth" = [])),
    params(BulkQuery),
    request_body(content = String, content_type = "application/x-ndjson", description = "One key definition (JSON object) per line"),
    responses(
        (status = 200, description = "One `BulkLine` per non-blank line, then a `BulkSummaryLine`", content_type = "application/x-ndjson", body = BulkLine),
        (status = 413, description = "The body is larger than 64 MiB (by its Content-Length; a chunked body that grows past it ends with a summary that says so)", body = ApiResponse),
    ))]
async fn bulk(ApiUser(user): ApiUser, State(s): State<AppState>, Query(q): Query<BulkQuery>, headers: HeaderMap, body: Body) -> Result<Response, DashboardError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BULK_BYTES as u64) {
        return Err(DashboardError::BulkTooLarge);
    }
    let bulk = s.keys.bulk(&user.org_id, &user.actor(), is_set(&q.atomic)).await?;
    let run = Run { body: body.into_data_stream(), lines: Lines::new(), bulk: Some(bulk), read: 0, queue: VecDeque::new() };
    let stream = futures_util::stream::unfold(run, |mut run| async move {
        loop {
            if let Some(line) = run.queue.pop_front() {
                return Some((Ok::<_, Infallible>(line), run));
            }
            run.bulk.as_ref()?;
            run.step().await;
        }
    });
    Ok(json_lines(Body::from_stream(stream)))
}

/// A bulk request in progress: the body being read, and the answer lines not yet sent.
struct Run {
    body: BodyDataStream,
    lines: Lines,
    /// `None` once the summary is queued.
    bulk: Option<Bulk>,
    read: usize,
    queue: VecDeque<Bytes>,
}

impl Run {
    /// Reads one chunk of the body and stores the batches it completes; at the end, the rest.
    async fn step(&mut self) {
        let Some(mut bulk) = self.bulk.take() else { return };
        match self.body.next().await {
            Some(Ok(chunk)) => {
                self.read += chunk.len();
                if self.read > MAX_BULK_BYTES {
                    return self.stop(bulk, format!("the body is larger than {MAX_BULK_BYTES} bytes; split the file"));
                }
                for line in self.lines.push(&chunk) {
                    match bulk.line(line).await {
                        Ok(results) => self.answer(results),
                        Err(e) => return self.stop(bulk, reason(e)),
                    }
                }
                self.bulk = Some(bulk);
            }
            Some(Err(e)) => self.stop(bulk, format!("the body could not be read: {e}")),
            None => {
                if let Some(line) = self.lines.finish() {
                    match bulk.line(line).await {
                        Ok(results) => self.answer(results),
                        Err(e) => return self.stop(bulk, reason(e)),
                    }
                }
                match bulk.finish().await {
                    Ok((results, summary)) => {
                        self.answer(results);
                        self.queue.push_back(line_of(&BulkSummaryLine::new(summary, None)));
                    }
                    Err(e) => {
                        let message = reason(e);
                        tracing::warn!("bulk creation stopped at its end: {message}");
                        // What `finish` could not commit is not stored.
                        let summary = crate::keys::bulk::Summary { committed: false, created: 0, ..Default::default() };
                        self.queue.push_back(line_of(&BulkSummaryLine::new(summary, Some(message))));
                    }
                }
            }
        }
    }

    fn answer(&mut self, results: Vec<LineResult>) {
        self.queue.extend(results.into_iter().map(|r| line_of(&BulkLine::from(r))));
    }

    fn stop(&mut self, bulk: Bulk, message: String) {
        self.queue.push_back(line_of(&BulkSummaryLine::new(bulk.abandon(), Some(message))));
    }
}

/// A service error as the Dashboard API words it (an internal one is not detailed).
fn reason(e: KeyError) -> String {
    DashboardError::from(crate::service_error::ServiceError::from(e)).to_string()
}

fn line_of(value: &impl serde::Serialize) -> Bytes {
    let mut out = serde_json::to_vec(value).expect("answers serialise");
    out.push(b'\n');
    Bytes::from(out)
}

fn json_lines(body: Body) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_LINES));
    resp
}

/// Export keys
///
/// Portcullis's own. Every key of the caller's organisation as JSON lines, oldest first: its
/// `key_hash` and its own settings, never an HMAC secret or a password. Each line can be sent
/// to `POST /api/keys/bulk` to store the same key again (an HMAC key gets a new secret).
/// Basic-auth users are left out: they cannot be re-created without their password.
#[utoipa::path(get, path = "/api/keys/export", operation_id = "exportKeys", tag = "Keys", security(("dashboard_auth" = [])),
    responses(
        (status = 200, description = "One `ExportedKey` per line", content_type = "application/x-ndjson", body = ExportedKey),
    ))]
async fn export(ApiUser(user): ApiUser, State(s): State<AppState>) -> Result<Response, DashboardError> {
    // The first page is read before answering, so that a failure there is a proper error.
    let first = s.keys.export_page(&user.org_id, None).await?;
    let state = (s, user.org_id, Some(first), None::<ExportCursor>, false);
    let stream = futures_util::stream::unfold(state, |(s, org_id, page, cursor, done)| async move {
        if done {
            return None;
        }
        let page = match page {
            Some(p) => Ok(p),
            None => s.keys.export_page(&org_id, cursor.as_ref()).await,
        };
        match page {
            Ok((keys, next)) => {
                let mut chunk = Vec::new();
                for k in keys {
                    chunk.extend_from_slice(&line_of(&ExportedKey::from(k)));
                }
                let done = next.is_none();
                Some((Ok(Bytes::from(chunk)), (s, org_id, None, next, done)))
            }
            // Cut the answer short: the client sees a broken transfer, not a complete file.
            Err(e) => Some((Err(export_failed(&org_id, e)), (s, org_id, None, None, true))),
        }
    });
    Ok(json_lines(Body::from_stream(stream)))
}

fn export_failed(org_id: &OrgId, e: KeyError) -> std::io::Error {
    tracing::warn!(%org_id, "export stopped: {e}");
    std::io::Error::other("export stopped")
}
