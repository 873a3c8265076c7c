-- Organisations, dashboard users and their sign-in sessions.
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    owner_name  TEXT NOT NULL,
    -- The organisation document as the client sent it (Tyk's OrganisationDocument), minus the id.
    document    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email            TEXT NOT NULL UNIQUE,      -- stored lower-case
    first_name       TEXT NOT NULL DEFAULT '',
    last_name        TEXT NOT NULL DEFAULT '',
    password_hash    TEXT,                      -- bcrypt; NULL until a password is set
    credential_hash  TEXT NOT NULL UNIQUE,      -- SHA-256 hex of the REST API credential
    credential_hint  TEXT NOT NULL,             -- its last 4 characters, to recognise it
    active           INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL,
    password_updated INTEGER,
    last_login       INTEGER
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE user_sessions (
    token_hash  TEXT PRIMARY KEY,               -- SHA-256 hex of the cookie value
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
