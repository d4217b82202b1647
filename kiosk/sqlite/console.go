package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// ChildQuery is kiosk.ChildQuery: it filters SearchChildren.
type ChildQuery = kiosk.ChildQuery

// SearchChildren lists children (active and left) matching q, ordered by
// class, name and id, for the console's children list.
func (db *DB) SearchChildren(ctx context.Context, q ChildQuery) ([]kiosk.Child, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	text := strings.TrimSpace(q.Text)
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text) + "%"
	rows, err := db.db.QueryContext(ctx, `SELECT id, external_id, name, gender, class, status, call_limit_ms,
		COALESCE((SELECT p.left_behind FROM child_profile p WHERE p.child_id = children.id), '') FROM children
		WHERE (? = '' OR name LIKE ? ESCAPE '\' OR class LIKE ? ESCAPE '\' OR external_id = ?)
		  AND (? = '' OR class = ?)
		ORDER BY class, name, id LIMIT ?`, text, like, like, text, q.Class, q.Class, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("search children: %w", err)
	}
	defer rows.Close()
	out := []kiosk.Child{}
	for rows.Next() {
		var (
			c          kiosk.Child
			status, lb string
			limitMS    int64
		)
		if err := rows.Scan(&c.ID, &c.ExternalID, &c.Name, &c.Gender, &c.Class, &status, &limitMS, &lb); err != nil {
			return nil, fmt.Errorf("search children: scan: %w", err)
		}
		c.Status, c.LeftBehind = kiosk.ChildStatus(status), kiosk.LeftBehindKind(lb)
		c.CallLimit = time.Duration(limitMS) * time.Millisecond
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search children: %w", err)
	}
	return out, nil
}

// Classes lists the distinct classes of active children, sorted.
func (db *DB) Classes(ctx context.Context) ([]string, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT DISTINCT class FROM children WHERE status = 'active' AND class <> '' ORDER BY class`)
	if err != nil {
		return nil, fmt.Errorf("classes: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("classes: scan: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChildCards lists every card of the child, disabled ones included,
// ordered by UID.
func (db *DB) ChildCards(ctx context.Context, id kiosk.ChildID) ([]kiosk.Card, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT uid, child_id, enabled FROM cards WHERE child_id = ? ORDER BY uid`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("cards of child %d: %w", id, err)
	}
	defer rows.Close()
	out := []kiosk.Card{}
	for rows.Next() {
		var c kiosk.Card
		if err := rows.Scan(&c.UID, &c.ChildID, &c.Enabled); err != nil {
			return nil, fmt.Errorf("cards of child %d: scan: %w", id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// quietChildrenSQL reads the calls projection (migration 0009) through
// its index by child and start time (calls_child), not the journal's
// bodies: one short range per child, however long the register is.
const quietChildrenSQL = `SELECT c.id FROM children c
		WHERE c.status = 'active' AND NOT EXISTS (
			SELECT 1 FROM calls k
			WHERE k.child_id = c.id AND k.started >= ?
			  AND k.kind = 'call_end' AND k.disposition = 'ANSWERED')
		ORDER BY c.class, c.name, c.id`

// QuietChildren lists the active children with no answered call (help
// calls included) that started at or after since, ordered by class, name
// and id: the children not heard from home lately.
func (db *DB) QuietChildren(ctx context.Context, since time.Time) ([]kiosk.Child, error) {
	rows, err := db.db.QueryContext(ctx, quietChildrenSQL, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("quiet children: %w", err)
	}
	var ids []kiosk.ChildID
	for rows.Next() {
		var id kiosk.ChildID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("quiet children: scan: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("quiet children: %w", err)
	}
	out := make([]kiosk.Child, 0, len(ids))
	for _, id := range ids {
		c, err := db.Child(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("quiet children: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// AuditEntry is kiosk.AuditEntry: one 'audit' entry of the journal,
// decoded.
type AuditEntry = kiosk.AuditEntry

// AuditLog returns up to limit audit entries with seq < before (before <=
// 0: from the newest), newest first; limit <= 0 means 100.
func (db *DB) AuditLog(ctx context.Context, before int64, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := db.db.QueryContext(ctx, `SELECT seq, at, body FROM journal WHERE kind = 'audit' AND seq < ? ORDER BY seq DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var (
			e        AuditEntry
			at, body string
			b        struct{ Actor, Action, Detail string }
		)
		if err := rows.Scan(&e.Seq, &at, &body); err != nil {
			return nil, fmt.Errorf("audit log: scan: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("audit log: seq %d: %w", e.Seq, err)
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			return nil, fmt.Errorf("audit log: seq %d: %w", e.Seq, err)
		}
		e.Actor, e.Action, e.Detail = b.Actor, b.Action, b.Detail
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return out, nil
}
