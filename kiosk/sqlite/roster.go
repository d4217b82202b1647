package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

var _ kiosk.Roster = (*DB)(nil)

// CardByUID returns the card with the given normalised UID, enabled or
// not; ENOTFOUND *kiosk.Error if no child has it.
func (db *DB) CardByUID(ctx context.Context, uid string) (kiosk.Card, error) {
	c := kiosk.Card{UID: uid}
	err := db.db.QueryRowContext(ctx, `SELECT child_id, enabled FROM cards WHERE uid = ?`, uid).Scan(&c.ChildID, &c.Enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Card{}, kiosk.Errorf(kiosk.ENOTFOUND, "card not found")
	} else if err != nil {
		return kiosk.Card{}, fmt.Errorf("card by uid: %w", err)
	}
	return c, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Child returns the child with the given id (its kind of left-behind
// from child_profile, migration 0015); ENOTFOUND *kiosk.Error if none.
func (db *DB) Child(ctx context.Context, id kiosk.ChildID) (kiosk.Child, error) {
	return child(ctx, db.db, id)
}

func child(ctx context.Context, q querier, id kiosk.ChildID) (kiosk.Child, error) {
	var (
		c          kiosk.Child
		status, lb string
		limitMS    int64
	)
	err := q.QueryRowContext(ctx, `SELECT c.id, c.external_id, c.name, c.gender, c.class, c.status, c.call_limit_ms, COALESCE(p.left_behind, '')
		FROM children c LEFT JOIN child_profile p ON p.child_id = c.id WHERE c.id = ?`, int64(id)).
		Scan(&c.ID, &c.ExternalID, &c.Name, &c.Gender, &c.Class, &status, &limitMS, &lb)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "child %d not found", id)
	} else if err != nil {
		return kiosk.Child{}, fmt.Errorf("child %d: %w", id, err)
	}
	c.Status = kiosk.ChildStatus(status)
	c.CallLimit = time.Duration(limitMS) * time.Millisecond
	c.LeftBehind = kiosk.LeftBehindKind(lb)
	return c, nil
}

// setLeftBehind records child id's kind of left-behind in tx (now: the
// stored time of the change); the caller journals it.
func setLeftBehind(ctx context.Context, tx *sql.Tx, id kiosk.ChildID, k kiosk.LeftBehindKind, now string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO child_profile (child_id, left_behind, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (child_id) DO UPDATE SET left_behind = excluded.left_behind, updated_at = excluded.updated_at`,
		int64(id), string(k), now)
	if err != nil {
		return fmt.Errorf("child %d: set kind of left-behind: %w", id, err)
	}
	return nil
}

// leftBehindProblem is the problem of an entry's kind of left-behind
// that is not a kiosk.LeftBehindKind, or "".
func leftBehindProblem(e kiosk.RosterEntry) string {
	if e.Child.LeftBehind.Valid() {
		return ""
	}
	return fmt.Sprintf("line %d: 留守类型: %q is not both_away, father_away, mother_away, one_away or other", e.Line, e.Child.LeftBehind)
}

// Contacts returns the child's approved contacts ordered by Slot; an
// ENOTFOUND *kiosk.Error if the child does not exist. A child with no
// contacts gets an empty slice.
func (db *DB) Contacts(ctx context.Context, id kiosk.ChildID) ([]kiosk.Contact, error) {
	if _, err := db.Child(ctx, id); err != nil {
		return nil, err
	}
	return contacts(ctx, db.db, id)
}

func contacts(ctx context.Context, q querier, id kiosk.ChildID) ([]kiosk.Contact, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, child_id, slot, name, relation, phone, modes, call_limit_ms
		FROM contacts WHERE child_id = ? ORDER BY slot`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("contacts of child %d: %w", id, err)
	}
	defer rows.Close()
	out := []kiosk.Contact{}
	for rows.Next() {
		var (
			c       kiosk.Contact
			modes   string
			limitMS int64
		)
		if err := rows.Scan(&c.ID, &c.ChildID, &c.Slot, &c.Name, &c.Relation, &c.Phone, &modes, &limitMS); err != nil {
			return nil, fmt.Errorf("contacts of child %d: scan: %w", id, err)
		}
		c.Modes = parseModes(modes)
		c.CallLimit = time.Duration(limitMS) * time.Millisecond
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("contacts of child %d: %w", id, err)
	}
	return out, nil
}

func parseModes(s string) []kiosk.Mode {
	var out []kiosk.Mode
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, kiosk.Mode(m))
		}
	}
	return out
}

