package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qinqing/station/kiosk"
)

// Audit actions of SaveChild.
const (
	AuditChildAdd  = "child_add"
	AuditChildEdit = "child_edit"
)

// SaveChild adds a child (id 0) or changes child id, from the console's
// child form: one roster entry, which the caller has checked as a roster
// file row (kiosk/rostercsv), applied in one transaction the way
// ApplyRoster applies an entry: the child's fields; its contacts replaced
// slot by slot (applyContacts: a slot missing from e is removed, its
// history stays in the journal); e.Cards added (applyCards). Every change
// is a 'roster' journal entry as an import writes it, and one 'audit'
// entry in the same transaction says who did it: actor, action
// AuditChildAdd or AuditChildEdit, detail "child=N" and the counts of
// RosterChanges (never a name or number). It returns the child's id and
// what changed.
//
// The form carries every field: SaveChild writes e's call limits and kind
// of left-behind (kiosk.LeftBehindUnknown clears it) whatever
// e.HasLimits and e.HasLeftBehind say.
//
// ApplyRoster finds a child by external id or by name and class; SaveChild
// addresses it by id, so that a manager can correct a child's name, class
// or id. An empty e.Child.ExternalID clears it; a zero e.Child.Status keeps
// the stored status (a new child is active). A child who left may be
// corrected; an erased child (erase.go) never.
//
// Errors (*kiosk.Error), nothing written on any: EINVALID for an empty
// actor, and for problems with e, one "line N: column: problem" line each
// as ApplyRoster's (N is e.Line): an empty name or class, an unknown
// status or kind of left-behind, an external id another child has, the name and class of another
// child when either of them has no external id (an import could not tell
// them apart), contacts or cards ApplyRoster refuses; ENOTFOUND for an
// unknown id; EGONE for an erased child.
func (db *DB) SaveChild(ctx context.Context, actor string, id kiosk.ChildID, e kiosk.RosterEntry) (kiosk.ChildID, RosterChanges, error) {
	if strings.TrimSpace(actor) == "" {
		return 0, RosterChanges{}, kiosk.Errorf(kiosk.EINVALID, "save child: no actor")
	}
	e.HasLimits, e.HasLeftBehind = true, true
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, RosterChanges{}, fmt.Errorf("save child: begin: %w", err)
	}
	defer tx.Rollback()
	var cur kiosk.Child
	if id != 0 {
		if cur, err = child(ctx, tx, id); err != nil {
			return 0, RosterChanges{}, err
		}
		erased, err := childErased(ctx, tx, id)
		if err != nil {
			return 0, RosterChanges{}, fmt.Errorf("save child %d: %w", id, err)
		} else if erased {
			return 0, RosterChanges{}, kiosk.Errorf(kiosk.EGONE, "child %d is erased", id)
		}
	}
	want := e.Child
	var problems []string
	if want.Name == "" {
		problems = append(problems, fmt.Sprintf("line %d: 姓名: empty", e.Line))
	}
	if want.Class == "" {
		problems = append(problems, fmt.Sprintf("line %d: 班级: empty", e.Line))
	}
	if want.Status != "" && want.Status != kiosk.ChildActive && want.Status != kiosk.ChildLeft {
		problems = append(problems, fmt.Sprintf("line %d: 状态: %q is not active or left", e.Line, want.Status))
	}
	if p := leftBehindProblem(e); p != "" {
		problems = append(problems, p)
	}
	if len(problems) == 0 {
		clash, err := childClashes(ctx, tx, id, want, e.Line)
		if err != nil {
			return 0, RosterChanges{}, err
		}
		problems = append(problems, clash...)
	}
	if len(problems) > 0 {
		return 0, RosterChanges{}, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(problems, "\n"))
	}

	now := fmtTime(db.now())
	var ch RosterChanges
	action := AuditChildEdit
	limitMS := want.CallLimit.Milliseconds()
	if id == 0 {
		action = AuditChildAdd
		var status kiosk.ChildStatus
		var err error
		if id, status, err = insertChild(ctx, tx, want, now); err != nil {
			return 0, RosterChanges{}, fmt.Errorf("save child: add: %w", err)
		}
		ch.Children.Added++
		if err := db.journalRoster(ctx, tx, false, rosterBody{Op: "child_added", ChildID: int64(id), ExternalID: want.ExternalID,
			Name: want.Name, Gender: want.Gender, Class: want.Class, Status: string(status), LimitMS: limitMS,
			LeftBehind: string(want.LeftBehind), Line: e.Line}); err != nil {
			return 0, RosterChanges{}, err
		}
	} else {
		next := cur
		next.ExternalID, next.Name, next.Gender, next.Class, next.CallLimit = want.ExternalID, want.Name, want.Gender, want.Class, want.CallLimit
		next.LeftBehind = want.LeftBehind
		if want.Status != "" {
			next.Status = want.Status
		}
		if next == cur {
			ch.Children.Unchanged++
		} else {
			_, err := tx.ExecContext(ctx, `UPDATE children SET external_id = ?, name = ?, gender = ?, class = ?, status = ?, call_limit_ms = ?, updated_at = ?
				WHERE id = ?`, next.ExternalID, next.Name, next.Gender, next.Class, string(next.Status), limitMS, now, int64(id))
			if err != nil {
				return 0, RosterChanges{}, fmt.Errorf("save child %d: update: %w", id, err)
			}
			if next.LeftBehind != cur.LeftBehind {
				if err := setLeftBehind(ctx, tx, id, next.LeftBehind, now); err != nil {
					return 0, RosterChanges{}, fmt.Errorf("save child %d: update: %w", id, err)
				}
			}
			ch.Children.Updated++
			if err := db.journalRoster(ctx, tx, false, rosterBody{Op: "child_updated", ChildID: int64(id), ExternalID: next.ExternalID,
				Name: next.Name, Gender: next.Gender, Class: next.Class, Status: string(next.Status), LimitMS: limitMS,
				LeftBehind: string(next.LeftBehind), Line: e.Line}); err != nil {
				return 0, RosterChanges{}, err
			}
		}
	}
	probs, err := db.applyContacts(ctx, tx, id, e, now, false, &ch)
	if err != nil {
		return 0, RosterChanges{}, fmt.Errorf("save child: %w", err)
	}
	problems = append(problems, probs...)
	probs, err = db.applyCards(ctx, tx, id, e, now, false, &ch)
	if err != nil {
		return 0, RosterChanges{}, fmt.Errorf("save child: %w", err)
	}
	if problems = append(problems, probs...); len(problems) > 0 {
		return 0, RosterChanges{}, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(problems, "\n"))
	}
	detail := fmt.Sprintf("child=%d children_added=%d children_updated=%d contacts_added=%d contacts_updated=%d contacts_removed=%d cards_added=%d",
		id, ch.Children.Added, ch.Children.Updated, ch.Contacts.Added, ch.Contacts.Updated, ch.Contacts.Removed, ch.Cards.Added)
	body, err := json.Marshal(struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
		Detail string `json:"detail"`
	}{actor, action, detail}) // the shape of Audit's entries
	if err != nil {
		return 0, RosterChanges{}, fmt.Errorf("save child: audit: %w", err)
	}
	if _, err := db.appendTx(ctx, tx, KindAudit, "", body); err != nil {
		return 0, RosterChanges{}, fmt.Errorf("save child: audit: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, RosterChanges{}, fmt.Errorf("save child: commit: %w", err)
	}
	db.log.Info("child saved", "child", int64(id), "action", action, "child_changed", ch.Children.Added+ch.Children.Updated,
		"contacts_changed", ch.Contacts.Added+ch.Contacts.Updated+ch.Contacts.Removed)
	return id, ch, nil
}

