package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// CallQuery selects rows of the calls register (CountCalls, EachCall):
// calls that started in [From, To) (a zero time leaves that side open)
// and, where set, of that Mode (ModePhone also matches rows without a
// mode, as the register shows them), Class, Booth and Child, all exact.
type CallQuery struct {
	From, To     time.Time
	Mode         kiosk.Mode
	Class, Booth string
	Child        kiosk.ChildID
}

// where returns q as a WHERE clause over the calls projection and its
// arguments. Every column it names is in the calls_register index
// (migration 0012), so a count or an OFFSET never reads the table.
func (q CallQuery) where() (string, []any) {
	hi := "~" // "~" sorts after every stored time
	if !q.To.IsZero() {
		hi = fmtTime(q.To)
	}
	conds, args := []string{"started >= ?", "started < ?"}, []any{fmtTime(q.From), hi}
	switch q.Mode {
	case "":
	case kiosk.ModePhone:
		conds = append(conds, "mode IN ('phone', '')")
	default:
		conds, args = append(conds, "mode = ?"), append(args, string(q.Mode))
	}
	if q.Class != "" {
		conds, args = append(conds, "class = ?"), append(args, q.Class)
	}
	if q.Booth != "" {
		conds, args = append(conds, "booth = ?"), append(args, q.Booth)
	}
	if q.Child != 0 {
		conds, args = append(conds, "child_id = ?"), append(args, int64(q.Child))
	}
	return strings.Join(conds, " AND "), args
}

// CountCalls returns how many rows of the calls register match q.
func (db *DB) CountCalls(ctx context.Context, q CallQuery) (int, error) {
	where, args := q.where()
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM calls WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("calls register: count: %w", err)
	}
	return n, nil
}

// EachCall calls fn with the rows of the calls register that match q, in
// register order (Started, then seq) as Calls returns them, skipping the
// first offset rows and stopping after limit rows (limit < 0: all). The
// rows are read from the database as fn consumes them (one statement on
// one pooled connection), so an export of a decade holds one row at a
// time; fn may use the database (through other connections). fn's error
// stops the walk and is returned as is; other errors name the step.
func (db *DB) EachCall(ctx context.Context, q CallQuery, offset, limit int, fn func(CallRow) error) error {
	where, args := q.where()
	rows, err := db.db.QueryContext(ctx, `SELECT seq, rec FROM calls WHERE `+where+`
		ORDER BY started, seq LIMIT ? OFFSET ?`, append(args, limit, max(offset, 0))...)
	if err != nil {
		return fmt.Errorf("calls register: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			row CallRow
			rec string
		)
		if err := rows.Scan(&row.Seq, &rec); err != nil {
			return fmt.Errorf("calls register: scan: %w", err)
		}
		if err := unpackCall(rec, &row.CallRecord); err != nil {
			return fmt.Errorf("calls register: seq %d: %w", row.Seq, err)
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("calls register: rows: %w", err)
	}
	return nil
}
