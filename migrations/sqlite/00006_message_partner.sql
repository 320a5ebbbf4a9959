-- +goose Up
-- The partner a comment or reply came from (attributed like items: '' or 'unknown'
-- when no partner matched), so a partner's reply on a thread restarts the
-- next_response clock as a new item from them does.
ALTER TABLE messages ADD COLUMN partner TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN partner;
