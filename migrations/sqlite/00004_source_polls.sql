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

-- +goose Down
DROP TABLE source_polls;
