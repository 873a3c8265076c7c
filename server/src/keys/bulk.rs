//! Many keys at once: bulk creation and import (JSON lines in, one result per line out) and
//! export (JSON lines out, each line importable again). The same rules as one key at a time
//! (`Keys::prepare`, `Keys::draft`); only the writing is batched: a few hundred keys, their
//! side tables and their audit entries per transaction.

use super::{id, unknown_org, Draft, KeyError, Keys};
use crate::audit::{self, Action, Actor, Object};
use crate::changes::Change;
use crate::store::StoreError;
use app::model::{apply_policies, AccessDefinition, KeyHash, OrgId, Policy, SessionState};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Keys written per transaction.
pub const BATCH: usize = 500;
/// An all-or-nothing request holds its keys' answers until it commits: this bounds them.
pub const ATOMIC_MAX_LINES: usize = 10_000;
/// The longest line taken: the REST limit on one key's body.
pub const MAX_LINE_BYTES: usize = crate::rest::MAX_BODY_BYTES;
/// Keys read per query by an export.
pub const EXPORT_PAGE: i64 = 1000;

/// Why one line was not stored: the field at fault when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub field: Option<String>,
    pub message: String,
}

impl LineError {
    fn new(field: Option<&str>, message: impl Into<String>) -> Self {
        Self { field: field.map(str::to_owned), message: message.into() }
    }
}

impl From<KeyError> for LineError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Invalid { field, message } => Self { field: Some(field.into_owned()), message },
            KeyError::KeyExists => Self::new(Some("key_hash"), "a key with this hash exists already"),
            other => Self::new(None, other.to_string()),
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    Created(super::KeyData),
    Failed(LineError),
}

/// The answer for one line (lines count from 1, blank ones included).
#[derive(Debug)]
pub struct LineResult {
    pub line: usize,
    pub outcome: Outcome,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines that were not blank.
    pub lines: usize,
    pub created: usize,
    pub failed: usize,
    /// Whether what was created is stored: always, unless an all-or-nothing request failed.
    pub committed: bool,
}

/// Splits a stream of bytes into numbered lines without holding more than one line. A line
/// longer than `MAX_LINE_BYTES` is skipped and reported; blank lines are skipped silently.
#[derive(Debug, Default)]
pub struct Lines {
    buf: Vec<u8>,
    /// The number of the line `buf` holds the start of.
    line: usize,
    too_long: bool,
}

/// One line's bytes, or why it was not read.
pub type Line = (usize, Result<Vec<u8>, LineError>);

impl Lines {
    pub fn new() -> Self {
        Self { buf: Vec::new(), line: 1, too_long: false }
    }

    /// The complete lines `chunk` ends.
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<Line> {
        let mut out = Vec::new();
        while let Some(nl) = chunk.iter().position(|&b| b == b'\n') {
            self.take(&chunk[..nl]);
            out.extend(self.end_line());
            chunk = &chunk[nl + 1..];
        }
        self.take(chunk);
        out
    }

    /// The last line, when the input does not end with a newline.
    pub fn finish(&mut self) -> Option<Line> {
        self.end_line()
    }

    fn take(&mut self, part: &[u8]) {
        if self.too_long {
            return;
        }
        if self.buf.len() + part.len() > MAX_LINE_BYTES {
            self.too_long = true;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(part);
        }
    }

    fn end_line(&mut self) -> Option<Line> {
        let n = self.line;
        self.line += 1;
        let bytes = std::mem::take(&mut self.buf);
        if std::mem::take(&mut self.too_long) {
            return Some((n, Err(LineError::new(None, format!("the line is longer than {MAX_LINE_BYTES} bytes")))));
        }
        (!bytes.iter().all(u8::is_ascii_whitespace)).then_some((n, Ok(bytes)))
    }
}

