package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

// Audit actions of help case follow-ups. A help case is a help call
// (kiosk.CallRecord.Help); its follow-up notes and its closure are 'audit'
// entries (no journal kind of their own) whose detail is the JSON of
// helpDetail, so they are in the hash chain and in the audit log.
const (
	ActionHelpNote  = "help_note"
	ActionHelpClose = "help_close"
)

// helpDetail is the detail of a help_note or help_close audit entry. Field
// names are part of the journal format.
type helpDetail struct {
	CallID string `json:"call_id"`
	Note   string `json:"note"`
}

// MaxHelpNote bounds a follow-up note, in bytes.
const MaxHelpNote = 2000

// HelpCases returns the help cases whose call started in [from, to) (a
// zero from or to leaves that side open), ordered by start then call id,
// each with its follow-up notes and closure. One case per help call: its
// end entry, or its start entry while the call is in progress.
func (db *DB) HelpCases(ctx context.Context, from, to time.Time) ([]register.HelpCase, error) {
	lo, hi := fmtTime(from), "~" // "~" sorts after every stored time
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	// The calls projection has one row per call (its end entry, or its
	// start entry while open): the help calls are read through its
	// calls_help index (migration 0012), not by decoding every call
	// entry's body (10 s for the help page at 100,000 entries).
	rows, err := db.db.QueryContext(ctx, `SELECT seq, rec FROM calls INDEXED BY calls_help
		WHERE help = 1 AND kind IN ('call_start', 'call_end') AND started >= ? AND started < ?
		ORDER BY started, call_id`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("help cases: query: %w", err)
	}
	var out []register.HelpCase
	byCall := map[string]int{}
	for rows.Next() {
		var (
			seq int64
			rec string
			r   kiosk.CallRecord
		)
		if err := rows.Scan(&seq, &rec); err != nil {
			rows.Close()
			return nil, fmt.Errorf("help cases: scan: %w", err)
		}
		if err := unpackCall(rec, &r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("help cases: seq %d: %w", seq, err)
		}
		byCall[r.CallID] = len(out)
		out = append(out, register.HelpCase{CallID: r.CallID, Booth: r.Booth, ChildID: r.ChildID,
			ChildName: r.ChildName, Class: r.Class, Started: r.Started, Ended: r.Ended})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("help cases: rows: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	// Through the audit actions' index (migration 0012): by kind alone,
	// every audit entry of the decade was read and decoded.
	notes, err := db.db.QueryContext(ctx, `SELECT seq, at, body FROM journal INDEXED BY journal_audit_action
		WHERE kind = 'audit' AND json_extract(body, '$.action') IN (?, ?) ORDER BY seq`, ActionHelpNote, ActionHelpClose)
	if err != nil {
		return nil, fmt.Errorf("help cases: notes: %w", err)
	}
	defer notes.Close()
	for notes.Next() {
		var (
			seq      int64
			at, body string
			a        struct{ Actor, Action, Detail string }
			d        helpDetail
		)
		if err := notes.Scan(&seq, &at, &body); err != nil {
			return nil, fmt.Errorf("help cases: notes: scan: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return nil, fmt.Errorf("help cases: note seq %d: %w", seq, err)
		}
		if err := json.Unmarshal([]byte(a.Detail), &d); err != nil {
			return nil, fmt.Errorf("help cases: note seq %d: detail: %w", seq, err)
		}
		i, ok := byCall[d.CallID]
		if !ok {
			continue
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, fmt.Errorf("help cases: note seq %d: %w", seq, err)
		}
		n := register.HelpNote{At: t, By: a.Actor, Text: d.Note, Close: a.Action == ActionHelpClose}
		out[i].Notes = append(out[i].Notes, n)
		if n.Close && out[i].Closed.IsZero() {
			out[i].Closed, out[i].ClosedBy = t, a.Actor
		}
	}
	if err := notes.Err(); err != nil {
		return nil, fmt.Errorf("help cases: notes: %w", err)
	}
	return out, nil
}

// HelpFollowUp records a follow-up note by actor on the help case of
// callID, closing the case when close is set. The note is trimmed and
// required (EINVALID when empty or longer than MaxHelpNote bytes);
// ENOTFOUND when callID is not a help call; ECONFLICT when the case is
// already closed. The check and the append are one write transaction.
func (db *DB) HelpFollowUp(ctx context.Context, actor, callID, note string, close bool) error {
	note = strings.TrimSpace(note)
	switch {
	case note == "":
		return kiosk.Errorf(kiosk.EINVALID, "a follow-up note is required")
	case len(note) > MaxHelpNote:
		return kiosk.Errorf(kiosk.EINVALID, "the note is longer than %d bytes", MaxHelpNote)
	case actor == "":
		return kiosk.Errorf(kiosk.EINVALID, "help follow-up: actor is required")
	}
	detail, err := json.Marshal(helpDetail{CallID: callID, Note: note})
	if err != nil {
		return fmt.Errorf("help follow-up: %w", err)
	}
	action := ActionHelpNote
	if close {
		action = ActionHelpClose
	}
	body, err := auditBody(actor, action, string(detail))
	if err != nil {
		return fmt.Errorf("help follow-up: %w", err)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("help follow-up: begin: %w", err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM journal WHERE kind IN ('call_start', 'call_end') AND call_id = ?
		AND json_extract(body, '$.help') = 1 LIMIT 1`, callID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no help call %q", callID)
	} else if err != nil {
		return fmt.Errorf("help follow-up: find call: %w", err)
	}
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM journal WHERE kind = 'audit' AND json_extract(body, '$.action') = ?
		AND json_extract(json_extract(body, '$.detail'), '$.call_id') = ? LIMIT 1`, ActionHelpClose, callID).Scan(&one)
	if err == nil {
		return kiosk.Errorf(kiosk.ECONFLICT, "the help case is already closed")
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("help follow-up: closed?: %w", err)
	}
	if _, err := db.appendTx(ctx, tx, KindAudit, "", body); err != nil {
		return fmt.Errorf("help follow-up: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("help follow-up: commit: %w", err)
	}
	return nil
}
