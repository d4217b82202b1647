-- 0001: roster, journal, call heartbeats.

CREATE TABLE children (
	id            INTEGER PRIMARY KEY,
	external_id   TEXT    NOT NULL DEFAULT '',
	name          TEXT    NOT NULL,
	gender        TEXT    NOT NULL DEFAULT '',
	class         TEXT    NOT NULL DEFAULT '',
	status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
	call_limit_ms INTEGER NOT NULL DEFAULT 0 CHECK (call_limit_ms >= 0),
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL
);
CREATE UNIQUE INDEX children_external_id ON children (external_id) WHERE external_id <> '';
CREATE INDEX children_name_class ON children (name, class);

CREATE TABLE contacts (
	id            INTEGER PRIMARY KEY,
	child_id      INTEGER NOT NULL REFERENCES children (id),
	slot          INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 5),
	name          TEXT    NOT NULL,
	relation      TEXT    NOT NULL DEFAULT '',
	phone         TEXT    NOT NULL,
	modes         TEXT    NOT NULL DEFAULT 'phone',
	call_limit_ms INTEGER NOT NULL DEFAULT 0 CHECK (call_limit_ms >= 0),
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL,
	UNIQUE (child_id, slot)
);

CREATE TABLE cards (
	uid        TEXT    PRIMARY KEY,
	child_id   INTEGER NOT NULL REFERENCES children (id),
	enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);
CREATE INDEX cards_child ON cards (child_id);

-- The journal is append-only and hash-chained; see journal.go for the
-- canonical bytes that hash covers.
CREATE TABLE journal (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL CHECK (kind IN ('call_start', 'call_end', 'call_denied', 'roster', 'audit', 'system')),
	call_id      TEXT    NOT NULL DEFAULT '',
	at           TEXT    NOT NULL,
	clock_synced INTEGER NOT NULL CHECK (clock_synced IN (0, 1)),
	body         TEXT    NOT NULL,
	prev_hash    TEXT    NOT NULL,
	hash         TEXT    NOT NULL
);
-- A call is started once and ended once: a second start or end entry is
-- refused by the database itself.
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

-- Heartbeats of calls in progress, updated in place every few seconds; not
-- part of the journal. A row is removed when the call's end is journaled.
CREATE TABLE call_heartbeats (
	call_id     TEXT PRIMARY KEY,
	at          TEXT NOT NULL,
	answered_at TEXT NOT NULL DEFAULT ''
);