func formatModes(ms []kiosk.Mode) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

// Counts is how many things a roster import added, updated, left
// unchanged and removed.
type Counts struct {
	Added, Updated, Unchanged, Removed int
}

// RosterChanges is what ApplyRoster did (or, in a dry run, would do).
// Removed is only used for contacts (a slot no longer in the file).
type RosterChanges struct {
	Children Counts
	Contacts Counts
	Cards    Counts
}

// rosterBody is the stored JSON of a 'roster' journal entry.
type rosterBody struct {
	Op         string `json:"op"`
	ChildID    int64  `json:"child_id"`
	ExternalID string `json:"external_id,omitempty"`
	Name       string `json:"name,omitempty"`
	Gender     string `json:"gender,omitempty"`
	Class      string `json:"class,omitempty"`
	Status     string `json:"status,omitempty"`
	LimitMS    int64  `json:"call_limit_ms,omitempty"`
	LeftBehind string `json:"left_behind,omitempty"` // kiosk.LeftBehindKind, of child_added and child_updated
	Slot       int    `json:"slot,omitempty"`
	Relation   string `json:"relation,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Modes      string `json:"modes,omitempty"`
	Card       string `json:"card,omitempty"`
	Line       int    `json:"line,omitempty"`
}

// journalRoster journals b in tx; a dry run (dry) journals nothing.
func (db *DB) journalRoster(ctx context.Context, tx *sql.Tx, dry bool, b rosterBody) error {
	if dry {
		return nil
	}
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("journal roster %s: %w", b.Op, err)
	}
	_, err = db.appendTx(ctx, tx, KindRoster, "", body)
	return err
}

// ApplyRoster applies a roster import in one transaction: all of it or
// nothing. Children are matched by ExternalID when set (falling back to
// name and class among children without an external id, which then get
// it), else by name and class. A matched child's fields are updated; a
// zero Child.Status keeps the stored status (new children are active).
// Fields the entry does not carry are kept: the call limits of a matched
// child and of its contacts (slot by slot) unless RosterEntry.HasLimits
// (a roster file has no limit column), its kind of left-behind unless
// RosterEntry.HasLeftBehind (the file has no 留守类型 column); a new child
// or contact gets the entry's. A
// child's contacts are replaced slot by slot (Contact.Slot, or its
// position 1..5 when zero): a slot missing from the entry is removed. Cards
// are added; a card already bound to the child is left as it is (a
// disabled card stays disabled); cards not in the entries are never
// touched, nor are children not in the entries.
//
// Every change is journaled as a 'roster' entry in the same transaction;
// re-applying the same entries changes and journals nothing. With dryRun
// the transaction is rolled back and the result says what would change.
//
// Problems (a card bound to another child, two entries for one child, more
// than 5 contacts, an ambiguous name and class, an unknown kind of
// left-behind) are returned together as
// one EINVALID *kiosk.Error whose message has one "line N: column:
// problem" line per problem.
func (db *DB) ApplyRoster(ctx context.Context, entries []kiosk.RosterEntry, dryRun bool) (RosterChanges, error) {
	ch, _, problems, err := db.applyRoster(ctx, entries, dryRun)
	if err != nil {
		return RosterChanges{}, err
	}
	if len(problems) > 0 {
		return RosterChanges{}, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(problems, "\n"))
	}
	return ch, nil
}

// RosterPreview is what a dry run of a roster import found: one pass over
// the whole file, as ApplyRoster would apply it.
type RosterPreview struct {
	// Total is what the whole file would change; meaningful only when
	// Problems is empty.
	Total RosterChanges
	// Entries is what each entry would change, index for index with the
	// entries given (zero for an entry with a problem).
	Entries []RosterChanges
	// Problems are ApplyRoster's problems, one "line N: column: problem"
	// each; empty when the file can be imported.
	Problems []string
}

// PreviewRoster is ApplyRoster's dry run with what each entry would
// change: one transaction, rolled back, and nothing journaled (a dry
// run's entries would be rolled back anyway), so a preview of a school's
// whole roster costs about one import. Errors are internal ones only;
// problems with the entries are in the result.
func (db *DB) PreviewRoster(ctx context.Context, entries []kiosk.RosterEntry) (RosterPreview, error) {
	total, per, problems, err := db.applyRoster(ctx, entries, true)
	if err != nil {
		return RosterPreview{}, err
	}
	return RosterPreview{Total: total, Entries: per, Problems: problems}, nil
}

// applyRoster is ApplyRoster's pass: the total and per-entry changes and
// every problem found; it commits only when !dryRun and there is no
// problem. A dry run journals nothing.
func (db *DB) applyRoster(ctx context.Context, entries []kiosk.RosterEntry, dryRun bool) (RosterChanges, []RosterChanges, []string, error) {
	var ch RosterChanges
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return ch, nil, nil, fmt.Errorf("apply roster: begin: %w", err)
	}
	defer tx.Rollback()
	now := fmtTime(db.now())
	var problems []string
	per := make([]RosterChanges, len(entries))
	seen := map[kiosk.ChildID]int{}
	for i, e := range entries {
		before, n := ch, len(problems)
		id, added, probs, err := db.applyChild(ctx, tx, e, now, dryRun, &ch)
		if err != nil {
			return RosterChanges{}, nil, nil, err
		}
		if len(probs) > 0 {
			problems = append(problems, probs...)
			continue
		}
		if line, ok := seen[id]; ok && !added {
			problems = append(problems, fmt.Sprintf("line %d: 姓名: same child as line %d", e.Line, line))
			continue
		}
		seen[id] = e.Line
		probs, err = db.applyContacts(ctx, tx, id, e, now, dryRun, &ch)
		if err != nil {
			return RosterChanges{}, nil, nil, err
		}
		problems = append(problems, probs...)
		probs, err = db.applyCards(ctx, tx, id, e, now, dryRun, &ch)
		if err != nil {
			return RosterChanges{}, nil, nil, err
		}
		problems = append(problems, probs...)
		if len(problems) == n {
			per[i] = ch.minus(before)
		}
	}
	if len(problems) > 0 || dryRun {
		return ch, per, problems, nil
	}
	if err := tx.Commit(); err != nil {
		return RosterChanges{}, nil, nil, fmt.Errorf("apply roster: commit: %w", err)
	}
	db.log.Info("roster applied", "children_added", ch.Children.Added, "children_updated", ch.Children.Updated,
		"contacts_changed", ch.Contacts.Added+ch.Contacts.Updated+ch.Contacts.Removed, "cards_added", ch.Cards.Added)
	return ch, per, nil, nil
}

// minus is what changed from b to ch.
func (ch RosterChanges) minus(b RosterChanges) RosterChanges {
	sub := func(x, y Counts) Counts {
		return Counts{x.Added - y.Added, x.Updated - y.Updated, x.Unchanged - y.Unchanged, x.Removed - y.Removed}
	}
	return RosterChanges{Children: sub(ch.Children, b.Children), Contacts: sub(ch.Contacts, b.Contacts), Cards: sub(ch.Cards, b.Cards)}
}

// applyChild finds or creates the entry's child and updates its fields.
func (db *DB) applyChild(ctx context.Context, tx *sql.Tx, e kiosk.RosterEntry, now string, dry bool, ch *RosterChanges) (id kiosk.ChildID, added bool, problems []string, err error) {
	want := e.Child
	if want.Name == "" {
		return 0, false, []string{fmt.Sprintf("line %d: 姓名: empty", e.Line)}, nil
	}
	if want.Status != "" && want.Status != kiosk.ChildActive && want.Status != kiosk.ChildLeft {
		return 0, false, []string{fmt.Sprintf("line %d: status: %q is not active or left", e.Line, want.Status)}, nil
	}
	if p := leftBehindProblem(e); p != "" {
		return 0, false, []string{p}, nil
	}
	var ids []kiosk.ChildID
	find := func(q string, args ...any) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("apply roster: line %d: find child: %w", e.Line, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id kiosk.ChildID
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("apply roster: line %d: find child: %w", e.Line, err)
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}
	if want.ExternalID != "" {
		// "external_id <> ''" lets SQLite use the partial unique index
		// (a scan of every child otherwise: quadratic for a whole roster).
		if err := find(`SELECT id FROM children WHERE external_id = ? AND external_id <> ''`, want.ExternalID); err != nil {
			return 0, false, nil, err
		}
		if len(ids) == 0 {
			if err := find(`SELECT id FROM children WHERE external_id = '' AND name = ? AND class = ?`, want.Name, want.Class); err != nil {
				return 0, false, nil, err
			}
		}
	} else {
		if err := find(`SELECT id FROM children WHERE name = ? AND class = ?`, want.Name, want.Class); err != nil {
			return 0, false, nil, err
		}
	}
	if len(ids) > 1 {
		return 0, false, []string{fmt.Sprintf("line %d: 姓名: %d children have this name in this class; add an id column", e.Line, len(ids))}, nil
	}
	limitMS := want.CallLimit.Milliseconds()
	if len(ids) == 0 {
		id, status, err := insertChild(ctx, tx, want, now)
		if err != nil {
			return 0, false, nil, fmt.Errorf("apply roster: line %d: add child: %w", e.Line, err)
		}
		ch.Children.Added++
		return id, true, nil, db.journalRoster(ctx, tx, dry, rosterBody{
			Op: "child_added", ChildID: int64(id), ExternalID: want.ExternalID, Name: want.Name, Gender: want.Gender,
			Class: want.Class, Status: string(status), LimitMS: limitMS, LeftBehind: string(want.LeftBehind), Line: e.Line})
	}
	cur, err := child(ctx, tx, ids[0])
	if err != nil {
		return 0, false, nil, fmt.Errorf("apply roster: line %d: %w", e.Line, err)
	}
	next := cur
	if want.ExternalID != "" {
		next.ExternalID = want.ExternalID
	}
	next.Name, next.Gender, next.Class = want.Name, want.Gender, want.Class
	if e.HasLimits {
		next.CallLimit = want.CallLimit
	}
	if e.HasLeftBehind {
		next.LeftBehind = want.LeftBehind
	}
	if want.Status != "" {
		next.Status = want.Status
	}
	if next == cur {
		ch.Children.Unchanged++
		return cur.ID, false, nil, nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE children SET external_id = ?, name = ?, gender = ?, class = ?, status = ?, call_limit_ms = ?, updated_at = ?
		WHERE id = ?`, next.ExternalID, next.Name, next.Gender, next.Class, string(next.Status), next.CallLimit.Milliseconds(), now, int64(cur.ID))
	if err != nil {
		return 0, false, nil, fmt.Errorf("apply roster: line %d: update child: %w", e.Line, err)
	}
	if next.LeftBehind != cur.LeftBehind {
		if err := setLeftBehind(ctx, tx, cur.ID, next.LeftBehind, now); err != nil {
			return 0, false, nil, fmt.Errorf("apply roster: line %d: update child: %w", e.Line, err)
		}
	}
	ch.Children.Updated++
	return cur.ID, false, nil, db.journalRoster(ctx, tx, dry, rosterBody{
		Op: "child_updated", ChildID: int64(cur.ID), ExternalID: next.ExternalID, Name: next.Name, Gender: next.Gender,
		Class: next.Class, Status: string(next.Status), LimitMS: next.CallLimit.Milliseconds(), LeftBehind: string(next.LeftBehind), Line: e.Line})
}

