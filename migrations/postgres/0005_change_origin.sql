-- Each logged change records the node that made it (the connection's application_name, which
-- every Portcullis node sets to its own id), so a node skips the announcements of its own
-- writes: it applied them as it made them, and applying them again later would evict cache
-- entries loaded since, which matters when the database is unreachable.

ALTER TABLE change_log ADD COLUMN origin TEXT NOT NULL DEFAULT current_setting('application_name');

CREATE OR REPLACE FUNCTION portcullis_announce_change() RETURNS trigger AS $$
DECLARE
    r RECORD;
    change TEXT;
    logged BIGINT;
    made_by TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'keys' THEN
        change := json_build_object('kind', 'key', 'key_hash', r.key_hash)::TEXT;
    ELSIF TG_TABLE_NAME = 'policies' THEN
        change := json_build_object('kind', 'policy', 'org_id', r.org_id, 'policy_id', r.id)::TEXT;
    ELSE
        change := json_build_object('kind', 'api', 'api_id', r.api_id)::TEXT;
    END IF;
    INSERT INTO change_log (change) VALUES (change) RETURNING id, origin INTO logged, made_by;
    PERFORM pg_notify('portcullis_changes',
        json_build_object('id', logged, 'origin', made_by, 'change', change::JSON)::TEXT);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
