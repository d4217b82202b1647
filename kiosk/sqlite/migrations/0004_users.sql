-- 0004: console users, their sessions, login attempts (rate limiting) and
-- the one-time setup token for the first manager. Nothing here is
-- journaled itself: every change is journaled as an 'audit' entry by the
-- Go code, without passwords, session ids or tokens.

-- username is lowercase ASCII (see validUsername); password_hash is an
-- argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$key).
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	username      TEXT    NOT NULL UNIQUE,
	display_name  TEXT    NOT NULL DEFAULT '',
	role          TEXT    NOT NULL CHECK (role IN ('manager', 'principal', 'inspector', 'technician')),
	password_hash TEXT    NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at    TEXT    NOT NULL,
	updated_at    TEXT    NOT NULL,
	last_login    TEXT    NOT NULL DEFAULT ''
);

-- A session id is never stored: id_hash is the lowercase hex SHA-256 of
-- the id's ASCII bytes. Sessions die with their user's password change or
-- disabling (deleted by the Go code) and are pruned when expired.
CREATE TABLE sessions (
	id_hash    TEXT    PRIMARY KEY CHECK (length(id_hash) = 64),
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at TEXT    NOT NULL,
	last_seen  TEXT    NOT NULL,
	address    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Login attempts, for the rate limits per account and per address; rows
-- older than a day are pruned at each login. outcome: ok, bad (wrong
-- password or unknown user), locked (refused without checking).
CREATE TABLE login_attempts (
	id       INTEGER PRIMARY KEY,
	at       TEXT    NOT NULL,
	username TEXT    NOT NULL,
	address  TEXT    NOT NULL,
	outcome  TEXT    NOT NULL CHECK (outcome IN ('ok', 'bad', 'locked'))
);
CREATE INDEX login_attempts_user ON login_attempts (username, at);
CREATE INDEX login_attempts_address ON login_attempts (address, at);

-- At most one setup token at a time; token_hash as for sessions.
CREATE TABLE setup_token (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	token_hash TEXT    NOT NULL CHECK (length(token_hash) = 64),
	created_at TEXT    NOT NULL
);