func (db *DB) applyContacts(ctx context.Context, tx *sql.Tx, id kiosk.ChildID, e kiosk.RosterEntry, now string, dry bool, ch *RosterChanges) ([]string, error) {
	var problems []string
	if len(e.Contacts) > 5 {
		return []string{fmt.Sprintf("line %d: 联系人: %d contacts, at most 5", e.Line, len(e.Contacts))}, nil
	}
	want := map[int]kiosk.Contact{}
	for i, c := range e.Contacts {
		if c.Slot == 0 {
			c.Slot = i + 1
		}
		switch {
		case c.Slot < 1 || c.Slot > 5:
			problems = append(problems, fmt.Sprintf("line %d: 联系人%d: slot out of 1..5", e.Line, c.Slot))
		case want[c.Slot].Slot != 0:
			problems = append(problems, fmt.Sprintf("line %d: 联系人%d: slot given twice", e.Line, c.Slot))
		case c.Phone == "":
			problems = append(problems, fmt.Sprintf("line %d: 电话%d: empty", e.Line, c.Slot))
		}
		if len(c.Modes) == 0 {
			c.Modes = []kiosk.Mode{kiosk.ModePhone}
		}
		want[c.Slot] = c
	}
	if len(problems) > 0 {
		return problems, nil
	}
	cur, err := contacts(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("apply roster: line %d: %w", e.Line, err)
	}
	body := func(op string, c kiosk.Contact) rosterBody {
		return rosterBody{Op: op, ChildID: int64(id), Slot: c.Slot, Name: c.Name, Relation: c.Relation,
			Phone: c.Phone, Modes: formatModes(c.Modes), LimitMS: c.CallLimit.Milliseconds(), Line: e.Line}
	}
	for _, c := range cur {
		w, ok := want[c.Slot]
		if !ok {
			if _, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, int64(c.ID)); err != nil {
				return nil, fmt.Errorf("apply roster: line %d: remove contact %d: %w", e.Line, c.Slot, err)
			}
			ch.Contacts.Removed++
			if err := db.journalRoster(ctx, tx, dry, body("contact_removed", c)); err != nil {
				return nil, err
			}
			continue
		}
		delete(want, c.Slot)
		if !e.HasLimits {
			w.CallLimit = c.CallLimit // the file has no limit column
		}
		if c.Name == w.Name && c.Relation == w.Relation && c.Phone == w.Phone &&
			slices.Equal(c.Modes, w.Modes) && c.CallLimit == w.CallLimit {
			ch.Contacts.Unchanged++
			continue
		}
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET name = ?, relation = ?, phone = ?, modes = ?, call_limit_ms = ?, updated_at = ?
			WHERE id = ?`, w.Name, w.Relation, w.Phone, formatModes(w.Modes), w.CallLimit.Milliseconds(), now, int64(c.ID))
		if err != nil {
			return nil, fmt.Errorf("apply roster: line %d: update contact %d: %w", e.Line, c.Slot, err)
		}
		ch.Contacts.Updated++
		if err := db.journalRoster(ctx, tx, dry, body("contact_updated", w)); err != nil {
			return nil, err
		}
	}
	for slot := 1; slot <= 5; slot++ {
		w, ok := want[slot]
		if !ok {
			continue
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO contacts (child_id, slot, name, relation, phone, modes, call_limit_ms, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, int64(id), slot, w.Name, w.Relation, w.Phone, formatModes(w.Modes), w.CallLimit.Milliseconds(), now, now)
		if err != nil {
			return nil, fmt.Errorf("apply roster: line %d: add contact %d: %w", e.Line, slot, err)
		}
		ch.Contacts.Added++
		if err := db.journalRoster(ctx, tx, dry, body("contact_added", w)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (db *DB) applyCards(ctx context.Context, tx *sql.Tx, id kiosk.ChildID, e kiosk.RosterEntry, now string, dry bool, ch *RosterChanges) ([]string, error) {
	var problems []string
	for _, uid := range e.Cards {
		if uid == "" {
			continue
		}
		if staff, err := staffCardTaken(ctx, tx, uid); err != nil { // staff.go
			return nil, fmt.Errorf("apply roster: line %d: %w", e.Line, err)
		} else if staff {
			problems = append(problems, fmt.Sprintf("line %d: 卡号: card %s is a staff card", e.Line, uid))
			continue
		}
		var owner kiosk.ChildID
		err := tx.QueryRowContext(ctx, `SELECT child_id FROM cards WHERE uid = ?`, uid).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO cards (uid, child_id, enabled, created_at, updated_at) VALUES (?, ?, 1, ?, ?)`,
				uid, int64(id), now, now); err != nil {
				return nil, fmt.Errorf("apply roster: line %d: add card: %w", e.Line, err)
			}
			ch.Cards.Added++
			if err := db.journalRoster(ctx, tx, dry, rosterBody{Op: "card_added", ChildID: int64(id), Card: uid, Line: e.Line}); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, fmt.Errorf("apply roster: line %d: find card: %w", e.Line, err)
		case owner != id:
			problems = append(problems, fmt.Sprintf("line %d: 卡号: card %s belongs to another child", e.Line, uid))
		default:
			ch.Cards.Unchanged++
		}
	}
	return problems, nil
}