// childClashes returns the problems of giving child id (0: a new child)
// the external id, name and class of want: another child with the
// external id, or with the name and class when either has no external id,
// as a roster file refuses two such rows (rostercsv's duplicate child).
func childClashes(ctx context.Context, tx *sql.Tx, id kiosk.ChildID, want kiosk.Child, line int) ([]string, error) {
	var problems []string
	if want.ExternalID != "" {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM children WHERE external_id = ? AND external_id <> '' AND id <> ?`,
			want.ExternalID, int64(id)).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("save child: find external id: %w", err)
		}
		if n > 0 {
			problems = append(problems, fmt.Sprintf("line %d: 编号: 另一名学生已使用此编号。 another child has this id", line))
		}
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM children WHERE name = ? AND class = ? AND id <> ? AND (external_id = '' OR ? = '')`,
		want.Name, want.Class, int64(id), want.ExternalID).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("save child: find name and class: %w", err)
	}
	if n > 0 {
		problems = append(problems, fmt.Sprintf("line %d: 姓名: 本班已有同名学生（如是两名学生，请给两人都填编号）。 another child in this class has this name (give both an id if they are two children)", line))
	}
	return problems, nil
}

// ChildErased reports whether child id's personal data was erased
// (EraseChild); false for an unknown id.
func (db *DB) ChildErased(ctx context.Context, id kiosk.ChildID) (bool, error) {
	return childErased(ctx, db.db, id)
}

// childErased is ChildErased through q (a transaction or the pool).
func childErased(ctx context.Context, q querier, id kiosk.ChildID) (bool, error) {
	var erased bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM erased_children WHERE child_id = ?)`, int64(id)).Scan(&erased)
	if err != nil {
		return false, fmt.Errorf("child %d erased: %w", id, err)
	}
	return erased, nil
}

// insertChild adds want to the roster (status active unless it says
// otherwise, its kind of left-behind child if known) and returns its id
// and status. now is the row's created and updated time.
func insertChild(ctx context.Context, tx *sql.Tx, want kiosk.Child, now string) (kiosk.ChildID, kiosk.ChildStatus, error) {
	status := want.Status
	if status == "" {
		status = kiosk.ChildActive
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO children (external_id, name, gender, class, status, call_limit_ms, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, want.ExternalID, want.Name, want.Gender, want.Class, string(status), want.CallLimit.Milliseconds(), now, now)
	if err != nil {
		return 0, "", err
	}
	n, err := res.LastInsertId()
	if err != nil {
		return 0, "", err
	}
	id := kiosk.ChildID(n)
	if want.LeftBehind != kiosk.LeftBehindUnknown {
		if err := setLeftBehind(ctx, tx, id, want.LeftBehind, now); err != nil {
			return 0, "", err
		}
	}
	return id, status, nil
}
