-- Indexes that let the key list seek instead of scanning: one per order the list offers
-- (written with the same expressions as the list query, so that the planner matches them),
-- the status filter's columns, and the side tables by value with the key hash, so that a
-- filter by API, tag or policy reads index entries only.

CREATE INDEX keys_org_alias_order ON keys (org_id, (CASE WHEN alias = '' THEN 1 ELSE 0 END), LOWER(alias), key_hash);
CREATE INDEX keys_org_expiry_order ON keys (org_id, (CASE WHEN expires <= 0 THEN 1 ELSE 0 END), expires, key_hash);
CREATE INDEX keys_org_status ON keys (org_id, is_inactive, expires);

CREATE INDEX key_apis_api_key ON key_apis (api_id, key_hash);
CREATE INDEX key_tags_tag_key ON key_tags (tag, key_hash);
CREATE INDEX key_policies_policy_key ON key_policies (policy_id, key_hash);
DROP INDEX key_apis_api;
DROP INDEX key_tags_tag;
DROP INDEX key_policies_policy;