// RosterEntries returns the whole roster for export, ordered by class,
// name and id: every child (active or left) with its contacts by slot and
// its enabled cards by UID. Line is 0; HasLimits and HasLeftBehind are
// true (the entries carry every stored field, so that ApplyRoster of them
// changes nothing).
func (db *DB) RosterEntries(ctx context.Context) ([]kiosk.RosterEntry, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id FROM children ORDER BY class, name, id`)
	if err != nil {
		return nil, fmt.Errorf("roster entries: %w", err)
	}
	var ids []kiosk.ChildID
	for rows.Next() {
		var id kiosk.ChildID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("roster entries: scan: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roster entries: %w", err)
	}
	out := make([]kiosk.RosterEntry, 0, len(ids))
	for _, id := range ids {
		c, err := child(ctx, db.db, id)
		if err != nil {
			return nil, fmt.Errorf("roster entries: %w", err)
		}
		cs, err := contacts(ctx, db.db, id)
		if err != nil {
			return nil, fmt.Errorf("roster entries: %w", err)
		}
		cards, err := db.cards(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, kiosk.RosterEntry{Child: c, Contacts: cs, Cards: cards, HasLimits: true, HasLeftBehind: true})
	}
	return out, nil
}

func (db *DB) cards(ctx context.Context, id kiosk.ChildID) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT uid FROM cards WHERE child_id = ? AND enabled = 1 ORDER BY uid`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("cards of child %d: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var uid string
		if err := rows.Scan(&uid); err != nil {
			return nil, fmt.Errorf("cards of child %d: %w", id, err)
		}
		out = append(out, uid)
	}
	return out, rows.Err()
}

