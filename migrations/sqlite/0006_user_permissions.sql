-- Tyk's dashboard user_permissions, per user, as JSON ({"IsAdmin":"admin"} or {"keys":"read",...}).
-- Every user that exists before this migration could do everything in its organisation: the
-- default makes each of them an admin, so that an upgrade takes no right away. New users are
-- always inserted with their permissions spelled out.
ALTER TABLE users ADD COLUMN permissions TEXT NOT NULL DEFAULT '{"IsAdmin":"admin"}';