/// One line: the body `POST /api/keys` takes, and optionally `key_hash`, to store a key by its
/// hash (an export's lines, or keys from another gateway) instead of generating one.
pub fn parse_line(bytes: &[u8]) -> Result<(Option<KeyHash>, SessionState), LineError> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| LineError::new(None, format!("not JSON: {e}")))?;
    let obj = value.as_object_mut().ok_or_else(|| LineError::new(None, "each line must be a JSON object"))?;
    let key_hash = match obj.remove("key_hash") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(KeyHash::parse_hex(&s).ok_or_else(|| LineError::new(Some("key_hash"), "must be 64 hex characters (a SHA-256)"))?),
        Some(_) => return Err(LineError::new(Some("key_hash"), "must be a string of 64 hex characters")),
    };
    let session = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        LineError::new(Some(&path), e.into_inner().to_string())
    })?;
    Ok((key_hash, session))
}

/// A validated key waiting for its batch to be written.
struct Pending {
    line: usize,
    draft: Draft,
    /// Stored by a hash the caller gave: it may exist already, and may have left counters.
    by_hash: bool,
    key: super::KeyData,
}

/// One bulk request or import: feed it lines with `line`, then call `finish`. Without `atomic`
/// each batch is committed as it fills; with it, the keys are held (at most `ATOMIC_MAX_LINES`)
/// and written in one transaction by `finish`, only if every line is good. Either way no
/// transaction stays open while the input is read: a slow client holds no lock.
pub struct Bulk {
    keys: Keys,
    org_id: OrgId,
    actor: Actor,
    atomic: bool,
    pending: Vec<Pending>,
    /// Failures of the current batch (answered in line order with its keys).
    failed: Vec<LineResult>,
    /// All or nothing: the keys checked so far, written by `finish`.
    held: Vec<Pending>,
    /// Hashes given so far that are not yet committed, to refuse a repeat within the request.
    seen: HashSet<KeyHash>,
    summary: Summary,
    /// What storage said about the access rights and policies of earlier lines.
    resolved: HashMap<String, Resolved>,
}

/// Access rights and policies as `Keys::resolve` found them.
struct Resolved {
    access_rights: BTreeMap<String, AccessDefinition>,
    policies: Vec<Policy>,
    missing: Vec<String>,
}

/// How many sets of access rights and policies a bulk request remembers.
const RESOLVED_KEPT: usize = 256;

impl Keys {
    /// Starts a bulk creation for an organisation.
    pub async fn bulk(&self, org_id: &OrgId, actor: &Actor, atomic: bool) -> Result<Bulk, KeyError> {
        if self.store.org(org_id).await?.is_none() {
            return Err(unknown_org(org_id.as_str()));
        }
        Ok(Bulk {
            keys: self.clone(),
            org_id: org_id.clone(),
            actor: actor.clone(),
            atomic,
            pending: Vec::new(),
            failed: Vec::new(),
            held: Vec::new(),
            seen: HashSet::new(),
            summary: Summary::default(),
            resolved: HashMap::new(),
        })
    }

    /// A page of an organisation's keys for export, oldest first, after `after`; with the
    /// cursor of the next page when this one is full.
    pub async fn export_page(&self, org_id: &OrgId, after: Option<&ExportCursor>) -> Result<(Vec<ExportedKey>, Option<ExportCursor>), KeyError> {
        let rows = self.store.keys_in_creation_order(org_id, after.map(|c| (c.created_at, &c.key_hash)), EXPORT_PAGE).await?;
        let next = (rows.len() as i64 == EXPORT_PAGE)
            .then(|| rows.last().map(|r| ExportCursor { created_at: r.created_at, key_hash: r.key_hash.clone() }))
            .flatten();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut settings = super::parse_session(&row)?;
            // Settings only: the HMAC secret stays behind (an imported key gets a new one).
            settings.hmac_string.clear();
            settings.basic_auth_data = Default::default();
            out.push(ExportedKey { key_hash: row.key_hash, settings });
        }
        Ok((out, next))
    }
}

