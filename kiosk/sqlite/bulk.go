package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/qinqing/station/kiosk"
)

// bulkChunk is how many entries BulkAppendCalls writes per transaction:
// large enough that the commit's fsync is lost in the inserts (a few
// milliseconds against about a second), small enough that the WAL stays
// tens of MB and a failure rolls back little.
const bulkChunk = 20000

// BulkCall is one call entry for BulkAppendCalls: the entry that
// CallStarted, CallEnded or CallDenied appends for Record.
type BulkCall struct {
	// Kind is KindCallStart, KindCallEnd or KindCallDenied.
	Kind Kind
	// Record is the call, as it would be passed to that append.
	Record kiosk.CallRecord
	// At is the entry's "at" time; zero means the database's clock
	// (Opts.Now) at the append, as the station's appends do. Generated
	// history sets it, for example to Record.Ended.
	At time.Time
}

// BulkAppendCalls appends the call entries of calls, in order, as the
// station's appends (CallStarted, CallEnded, CallDenied) would one by one:
// the same bodies (encodeCall), entry ids read from Opts.Rand (16 bytes
// each, in order), the same hash chain, calls projection rows and call
// heartbeats; only At, when set, differs. It is for test data and
// imports: it writes bulkChunk (20,000) entries per transaction, one
// fsync each, where the station's appends fsync every entry, so a million
// entries take seconds, not hours. calls is read as it is written: a
// generator need not hold a million records in memory.
//
// It returns how many entries are written (committed). On an error, the
// transactions committed before stay, and the failing one (up to
// bulkChunk entries, the failing entry included) is rolled back. Errors
// are *kiosk.Error where the one-by-one append would return one: EINVALID
// for a start or end without a call id, or a Kind that is not a call
// kind; ECONFLICT for a second start or end of a call. Others name the
// entry's index in calls and the step.
func (db *DB) BulkAppendCalls(ctx context.Context, calls iter.Seq[BulkCall]) (int, error) {
	return db.bulkAppendCalls(ctx, calls, bulkChunk)
}

// bulkAppendCalls is BulkAppendCalls with chunk entries per transaction.
func (db *DB) bulkAppendCalls(ctx context.Context, calls iter.Seq[BulkCall], chunk int) (int, error) {
	next, stop := iter.Pull(calls)
	defer stop()
	written := 0
	for {
		n, more, err := db.bulkTx(ctx, next, written, chunk)
		if err != nil {
			return written, err
		}
		written += n
		if !more {
			return written, nil
		}
	}
}

// bulkTx writes up to chunk entries from next in one write transaction;
// done is the index in the sequence of the first one. It returns how many
// it committed and whether next may have more.
func (db *DB) bulkTx(ctx context.Context, next func() (BulkCall, bool), done, chunk int) (int, bool, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("bulk append calls: begin: %w", err)
	}
	defer tx.Rollback()
	var (
		last     int64
		prevHash = genesisHash
	)
	// The transaction is BEGIN IMMEDIATE (the DSN's _txlock): the tail
	// read here stays the tail until commit, as in appendTx.
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&last, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("bulk append calls: read tail: %w", err)
	}
	first := last + 1
	w, err := newBulkWriter(ctx, tx)
	if err != nil {
		return 0, false, err
	}
	defer w.close()
	var (
		n    int
		more = true
		rnd  [16]byte
	)
	for n < chunk {
		c, ok := next()
		if !ok {
			more = false
			break
		}
		i := done + n
		body, err := db.bulkBody(&c)
		if err != nil {
			return 0, false, fmt.Errorf("bulk append calls: entry %d: %w", i, err)
		}
		if _, err := io.ReadFull(db.rand, rnd[:]); err != nil {
			return 0, false, fmt.Errorf("bulk append calls: entry %d: entry id: %w", i, err)
		}
		seq := last + 1
		id := hex.EncodeToString(rnd[:])
		at := c.At
		if at.IsZero() {
			at = db.now()
		}
		ats, synced, callID := fmtTime(at), db.synced(), c.Record.CallID
		hash, err := chainHash(prevHash, canonical(seq, id, c.Kind, callID, ats, synced, body))
		if err != nil {
			return 0, false, fmt.Errorf("bulk append calls: entry %d: tail %d: %w", i, last, err)
		}
		if err := w.append(ctx, db, seq, id, c, ats, synced, body, prevHash, hash); err != nil {
			return 0, false, fmt.Errorf("bulk append calls: entry %d: %w", i, err)
		}
		last, prevHash = seq, hash
		n++
	}
	if err := w.project(ctx, first); err != nil {
		return 0, false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("bulk append calls: commit: %w", err)
	}
	return n, more, nil
}

