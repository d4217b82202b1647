-- 0002: parents' personal links to the video page (/p/{token}) and what
-- parents say about themselves ("available until 21:00").

-- available_until is a stored time (see timeFormat), '' when not said.
ALTER TABLE contacts ADD COLUMN available_until TEXT NOT NULL DEFAULT '';

-- A link's token is never stored: token_hash is the lowercase hex SHA-256
-- of the token's ASCII bytes. A link dies with its contact (a slot removed
-- by a roster import); revoked_at and expires_at are '' when not set.
CREATE TABLE parent_links (
	id         INTEGER PRIMARY KEY,
	contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	token_hash TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64),
	created_at TEXT    NOT NULL,
	expires_at TEXT    NOT NULL DEFAULT '',
	revoked_at TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX parent_links_contact ON parent_links (contact_id, id);

-- A slot given to another person (a new name or number for the same slot)
-- must not keep the previous person's links working: they are revoked with
-- the change, which the roster import journals.
CREATE TRIGGER parent_links_revoke_on_contact_change
AFTER UPDATE OF name, phone ON contacts
WHEN NEW.name IS NOT OLD.name OR NEW.phone IS NOT OLD.phone
BEGIN
	UPDATE parent_links SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
	WHERE contact_id = NEW.id AND revoked_at = '';
END;
