package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk"
)

// The staff register (migration 0013): teachers, managers and technicians
// with their cards. A card UID is a child's or a staff member's, never
// both: AddStaffCard refuses a child's UID, AddCard and ApplyRoster refuse
// a staff card's, and triggers refuse both for any other writer. Every
// change is journaled as an 'audit' entry (actions staff_add,
// staff_card_add, staff_card_enable, staff_disable, staff_enable) naming
// who made it.

var _ kiosk.StaffRoster = (*DB)(nil)

// MaxStaffName is the longest staff name, in characters (the TV
// register's 组织教师 column takes 50).
const MaxStaffName = 50

// normStaffName trims name and checks it: 1..MaxStaffName characters, no
// control characters. EINVALID *kiosk.Error otherwise.
func normStaffName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxStaffName || !utf8.ValidString(name) {
		return "", kiosk.Errorf(kiosk.EINVALID, "a staff name has 1 to %d characters", MaxStaffName)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", kiosk.Errorf(kiosk.EINVALID, "a staff name is one line of text")
	}
	return name, nil
}

// AddStaff adds a staff member, enabled and without cards, and journals
// it (audit staff_add, by actor). name is trimmed; username, when not "",
// is an existing console user's name (NormUsername; disabled users
// count). Errors (*kiosk.Error): EINVALID for a bad name, role or
// username; ENOTFOUND when no console user has the username (add the
// user first: a typo would otherwise link nobody); ECONFLICT when the
// name is taken.
func (db *DB) AddStaff(ctx context.Context, actor, name string, role kiosk.StaffRole, username string) (kiosk.Staff, error) {
	name, err := normStaffName(name)
	if err != nil {
		return kiosk.Staff{}, err
	}
	if role, err = kiosk.ParseStaffRole(string(role)); err != nil {
		return kiosk.Staff{}, err
	}
	if username != "" {
		if username, err = NormUsername(username); err != nil {
			return kiosk.Staff{}, err
		}
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return kiosk.Staff{}, fmt.Errorf("add staff: begin: %w", err)
	}
	defer tx.Rollback()
	if username != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE username = ?`, username).Scan(&n); err != nil {
			return kiosk.Staff{}, fmt.Errorf("add staff: find user: %w", err)
		}
		if n == 0 {
			return kiosk.Staff{}, kiosk.Errorf(kiosk.ENOTFOUND, "no console user %q: add it first (kioskctl user add), or leave --user out", username)
		}
	}
	now := fmtTime(db.now())
	res, err := tx.ExecContext(ctx, `INSERT INTO staff (name, role, username, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		name, string(role), username, now, now)
	if isUniqueViolation(err) {
		return kiosk.Staff{}, kiosk.Errorf(kiosk.ECONFLICT, "a staff member named %q exists", name)
	} else if err != nil {
		return kiosk.Staff{}, fmt.Errorf("add staff: insert: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return kiosk.Staff{}, fmt.Errorf("add staff: id: %w", err)
	}
	detail := fmt.Sprintf("staff=%s role=%s", name, role)
	if username != "" {
		detail += " user=" + username
	}
	if err := db.auditTx(ctx, tx, actor, "staff_add", detail); err != nil {
		return kiosk.Staff{}, err
	}
	if err := tx.Commit(); err != nil {
		return kiosk.Staff{}, fmt.Errorf("add staff: commit: %w", err)
	}
	return kiosk.Staff{ID: kiosk.StaffID(id), Name: name, Role: role, Username: username, Enabled: true}, nil
}

// staffByName returns the member named name (trimmed) in q; ENOTFOUND
// *kiosk.Error if none.
func staffByName(ctx context.Context, q querier, name string) (kiosk.Staff, error) {
	var (
		s    kiosk.Staff
		role string
	)
	err := q.QueryRowContext(ctx, `SELECT id, name, role, username, enabled FROM staff WHERE name = ?`, strings.TrimSpace(name)).
		Scan(&s.ID, &s.Name, &role, &s.Username, &s.Enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Staff{}, kiosk.Errorf(kiosk.ENOTFOUND, "no staff member named %q", strings.TrimSpace(name))
	} else if err != nil {
		return kiosk.Staff{}, fmt.Errorf("staff by name: %w", err)
	}
	s.Role = kiosk.StaffRole(role)
	return s, nil
}

// childCardTaken reports whether uid is a child's card, enabled or not.
func childCardTaken(ctx context.Context, q querier, uid string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM cards WHERE uid = ?`, uid).Scan(&n); err != nil {
		return false, fmt.Errorf("find child card: %w", err)
	}
	return n > 0, nil
}

// staffCardTaken reports whether uid is a staff card, enabled or not.
// The child card paths (AddCard, ApplyRoster) call it.
func staffCardTaken(ctx context.Context, q querier, uid string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM staff_cards WHERE uid = ?`, uid).Scan(&n); err != nil {
		return false, fmt.Errorf("find staff card: %w", err)
	}
	return n > 0, nil
}

