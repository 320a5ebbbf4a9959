-- +goose Up
-- One row per poll of a source by `serve` (and `sync --once`): when it ran, whether it
-- worked, what it cost. `feedbackhub status` reads the last success, the last error
-- and the requests of the last hour from here; old rows are pruned by the writer.
CREATE TABLE source_polls (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    ok           BOOLEAN NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    requests     INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    fetched      INTEGER NOT NULL DEFAULT 0,
    new_records  INTEGER NOT NULL DEFAULT 0,
    waited_ms    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX source_polls_source_started ON source_polls (source, started_at);
-- Deleting records (bench clean-up, retention) checks the items and messages that
-- reference them; without these indexes each deleted record scans both tables.
CREATE INDEX items_record ON items (record_id);
CREATE INDEX messages_record ON messages (record_id);

-- +goose Down
DROP INDEX messages_record;
DROP INDEX items_record;
DROP TABLE source_polls;
