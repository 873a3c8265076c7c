use super::{Store, StoreError};
use app::model::{KeyHash, KeySort, OrgId, StatusFilter};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct KeyRow {
    #[sqlx(try_from = "String")]
    pub key_hash: KeyHash,
    #[sqlx(try_from = "String")]
    pub org_id: OrgId,
    /// The key in clear, only for basic-auth users (org id + username): it is no secret.
    pub key_id: Option<String>,
    pub basic_username: Option<String>,
    pub alias: String,
    #[sqlx(try_from = "super::IntBool")]
    pub is_inactive: bool,
    pub expires: i64,
    /// The key's own SessionState JSON, without its HMAC secret.
    pub session: String,
    /// The HMAC secret, encrypted by the vault.
    pub hmac_secret: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What listing and search can ask for; `None` means "any".
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    pub org_id: Option<OrgId>,
    pub api_id: Option<String>,
    pub tag: Option<String>,
    pub policy_id: Option<String>,
    /// A substring of the alias.
    pub alias: Option<String>,
    /// A substring of the key hash, the clear key id (basic-auth users) or the alias.
    pub q: Option<String>,
    /// The dashboard's search box: like `q`, and also a tag, a policy (id or name) or an API
    /// (id or name) of the key.
    pub search: Option<String>,
    pub status: StatusFilter,
    /// Unix seconds, for `status`.
    pub now: i64,
    pub order: KeySort,
}

impl KeyFilter {
    /// A criterion as a query string or a search box gives it: empty means "any".
    pub fn text(s: &str) -> Option<String> {
        Some(s).filter(|s| !s.is_empty()).map(str::to_owned)
    }
}

/// The side tables that make listing and search fast: the APIs a key grants, its tags and its
/// policies (effective values, policies applied).
#[derive(Clone, Debug, Default)]
pub struct KeyIndex {
    pub api_ids: Vec<String>,
    pub tags: Vec<String>,
    pub policy_ids: Vec<String>,
}

/// Which part of the ordered list a listing asks for.
#[derive(Clone, Debug)]
pub enum KeyWindow {
    /// Tyk's page numbers: skip `offset` keys.
    Offset { limit: i64, offset: i64 },
    /// The `limit` keys just after (or before) a key, found by seeking the ordering index.
    Cursor { cursor: KeyCursor, limit: i64 },
}

/// A window of keys, how many match in all, and the cursors of the windows beside it.
#[derive(Debug)]
pub struct KeyRows {
    pub rows: Vec<KeyRow>,
    pub total: i64,
    pub prev: Option<KeyCursor>,
    pub next: Option<KeyCursor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    After,
    Before,
}

/// A key's place in one order: its sort key, the key hash breaking ties. Its text form is
/// opaque to clients (URL-safe base64) and names the order it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCursor {
    pub dir: Dir,
    pub sort: KeySort,
    key: SortKey,
    key_hash: KeyHash,
}

/// The values of the ordering expressions of `Order::of(sort)`, as the database computed them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SortKey {
    Created(i64),
    /// Whether the alias is empty (those last), the lowercased alias.
    Alias(i64, String),
    /// Whether the key never expires (those last), the expiry.
    Expiry(i64, i64),
}

/// A cursor that does not decode: not one this server gave.
#[derive(Debug, thiserror::Error)]
#[error("not a cursor this list gave")]
pub struct BadCursor;

impl KeyCursor {
    fn at(dir: Dir, sort: KeySort, r: &ListedRow) -> Self {
        let key = match sort {
            KeySort::Newest | KeySort::Oldest => SortKey::Created(r.row.created_at),
            KeySort::Alias => SortKey::Alias(r.row.alias.is_empty() as i64, r.alias_key.clone()),
            KeySort::Expiry => SortKey::Expiry((r.row.expires <= 0) as i64, r.row.expires),
        };
        KeyCursor { dir, sort, key, key_hash: r.row.key_hash.clone() }
    }

