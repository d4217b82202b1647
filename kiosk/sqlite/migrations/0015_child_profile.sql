-- 0015: the kind of left-behind child (留守类型) the roster records for a
-- child (kiosk.LeftBehindKind): both_away, father_away, mother_away,
-- one_away (单亲外出, not said which) or other; a child without a row,
-- or with '', is not recorded. A table of its own rather than a column of
-- children: ALTER TABLE ADD COLUMN cannot run twice, and tests re-run the
-- migrations after 0008 on a file that has them (calls_test.go). Rows
-- are written with the roster (ApplyRoster, SaveChild) and every change
-- is in the 'roster' entry of the child (body left_behind).
CREATE TABLE IF NOT EXISTS child_profile (
	child_id    INTEGER PRIMARY KEY REFERENCES children (id),
	left_behind TEXT    NOT NULL DEFAULT ''
		CHECK (left_behind IN ('', 'both_away', 'father_away', 'mother_away', 'one_away', 'other')),
	updated_at  TEXT    NOT NULL
);

-- An erasure (0011, erase.go) removes the child's kind with its other
-- personal fields, and an erased child gets none again.
DROP TRIGGER IF EXISTS child_profile_erase;
CREATE TRIGGER child_profile_erase AFTER INSERT ON erased_children
BEGIN
	DELETE FROM child_profile WHERE child_id = NEW.child_id;
END;
DROP TRIGGER IF EXISTS child_profile_not_erased;
CREATE TRIGGER child_profile_not_erased BEFORE INSERT ON child_profile
WHEN EXISTS (SELECT 1 FROM erased_children e WHERE e.child_id = NEW.child_id)
BEGIN
	SELECT RAISE(ABORT, 'child erased: no kind of left-behind may be recorded');
END;
