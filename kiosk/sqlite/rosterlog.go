package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

// EquipmentRegister is EquipmentLog as register.Equipment rows, for the
// console (which does not import this package): events at or after from
// and before to, ordered by time then seq; a zero from or to leaves that
// side open.
func (db *DB) EquipmentRegister(ctx context.Context, from, to time.Time) ([]register.Equipment, error) {
	log, err := db.EquipmentLog(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]register.Equipment, len(log))
	for i, e := range log {
		out[i] = register.Equipment{Seq: e.Seq, At: e.At, Device: e.Device, Kind: e.Kind, Booth: e.Booth,
			Event: e.Event, Detail: e.Detail, ClockSynced: e.ClockSynced}
	}
	return out, nil
}

// RosterLog returns the roster changes register (名册变更记录): one row per
// 'roster' journal entry (roster imports, cards, status changes, parent
// links) written at or after from and before to, in journal order. A zero
// from or to leaves that side open. ChildName and Class are the ones
// journaled, else the child's current ones. Times come back in UTC.
func (db *DB) RosterLog(ctx context.Context, from, to time.Time) ([]register.RosterChange, error) {
	lo, hi := fmtTime(from), "~" // "~" sorts after every stored time
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT j.seq, j.at, j.body, COALESCE(c.name, ''), COALESCE(c.class, '')
		FROM journal j LEFT JOIN children c ON c.id = json_extract(j.body, '$.child_id')
		WHERE j.kind = 'roster' AND j.at >= ? AND j.at < ?
		ORDER BY j.seq`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("roster log: query: %w", err)
	}
	defer rows.Close()
	var out []register.RosterChange
	for rows.Next() {
		var (
			seq                   int64
			at, body, name, class string
			b                     rosterBody
		)
		if err := rows.Scan(&seq, &at, &body, &name, &class); err != nil {
			return nil, fmt.Errorf("roster log: scan: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			return nil, fmt.Errorf("roster log: seq %d: %w", seq, err)
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, fmt.Errorf("roster log: seq %d: %w", seq, err)
		}
		rc := register.RosterChange{Seq: seq, At: t, Op: b.Op, ChildID: kiosk.ChildID(b.ChildID),
			ChildName: b.Name, Class: b.Class, Status: b.Status, Relation: b.Relation, Phone: b.Phone, Card: b.Card}
		if strings.HasPrefix(b.Op, "contact_") {
			rc.Contact, rc.ChildName = b.Name, ""
		}
		if rc.ChildName == "" {
			rc.ChildName = name
		}
		if rc.Class == "" {
			rc.Class = class
		}
		out = append(out, rc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roster log: rows: %w", err)
	}
	return out, nil
}
