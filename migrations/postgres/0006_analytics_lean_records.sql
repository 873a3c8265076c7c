-- Raw request records are written at the gateway's full rate and read only by time (the
-- retention sweep) and, rarely, counted per organisation; the dashboard and the activity API
-- read the hourly aggregates. The two indexes on text columns (one on the 64-character key
-- hash) cost every insert more than they ever saved; one index on the time remains.
DROP INDEX analytics_org_at;
DROP INDEX analytics_key;
CREATE INDEX analytics_at ON analytics (at_ms);
