package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

var _ kiosk.Links = (*DB)(nil)

// TokenBytes is how many random bytes a parent link's token carries: 160
// bits from crypto/rand.
const TokenBytes = 20

// TokenLen is the length of a token in characters: TokenBytes in base32
// (RFC 4648 section 6 alphabet, lowercase, no padding), URL-safe as is.
const TokenLen = (TokenBytes*8 + 4) / 5

// tokenEncoding is base32 (RFC 4648) in lowercase without padding.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newToken returns a fresh random token of TokenLen characters.
func newToken() string {
	b := make([]byte, TokenBytes)
	rand.Read(b) // never fails (crypto/rand, Go >= 1.24)
	return tokenEncoding.EncodeToString(b)
}

// tokenHash is what is stored for a token: lowercase hex SHA-256 of its
// bytes.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// validToken reports whether s has the shape of a token (TokenLen
// characters of the lowercase base32 alphabet).
func validToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// linkBody is the stored JSON of the 'roster' journal entries for parent
// links; it names the link and the contact, never the token or its hash.
type linkBody struct {
	Op        string `json:"op"` // link_created, link_revoked
	ChildID   int64  `json:"child_id"`
	ContactID int64  `json:"contact_id"`
	Slot      int    `json:"slot"`
	LinkID    int64  `json:"link_id"`
	Expires   string `json:"expires,omitempty"`
}

func (db *DB) journalLink(ctx context.Context, tx *sql.Tx, b linkBody) error {
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("journal %s: %w", b.Op, err)
	}
	_, err = db.appendTx(ctx, tx, KindRoster, "", body)
	return err
}

// contactByID returns a contact; ENOTFOUND *kiosk.Error if none.
func contactByID(ctx context.Context, q querier, id kiosk.ContactID) (kiosk.Contact, error) {
	var (
		c       kiosk.Contact
		modes   string
		limitMS int64
	)
	err := q.QueryRowContext(ctx, `SELECT id, child_id, slot, name, relation, phone, modes, call_limit_ms
		FROM contacts WHERE id = ?`, int64(id)).
		Scan(&c.ID, &c.ChildID, &c.Slot, &c.Name, &c.Relation, &c.Phone, &modes, &limitMS)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Contact{}, kiosk.Errorf(kiosk.ENOTFOUND, "contact %d not found", id)
	} else if err != nil {
		return kiosk.Contact{}, fmt.Errorf("contact %d: %w", id, err)
	}
	c.Modes = parseModes(modes)
	c.CallLimit = time.Duration(limitMS) * time.Millisecond
	return c, nil
}