    pub fn encode(&self) -> String {
        use base64::Engine;
        let dir = if self.dir == Dir::After { "a" } else { "b" };
        let sort = sort_tag(self.sort);
        let key = match &self.key {
            SortKey::Created(at) => at.to_string(),
            SortKey::Alias(empty, alias) => format!("{empty}:{alias}"),
            SortKey::Expiry(never, at) => format!("{never}:{at}"),
        };
        let text = format!("{dir}:{sort}:{}:{key}", self.key_hash);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(s: &str) -> Result<Self, BadCursor> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| BadCursor)?;
        let mut parts = text.splitn(4, ':');
        let mut next = || parts.next().ok_or(BadCursor);
        let dir = match next()? {
            "a" => Dir::After,
            "b" => Dir::Before,
            _ => return Err(BadCursor),
        };
        let tag = next()?;
        let sort = KeySort::ALL.into_iter().find(|s| sort_tag(*s) == tag).ok_or(BadCursor)?;
        let key_hash = KeyHash::parse_hex(next()?).ok_or(BadCursor)?;
        let rest = next()?;
        let int = |s: &str| s.parse::<i64>().map_err(|_| BadCursor);
        let key = match sort {
            KeySort::Newest | KeySort::Oldest => SortKey::Created(int(rest)?),
            KeySort::Alias => {
                let (empty, alias) = rest.split_once(':').ok_or(BadCursor)?;
                SortKey::Alias(int(empty)?, alias.to_owned())
            }
            KeySort::Expiry => {
                let (never, at) = rest.split_once(':').ok_or(BadCursor)?;
                SortKey::Expiry(int(never)?, int(at)?)
            }
        };
        Ok(KeyCursor { dir, sort, key, key_hash })
    }
}

fn sort_tag(sort: KeySort) -> &'static str {
    match sort {
        KeySort::Newest => "n",
        KeySort::Oldest => "o",
        KeySort::Alias => "a",
        KeySort::Expiry => "e",
    }
}

/// A listed row, with the alias as the database lowercases it (the alias order's key).
#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    row: KeyRow,
    alias_key: String,
}

/// An order of the list: the expressions the ordering indexes of the migrations are built on
/// (written the same, so that both databases match them), then the key hash.
struct Order {
    exprs: &'static [&'static str],
    desc: bool,
}

impl Order {
    fn of(sort: KeySort) -> Self {
        match sort {
            KeySort::Newest => Order { exprs: &["created_at"], desc: true },
            KeySort::Oldest => Order { exprs: &["created_at"], desc: false },
            KeySort::Alias => Order { exprs: &["(CASE WHEN alias = '' THEN 1 ELSE 0 END)", "LOWER(alias)"], desc: false },
            KeySort::Expiry => Order { exprs: &["(CASE WHEN expires <= 0 THEN 1 ELSE 0 END)", "expires"], desc: false },
        }
    }

    /// ORDER BY, read forwards or backwards.
    fn by(&self, backwards: bool) -> String {
        let dir = if self.desc != backwards { " DESC" } else { "" };
        self.exprs.iter().chain(["key_hash"].iter()).map(|e| format!("{e}{dir}")).collect::<Vec<_>>().join(", ")
    }

    /// The keys after (or before) the cursor's, in this order. The leading expression's bound is
    /// implied by the row comparison; it is written out too so that the planner seeks on it.
    fn seek(&self, c: &KeyCursor, binds: &mut Vec<Bind>) -> String {
        let values = match &c.key {
            SortKey::Created(at) => vec![Bind::Int(*at)],
            SortKey::Alias(empty, alias) => vec![Bind::Int(*empty), Bind::Text(alias.clone())],
            SortKey::Expiry(never, at) => vec![Bind::Int(*never), Bind::Int(*at)],
        };
        let greater = self.desc == (c.dir == Dir::Before);
        let (op, lead) = if greater { (">", ">=") } else { ("<", "<=") };
        let first = binds.len() + 1;
        binds.extend(values);
        binds.push(Bind::Text(c.key_hash.to_string()));
        let params: Vec<String> = (first..=binds.len()).map(|i| format!("${i}")).collect();
        let columns = self.exprs.iter().copied().chain(["key_hash"]).collect::<Vec<_>>().join(", ");
        format!("{} {lead} ${first} AND ({columns}) {op} ({})", self.exprs[0], params.join(", "))
    }
}

