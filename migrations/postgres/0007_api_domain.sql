-- Tyk's `domain`: an API may be bound to one host name. Routes are unique per (domain, listen
-- path) instead of per listen path; overlaps between organisations are refused by the service.
-- A definition posted with a `domain` before this column existed is bound to it now, as Tyk
-- would have served it.
ALTER TABLE apis ADD COLUMN domain TEXT NOT NULL DEFAULT '';
UPDATE apis SET domain = LOWER(RTRIM(TRIM(definition::jsonb ->> 'domain'), '.'))
    WHERE jsonb_typeof(definition::jsonb -> 'domain') = 'string';
ALTER TABLE apis DROP CONSTRAINT apis_listen_path_key;
CREATE UNIQUE INDEX apis_route ON apis (domain, listen_path);
