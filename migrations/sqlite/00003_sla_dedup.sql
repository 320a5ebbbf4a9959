-- +goose Up
-- SLA warnings, breaches and escalation steps fire exactly once, also with several
-- instances: each carries a dedup key (cluster, metric, cycle, step) that is unique.
ALTER TABLE sla_events ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX sla_events_dedup ON sla_events (dedup_key) WHERE dedup_key IS NOT NULL;

-- +goose Down
DROP INDEX sla_events_dedup;
ALTER TABLE sla_events DROP COLUMN dedup_key;
