package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/tv"
)

var _ tv.Journal = (*DB)(nil)

// Journal kinds of the TV register (电视播放节目记录): a session's start
// and end entries, paired by the session id in the entry's call_id column
// and each written once.
const (
	KindTVStart Kind = "tv_start"
	KindTVEnd   Kind = "tv_end"
)

// tvBody is the stored JSON of a TV entry. Field names are part of the
// journal format and must not change. Times are UTC in timeFormat ("" when
// unknown); the duration is integer milliseconds and whole seconds
// (register.Seconds).
type tvBody struct {
	SessionID   string `json:"session_id"`
	TV          string `json:"tv"`
	Room        string `json:"room"`
	Programme   string `json:"programme"`
	Category    string `json:"category"`
	Class       string `json:"class"`
	Headcount   int    `json:"headcount"`
	Teacher     string `json:"teacher"`
	Note        string `json:"note"`
	Started     string `json:"started"`
	Ended       string `json:"ended"`
	Curfew      string `json:"curfew"`
	DurationMS  int64  `json:"duration_ms"`
	Duration    int64  `json:"duration"`
	Cause       string `json:"cause"`
	Power       string `json:"power"`
	PowerError  string `json:"power_error"`
	ClockSynced bool   `json:"clock_synced"`
}

func encodeTV(s tv.Session) ([]byte, error) {
	b, err := json.Marshal(tvBody{
		SessionID: s.ID, TV: s.TV, Room: s.Room, Programme: s.Programme, Category: s.Category,
		Class: s.Class, Headcount: s.Headcount, Teacher: s.Teacher, Note: s.Note,
		Started: fmtTime(s.Started), Ended: fmtTime(s.Ended), Curfew: fmtTime(s.Curfew),
		DurationMS: s.Duration.Milliseconds(), Duration: register.Seconds(s.Duration),
		Cause: string(s.Cause), Power: s.Power, PowerError: s.PowerError, ClockSynced: s.ClockSynced,
	})
	if err != nil {
		return nil, fmt.Errorf("encode tv session %s: %w", s.ID, err)
	}
	return b, nil
}

func decodeTV(body []byte) (tv.Session, error) {
	var b tvBody
	if err := json.Unmarshal(body, &b); err != nil {
		return tv.Session{}, fmt.Errorf("decode tv session: %w", err)
	}
	s := tv.Session{
		ID: b.SessionID, TV: b.TV, Room: b.Room, Programme: b.Programme, Category: b.Category,
		Class: b.Class, Headcount: b.Headcount, Teacher: b.Teacher, Note: b.Note,
		Duration: time.Duration(b.DurationMS) * time.Millisecond, Cause: tv.Cause(b.Cause),
		Power: b.Power, PowerError: b.PowerError, ClockSynced: b.ClockSynced,
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		s   string
	}{{&s.Started, b.Started}, {&s.Ended, b.Ended}, {&s.Curfew, b.Curfew}} {
		if *f.dst, err = parseTime(f.s); err != nil {
			return tv.Session{}, fmt.Errorf("decode tv session %s: %w", b.SessionID, err)
		}
	}
	return s, nil
}

// TVStarted appends the start entry of s and starts its heartbeat row at
// s.Started (the journal's clock when zero), in one transaction. s.ID is
// required (EINVALID); a second start of the same session is an ECONFLICT
// *kiosk.Error.
func (db *DB) TVStarted(ctx context.Context, s tv.Session) error {
	if s.ID == "" {
		return kiosk.Errorf(kiosk.EINVALID, "tv start without a session id")
	}
	s.Ended, s.Cause, s.Duration = time.Time{}, "", 0
	body, err := encodeTV(s)
	if err != nil {
		return err
	}
	_, err = db.appendOne(ctx, KindTVStart, s.ID, body, func(tx *sql.Tx) error {
		at := s.Started
		if at.IsZero() {
			at = db.now()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tv_heartbeats (session_id, at) VALUES (?, ?)
			ON CONFLICT (session_id) DO UPDATE SET at = excluded.at`, s.ID, fmtTime(at)); err != nil {
			return fmt.Errorf("tv started: heartbeat: %w", err)
		}
		return nil
	})
	if isUniqueViolation(err) {
		return kiosk.Errorf(kiosk.ECONFLICT, "tv session %s already started", s.ID)
	}
	return err
}

// TVEnded appends the end entry of s and drops its heartbeat row, in one
// transaction. s.ID is required (EINVALID). A session ends once: a second
// end (for example after RecoverTV closed it) is an ECONFLICT *kiosk.Error
// and appends nothing.
func (db *DB) TVEnded(ctx context.Context, s tv.Session) error {
	if s.ID == "" {
		return kiosk.Errorf(kiosk.EINVALID, "tv end without a session id")
	}
	body, err := encodeTV(s)
	if err != nil {
		return err
	}
	_, err = db.appendOne(ctx, KindTVEnd, s.ID, body, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tv_heartbeats WHERE session_id = ?`, s.ID); err != nil {
			return fmt.Errorf("tv ended: drop heartbeat: %w", err)
		}
		return nil
	})
	if isUniqueViolation(err) {
		return kiosk.Errorf(kiosk.ECONFLICT, "tv session %s already ended", s.ID)
	}
	return err
}