// AddCard binds a new card to a child, or enables again a disabled card of
// the same child (both journaled); a card already enabled for the child is
// a no-op. Errors: ENOTFOUND if the child does not exist, ECONFLICT if the
// card belongs to another child.
func (db *DB) AddCard(ctx context.Context, uid string, id kiosk.ChildID) error {
	if uid == "" {
		return kiosk.Errorf(kiosk.EINVALID, "empty card uid")
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add card: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := child(ctx, tx, id); err != nil {
		return err
	}
	if staff, err := staffCardTaken(ctx, tx, uid); err != nil { // staff.go
		return fmt.Errorf("add card: %w", err)
	} else if staff {
		return kiosk.Errorf(kiosk.ECONFLICT, "the card is a staff card")
	}
	now := fmtTime(db.now())
	var (
		owner   kiosk.ChildID
		enabled bool
	)
	err = tx.QueryRowContext(ctx, `SELECT child_id, enabled FROM cards WHERE uid = ?`, uid).Scan(&owner, &enabled)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO cards (uid, child_id, enabled, created_at, updated_at) VALUES (?, ?, 1, ?, ?)`,
			uid, int64(id), now, now); err != nil {
			return fmt.Errorf("add card: %w", err)
		}
		if err := db.journalRoster(ctx, tx, false, rosterBody{Op: "card_added", ChildID: int64(id), Card: uid}); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("add card: find: %w", err)
	case owner != id:
		return kiosk.Errorf(kiosk.ECONFLICT, "card belongs to another child")
	case enabled:
		return nil
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE cards SET enabled = 1, updated_at = ? WHERE uid = ?`, now, uid); err != nil {
			return fmt.Errorf("add card: enable: %w", err)
		}
		if err := db.journalRoster(ctx, tx, false, rosterBody{Op: "card_enabled", ChildID: int64(id), Card: uid}); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add card: commit: %w", err)
	}
	return nil
}

