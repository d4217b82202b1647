-- 0008: the guardians' consent register (监护人同意登记, PIPL: children
-- under 14). Append-only: a correction or a withdrawal is a new row, and a
-- child's current state is the row with the highest id. Dates are local
-- calendar dates 'YYYY-MM-DD'; withdrawn is '' while the consent stands.
-- Every row is journaled as a 'roster' entry (op consent_recorded or
-- consent_withdrawn: child id, row id, method, dates, actor; no names).
CREATE TABLE consents (
	id          INTEGER PRIMARY KEY,
	child_id    INTEGER NOT NULL REFERENCES children (id),
	given_on    TEXT    NOT NULL CHECK (given_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	method      TEXT    NOT NULL CHECK (method IN ('written', 'phone', 'meeting', 'other')),
	note        TEXT    NOT NULL DEFAULT '',
	relation    TEXT    NOT NULL,
	recorded_by TEXT    NOT NULL,
	recorded_at TEXT    NOT NULL,
	withdrawn   TEXT    NOT NULL DEFAULT ''
		CHECK (withdrawn = '' OR withdrawn GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]')
);
CREATE INDEX consents_child ON consents (child_id, id);

CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
BEGIN
	SELECT RAISE(ABORT, 'consents are append-only: UPDATE refused');
END;
CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents
BEGIN
	SELECT RAISE(ABORT, 'consents are append-only: DELETE refused');
END;
