-- Gateway request records and their hourly aggregates.
CREATE TABLE analytics (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX analytics_org_at ON analytics (org_id, at_ms);
CREATE INDEX analytics_key ON analytics (key_hash, at_ms);

CREATE TABLE analytics_hourly (
    org_id          TEXT NOT NULL,
    api_id          TEXT NOT NULL,
    key_hash        TEXT NOT NULL,
    hour            INTEGER NOT NULL,     -- unix seconds at the start of the hour
    status          INTEGER NOT NULL,
    hits            INTEGER NOT NULL,
    latency_ms      DOUBLE PRECISION NOT NULL,   -- sums; divide by hits for the mean
    upstream_ms     DOUBLE PRECISION NOT NULL,
    min_latency_ms  DOUBLE PRECISION NOT NULL,
    max_latency_ms  DOUBLE PRECISION NOT NULL,
    min_upstream_ms DOUBLE PRECISION NOT NULL,
    max_upstream_ms DOUBLE PRECISION NOT NULL,
    last_hit_ms     INTEGER NOT NULL,
    PRIMARY KEY (org_id, api_id, key_hash, hour, status)
);
CREATE INDEX analytics_hourly_key ON analytics_hourly (key_hash, hour);
