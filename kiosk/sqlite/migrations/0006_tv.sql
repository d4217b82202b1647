-- 0006: the TV register (电视播放节目记录) in the journal: kinds 'tv_start'
-- and 'tv_end', paired by the session id kept in call_id, each written
-- once (journal_tv_once); and tv_heartbeats, the last time each open
-- session was seen running, so that a restart after a crash closes it
-- there. SQLite cannot alter a CHECK constraint, so the journal is rebuilt
-- with the same rows, indexes and append-only triggers (DROP TABLE fires
-- no DELETE trigger); hashes are unchanged.
--
-- The kind list must carry every kind added by earlier migrations
-- ('loan' from 0005): a kind left out here would be refused from now on.
-- A later migration that rebuilds the journal again must keep them all
-- (TestJournalKindsKept checks it).
CREATE TABLE journal_new (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL CHECK (kind IN ('call_start', 'call_end', 'call_denied', 'roster', 'audit', 'system', 'equipment',
	                                              'loan', 'tv_start', 'tv_end')),
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
CREATE UNIQUE INDEX journal_tv_once ON journal (call_id, kind)
	WHERE kind IN ('tv_start', 'tv_end');
CREATE INDEX journal_kind ON journal (kind, seq);

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused');
END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
	SELECT RAISE(ABORT, 'journal is append-only: DELETE refused');
END;

-- Heartbeats of open TV sessions, updated in place; not part of the
-- journal. A row is removed when the session's end is journaled.
CREATE TABLE tv_heartbeats (
	session_id TEXT PRIMARY KEY,
	at         TEXT NOT NULL
);
