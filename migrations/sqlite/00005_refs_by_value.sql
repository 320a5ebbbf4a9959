-- +goose Up
-- Reference lookups ("which items mention this key or Message-ID?") filter on the
-- value alone; the (kind, value) index cannot serve them, so each scanned refs.
CREATE INDEX refs_by_value ON refs (value);

-- +goose Down
DROP INDEX refs_by_value;
