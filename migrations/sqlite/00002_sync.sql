-- +goose Up
-- Sync bookkeeping on tickets: what the hub last pushed (severity as priority, the
-- items already on the ticket, every field it wrote, for the echo guard) and what the
-- remote side last said.
ALTER TABLE tickets ADD COLUMN severity TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN items TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(items));
ALTER TABLE tickets ADD COLUMN written TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(written));
ALTER TABLE tickets ADD COLUMN remote_priority TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_remote_key ON tickets (remote_key);
CREATE INDEX notifications_cluster ON notifications (cluster_id);

-- +goose Down
DROP INDEX notifications_cluster;
DROP INDEX tickets_remote_key;
ALTER TABLE tickets DROP COLUMN remote_priority;
ALTER TABLE tickets DROP COLUMN written;
ALTER TABLE tickets DROP COLUMN items;
ALTER TABLE tickets DROP COLUMN severity;
