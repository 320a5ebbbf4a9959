-- +goose Up
-- A counter every clustering write bumps (store.ClusterBatch): a process whose
-- in-memory clustering state was loaded at another value knows that another process
-- or instance clustered items since, which its state does not hold, and rebuilds it.
CREATE TABLE clustering_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO clustering_state (id, version) VALUES (1, 0);

-- +goose Down
DROP TABLE clustering_state;