// bulkBody checks c as the one-by-one append would, applies the same
// defaults (CallDenied's disposition and start time) and encodes the
// record.
func (db *DB) bulkBody(c *BulkCall) ([]byte, error) {
	switch c.Kind {
	case KindCallStart, KindCallEnd:
		if c.Record.CallID == "" {
			return nil, kiosk.Errorf(kiosk.EINVALID, "%s without a call id", c.Kind)
		}
	case KindCallDenied:
		c.Record.Disposition = kiosk.DispDenied
		if c.Record.Started.IsZero() {
			c.Record.Started = db.now()
		}
	default:
		return nil, kiosk.Errorf(kiosk.EINVALID, "kind %q is not a call entry", c.Kind)
	}
	return encodeCall(c.Record)
}

// bulkWriter holds the statements of one bulk transaction, prepared once:
// preparing the journal insert per entry cost more than running it.
type bulkWriter struct {
	journal, hbStart, hbEnd *sql.Stmt
	tx                      *sql.Tx
}

func newBulkWriter(ctx context.Context, tx *sql.Tx) (*bulkWriter, error) {
	w := &bulkWriter{tx: tx}
	for _, s := range []struct {
		dst **sql.Stmt
		sql string
	}{
		// The statements of appendTx, CallStarted and CallEnded.
		{&w.journal, `INSERT INTO journal (seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.hbStart, `INSERT INTO call_heartbeats (call_id, at, answered_at) VALUES (?, ?, ?)
			ON CONFLICT (call_id) DO UPDATE SET at = excluded.at, answered_at = excluded.answered_at`},
		{&w.hbEnd, `DELETE FROM call_heartbeats WHERE call_id = ?`},
	} {
		st, err := tx.PrepareContext(ctx, s.sql)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("bulk append calls: prepare: %w", err)
		}
		*s.dst = st
	}
	return w, nil
}

func (w *bulkWriter) close() {
	for _, st := range []*sql.Stmt{w.journal, w.hbStart, w.hbEnd} {
		if st != nil {
			st.Close()
		}
	}
}

// append inserts one entry and makes its heartbeat change, in the order
// of the one-by-one appends, and maps a second start or end to ECONFLICT
// as they do. The calls projection follows per transaction (project).
func (w *bulkWriter) append(ctx context.Context, db *DB, seq int64, id string, c BulkCall, at string, synced bool, body []byte, prevHash, hash string) error {
	callID := c.Record.CallID
	_, err := w.journal.ExecContext(ctx, seq, id, string(c.Kind), callID, at, synced, string(body), prevHash, hash)
	switch {
	case isUniqueViolation(err) && c.Kind == KindCallStart:
		return kiosk.Errorf(kiosk.ECONFLICT, "call %s already started", callID)
	case isUniqueViolation(err) && c.Kind == KindCallEnd:
		return kiosk.Errorf(kiosk.ECONFLICT, "call %s already ended", callID)
	case err != nil:
		return fmt.Errorf("journal append %s: %w", c.Kind, err)
	}
	switch c.Kind {
	case KindCallStart:
		hb := c.Record.Started
		if hb.IsZero() {
			hb = db.now()
		}
		if _, err := w.hbStart.ExecContext(ctx, callID, fmtTime(hb), fmtTime(c.Record.Answered)); err != nil {
			return fmt.Errorf("call started: heartbeat: %w", err)
		}
	case KindCallEnd:
		if _, err := w.hbEnd.ExecContext(ctx, callID); err != nil {
			return fmt.Errorf("call ended: drop heartbeat: %w", err)
		}
	}
	return nil
}

// project brings the calls projection in step with the entries from seq
// first on, appended in this transaction, leaving it as projectCall would
// have after each: a call's start row goes when its end comes, so the
// rows are the new end entries and denied attempts, and the new start
// entries without an end (the rows RebuildCalls derives). It is done in
// two statements, not per entry: projectCall's lookup of a call's start
// row scans the calls table (calls_call_once is partial, and its
// kind = 'call_start' does not let SQLite use it), which made a bulk of
// 200,000 entries quadratic. Here the redundant terms repeat the
// partial indexes' conditions, so that SQLite uses calls_call_once for
// the delete and journal_call_once for the end of a start (RebuildCalls'
// NOT EXISTS walks every end entry for each start).
func (w *bulkWriter) project(ctx context.Context, first int64) error {
	_, err := w.tx.ExecContext(ctx, `DELETE FROM calls
		WHERE kind = 'call_start' AND kind <> 'call_denied'
		  AND call_id IN (SELECT call_id FROM journal WHERE seq >= ? AND kind = 'call_end')`, first)
	if err != nil {
		return fmt.Errorf("bulk append calls: calls projection: drop starts: %w", err)
	}
	_, err = w.tx.ExecContext(ctx, `INSERT INTO calls (`+callsColumns+`) SELECT `+callsFromJournal+` FROM journal j
		WHERE j.seq >= ?
		  AND (j.kind IN ('call_end', 'call_denied')
		   OR (j.kind = 'call_start' AND NOT EXISTS (
		       SELECT 1 FROM journal e WHERE e.kind IN ('call_start', 'call_end') AND e.kind = 'call_end' AND e.call_id = j.call_id)))
		ORDER BY j.seq`, first)
	if err != nil {
		return fmt.Errorf("bulk append calls: calls projection: %w", err)
	}
	return nil
}
