-- +goose Up
CREATE TABLE records (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    source             TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    revision           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    parent_external_id TEXT NOT NULL DEFAULT '',
    author             TEXT NOT NULL DEFAULT '',
    author_email       TEXT NOT NULL DEFAULT '',
    title              TEXT NOT NULL DEFAULT '',
    body               TEXT NOT NULL DEFAULT '',
    url                TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL DEFAULT '',
    labels             TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
    links              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(links)),
    thread_refs        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(thread_refs)),
    meta               TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
    raw                TEXT NOT NULL DEFAULT 'null',
    deleted            INTEGER NOT NULL DEFAULT 0,
    quarantine         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    received_at        TIMESTAMP NOT NULL,
    processed_at       TIMESTAMP,
    UNIQUE (source, external_id, revision)
);
CREATE INDEX records_unprocessed ON records (id) WHERE processed_at IS NULL;

CREATE TABLE clusters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    title          TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'new',
    category       TEXT NOT NULL DEFAULT '',
    severity       TEXT NOT NULL DEFAULT '',
    owner          TEXT NOT NULL DEFAULT '',
    labels         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
    items_count    INTEGER NOT NULL DEFAULT 0,
    partners_count INTEGER NOT NULL DEFAULT 0,
    first_seen     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    external_id TEXT NOT NULL,
    url         TEXT NOT NULL DEFAULT '',
    title       TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    author      TEXT NOT NULL DEFAULT '',
    partner     TEXT NOT NULL DEFAULT 'unknown',
    status      TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    severity    TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(labels)),
    cluster_id  INTEGER REFERENCES clusters (id) ON DELETE SET NULL,
    record_id   INTEGER NOT NULL REFERENCES records (id),
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX items_cluster ON items (cluster_id);
CREATE INDEX items_updated ON items (updated_at);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    author      TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    record_id   INTEGER NOT NULL REFERENCES records (id),
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX messages_item ON messages (item_id);

CREATE TABLE refs (
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (item_id, kind, value)
);
CREATE INDEX refs_value ON refs (kind, value);

CREATE TABLE cluster_links (
    cluster_id INTEGER NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    item_id    INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    evidence   TEXT NOT NULL,
    score      REAL NOT NULL DEFAULT 0,
    detail     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    linked_by  TEXT NOT NULL DEFAULT 'system',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id)
);
CREATE INDEX cluster_links_cluster ON cluster_links (cluster_id);

CREATE TABLE never_merge (
    a_item_id   INTEGER NOT NULL,
    b_item_id   INTEGER NOT NULL,
    decision_id INTEGER,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (a_item_id, b_item_id),
    CHECK (a_item_id < b_item_id)
);

CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TIMESTAMP NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL,
    before_value  TEXT NOT NULL DEFAULT '',
    after_value   TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    rules_version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_target ON decisions (target, id);
CREATE INDEX decisions_at ON decisions (at);

-- +goose StatementBegin
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
-- +goose StatementEnd

CREATE TABLE sla_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id INTEGER NOT NULL,
    at         TIMESTAMP NOT NULL,
    kind       TEXT NOT NULL,
    policy     TEXT NOT NULL DEFAULT '',
    metric     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX sla_events_cluster ON sla_events (cluster_id, id);

-- +goose StatementBegin
CREATE TRIGGER sla_events_no_update BEFORE UPDATE ON sla_events
BEGIN SELECT RAISE(ABORT, 'sla_events are append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER sla_events_no_delete BEFORE DELETE ON sla_events
BEGIN SELECT RAISE(ABORT, 'sla_events are append-only'); END;
-- +goose StatementEnd

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    target          TEXT NOT NULL DEFAULT '',
    cluster_id      INTEGER,
    decision_id     INTEGER,
    payload         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);

CREATE TABLE tickets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id   INTEGER NOT NULL REFERENCES clusters (id),
    target       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    remote_key   TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    last_sync_at TIMESTAMP NOT NULL,
    UNIQUE (target, cluster_id),
    UNIQUE (target, remote_key)
);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    cluster_id      INTEGER,
    item_id         INTEGER,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending',
    error           TEXT NOT NULL DEFAULT '',
    sent_at         TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE cursors (
    source     TEXT PRIMARY KEY,
    value      TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE deliveries (
    source      TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source, delivery_id)
);

CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    tier          TEXT NOT NULL DEFAULT '',
    domains       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(domains)),
    github_logins TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(github_logins)),
    jira_accounts TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(jira_accounts)),
    updated_at    TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE partners;
DROP TABLE deliveries;
DROP TABLE cursors;
DROP TABLE notifications;
DROP TABLE tickets;
DROP TABLE outbox;
DROP TABLE sla_events;
DROP TABLE decisions;
DROP TABLE never_merge;
DROP TABLE cluster_links;
DROP TABLE refs;
DROP TABLE messages;
DROP TABLE items;
DROP TABLE clusters;
DROP TABLE records;