// CreateLink makes a new parent link for the contact and returns its token
// (TokenLen characters, lowercase base32 of TokenBytes random bytes; shown
// once: only its SHA-256 is stored) and the link. expires may be zero (the
// link never expires). The creation is journaled as a 'roster' entry
// (op link_created, with child, contact, slot, link id and expiry; never
// the token), in the same transaction.
//
// Errors (*kiosk.Error): ENOTFOUND for an unknown contact, EGONE when the
// contact's child has left, EINVALID when expires is not after now.
func (db *DB) CreateLink(ctx context.Context, contact kiosk.ContactID, expires time.Time) (string, kiosk.ParentLink, error) {
	now := db.now()
	if !expires.IsZero() && !expires.After(now) {
		return "", kiosk.ParentLink{}, kiosk.Errorf(kiosk.EINVALID, "link expiry %s is not in the future", expires.Format(time.RFC3339))
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return "", kiosk.ParentLink{}, fmt.Errorf("create link: begin: %w", err)
	}
	defer tx.Rollback()
	c, err := contactByID(ctx, tx, contact)
	if err != nil {
		return "", kiosk.ParentLink{}, err
	}
	ch, err := child(ctx, tx, c.ChildID)
	if err != nil {
		return "", kiosk.ParentLink{}, fmt.Errorf("create link: %w", err)
	}
	if ch.Status == kiosk.ChildLeft {
		return "", kiosk.ParentLink{}, kiosk.Errorf(kiosk.EGONE, "child %d has left", ch.ID)
	}
	token := newToken()
	res, err := tx.ExecContext(ctx, `INSERT INTO parent_links (contact_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		int64(contact), tokenHash(token), fmtTime(now), fmtTime(expires))
	if err != nil {
		return "", kiosk.ParentLink{}, fmt.Errorf("create link: insert: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return "", kiosk.ParentLink{}, fmt.Errorf("create link: insert: %w", err)
	}
	if err := db.journalLink(ctx, tx, linkBody{Op: "link_created", ChildID: int64(c.ChildID), ContactID: int64(contact),
		Slot: c.Slot, LinkID: id, Expires: fmtTime(expires)}); err != nil {
		return "", kiosk.ParentLink{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", kiosk.ParentLink{}, fmt.Errorf("create link: commit: %w", err)
	}
	db.log.Info("parent link created", "link", id, "contact", int64(contact))
	link, err := parseLink(id, int64(contact), fmtTime(now), fmtTime(expires), "")
	if err != nil {
		return "", kiosk.ParentLink{}, fmt.Errorf("create link: %w", err)
	}
	return token, link, nil
}

func parseLink(id, contact int64, created, expires, revoked string) (kiosk.ParentLink, error) {
	l := kiosk.ParentLink{ID: id, Contact: kiosk.ContactID(contact), Revoked: revoked != ""}
	var err error
	if l.Created, err = parseTime(created); err != nil {
		return kiosk.ParentLink{}, fmt.Errorf("link %d: %w", id, err)
	}
	if l.Expires, err = parseTime(expires); err != nil {
		return kiosk.ParentLink{}, fmt.Errorf("link %d: %w", id, err)
	}
	return l, nil
}

const linkColumns = `id, contact_id, created_at, expires_at, revoked_at`

func scanLink(row interface{ Scan(...any) error }) (kiosk.ParentLink, error) {
	var (
		id, contact               int64
		created, expires, revoked string
	)
	if err := row.Scan(&id, &contact, &created, &expires, &revoked); err != nil {
		return kiosk.ParentLink{}, err
	}
	return parseLink(id, contact, created, expires, revoked)
}

// ResolveLink returns the link whose token is given, its contact and the
// contact's child. The token is looked up by its SHA-256, so the lookup
// time does not depend on how much of a guessed token matches a real one;
// rate-limiting guesses is the caller's job. Uppercase letters are folded
// to lowercase (base32 is case-insensitive).
//
// Errors (*kiosk.Error): ENOTFOUND for an unknown or malformed token, EGONE
// for a revoked link, an expired one (now at or after Expires) or a link
// of a child who left. On error the results are zero.
func (db *DB) ResolveLink(ctx context.Context, token string) (kiosk.ParentLink, kiosk.Contact, kiosk.Child, error) {
	token = strings.ToLower(token)
	if !validToken(token) {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "no such link")
	}
	l, err := scanLink(db.db.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM parent_links WHERE token_hash = ?`, tokenHash(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "no such link")
	} else if err != nil {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, fmt.Errorf("resolve link: %w", err)
	}
	switch {
	case l.Revoked:
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.EGONE, "this link was revoked")
	case !l.Expires.IsZero() && !db.now().Before(l.Expires):
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.EGONE, "this link has expired")
	}
	c, err := contactByID(ctx, db.db, l.Contact)
	if err != nil {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, fmt.Errorf("resolve link %d: %w", l.ID, err)
	}
	ch, err := db.Child(ctx, c.ChildID)
	if err != nil {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, fmt.Errorf("resolve link %d: %w", l.ID, err)
	}
	if ch.Status == kiosk.ChildLeft {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.EGONE, "this link is no longer valid")
	}
	return l, c, ch, nil
}

// Link returns the link with the given id, revoked or not; ENOTFOUND
// *kiosk.Error if none.
func (db *DB) Link(ctx context.Context, id int64) (kiosk.ParentLink, error) {
	l, err := scanLink(db.db.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM parent_links WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.ParentLink{}, kiosk.Errorf(kiosk.ENOTFOUND, "link %d not found", id)
	} else if err != nil {
		return kiosk.ParentLink{}, fmt.Errorf("link %d: %w", id, err)
	}
	return l, nil
}

// RevokeLink revokes a link by id, journaled as a 'roster' entry (op
// link_revoked) in the same transaction. Revoking a revoked link is a
// no-op (nothing journaled). ENOTFOUND *kiosk.Error if there is no such
// link.
func (db *DB) RevokeLink(ctx context.Context, id int64) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revoke link: begin: %w", err)
	}
	defer tx.Rollback()
	var (
		contact int64
		revoked string
	)
	err = tx.QueryRowContext(ctx, `SELECT contact_id, revoked_at FROM parent_links WHERE id = ?`, id).Scan(&contact, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Errorf(kiosk.ENOTFOUND, "link %d not found", id)
	} else if err != nil {
		return fmt.Errorf("revoke link %d: %w", id, err)
	}
	if revoked != "" {
		return nil
	}
	c, err := contactByID(ctx, tx, kiosk.ContactID(contact))
	if err != nil {
		return fmt.Errorf("revoke link %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE parent_links SET revoked_at = ? WHERE id = ?`, fmtTime(db.now()), id); err != nil {
		return fmt.Errorf("revoke link %d: %w", id, err)
	}
	if err := db.journalLink(ctx, tx, linkBody{Op: "link_revoked", ChildID: int64(c.ChildID), ContactID: contact,
		Slot: c.Slot, LinkID: id}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke link %d: commit: %w", id, err)
	}
	db.log.Info("parent link revoked", "link", id, "contact", contact)
	return nil
}

