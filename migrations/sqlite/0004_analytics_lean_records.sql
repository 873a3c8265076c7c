-- Raw request records are written at the gateway's full rate and read only by time (the
-- retention sweep) and, rarely, counted per organisation; the dashboard and the activity API
-- read the hourly aggregates. The two indexes on text columns (one on the 64-character key
-- hash) made up most of each insert, and AUTOINCREMENT adds a sqlite_sequence update per
-- batch for a guarantee (ids never reused) nothing needs. One integer index on the time
-- remains, which retention uses and which grows only at its end.
CREATE TABLE analytics_records (
    id            INTEGER PRIMARY KEY,
    at_ms         INTEGER NOT NULL,
    org_id        TEXT NOT NULL,
    api_id        TEXT NOT NULL,
    api_version   TEXT NOT NULL,
    key_hash      TEXT NOT NULL,          -- '' when no key identified the request
    alias         TEXT NOT NULL,
    tags          TEXT NOT NULL,          -- JSON array, with pol-<id> for each policy
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER NOT NULL,
    latency_ms    DOUBLE PRECISION NOT NULL,
    upstream_ms   DOUBLE PRECISION NOT NULL,
    raw_request   TEXT,                   -- base64, only with enable_detailed_recording
    raw_response  TEXT
);
INSERT INTO analytics_records SELECT * FROM analytics;
DROP TABLE analytics;
ALTER TABLE analytics_records RENAME TO analytics;
CREATE INDEX analytics_at ON analytics (at_ms);
