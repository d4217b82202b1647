-- 0011: erasure of a left child's personal data (retention; PIPL art. 19
-- and 47), see erase.go. The journal stays append-only and hash chained:
-- an erasure is a 'roster' entry (op "erase") that lists, for every
-- earlier entry it redacts, the entry's hash and the chain hash the entry
-- has with its redacted body; only then are those bodies replaced, and
-- Verify checks a redacted entry against that list instead of its own
-- content (journal.go, entryProblem).

-- Every statement here can run twice (IF NOT EXISTS, DROP ... IF
-- EXISTS), as tests that re-run migrations do.

-- The erased children: when (a stored time, see timeFormat) and by which
-- erasure entry. Insert-only.
CREATE TABLE IF NOT EXISTS erased_children (
	child_id    INTEGER PRIMARY KEY REFERENCES children (id),
	erased_at   TEXT    NOT NULL,
	erasure_seq INTEGER NOT NULL
);
DROP TRIGGER IF EXISTS erased_children_no_update;
CREATE TRIGGER erased_children_no_update BEFORE UPDATE ON erased_children
BEGIN
	SELECT RAISE(ABORT, 'erased children are append-only: UPDATE refused');
END;
DROP TRIGGER IF EXISTS erased_children_no_delete;
CREATE TRIGGER erased_children_no_delete BEFORE DELETE ON erased_children
BEGIN
	SELECT RAISE(ABORT, 'erased children are append-only: DELETE refused');
END;

-- The redacted bodies, registered before the journal rows are updated:
-- the one UPDATE the journal accepts sets a row's body to the body
-- registered for it by the latest erasure, every other column unchanged.
-- Verify does not read this table (the erasure entries in the chain are
-- the record); it exists so that the trigger can tell an erasure from an
-- edit. Insert-only, as the journal.
CREATE TABLE IF NOT EXISTS journal_redactions (
	seq         INTEGER NOT NULL,
	erasure_seq INTEGER NOT NULL CHECK (erasure_seq > seq),
	body        TEXT    NOT NULL,
	PRIMARY KEY (seq, erasure_seq)
);
DROP TRIGGER IF EXISTS journal_redactions_no_update;
CREATE TRIGGER journal_redactions_no_update BEFORE UPDATE ON journal_redactions
BEGIN
	SELECT RAISE(ABORT, 'journal redactions are append-only: UPDATE refused');
END;
DROP TRIGGER IF EXISTS journal_redactions_no_delete;
CREATE TRIGGER journal_redactions_no_delete BEFORE DELETE ON journal_redactions
BEGIN
	SELECT RAISE(ABORT, 'journal redactions are append-only: DELETE refused');
END;

-- A later migration that rebuilds the journal (a new kind) must create
-- this trigger again, not 0001's blanket one, or erasure stops working.
DROP TRIGGER IF EXISTS journal_no_update;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
WHEN NOT (
	NEW.seq IS OLD.seq AND NEW.id IS OLD.id AND NEW.kind IS OLD.kind AND NEW.call_id IS OLD.call_id
	AND NEW.at IS OLD.at AND NEW.clock_synced IS OLD.clock_synced
	AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
	AND NEW.body IS (SELECT r.body FROM journal_redactions r WHERE r.seq = OLD.seq
	                 ORDER BY r.erasure_seq DESC LIMIT 1)
	AND EXISTS (SELECT 1 FROM journal e WHERE e.kind = 'roster' AND e.seq =
	            (SELECT MAX(r.erasure_seq) FROM journal_redactions r WHERE r.seq = OLD.seq))
)
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused (only a registered erasure may replace a body)');
END;

-- Consents stay append-only, except the erasure of an erased child's
-- free text: note and relation set to '', nothing else changed.
DROP TRIGGER IF EXISTS consents_no_update;
CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
WHEN NOT (
	NEW.id IS OLD.id AND NEW.child_id IS OLD.child_id AND NEW.given_on IS OLD.given_on
	AND NEW.method IS OLD.method AND NEW.recorded_by IS OLD.recorded_by
	AND NEW.recorded_at IS OLD.recorded_at AND NEW.withdrawn IS OLD.withdrawn
	AND NEW.note = '' AND NEW.relation = ''
	AND EXISTS (SELECT 1 FROM erased_children e WHERE e.child_id = OLD.child_id)
)
BEGIN
	SELECT RAISE(ABORT, 'consents are append-only: UPDATE refused');
END;

-- An erased child stays erased: left, under its pseudonym, with no
-- contacts or cards.
DROP TRIGGER IF EXISTS children_erased_final;
CREATE TRIGGER children_erased_final BEFORE UPDATE ON children
WHEN EXISTS (SELECT 1 FROM erased_children e WHERE e.child_id = OLD.id)
	AND (NEW.status IS NOT 'left' OR NEW.name IS NOT OLD.name
	     OR NEW.external_id IS NOT OLD.external_id OR NEW.gender IS NOT OLD.gender)
BEGIN
	SELECT RAISE(ABORT, 'child erased: status and personal fields are final');
END;
DROP TRIGGER IF EXISTS contacts_not_erased;
CREATE TRIGGER contacts_not_erased BEFORE INSERT ON contacts
WHEN EXISTS (SELECT 1 FROM erased_children e WHERE e.child_id = NEW.child_id)
BEGIN
	SELECT RAISE(ABORT, 'child erased: no contacts may be added');
END;
DROP TRIGGER IF EXISTS cards_not_erased;
CREATE TRIGGER cards_not_erased BEFORE INSERT ON cards
WHEN EXISTS (SELECT 1 FROM erased_children e WHERE e.child_id = NEW.child_id)
BEGIN
	SELECT RAISE(ABORT, 'child erased: no cards may be added');
END;
