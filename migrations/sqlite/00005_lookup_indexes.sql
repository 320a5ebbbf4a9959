-- +goose Up
-- Reference lookups ("which items mention this key or Message-ID?") filter on the
-- value alone; the (kind, value) index cannot serve them, so each scanned refs.
CREATE INDEX refs_by_value ON refs (value);
-- Each clustering pass asks for the newest merge or unmerge decision, to notice moves
-- made by another instance (store.MembershipVersion).
CREATE INDEX decisions_action ON decisions (action, id);

-- +goose Down
DROP INDEX decisions_action;
DROP INDEX refs_by_value;