/// The two statements of a listing: the count, and the page (its keys chosen from the
/// ordering index, then their rows read), with their parameters.
struct ListSql {
    count: String,
    filter_binds: Vec<Bind>,
    page: String,
    page_binds: Vec<Bind>,
    sort: KeySort,
    limit: i64,
    backwards: bool,
}

impl ListSql {
    fn new(f: &KeyFilter, window: &KeyWindow) -> Self {
        let mut binds: Vec<Bind> = Vec::new();
        let filter = filter_sql(f, &mut binds);
        let count = format!("SELECT COUNT(*) FROM keys WHERE {filter}");
        let filter_binds = binds.clone();
        // A cursor belongs to one order: it is read in that order.
        let (sort, limit, offset, backwards, seek) = match window {
            KeyWindow::Offset { limit, offset } => (f.order, *limit, *offset, false, None),
            KeyWindow::Cursor { cursor, limit } => (cursor.sort, *limit, 0, cursor.dir == Dir::Before, Some(cursor)),
        };
        let order = Order::of(sort);
        let mut page_filter = filter;
        if let Some(c) = seek {
            page_filter = format!("{page_filter} AND {}", order.seek(c, &mut binds));
        }
        let by = order.by(backwards);
        // One row more than asked tells whether there is a page beyond.
        binds.push(Bind::Int(limit.max(0).saturating_add(1)));
        binds.push(Bind::Int(offset.max(0)));
        let n = binds.len();
        let page = format!(
            "SELECT {COLUMNS}, LOWER(alias) AS alias_key FROM keys WHERE key_hash IN \
             (SELECT key_hash FROM keys WHERE {page_filter} ORDER BY {by} LIMIT ${} OFFSET ${n}) ORDER BY {by}",
            n - 1
        );
        ListSql { count, filter_binds, page, page_binds: binds, sort, limit, backwards }
    }
}

/// A query parameter: text or a number, so that PostgreSQL compares each with its column's type.
#[derive(Clone, Debug)]
enum Bind {
    Text(String),
    Int(i64),
}

type Args<'q> = sqlx::any::AnyArguments<'q>;

impl Bind {
    fn bind_scalar<'q, O>(&'q self, q: sqlx::query::QueryScalar<'q, sqlx::Any, O, Args<'q>>) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, Args<'q>> {
        match self {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        }
    }

    fn bind_row<'q, O>(&'q self, q: sqlx::query::QueryAs<'q, sqlx::Any, O, Args<'q>>) -> sqlx::query::QueryAs<'q, sqlx::Any, O, Args<'q>> {
        match self {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        }
    }
}