// DisableCard disables a card (lost or stolen), journaled; it stays bound
// to its child and is never deleted. Disabling a disabled card is a no-op;
// an unknown card is ENOTFOUND.
func (db *DB) DisableCard(ctx context.Context, uid string) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("disable card: begin: %w", err)
	}
	defer tx.Rollback()
	var (
		owner   kiosk.ChildID
		enabled bool
	)
	err = tx.QueryRowContext(ctx, `SELECT child_id, enabled FROM cards WHERE uid = ?`, uid).Scan(&owner, &enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Errorf(kiosk.ENOTFOUND, "card not found")
	} else if err != nil {
		return fmt.Errorf("disable card: find: %w", err)
	}
	if !enabled {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cards SET enabled = 0, updated_at = ? WHERE uid = ?`, fmtTime(db.now()), uid); err != nil {
		return fmt.Errorf("disable card: %w", err)
	}
	if err := db.journalRoster(ctx, tx, false, rosterBody{Op: "card_disabled", ChildID: int64(owner), Card: uid}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("disable card: commit: %w", err)
	}
	return nil
}

// SetChildStatus sets a child active or left (journaled; a no-op when
// unchanged). Errors: EINVALID for another status, ENOTFOUND for an
// unknown child.
func (db *DB) SetChildStatus(ctx context.Context, id kiosk.ChildID, status kiosk.ChildStatus) error {
	if status != kiosk.ChildActive && status != kiosk.ChildLeft {
		return kiosk.Errorf(kiosk.EINVALID, "status %q is not active or left", status)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set child status: begin: %w", err)
	}
	defer tx.Rollback()
	c, err := child(ctx, tx, id)
	if err != nil {
		return err
	}
	if c.Status == status {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE children SET status = ?, updated_at = ? WHERE id = ?`, string(status), fmtTime(db.now()), int64(id)); err != nil {
		return fmt.Errorf("set child status: %w", err)
	}
	if err := db.journalRoster(ctx, tx, false, rosterBody{Op: "child_status", ChildID: int64(id), Status: string(status)}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set child status: commit: %w", err)
	}
	return nil
}
