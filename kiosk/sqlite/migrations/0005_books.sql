-- 0005: the library. Titles and their copies are the catalogue (current
-- state, edited in place); book_loans holds each loan's current state.
-- Every lend, renewal, return and every lost, damaged or write-off event
-- is also a journal entry of kind 'loan' (the 图书借阅登记表 is read from
-- the journal). SQLite cannot alter a CHECK constraint, so the journal is
-- rebuilt as in 0003, with the same rows, indexes and triggers; hashes
-- are unchanged. A later migration that rebuilds the journal again must
-- keep 'loan' in the list.
CREATE TABLE journal_new (
	seq          INTEGER PRIMARY KEY,
	id           TEXT    NOT NULL UNIQUE,
	kind         TEXT    NOT NULL CHECK (kind IN ('call_start', 'call_end', 'call_denied', 'roster', 'audit', 'system', 'equipment', 'loan')),
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

-- isbn is the 13 digits (books.ISBN); price_cents in fen.
CREATE TABLE book_titles (
	id          INTEGER PRIMARY KEY,
	isbn        TEXT    NOT NULL UNIQUE CHECK (length(isbn) = 13),
	title       TEXT    NOT NULL,
	author      TEXT    NOT NULL DEFAULT '',
	publisher   TEXT    NOT NULL DEFAULT '',
	category    TEXT    NOT NULL DEFAULT '',
	price_cents INTEGER NOT NULL DEFAULT 0 CHECK (price_cents >= 0),
	created_at  TEXT    NOT NULL,
	updated_at  TEXT    NOT NULL
);

-- barcode is canonical (books.Barcode.Code). A copy is never deleted:
-- it is written off.
CREATE TABLE book_copies (
	id         INTEGER PRIMARY KEY,
	title_id   INTEGER NOT NULL REFERENCES book_titles (id),
	barcode    TEXT    NOT NULL UNIQUE,
	condition  TEXT    NOT NULL DEFAULT 'good' CHECK (condition IN ('good', 'worn', 'damaged')),
	status     TEXT    NOT NULL DEFAULT 'shelf' CHECK (status IN ('shelf', 'lent', 'lost', 'written_off')),
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);
CREATE INDEX book_copies_title ON book_copies (title_id);

-- due is a civil date, "YYYY-MM-DD". ended is '' while the book is out;
-- outcome says how the loan ended.
CREATE TABLE book_loans (
	id            INTEGER PRIMARY KEY,
	copy_id       INTEGER NOT NULL REFERENCES book_copies (id),
	child_id      INTEGER NOT NULL REFERENCES children (id),
	lent_at       TEXT    NOT NULL,
	due           TEXT    NOT NULL,
	renewals      INTEGER NOT NULL DEFAULT 0,
	ended_at      TEXT    NOT NULL DEFAULT '',
	outcome       TEXT    NOT NULL DEFAULT '' CHECK (outcome IN ('', 'returned', 'lost'))
);
-- A copy is out to one reader at a time.
CREATE UNIQUE INDEX book_loans_open_copy ON book_loans (copy_id) WHERE ended_at = '';
CREATE INDEX book_loans_open_child ON book_loans (child_id) WHERE ended_at = '';