// Links lists a contact's links, revoked and expired ones included, newest
// first; ENOTFOUND *kiosk.Error for an unknown contact. A contact with no
// links gets an empty slice.
func (db *DB) Links(ctx context.Context, contact kiosk.ContactID) ([]kiosk.ParentLink, error) {
	if _, err := contactByID(ctx, db.db, contact); err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+linkColumns+` FROM parent_links WHERE contact_id = ? ORDER BY id DESC`, int64(contact))
	if err != nil {
		return nil, fmt.Errorf("links of contact %d: %w", contact, err)
	}
	defer rows.Close()
	out := []kiosk.ParentLink{}
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, fmt.Errorf("links of contact %d: %w", contact, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("links of contact %d: %w", contact, err)
	}
	return out, nil
}

// SetAvailableUntil stores on the contact the time until which the parent
// says they can take a video call; the zero time clears it. Not journaled
// (it is the parent's say, not a roster change). ENOTFOUND *kiosk.Error
// for an unknown contact.
func (db *DB) SetAvailableUntil(ctx context.Context, contact kiosk.ContactID, until time.Time) error {
	res, err := db.db.ExecContext(ctx, `UPDATE contacts SET available_until = ? WHERE id = ?`, fmtTime(until), int64(contact))
	if err != nil {
		return fmt.Errorf("set available until: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kiosk.Errorf(kiosk.ENOTFOUND, "contact %d not found", contact)
	}
	return nil
}

// AvailableUntil returns the time until which the contact's parent said
// they can take a video call (UTC), or the zero time if they said nothing
// or that time has passed (now at or after it). ENOTFOUND *kiosk.Error for
// an unknown contact.
func (db *DB) AvailableUntil(ctx context.Context, contact kiosk.ContactID) (time.Time, error) {
	var s string
	err := db.db.QueryRowContext(ctx, `SELECT available_until FROM contacts WHERE id = ?`, int64(contact)).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, kiosk.Errorf(kiosk.ENOTFOUND, "contact %d not found", contact)
	} else if err != nil {
		return time.Time{}, fmt.Errorf("available until of contact %d: %w", contact, err)
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("available until of contact %d: %w", contact, err)
	}
	if !t.IsZero() && !db.now().Before(t) {
		return time.Time{}, nil
	}
	return t, nil
}

// ContactBySlot returns the child's contact in slot 1..5. Errors
// (*kiosk.Error): EINVALID for a slot out of 1..5, ENOTFOUND for an
// unknown child or an empty slot.
func (db *DB) ContactBySlot(ctx context.Context, id kiosk.ChildID, slot int) (kiosk.Contact, error) {
	if slot < 1 || slot > 5 {
		return kiosk.Contact{}, kiosk.Errorf(kiosk.EINVALID, "contact slot %d is not 1..5", slot)
	}
	cs, err := db.Contacts(ctx, id)
	if err != nil {
		return kiosk.Contact{}, err
	}
	for _, c := range cs {
		if c.Slot == slot {
			return c, nil
		}
	}
	return kiosk.Contact{}, kiosk.Errorf(kiosk.ENOTFOUND, "child %d has no contact %d", id, slot)
}

// ChildByName finds children for a person typing at a console: the child
// whose external id is nameOrID if there is one, else every child whose
// name is exactly nameOrID (active or left), ordered by class and id, else
// the child whose console number (row id) it is; the caller disambiguates
// several. ENOTFOUND *kiosk.Error if none matches.
func (db *DB) ChildByName(ctx context.Context, nameOrID string) ([]kiosk.Child, error) {
	nameOrID = strings.TrimSpace(nameOrID)
	if nameOrID == "" {
		return nil, kiosk.Errorf(kiosk.EINVALID, "empty child name or id")
	}
	find := func(q string) ([]kiosk.ChildID, error) {
		rows, err := db.db.QueryContext(ctx, q, nameOrID)
		if err != nil {
			return nil, fmt.Errorf("child by name: %w", err)
		}
		defer rows.Close()
		var ids []kiosk.ChildID
		for rows.Next() {
			var id kiosk.ChildID
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("child by name: %w", err)
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	}
	ids, err := find(`SELECT id FROM children WHERE external_id = ? AND external_id <> ''`)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		if ids, err = find(`SELECT id FROM children WHERE name = ? ORDER BY class, id`); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		// Last, the console's child number (/console/children/N).
		if ids, err = find(`SELECT id FROM children WHERE CAST(id AS TEXT) = ?`); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, kiosk.Errorf(kiosk.ENOTFOUND, "no child with roster id, name or console number %q", nameOrID)
	}
	out := make([]kiosk.Child, 0, len(ids))
	for _, id := range ids {
		c, err := db.Child(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("child by name: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}
