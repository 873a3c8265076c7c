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

const COLUMNS: &str = "key_hash, org_id, key_id, basic_username, alias, is_inactive, expires, session, hmac_secret, created_at, updated_at";

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

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
        sqlx::query(&format!(
            "INSERT INTO keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(k.key_hash.as_str())
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
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_write)?;
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

    /// Keys matching the filter, newest first, and how many match in all.
    pub async fn keys(&self, f: &KeyFilter, limit: i64, offset: i64) -> Result<(Vec<KeyRow>, i64), StoreError> {
        let mut clauses = vec!["1 = 1".to_owned()];
        let mut binds: Vec<String> = Vec::new();
        let mut add = |clause: &str, value: String| {
            binds.push(value);
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
        // an integer on both databases.
        let now = f.now;
        match f.status {
            StatusFilter::All => {}
            StatusFilter::Active => clauses.push(format!("is_inactive = 0 AND (expires <= 0 OR expires > {now})")),
            StatusFilter::Inactive => clauses.push("is_inactive <> 0".to_owned()),
            StatusFilter::Expired => clauses.push(format!("is_inactive = 0 AND expires > 0 AND expires <= {now}")),
        }
        let order = match f.order {
            KeySort::Newest => "created_at DESC, key_hash",
            KeySort::Oldest => "created_at ASC, key_hash",
            KeySort::Alias => "CASE WHEN alias = '' THEN 1 ELSE 0 END, LOWER(alias), key_hash",
            KeySort::Expiry => "CASE WHEN expires <= 0 THEN 1 ELSE 0 END, expires, key_hash",
        };
        let filter = clauses.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM keys WHERE {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for b in &binds {
            count = count.bind(b);
        }
        let total = count.fetch_one(&self.pool).await?;
        let n = binds.len();
        let sql = format!(
            "SELECT {COLUMNS} FROM keys WHERE {filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut query = sqlx::query_as(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        Ok((rows, total))
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
                q = q
                    .bind(k.key_hash.as_str())
                    .bind(k.org_id.as_str())
                    .bind(&k.key_id)
                    .bind(&k.basic_username)
                    .bind(&k.alias)
                    .bind(k.is_inactive as i64)
                    .bind(k.expires)
                    .bind(&k.session)
                    .bind(&k.hmac_secret)
                    .bind(k.created_at)
                    .bind(k.updated_at);
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
