-- APIs, policies, keys (with the side tables that listing and search need), quota counters
-- and the audit log.

CREATE TABLE apis (
    api_id       TEXT PRIMARY KEY,            -- Tyk's api_id, unique across organisations
    mongo_id     TEXT NOT NULL UNIQUE,        -- Tyk's internal id (the `Meta` of a create)
    org_id       TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    listen_path  TEXT NOT NULL UNIQUE,        -- the gateway routes on it, whatever the org
    definition   TEXT NOT NULL,               -- the API definition as sent (JSON)
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX apis_org ON apis (org_id, created_at);

CREATE TABLE policies (
    org_id       TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,               -- the id keys name in apply_policies
    mongo_id     TEXT NOT NULL UNIQUE,        -- Tyk's `_id`
    name         TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL,               -- the policy as sent (JSON)
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE keys (
    key_hash       TEXT PRIMARY KEY,          -- SHA-256 hex of the key: the only form stored
    org_id         TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    key_id         TEXT,                      -- the key in clear only where it is no secret: basic-auth users (org id + username)
    basic_username TEXT,
    alias          TEXT NOT NULL DEFAULT '',
    is_inactive    BIGINT NOT NULL DEFAULT 0,
    expires        BIGINT NOT NULL DEFAULT 0,
    session        TEXT NOT NULL,             -- the key's own SessionState JSON (secrets removed)
    hmac_secret    TEXT,                      -- encrypted HMAC secret
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX keys_basic_username ON keys (org_id, basic_username);
CREATE INDEX keys_org_created ON keys (org_id, created_at, key_hash);
CREATE INDEX keys_org_alias ON keys (org_id, alias);

CREATE TABLE key_tags (
    key_hash  TEXT NOT NULL REFERENCES keys (key_hash) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (key_hash, tag)
);
CREATE INDEX key_tags_tag ON key_tags (tag);

CREATE TABLE key_policies (
    key_hash   TEXT NOT NULL REFERENCES keys (key_hash) ON DELETE CASCADE,
    policy_id  TEXT NOT NULL,
    PRIMARY KEY (key_hash, policy_id)
);
CREATE INDEX key_policies_policy ON key_policies (policy_id);

CREATE TABLE key_apis (
    key_hash  TEXT NOT NULL REFERENCES keys (key_hash) ON DELETE CASCADE,
    api_id    TEXT NOT NULL,
    PRIMARY KEY (key_hash, api_id)
);
CREATE INDEX key_apis_api ON key_apis (api_id);

-- Live quota usage, written back from memory in batches by the gateway.
CREATE TABLE quota_counters (
    key_hash    TEXT NOT NULL REFERENCES keys (key_hash) ON DELETE CASCADE,
    scope       TEXT NOT NULL DEFAULT '',     -- '' for the key, else the allowance scope (an API id)
    used        BIGINT NOT NULL,
    renews_at   BIGINT NOT NULL,             -- unix seconds; 0 = never
    PRIMARY KEY (key_hash, scope)
);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    org_id       TEXT NOT NULL,
    actor        TEXT NOT NULL,               -- who: the user's email, or "admin-api" / "gateway-api"
    action       TEXT NOT NULL,               -- created | updated | deleted
    object_type  TEXT NOT NULL,               -- key | policy | api | user
    object_id    TEXT NOT NULL,
    at           BIGINT NOT NULL,
    changes      TEXT NOT NULL                -- JSON: what changed, secrets masked
);
CREATE INDEX audit_org_at ON audit_log (org_id, id);