// TVHeartbeat records that session id still runs at t (not journaled).
// It returns an ENOTFOUND *kiosk.Error if the session is not open.
func (db *DB) TVHeartbeat(ctx context.Context, id string, t time.Time) error {
	res, err := db.db.ExecContext(ctx, `UPDATE tv_heartbeats SET at = ? WHERE session_id = ?`, fmtTime(t), id)
	if err != nil {
		return fmt.Errorf("tv heartbeat: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no tv session %s open", id)
	}
	return nil
}

// RecoverTV closes every TV session that has a start entry and no end
// entry, as after a crash or power cut, and returns how many it closed.
// Each gets an end entry with Cause interrupted, Ended at its last
// heartbeat (or Started if none came later) and Duration the wall-clock
// difference, the only measure left after a crash. It is idempotent. Only
// the daemon calls it, at start, before the TV service runs (the relays
// are then off, their safe state). Each start entry looks up its end in
// journal_tv_once (see tvPeriodSQL for the repeated kind term).
func (db *DB) RecoverTV(ctx context.Context) (int, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT s.body, COALESCE(h.at, '') FROM journal s
		LEFT JOIN tv_heartbeats h ON h.session_id = s.call_id
		WHERE s.kind = 'tv_start'
		  AND NOT EXISTS (SELECT 1 FROM journal e
		      WHERE e.kind IN ('tv_start', 'tv_end') AND e.kind = 'tv_end' AND e.call_id = s.call_id)
		ORDER BY s.seq`)
	if err != nil {
		return 0, fmt.Errorf("recover tv: query: %w", err)
	}
	type open struct {
		s  tv.Session
		hb string
	}
	var opens []open
	for rows.Next() {
		var body, hb string
		if err := rows.Scan(&body, &hb); err != nil {
			rows.Close()
			return 0, fmt.Errorf("recover tv: scan: %w", err)
		}
		s, err := decodeTV([]byte(body))
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("recover tv: %w", err)
		}
		opens = append(opens, open{s, hb})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("recover tv: rows: %w", err)
	}
	closed := 0
	for _, o := range opens {
		s := o.s
		last, err := parseTime(o.hb)
		if err != nil {
			return closed, fmt.Errorf("recover tv: session %s: %w", s.ID, err)
		}
		s.Ended = s.Started
		if last.After(s.Ended) {
			s.Ended = last
		}
		s.Duration = s.Ended.Sub(s.Started)
		s.Cause = tv.CauseInterrupted
		err = db.TVEnded(ctx, s)
		if kiosk.ErrorCode(err) == kiosk.ECONFLICT {
			continue
		}
		if err != nil {
			return closed, fmt.Errorf("recover tv: %w", err)
		}
		closed++
	}
	if closed > 0 {
		db.log.Info("closed interrupted tv sessions", "count", closed)
	}
	return closed, nil
}

// tvPeriodSQL selects the TV register's entries of the sessions started
// in [?1, ?2) (stored times): each session's end entry, or its start
// entry while it has none. The kind IN terms are the WHERE of the partial
// indexes journal_tv_started (0014) and journal_tv_once (0006), which
// SQLite uses only when the query repeats that term: the period's
// entries come from the former and each start entry looks up its end in
// the latter. Written with an OR of the two kinds and e.kind = 'tv_end'
// alone, the query read every TV entry, and every end entry again for
// each start entry.
const tvPeriodSQL = `SELECT j.seq, j.body FROM journal j
	WHERE j.kind IN ('tv_start', 'tv_end')
	  AND json_extract(j.body, '$.started') >= ?1
	  AND json_extract(j.body, '$.started') < ?2
	  AND (j.kind = 'tv_end' OR NOT EXISTS (
	      SELECT 1 FROM journal e
	      WHERE e.kind IN ('tv_start', 'tv_end') AND e.kind = 'tv_end' AND e.call_id = j.call_id))
	ORDER BY json_extract(j.body, '$.started'), j.seq`

// TVRow is one row of the TV register with the seq of its journal entry;
// it is register.TVSession, so TVSessions' result goes straight to
// register.WriteTVCSV.
type TVRow = register.TVSession

// TVSessions returns the TV register for sessions that started in
// [from, to): one row per session (its end entry; its start entry while
// it is open), ordered by Started then seq. A zero from or to leaves that
// side open. Times come back in UTC.
func (db *DB) TVSessions(ctx context.Context, from, to time.Time) ([]TVRow, error) {
	lo, hi := fmtTime(from), "~" // "~" sorts after every stored time
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	rows, err := db.db.QueryContext(ctx, tvPeriodSQL, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("tv register: query: %w", err)
	}
	defer rows.Close()
	var out []TVRow
	for rows.Next() {
		var (
			seq  int64
			body string
		)
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, fmt.Errorf("tv register: scan: %w", err)
		}
		s, err := decodeTV([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("tv register: seq %d: %w", seq, err)
		}
		out = append(out, TVRow{Seq: seq, Session: s})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tv register: rows: %w", err)
	}
	return out, nil
}