/// The WHERE clause of a filter; its parameters are pushed on `binds`.
fn filter_sql(f: &KeyFilter, binds: &mut Vec<Bind>) -> String {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut add = |clause: &str, value: String| {
        binds.push(Bind::Text(value));
        clauses.push(clause.replace("$n", &format!("${}", binds.len())));
    };
    if let Some(org_id) = &f.org_id {
        add("org_id = $n", org_id.to_string());
    }
    if let Some(api_id) = &f.api_id {
        add("key_hash IN (SELECT key_hash FROM key_apis WHERE api_id = $n)", api_id.clone());
    }
    if let Some(tag) = &f.tag {
        add("key_hash IN (SELECT key_hash FROM key_tags WHERE tag = $n)", tag.clone());
    }
    if let Some(policy_id) = &f.policy_id {
        add("key_hash IN (SELECT key_hash FROM key_policies WHERE policy_id = $n)", policy_id.clone());
    }
    if let Some(alias) = &f.alias {
        add("LOWER(alias) LIKE $n", format!("%{}%", alias.to_lowercase()));
    }
    if let Some(q) = &f.q {
        add(
            "(key_hash LIKE $n OR LOWER(alias) LIKE $n OR LOWER(COALESCE(key_id, '')) LIKE $n)",
            format!("%{}%", q.to_lowercase()),
        );
    }
    if let Some(search) = &f.search {
        add(
            "(key_hash LIKE $n OR LOWER(alias) LIKE $n OR LOWER(COALESCE(key_id, '')) LIKE $n \
             OR key_hash IN (SELECT key_hash FROM key_tags WHERE LOWER(tag) LIKE $n) \
             OR key_hash IN (SELECT kp.key_hash FROM key_policies kp WHERE LOWER(kp.policy_id) LIKE $n \
                OR kp.policy_id IN (SELECT p.id FROM policies p WHERE p.org_id = keys.org_id AND LOWER(p.name) LIKE $n)) \
             OR key_hash IN (SELECT ka.key_hash FROM key_apis ka WHERE LOWER(ka.api_id) LIKE $n \
                OR ka.api_id IN (SELECT a.api_id FROM apis a WHERE a.org_id = keys.org_id AND LOWER(a.name) LIKE $n)))",
            format!("%{}%", search.to_lowercase()),
        );
    }
    // `now` is our own number, not the caller's text: written into the SQL, it compares as
    // an integer on both databases. The status index is on (org_id, is_inactive, expires).
    let now = f.now;
    match f.status {
        StatusFilter::All => {}
        StatusFilter::Active => clauses.push(format!("is_inactive = 0 AND (expires <= 0 OR expires > {now})")),
        StatusFilter::Inactive => clauses.push("is_inactive <> 0".to_owned()),
        StatusFilter::Expired => clauses.push(format!("is_inactive = 0 AND expires > 0 AND expires <= {now}")),
    }
    clauses.join(" AND ")
}

const COLUMNS: &str = "key_hash, org_id, key_id, basic_username, alias, is_inactive, expires, session, hmac_secret, created_at, updated_at";

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a key row's values in the order of `COLUMNS`: one insert and the batched one share it.
fn bind_key<'q>(q: Query<'q>, k: &'q KeyRow) -> Query<'q> {
    q.bind(k.key_hash.as_str())
        .bind(k.org_id.as_str())
        .bind(&k.key_id)
        .bind(&k.basic_username)
        .bind(&k.alias)
        .bind(k.is_inactive as i64)
        .bind(k.expires)
        .bind(&k.session)
        .bind(&k.hmac_secret)
        .bind(k.created_at)
        .bind(k.updated_at)
}

