-- 0003: the equipment register (设备维护记录) in the journal: kind
-- 'equipment' (devices attached, faulty, recovered, replaced; the devices
-- configuration changed). SQLite cannot alter a CHECK constraint, so the
-- journal is rebuilt with the same rows, indexes and append-only triggers
-- (DROP TABLE fires no DELETE trigger); hashes are unchanged.
CREATE TABLE journal_new (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL CHECK (kind IN ('call_start', 'call_end', 'call_denied', 'roster', 'audit', 'system', 'equipment')),
	call_id      TEXT    NOT NULL DEFAULT '',
	at           TEXT    NOT NULL,
	clock_synced INTEGER NOT NULL CHECK (clock_synced IN (0, 1)),
	body         TEXT    NOT NULL,
	prev_hash    TEXT    NOT NULL,
	hash         TEXT    NOT NULL
);
INSERT INTO journal_new (seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash)
	SELECT seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash FROM journal ORDER BY seq;
DROP TABLE journal;
ALTER TABLE journal_new RENAME TO journal;

CREATE UNIQUE INDEX journal_call_once ON journal (call_id, kind)
	WHERE kind IN ('call_start', 'call_end');
CREATE INDEX journal_kind ON journal (kind, seq);

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused');
END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only: DELETE refused');
END;
