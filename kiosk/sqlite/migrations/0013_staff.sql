-- 0013: the staff register. Teachers, managers and technicians carry
-- cards too: a staff card tapped at a booth opens the staff screen (the TV
-- panel) instead of a child's screens. Every change is journaled as an
-- 'audit' entry by the Go code (staff.go), with who made it. Every
-- statement is IF NOT EXISTS: like 0010 to 0012, it may run over itself.

-- name is what the TV register's 组织教师 column shows and how kioskctl
-- names the member (unique). username is the member's console user, if
-- any ('' otherwise); it is informational, not a foreign key.
CREATE TABLE IF NOT EXISTS staff (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE CHECK (length(name) > 0),
	role       TEXT    NOT NULL CHECK (role IN ('teacher', 'manager', 'technician')),
	username   TEXT    NOT NULL DEFAULT '',
	enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);

-- A staff member's cards, like a child's (cards): uid is normalised
-- (uppercase hex), a lost card is disabled, never deleted.
CREATE TABLE IF NOT EXISTS staff_cards (
	uid        TEXT    PRIMARY KEY,
	staff_id   INTEGER NOT NULL REFERENCES staff (id),
	enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_cards_staff ON staff_cards (staff_id);

-- A UID is a child's card or a staff card, never both. The Go code checks
-- it first (with a clear error); these triggers hold the line for any
-- other writer.
CREATE TRIGGER IF NOT EXISTS staff_cards_not_child BEFORE INSERT ON staff_cards
WHEN EXISTS (SELECT 1 FROM cards WHERE uid = NEW.uid)
BEGIN
	SELECT RAISE(ABORT, 'card uid belongs to a child');
END;
CREATE TRIGGER IF NOT EXISTS cards_not_staff BEFORE INSERT ON cards
WHEN EXISTS (SELECT 1 FROM staff_cards WHERE uid = NEW.uid)
BEGIN
	SELECT RAISE(ABORT, 'card uid belongs to a staff member');
END;