async fn write_index(tx: &mut Tx<'_>, key_hash: &KeyHash, index: &KeyIndex) -> Result<(), sqlx::Error> {
    for table in ["key_apis", "key_tags", "key_policies"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE key_hash = $1")).bind(key_hash.as_str()).execute(&mut **tx).await?;
    }
    let sets: [(&str, &str, &[String]); 3] = [
        ("key_apis", "api_id", &index.api_ids),
        ("key_tags", "tag", &index.tags),
        ("key_policies", "policy_id", &index.policy_ids),
    ];
    for (table, column, values) in sets {
        let mut seen = std::collections::BTreeSet::new();
        for v in values.iter().filter(|v| seen.insert(v.as_str())) {
            sqlx::query(&format!("INSERT INTO {table} (key_hash, {column}) VALUES ($1, $2)"))
                .bind(key_hash.as_str())
                .bind(v)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    pub async fn insert_key(&self, k: &KeyRow, index: &KeyIndex) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let sql = format!("INSERT INTO keys ({COLUMNS}) VALUES {}", placeholders(1, 11));
        bind_key(sqlx::query(&sql), k).execute(&mut *tx).await.map_err(StoreError::from_write)?;
        write_index(&mut tx, &k.key_hash, index).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rewrites a key; `reset_quota` also forgets its live quota usage.
    pub async fn update_key(&self, k: &KeyRow, index: &KeyIndex, reset_quota: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE keys SET alias = $1, is_inactive = $2, expires = $3, session = $4, hmac_secret = $5, updated_at = $6 \
             WHERE key_hash = $7 AND org_id = $8",
        )
        .bind(&k.alias)
        .bind(k.is_inactive as i64)
        .bind(k.expires)
        .bind(&k.session)
        .bind(&k.hmac_secret)
        .bind(k.updated_at)
        .bind(k.key_hash.as_str())
        .bind(k.org_id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        write_index(&mut tx, &k.key_hash, index).await?;
        if reset_quota {
            sqlx::query("DELETE FROM quota_counters WHERE key_hash = $1").bind(k.key_hash.as_str()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces only the listing index of a key (after one of its policies changed).
    pub async fn reindex_key(&self, key_hash: &KeyHash, index: &KeyIndex) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        write_index(&mut tx, key_hash, index).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn key(&self, key_hash: &KeyHash) -> Result<Option<KeyRow>, StoreError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM keys WHERE key_hash = $1"))
            .bind(key_hash.as_str())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn delete_key(&self, org_id: &OrgId, key_hash: &KeyHash) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM keys WHERE key_hash = $1 AND org_id = $2")
            .bind(key_hash.as_str())
            .bind(org_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A window of the keys matching the filter, in the filter's order, and how many match in
    /// all. The page is chosen first from the ordering indexes alone (a cursor seeks, an offset
    /// skips index entries only); the rows are read for that page only.
    pub async fn keys(&self, f: &KeyFilter, window: &KeyWindow) -> Result<KeyRows, StoreError> {
        let list = ListSql::new(f, window);
        let mut count = sqlx::query_scalar::<_, i64>(&list.count);
        for b in &list.filter_binds {
            count = b.bind_scalar(count);
        }
        let total = count.fetch_one(&self.pool).await?;
        let (rows, prev, next) = self.window_rows(&list, window).await?;
        Ok(KeyRows { rows, total, prev, next })
    }

    /// Like `keys` without the count, and forwards only: the next window of a list read to
    /// its end (every key at once, a window at a time), and the cursor after it.
    pub async fn keys_uncounted(&self, f: &KeyFilter, window: &KeyWindow) -> Result<(Vec<KeyRow>, Option<KeyCursor>), StoreError> {
        let (rows, _, next) = self.window_rows(&ListSql::new(f, window), window).await?;
        Ok((rows, next))
    }

    async fn window_rows(&self, list: &ListSql, window: &KeyWindow) -> Result<(Vec<KeyRow>, Option<KeyCursor>, Option<KeyCursor>), StoreError> {
        let (sort, limit, backwards) = (list.sort, list.limit, list.backwards);
        let mut query = sqlx::query_as::<_, ListedRow>(&list.page);
        for b in &list.page_binds {
            query = b.bind_row(query);
        }
        let mut rows = query.fetch_all(&self.pool).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        if backwards {
            rows.reverse();
        }
        let cursor = |dir, r: &ListedRow| KeyCursor::at(dir, sort, r);
        let (first, last) = (rows.first(), rows.last());
        let (prev, next) = match window {
            KeyWindow::Offset { offset, .. } => {
                (first.filter(|_| *offset > 0).map(|r| cursor(Dir::Before, r)), last.filter(|_| more).map(|r| cursor(Dir::After, r)))
            }
            KeyWindow::Cursor { cursor: c, .. } if c.dir == Dir::After => {
                // Something came before the cursor's key: the page it was taken from.
                (first.map(|r| cursor(Dir::Before, r)), last.filter(|_| more).map(|r| cursor(Dir::After, r)))
            }
            KeyWindow::Cursor { .. } => {
                (first.filter(|_| more).map(|r| cursor(Dir::Before, r)), last.map(|r| cursor(Dir::After, r)))
            }
        };
        Ok((rows.into_iter().map(|r| r.row).collect(), prev, next))
    }

    /// The query plans of a listing's count and page, one line per plan node: what a test reads
    /// to check that listing seeks indexes. PostgreSQL is told to avoid sequential scans, so
    /// that on a small table it shows what the indexes allow rather than the cheapest plan.
    pub async fn explain_keys(&self, f: &KeyFilter, window: &KeyWindow) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        let list = ListSql::new(f, window);
        let mut conn = self.pool.acquire().await?;
        let explain = match self.backend() {
            super::Backend::Sqlite => "EXPLAIN QUERY PLAN",
            super::Backend::Postgres => {
                sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await?;
                "EXPLAIN"
            }
        };
        let mut lines = Vec::new();
        for (sql, binds) in [(&list.count, &list.filter_binds), (&list.page, &list.page_binds)] {
            let sql = format!("{explain} {sql}");
            let mut query = sqlx::query(&sql);
            for b in binds {
                query = match b {
                    Bind::Text(s) => query.bind(s.as_str()),
                    Bind::Int(i) => query.bind(*i),
                };
            }
            for row in query.fetch_all(&mut *conn).await? {
                lines.push(row.try_get::<String, _>(row.len() - 1)?);
            }
        }
        if self.backend() == super::Backend::Postgres {
            sqlx::query("RESET enable_seqscan").execute(&mut *conn).await?;
        }
        Ok(lines)
    }

    /// The keys of an organisation that name a policy.
    pub async fn keys_with_policy(&self, org_id: &OrgId, policy_id: &str) -> Result<Vec<KeyRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM keys WHERE org_id = $1 AND key_hash IN (SELECT key_hash FROM key_policies WHERE policy_id = $2)"
        );
        Ok(sqlx::query_as(&sql).bind(org_id.as_str()).bind(policy_id).fetch_all(&self.pool).await?)
    }
}

/// Rows per multi-row INSERT: well under both databases' limit on parameters per statement.
const ROWS_PER_INSERT: usize = 500;
/// Parameters per multi-row INSERT. sqlx looks each parameter's name up among all of the
/// statement's (SQLite), so a statement's cost grows with the square of its parameters: a
/// quarter of this CLI import's time went there with 5 500 a statement.
const PARAMS_PER_INSERT: usize = 400;

/// Rows of `width` parameters per multi-row INSERT.
fn rows_per_insert(width: usize) -> usize {
    (PARAMS_PER_INSERT / width).clamp(1, ROWS_PER_INSERT)
}

/// `($1, $2, …), (…)` for `rows` rows of `width` parameters.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes many new keys, with their side tables and audit entries, in one transaction: what
/// bulk creation and import use, so that a key costs a few rows of a multi-row INSERT instead
/// of a transaction of its own. Dropped without `commit`, it writes nothing.
pub struct KeyWriter {
    tx: Tx<'static>,
}

impl KeyWriter {
    /// Inserts `keys` and `audit`. A key that exists already fails the whole call with
    /// `StoreError::Conflict`, and the transaction with it.
    pub async fn insert(&mut self, keys: &[(KeyRow, KeyIndex)], audit: &[super::AuditRow]) -> Result<(), StoreError> {
        for chunk in keys.chunks(rows_per_insert(11)) {
            let sql = format!("INSERT INTO keys ({COLUMNS}) VALUES {}", placeholders(chunk.len(), 11));
            let mut q = sqlx::query(&sql);
            for (k, _) in chunk {
                q = bind_key(q, k);
            }
            q.execute(&mut *self.tx).await.map_err(StoreError::from_write)?;
        }
        let sides: [(&str, &str, fn(&KeyIndex) -> &[String]); 3] = [
            ("key_apis", "api_id", |i| &i.api_ids),
            ("key_tags", "tag", |i| &i.tags),
            ("key_policies", "policy_id", |i| &i.policy_ids),
        ];
        for (table, column, values) in sides {
            let mut pairs = Vec::new();
            for (k, index) in keys {
                let mut seen = std::collections::BTreeSet::new();
                pairs.extend(values(index).iter().filter(|v| seen.insert(v.as_str())).map(|v| (k.key_hash.as_str(), v.as_str())));
            }
            for chunk in pairs.chunks(rows_per_insert(2)) {
                let sql = format!("INSERT INTO {table} (key_hash, {column}) VALUES {}", placeholders(chunk.len(), 2));
                let mut q = sqlx::query(&sql);
                for (hash, v) in chunk {
                    q = q.bind(*hash).bind(*v);
                }
                q.execute(&mut *self.tx).await?;
            }
        }
        for chunk in audit.chunks(rows_per_insert(7)) {
            let sql = format!(
                "INSERT INTO audit_log (org_id, actor, action, object_type, object_id, at, changes) VALUES {}",
                placeholders(chunk.len(), 7)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q.bind(e.org_id.as_str()).bind(&e.actor).bind(&e.action).bind(&e.object_type).bind(&e.object_id).bind(e.at).bind(&e.changes);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }
}

impl Store {
    /// Which of `hashes` are keys already, in any organisation.
    pub async fn existing_keys(&self, hashes: &[&KeyHash]) -> Result<Vec<KeyHash>, StoreError> {
        let mut out = Vec::new();
        for chunk in hashes.chunks(ROWS_PER_INSERT) {
            let list = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT key_hash FROM keys WHERE key_hash IN ({list})");
            let mut q = sqlx::query_scalar::<_, String>(&sql);
            for h in chunk {
                q = q.bind(h.as_str());
            }
            for found in q.fetch_all(&self.pool).await? {
                out.push(KeyHash::try_from(found).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
        }
        Ok(out)
    }

    /// A transaction for writing many keys at once.
    pub async fn key_writer(&self) -> Result<KeyWriter, StoreError> {
        Ok(KeyWriter { tx: self.pool.begin().await? })
    }

    /// Up to `limit` keys of an organisation, oldest first, after the key `after` (its creation
    /// time and hash): what an export reads, a page at a time, along the (org_id, created_at,
    /// key_hash) index rather than by OFFSET. Basic-auth users are left out: they cannot be
    /// re-created without their password, which is never exported.
    pub async fn keys_in_creation_order(&self, org_id: &OrgId, after: Option<(i64, &KeyHash)>, limit: i64) -> Result<Vec<KeyRow>, StoreError> {
        let (at, hash) = after.map_or((i64::MIN, ""), |(at, h)| (at, h.as_str()));
        let sql = format!(
            "SELECT {COLUMNS} FROM keys WHERE org_id = $1 AND (created_at > $2 OR (created_at = $2 AND key_hash > $3)) \
             AND basic_username IS NULL ORDER BY created_at, key_hash LIMIT $4"
        );
        Ok(sqlx::query_as(&sql)
            .bind(org_id.as_str())
            .bind(at)
            .bind(hash)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_as_written() {
        let hash = KeyHash::parse_hex(&"ab".repeat(32)).unwrap();
        let keys = [
            (KeySort::Newest, SortKey::Created(1_700_000_000)),
            (KeySort::Oldest, SortKey::Created(-5)),
            (KeySort::Alias, SortKey::Alias(0, "a:b:c Ünïcode".into())),
            (KeySort::Alias, SortKey::Alias(1, String::new())),
            (KeySort::Expiry, SortKey::Expiry(1, 0)),
        ];
        for (sort, key) in keys {
            for dir in [Dir::After, Dir::Before] {
                let c = KeyCursor { dir, sort, key: key.clone(), key_hash: hash.clone() };
                let text = c.encode();
                assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe: {text}");
                assert_eq!(KeyCursor::decode(&text).unwrap(), c);
            }
        }
    }

    #[test]
    fn other_text_is_no_cursor() {
        use base64::Engine;
        let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let hash = "ab".repeat(32);
        for bad in [
            "not base64!".to_owned(),
            encode(&format!("x:n:{hash}:1")),
            encode(&format!("a:z:{hash}:1")),
            encode("a:n:nothex:1"),
            encode(&format!("a:n:{hash}:soon")),
            encode(&format!("a:e:{hash}:1")),
            encode(&format!("a:a:{hash}:x:alias")),
        ] {
            assert!(KeyCursor::decode(&bad).is_err(), "{bad}");
        }
    }
}
