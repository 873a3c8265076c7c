-- Change notices between the nodes of a cluster. Every write to a key, policy or API, whatever
-- way it came in, is logged and announced in the same transaction (NOTIFY is delivered on
-- commit): nodes LISTEN for the announcements and, to repair any they missed while
-- disconnected, read the recent log periodically.

CREATE TABLE change_log (
    id      BIGSERIAL PRIMARY KEY,
    at_ms   BIGINT NOT NULL DEFAULT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT,
    change  TEXT NOT NULL              -- the change as JSON, as server/src/changes reads it
);
CREATE INDEX change_log_at ON change_log (at_ms);

CREATE FUNCTION portcullis_announce_change() RETURNS trigger AS $$
DECLARE
    r RECORD;
    change TEXT;
    logged BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'keys' THEN
        change := json_build_object('kind', 'key', 'key_hash', r.key_hash)::TEXT;
    ELSIF TG_TABLE_NAME = 'policies' THEN
        change := json_build_object('kind', 'policy', 'org_id', r.org_id, 'policy_id', r.id)::TEXT;
    ELSE
        change := json_build_object('kind', 'api', 'api_id', r.api_id)::TEXT;
    END IF;
    INSERT INTO change_log (change) VALUES (change) RETURNING id INTO logged;
    PERFORM pg_notify('portcullis_changes', json_build_object('id', logged, 'change', change::JSON)::TEXT);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER keys_announce AFTER INSERT OR UPDATE OR DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION portcullis_announce_change();
CREATE TRIGGER policies_announce AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION portcullis_announce_change();
CREATE TRIGGER apis_announce AFTER INSERT OR UPDATE OR DELETE ON apis
    FOR EACH ROW EXECUTE FUNCTION portcullis_announce_change();
