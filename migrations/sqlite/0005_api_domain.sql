-- Tyk's `domain`: an API may be bound to one host name. Routes are unique per (domain, listen
-- path) instead of per listen path; overlaps between organisations are refused by the service.
-- A definition posted with a `domain` before this column existed is bound to it now, as Tyk
-- would have served it. SQLite cannot drop a column's UNIQUE: the table is made again. No
-- table references apis, so dropping the old one is safe with foreign keys on.
CREATE TABLE apis_routed (
    api_id       TEXT PRIMARY KEY,            -- Tyk's api_id, unique across organisations
    mongo_id     TEXT NOT NULL UNIQUE,        -- Tyk's internal id (the `Meta` of a create)
    org_id       TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    domain       TEXT NOT NULL DEFAULT '',    -- Tyk's `domain`, lower case; '' serves every host
    listen_path  TEXT NOT NULL,
    definition   TEXT NOT NULL,               -- the API definition as sent (JSON)
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
INSERT INTO apis_routed (api_id, mongo_id, org_id, name, domain, listen_path, definition, created_at, updated_at)
    SELECT api_id, mongo_id, org_id, name,
           CASE WHEN json_type(definition, '$.domain') = 'text'
                THEN LOWER(RTRIM(TRIM(json_extract(definition, '$.domain')), '.')) ELSE '' END,
           listen_path, definition, created_at, updated_at
    FROM apis;
DROP TABLE apis;
ALTER TABLE apis_routed RENAME TO apis;
CREATE INDEX apis_org ON apis (org_id, created_at);
CREATE UNIQUE INDEX apis_route ON apis (domain, listen_path);