/// Where an export goes on from.
#[derive(Clone, Debug)]
pub struct ExportCursor {
    created_at: i64,
    key_hash: KeyHash,
}

/// One key as exported: its hash and its own settings (before policies).
#[derive(Debug)]
pub struct ExportedKey {
    pub key_hash: KeyHash,
    pub settings: SessionState,
}

impl Bulk {
    /// Takes one line; returns the answers that are final now (a batch was written).
    pub async fn line(&mut self, (line, bytes): Line) -> Result<Vec<LineResult>, KeyError> {
        self.summary.lines += 1;
        match self.prepare(line, bytes).await {
            Ok(p) => self.pending.push(p),
            Err(e) => self.fail(line, e),
        }
        if self.pending.len() + self.failed.len() >= BATCH {
            return self.flush().await;
        }
        Ok(Vec::new())
    }

    /// Writes what is left and, all or nothing, commits if every line was good.
    pub async fn finish(mut self) -> Result<(Vec<LineResult>, Summary), KeyError> {
        let mut out = self.flush().await?;
        if self.atomic {
            let held = std::mem::take(&mut self.held);
            if self.summary.failed == 0 && !held.is_empty() {
                let mut writer = self.keys.store.key_writer().await?;
                match writer.insert(&self.rows(&held), &self.audit(&held)).await {
                    Ok(()) => {
                        writer.commit().await?;
                        for p in held {
                            out.push(self.created(p).await);
                        }
                    }
                    // A hash given was stored meanwhile, by another request: name its line.
                    Err(StoreError::Conflict) => {
                        drop(writer);
                        out.extend(self.taken(held).await?.0);
                        if self.summary.failed == 0 {
                            return Err(KeyError::KeyExists);
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            self.summary.committed = self.summary.failed == 0;
            out.sort_by_key(|r| r.line);
        } else {
            self.summary.committed = true;
        }
        Ok((out, self.summary))
    }

    /// Stops early (the input broke off): what was committed stays; all or nothing, nothing.
    pub fn abandon(self) -> Summary {
        let mut summary = self.summary;
        summary.committed = !self.atomic;
        // Without `atomic`, `created` counts only the batches committed: the lines answered.
        if self.atomic {
            summary.created = 0;
        }
        summary
    }

    fn fail(&mut self, line: usize, e: LineError) {
        self.summary.failed += 1;
        self.failed.push(LineResult { line, outcome: Outcome::Failed(e) });
    }

    async fn prepare(&mut self, line: usize, bytes: Result<Vec<u8>, LineError>) -> Result<Pending, LineError> {
        if self.atomic && self.summary.lines > ATOMIC_MAX_LINES {
            return Err(LineError::new(None, format!("an all-or-nothing request takes at most {ATOMIC_MAX_LINES} lines; split the file")));
        }
        let (key_hash, mut s) = parse_line(&bytes?)?;
        // Bulk lines are never basic-auth users: a password sent anyway is not kept.
        s.basic_auth_data = Default::default();
        let (policies, missing_policies) = self.prepare_cached(&mut s).await?;
        let (key_id, key_hash, by_hash) = match key_hash {
            Some(h) => {
                if !self.seen.insert(h.clone()) {
                    return Err(LineError::new(Some("key_hash"), "this hash is on an earlier line"));
                }
                // A key stored by its hash has no id in clear: it is listed by its hash.
                (h.to_string(), h, true)
            }
            None => {
                let key_id = id::generate(&self.org_id);
                let hash = id::hash(&key_id);
                (key_id, hash, false)
            }
        };
        let draft = self.keys.draft(&self.org_id, key_hash.clone(), None, s, &policies)?;
        // What `Keys::effective` shows, without asking the limiter: a new key's quota is whole.
        let mut data = apply_policies(&draft.own, &policies).unwrap_or_else(|_| draft.own.clone());
        data.hmac_string = draft.hmac.clone().unwrap_or_default();
        let key = super::KeyData { key_id, key_hash, data, missing_policies };
        Ok(Pending { line, draft, by_hash, key })
    }

    /// `Keys::prepare`, remembering what storage said about a set of access rights and
    /// policies: the lines of a bulk request mostly share them, and asking once is what makes
    /// a line cheaper than a request. An API or policy changed during the request is seen by
    /// the lines after the next time the memory is cleared (it holds `RESOLVED_KEPT` sets).
    async fn prepare_cached(&mut self, s: &mut SessionState) -> Result<(Vec<Policy>, Vec<String>), KeyError> {
        super::check_rules(&self.org_id, s)?;
        let key = serde_json::to_string(&(&s.access_rights, s.policy_ids())).expect("access rights serialise");
        if let Some(r) = self.resolved.get(&key) {
            s.access_rights = r.access_rights.clone();
            return Ok((r.policies.clone(), r.missing.clone()));
        }
        let (policies, missing) = self.keys.resolve(&self.org_id, s).await?;
        if self.resolved.len() >= RESOLVED_KEPT {
            self.resolved.clear();
        }
        let r = Resolved { access_rights: s.access_rights.clone(), policies: policies.clone(), missing: missing.clone() };
        self.resolved.insert(key, r);
        Ok((policies, missing))
    }

    /// Writes the pending keys; returns the batch's answers in line order (all or nothing: its
    /// failures only, the keys are held until the commit).
    async fn flush(&mut self) -> Result<Vec<LineResult>, KeyError> {
        let mut pending = std::mem::take(&mut self.pending);
        let mut out = std::mem::take(&mut self.failed);
        if !pending.is_empty() {
            let (failed, fresh) = self.taken(pending).await?;
            out.extend(failed);
            pending = fresh;
            if self.atomic {
                // After a failure nothing will be written: the lines are only checked.
                if self.summary.failed == 0 {
                    self.held.extend(pending);
                }
            } else {
                out.extend(self.write_batch(pending).await?);
                // Committed: a repeat of these hashes is now found in the database.
                self.seen.clear();
            }
        }
        out.sort_by_key(|r| r.line);
        Ok(out)
    }

    /// Writes one batch and commits it. When a key appeared meanwhile (another request), the
    /// batch is written again key by key, so that only that line fails.
    async fn write_batch(&mut self, pending: Vec<Pending>) -> Result<Vec<LineResult>, KeyError> {
        let mut out = Vec::with_capacity(pending.len());
        if pending.is_empty() {
            return Ok(out);
        }
        let mut writer = self.keys.store.key_writer().await?;
        match writer.insert(&self.rows(&pending), &self.audit(&pending)).await {
            Ok(()) => {
                writer.commit().await?;
                for p in pending {
                    out.push(self.created(p).await);
                }
            }
            Err(StoreError::Conflict) => {
                drop(writer);
                for p in pending {
                    let mut one = self.keys.store.key_writer().await?;
                    let batch = std::slice::from_ref(&p);
                    match one.insert(&self.rows(batch), &self.audit(batch)).await {
                        Ok(()) => {
                            one.commit().await?;
                            out.push(self.created(p).await);
                        }
                        Err(StoreError::Conflict) => {
                            self.summary.failed += 1;
                            out.push(LineResult { line: p.line, outcome: Outcome::Failed(KeyError::KeyExists.into()) });
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok(out)
    }

    /// Refuses the keys whose given hash is a key already; returns those refusals and the rest.
    async fn taken(&mut self, pending: Vec<Pending>) -> Result<(Vec<LineResult>, Vec<Pending>), KeyError> {
        let given: Vec<&KeyHash> = pending.iter().filter(|p| p.by_hash).map(|p| &p.key.key_hash).collect();
        if given.is_empty() {
            return Ok((Vec::new(), pending));
        }
        let existing: HashSet<KeyHash> = self.keys.store.existing_keys(&given).await?.into_iter().collect();
        let (taken, fresh): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| existing.contains(&p.key.key_hash));
        self.summary.failed += taken.len();
        let failed = taken.into_iter().map(|p| LineResult { line: p.line, outcome: Outcome::Failed(KeyError::KeyExists.into()) }).collect();
        Ok((failed, fresh))
    }

    async fn created(&mut self, p: Pending) -> LineResult {
        self.summary.created += 1;
        stored(&self.keys, &p.key.key_hash, p.by_hash).await;
        LineResult { line: p.line, outcome: Outcome::Created(p.key) }
    }

    fn rows(&self, pending: &[Pending]) -> Vec<(crate::store::KeyRow, crate::store::KeyIndex)> {
        pending.iter().map(|p| (p.draft.row.clone(), p.draft.index.clone())).collect()
    }

    fn audit(&self, pending: &[Pending]) -> Vec<crate::store::AuditRow> {
        pending
            .iter()
            .map(|p| {
                let after = serde_json::to_value(&p.draft.own).ok();
                audit::entry(&self.org_id, &self.actor, Action::Created, Object::Key, p.key.key_hash.as_str(), None, after.as_ref())
            })
            .collect()
    }
}

/// After the commit, as `Keys::create` does: caches hear of the key, and a hash that was a key
/// before starts with fresh counters. (Not a method: a `Bulk` holding a transaction is not `Sync`.)
async fn stored(keys: &Keys, key_hash: &KeyHash, by_hash: bool) {
    if by_hash {
        keys.limits.reset(key_hash).await;
    }
    keys.changes.publish(Change::Key { key_hash: key_hash.clone() });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[&[u8]]) -> Vec<(usize, Result<String, LineError>)> {
        let mut l = Lines::new();
        let mut out: Vec<Line> = input.iter().flat_map(|c| l.push(c)).collect();
        out.extend(l.finish());
        out.into_iter().map(|(n, r)| (n, r.map(|b| String::from_utf8(b).unwrap()))).collect()
    }

    #[test]
    fn numbers_lines_across_chunks_and_skips_blank_ones() {
        let got = lines(&[b"{\"a\"", b":1}\n\n  \n{\"b\":2}\n{\"c\"", b":3}"]);
        assert_eq!(got, vec![(1, Ok("{\"a\":1}".into())), (4, Ok("{\"b\":2}".into())), (5, Ok("{\"c\":3}".into()))]);
        assert_eq!(lines(&[b"{}\n"]), vec![(1, Ok("{}".into()))]);
    }

    #[test]
    fn a_line_too_long_is_reported_and_the_next_one_read() {
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        let got = lines(&[b"{}\n", &long[..10], &long[10..], b"\n{}"]);
        assert_eq!(got.len(), 3);
        assert!(matches!(&got[1], (2, Err(e)) if e.message.contains("longer than")));
        assert_eq!(got[2], (3, Ok("{}".into())));
    }

    #[test]
    fn a_line_names_what_is_wrong() {
        assert!(parse_line(b"{not json").unwrap_err().message.starts_with("not JSON"));
        assert_eq!(parse_line(b"[1]").unwrap_err().message, "each line must be a JSON object");
        assert_eq!(parse_line(br#"{"rate": "fast"}"#).unwrap_err().field.as_deref(), Some("rate"));
        assert_eq!(parse_line(br#"{"key_hash": "abc"}"#).unwrap_err().field.as_deref(), Some("key_hash"));
        let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let (h, s) = parse_line(format!(r#"{{"key_hash": "{hash}", "rate": 5}}"#).as_bytes()).unwrap();
        assert_eq!(h.unwrap().as_str(), hash.to_lowercase());
        assert_eq!(s.rate, 5.0);
        assert!(!s.extra.contains_key("key_hash"));
    }
}