// AddStaffCard binds card uid (normalised, see kiosk.NormalizeUID) to the
// staff member named name, or enables it again when it is theirs and
// disabled (audit staff_card_add or staff_card_enable, by actor); a card
// already enabled for them is a no-op. Errors (*kiosk.Error): EINVALID
// for an empty uid; ENOTFOUND for an unknown member; ECONFLICT when the
// uid is a child's card or another member's.
func (db *DB) AddStaffCard(ctx context.Context, actor, name, uid string) error {
	if uid == "" {
		return kiosk.Errorf(kiosk.EINVALID, "empty card uid")
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add staff card: begin: %w", err)
	}
	defer tx.Rollback()
	st, err := staffByName(ctx, tx, name)
	if err != nil {
		return err
	}
	if child, err := childCardTaken(ctx, tx, uid); err != nil {
		return fmt.Errorf("add staff card: %w", err)
	} else if child {
		return kiosk.Errorf(kiosk.ECONFLICT, "the card is a child's card")
	}
	var (
		owner   kiosk.StaffID
		enabled bool
	)
	now := fmtTime(db.now())
	err = tx.QueryRowContext(ctx, `SELECT staff_id, enabled FROM staff_cards WHERE uid = ?`, uid).Scan(&owner, &enabled)
	action := "staff_card_add"
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_cards (uid, staff_id, enabled, created_at, updated_at) VALUES (?, ?, 1, ?, ?)`,
			uid, int64(st.ID), now, now); err != nil {
			return fmt.Errorf("add staff card: insert: %w", err)
		}
	case err != nil:
		return fmt.Errorf("add staff card: find: %w", err)
	case owner != st.ID:
		return kiosk.Errorf(kiosk.ECONFLICT, "the card belongs to another staff member")
	case enabled:
		return nil
	default:
		action = "staff_card_enable"
		if _, err := tx.ExecContext(ctx, `UPDATE staff_cards SET enabled = 1, updated_at = ? WHERE uid = ?`, now, uid); err != nil {
			return fmt.Errorf("add staff card: enable: %w", err)
		}
	}
	if err := db.auditTx(ctx, tx, actor, action, fmt.Sprintf("staff=%s card=%s", st.Name, uid)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add staff card: commit: %w", err)
	}
	return nil
}

// DisableStaff disables the member named name (audit staff_disable, by
// actor): their cards then open no staff screen. Members are never
// deleted, so the registers keep naming them. A no-op when already
// disabled; ENOTFOUND *kiosk.Error for an unknown member.
func (db *DB) DisableStaff(ctx context.Context, actor, name string) error {
	return db.setStaffEnabled(ctx, actor, name, false)
}

// EnableStaff enables a disabled member again (audit staff_enable); as
// DisableStaff otherwise.
func (db *DB) EnableStaff(ctx context.Context, actor, name string) error {
	return db.setStaffEnabled(ctx, actor, name, true)
}

func (db *DB) setStaffEnabled(ctx context.Context, actor, name string, on bool) error {
	action := "staff_disable"
	if on {
		action = "staff_enable"
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", action, err)
	}
	defer tx.Rollback()
	st, err := staffByName(ctx, tx, name)
	if err != nil {
		return err
	}
	if st.Enabled == on {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE staff SET enabled = ?, updated_at = ? WHERE id = ?`, on, fmtTime(db.now()), int64(st.ID)); err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if err := db.auditTx(ctx, tx, actor, action, "staff="+st.Name); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", action, err)
	}
	return nil
}

// Staff returns every staff member, enabled or not, by name, each with
// their enabled cards by UID.
func (db *DB) Staff(ctx context.Context) ([]kiosk.Staff, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT s.id, s.name, s.role, s.username, s.enabled, COALESCE(c.uid, '')
		FROM staff s LEFT JOIN staff_cards c ON c.staff_id = s.id AND c.enabled = 1
		ORDER BY s.name, s.id, c.uid`)
	if err != nil {
		return nil, fmt.Errorf("staff list: %w", err)
	}
	defer rows.Close()
	var out []kiosk.Staff
	for rows.Next() {
		var (
			s         kiosk.Staff
			role, uid string
		)
		if err := rows.Scan(&s.ID, &s.Name, &role, &s.Username, &s.Enabled, &uid); err != nil {
			return nil, fmt.Errorf("staff list: scan: %w", err)
		}
		s.Role = kiosk.StaffRole(role)
		if n := len(out); n > 0 && out[n-1].ID == s.ID {
			out[n-1].Cards = append(out[n-1].Cards, uid)
			continue
		}
		if uid != "" {
			s.Cards = []string{uid}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("staff list: %w", err)
	}
	return out, nil
}

// StaffByUID implements kiosk.StaffRoster: the member whose card has uid,
// with Enabled false when the member or the card is disabled; ENOTFOUND
// *kiosk.Error when no staff card has it.
func (db *DB) StaffByUID(ctx context.Context, uid string) (kiosk.Staff, error) {
	var (
		s           kiosk.Staff
		role        string
		cardEnabled bool
	)
	err := db.db.QueryRowContext(ctx, `SELECT s.id, s.name, s.role, s.username, s.enabled, c.enabled
		FROM staff_cards c JOIN staff s ON s.id = c.staff_id WHERE c.uid = ?`, uid).
		Scan(&s.ID, &s.Name, &role, &s.Username, &s.Enabled, &cardEnabled)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Staff{}, kiosk.Errorf(kiosk.ENOTFOUND, "no staff card")
	} else if err != nil {
		return kiosk.Staff{}, fmt.Errorf("staff by uid: %w", err)
	}
	s.Role = kiosk.StaffRole(role)
	s.Enabled = s.Enabled && cardEnabled
	return s, nil
}
