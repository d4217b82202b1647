package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

var _ kiosk.Journal = (*DB)(nil)

// Kind is the kind of a journal entry.
type Kind string

const (
	KindCallStart  Kind = "call_start"
	KindCallEnd    Kind = "call_end"
	KindCallDenied Kind = "call_denied"
	KindRoster     Kind = "roster"
	KindAudit      Kind = "audit"
	KindSystem     Kind = "system"
)

// genesisHash is the prev_hash of the first entry: 32 zero bytes, in hex.
var genesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// Entry is one journal entry as stored.
type Entry struct {
	Seq         int64
	ID          string // 32 hex digits, random; stable across replication
	Kind        Kind
	CallID      string // "" unless a call entry
	At          time.Time
	ClockSynced bool
	Body        json.RawMessage
	PrevHash    string // hex SHA-256 of the previous entry; genesisHash for seq 1
	Hash        string // hex SHA-256, see canonical
}

// canonical returns the bytes an entry's hash covers: the fields seq, id,
// kind, call_id, at, clock_synced and body, in that order, each as a
// netstring (its length in bytes as ASCII decimal, ":", the bytes, ","):
//
//	seq           ASCII decimal, no sign or leading zeros ("42")
//	id            32 lowercase hex digits
//	kind          e.g. "call_end"
//	call_id       "" when none
//	at            UTC, "2006-01-02T15:04:05.000000000Z"
//	clock_synced  "1" or "0"
//	body          the body's JSON bytes exactly as stored
//
// An entry's hash is hex(SHA-256(prev || canonical)), where prev is the 32
// raw bytes of the previous entry's hash, or 32 zero bytes for the first
// entry.
func canonical(seq int64, id string, kind Kind, callID, at string, synced bool, body []byte) []byte {
	var b bytes.Buffer
	field := func(s []byte) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.Write(s)
		b.WriteByte(',')
	}
	field([]byte(strconv.FormatInt(seq, 10)))
	field([]byte(id))
	field([]byte(kind))
	field([]byte(callID))
	field([]byte(at))
	if synced {
		field([]byte("1"))
	} else {
		field([]byte("0"))
	}
	field(body)
	return b.Bytes()
}

// chainHash computes an entry's hash from the previous hash (hex) and the
// entry's canonical bytes.
func chainHash(prevHex string, canon []byte) (string, error) {
	prev, err := hex.DecodeString(prevHex)
	if err != nil || len(prev) != sha256.Size {
		return "", fmt.Errorf("bad prev_hash %q", prevHex)
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// appendTx appends one entry inside tx, which must be a write transaction
// (BEGIN IMMEDIATE), so that the tail read here is still the tail at
// commit. It returns the new entry's seq.
func (db *DB) appendTx(ctx context.Context, tx *sql.Tx, kind Kind, callID string, body []byte) (int64, error) {
	var (
		last     int64
		prevHash = genesisHash
	)
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&last, &prevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("journal append: read tail: %w", err)
	}
	var rnd [16]byte
	if _, err := io.ReadFull(db.rand, rnd[:]); err != nil {
		return 0, fmt.Errorf("journal append: entry id: %w", err)
	}
	id := hex.EncodeToString(rnd[:])
	seq := last + 1
	at := fmtTime(db.now())
	synced := db.synced()
	hash, err := chainHash(prevHash, canonical(seq, id, kind, callID, at, synced, body))
	if err != nil {
		return 0, fmt.Errorf("journal append: tail %d: %w", last, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO journal (seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, seq, id, string(kind), callID, at, synced, string(body), prevHash, hash)
	if err != nil {
		return 0, fmt.Errorf("journal append %s: %w", kind, err)
	}
	if kind == KindCallStart || kind == KindCallEnd || kind == KindCallDenied {
		if err := projectCall(ctx, tx, seq, kind, callID); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// appendOne appends one entry in its own write transaction; then, in the
// same transaction, runs after (if not nil).
func (db *DB) appendOne(ctx context.Context, kind Kind, callID string, body []byte, after func(*sql.Tx) error) (int64, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("journal append %s: begin: %w", kind, err)
	}
	defer tx.Rollback()
	seq, err := db.appendTx(ctx, tx, kind, callID, body)
	if err != nil {
		return 0, err
	}
	if after != nil {
		if err := after(tx); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("journal append %s: commit: %w", kind, err)
	}
	return seq, nil
}

// callBody is the stored JSON of a call entry. Field names are part of the
// journal format and must not change. Times are UTC in timeFormat ("" when
// unknown), so that they sort as strings; durations are given both as
// integer milliseconds and as whole seconds rounded by register.Seconds.
type callBody struct {
	CallID      string `json:"call_id"`
	Booth       string `json:"booth"`
	ChildID     int64  `json:"child_id"`
	ChildName   string `json:"child_name"`
	Class       string `json:"class"`
	ContactID   int64  `json:"contact_id"`
	ContactName string `json:"contact_name"`
	Relation    string `json:"relation"`
	Number      string `json:"number"`
	Mode        string `json:"mode"`
	Started     string `json:"started"`
	Ring        string `json:"ring"`
	Answered    string `json:"answered"`
	Ended       string `json:"ended"`
	ClockSynced bool   `json:"clock_synced"`
	DurationMS  int64  `json:"duration_ms"`
	BillsecMS   int64  `json:"billsec_ms"`
	Duration    int64  `json:"duration"`
	Billsec     int64  `json:"billsec"`
	Disposition string `json:"disposition"`
	Cause       string `json:"cause"`
	SIPCode     int    `json:"sip_code"`
	LimitMS     int64  `json:"limit_ms"`
	Help        bool   `json:"help"`
	Reason      string `json:"reason"`
	Screen      string `json:"screen"`
	// Video calls only; omitted otherwise, so phone entries keep their
	// bytes (and hashes).
	SetupMS int64              `json:"setup_ms,omitempty"`
	Quality *kiosk.CallQuality `json:"quality,omitempty"`
}

func encodeCall(r kiosk.CallRecord) ([]byte, error) {
	b, err := json.Marshal(callBody{
		CallID:      r.CallID,
		Booth:       r.Booth,
		ChildID:     int64(r.ChildID),
		ChildName:   r.ChildName,
		Class:       r.Class,
		ContactID:   int64(r.ContactID),
		ContactName: r.ContactName,
		Relation:    r.Relation,
		Number:      r.Number,
		Mode:        string(r.Mode),
		Started:     fmtTime(r.Started),
		Ring:        fmtTime(r.Ring),
		Answered:    fmtTime(r.Answered),
		Ended:       fmtTime(r.Ended),
		ClockSynced: r.ClockSynced,
		DurationMS:  r.Duration.Milliseconds(),
		BillsecMS:   r.Billsec.Milliseconds(),
		Duration:    register.Seconds(r.Duration),
		Billsec:     register.Seconds(r.Billsec),
		Disposition: string(r.Disposition),
		Cause:       string(r.Cause),
		SIPCode:     r.SIPCode,
		LimitMS:     r.Limit.Milliseconds(),
		Help:        r.Help,
		Reason:      string(r.Reason),
		Screen:      r.Screen,
		SetupMS:     r.Setup.Milliseconds(),
		Quality:     r.Quality,
	})
	if err != nil {
		return nil, fmt.Errorf("encode call %s: %w", r.CallID, err)
	}
	return b, nil
}

func decodeCall(body []byte) (kiosk.CallRecord, error) {
	var c callBody
	if err := json.Unmarshal(body, &c); err != nil {
		return kiosk.CallRecord{}, fmt.Errorf("decode call: %w", err)
	}
	r := kiosk.CallRecord{
		CallID:      c.CallID,
		Booth:       c.Booth,
		ChildID:     kiosk.ChildID(c.ChildID),
		ChildName:   c.ChildName,
		Class:       c.Class,
		ContactID:   kiosk.ContactID(c.ContactID),
		ContactName: c.ContactName,
		Relation:    c.Relation,
		Number:      c.Number,
		Mode:        kiosk.Mode(c.Mode),
		ClockSynced: c.ClockSynced,
		Duration:    time.Duration(c.DurationMS) * time.Millisecond,
		Billsec:     time.Duration(c.BillsecMS) * time.Millisecond,
		Disposition: kiosk.Disposition(c.Disposition),
		Cause:       kiosk.EndCause(c.Cause),
		SIPCode:     c.SIPCode,
		Limit:       time.Duration(c.LimitMS) * time.Millisecond,
		Help:        c.Help,
		Reason:      kiosk.Reason(c.Reason),
		Screen:      c.Screen,
		Setup:       time.Duration(c.SetupMS) * time.Millisecond,
		Quality:     c.Quality,
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		s   string
	}{{&r.Started, c.Started}, {&r.Ring, c.Ring}, {&r.Answered, c.Answered}, {&r.Ended, c.Ended}} {
		if *f.dst, err = parseTime(f.s); err != nil {
			return kiosk.CallRecord{}, fmt.Errorf("decode call %s: %w", c.CallID, err)
		}
	}
	return r, nil
}

// CallStarted appends the start entry of r (Ended zero) and starts its
// heartbeat row at r.Started, so that a crash before the first heartbeat
// still closes the call. r.CallID must be set (EINVALID); a second start of
// the same call is an ECONFLICT *kiosk.Error.
func (db *DB) CallStarted(ctx context.Context, r kiosk.CallRecord) error {
	if r.CallID == "" {
		return kiosk.Errorf(kiosk.EINVALID, "call start without a call id")
	}
	body, err := encodeCall(r)
	if err != nil {
		return err
	}
	_, err = db.appendOne(ctx, KindCallStart, r.CallID, body, func(tx *sql.Tx) error {
		at := r.Started
		if at.IsZero() {
			at = db.now()
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO call_heartbeats (call_id, at, answered_at) VALUES (?, ?, ?)
			ON CONFLICT (call_id) DO UPDATE SET at = excluded.at, answered_at = excluded.answered_at`,
			r.CallID, fmtTime(at), fmtTime(r.Answered))
		if err != nil {
			return fmt.Errorf("call started: heartbeat: %w", err)
		}
		return nil
	})
	if isUniqueViolation(err) {
		return kiosk.Errorf(kiosk.ECONFLICT, "call %s already started", r.CallID)
	}
	return err
}

// CallEnded appends the end entry of r and drops its heartbeat row, in one
// transaction. r.CallID must be set (EINVALID). A call ends once: a second
// end (for example after RecoverInterrupted closed it) is an ECONFLICT
// *kiosk.Error and appends nothing. An end without a start is accepted.
func (db *DB) CallEnded(ctx context.Context, r kiosk.CallRecord) error {
	_, err := db.callEnded(ctx, r)
	return err
}

func (db *DB) callEnded(ctx context.Context, r kiosk.CallRecord) (int64, error) {
	if r.CallID == "" {
		return 0, kiosk.Errorf(kiosk.EINVALID, "call end without a call id")
	}
	body, err := encodeCall(r)
	if err != nil {
		return 0, err
	}
	seq, err := db.appendOne(ctx, KindCallEnd, r.CallID, body, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM call_heartbeats WHERE call_id = ?`, r.CallID); err != nil {
			return fmt.Errorf("call ended: drop heartbeat: %w", err)
		}
		return nil
	})
	if isUniqueViolation(err) {
		return 0, kiosk.Errorf(kiosk.ECONFLICT, "call %s already ended", r.CallID)
	}
	return seq, err
}

// CallDenied appends a denied attempt. r.Disposition is set to DENIED; a
// zero r.Started is set to the current wall clock so that the attempt has
// its place in the register.
func (db *DB) CallDenied(ctx context.Context, r kiosk.CallRecord) error {
	r.Disposition = kiosk.DispDenied
	if r.Started.IsZero() {
		r.Started = db.now()
	}
	body, err := encodeCall(r)
	if err != nil {
		return err
	}
	_, err = db.appendOne(ctx, KindCallDenied, r.CallID, body, nil)
	return err
}

// CallHeartbeat records that the call is still in progress at t (not
// journaled: one row per open call, updated in place). It returns an
// ENOTFOUND *kiosk.Error if the call has no start entry or has ended.
func (db *DB) CallHeartbeat(ctx context.Context, callID string, t time.Time) error {
	res, err := db.db.ExecContext(ctx, `UPDATE call_heartbeats SET at = ? WHERE call_id = ?`, fmtTime(t), callID)
	if err != nil {
		return fmt.Errorf("call heartbeat: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no call %s in progress", callID)
	}
	return nil
}

// CallProgress records, for a call in progress, the wall-clock time the
// callee answered, so that RecoverInterrupted can close it as ANSWERED
// with a billsec after a crash. Call it when the callee answers. It returns
// an ENOTFOUND *kiosk.Error if the call has no start entry or has ended.
func (db *DB) CallProgress(ctx context.Context, callID string, answered time.Time) error {
	res, err := db.db.ExecContext(ctx, `UPDATE call_heartbeats SET answered_at = ?, at = MAX(at, ?) WHERE call_id = ?`,
		fmtTime(answered), fmtTime(answered), callID)
	if err != nil {
		return fmt.Errorf("call progress: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no call %s in progress", callID)
	}
	return nil
}

// Usage sums the child's answered, non-help calls that started at or after
// since: their count and their billsec in whole seconds (each call rounded
// by register.Seconds, then summed).
func (db *DB) Usage(ctx context.Context, id kiosk.ChildID, since time.Time) (kiosk.Usage, error) {
	var u kiosk.Usage
	// The started-time index bounds the scan to the calls since `since`
	// (a week for the quota), however long the journal is.
	err := db.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(json_extract(body, '$.billsec')), 0)
		FROM journal INDEXED BY journal_call_started
		WHERE kind IN ('call_start', 'call_end', 'call_denied') AND kind = 'call_end'
		  AND json_extract(body, '$.child_id') = ?
		  AND json_extract(body, '$.disposition') = 'ANSWERED'
		  AND json_extract(body, '$.help') = 0
		  AND json_extract(body, '$.started') >= ?`,
		int64(id), fmtTime(since)).Scan(&u.Calls, &u.Seconds)
	if err != nil {
		return kiosk.Usage{}, fmt.Errorf("usage of child %d: %w", id, err)
	}
	return u, nil
}

// recoverInterruptedSQL lists the call start entries without an end, with
// their last heartbeat. The candidates are the start rows of the calls
// projection, which stay only while their call has no end (projectCall,
// in the append's transaction), found by its partial index calls_open
// (migration 0017) without reading the register: walking every start
// entry of the journal took 245 ms at 100,000 calls, on every start of
// the daemon. Each is still checked against the journal, as before. The
// CROSS JOIN keeps calls_open as the outer loop (SQLite does not reorder
// it): on a filled file the planner would otherwise walk journal_kind.
const recoverInterruptedSQL = `SELECT s.body, COALESCE(h.at, ''), COALESCE(h.answered_at, '')
		FROM calls o CROSS JOIN journal s ON s.seq = o.seq
		LEFT JOIN call_heartbeats h ON h.call_id = s.call_id
		WHERE o.kind = 'call_start' AND s.kind = 'call_start'
		  AND NOT EXISTS (SELECT 1 FROM journal e WHERE e.kind = 'call_end' AND e.call_id = s.call_id` + journalCallOnce + `)
		ORDER BY o.seq`

// RecoverInterrupted closes every call that has a start entry and no end
// entry, as after a crash or power cut, and returns how many it closed.
// Each gets an end entry with Cause interrupted; Ended is the last
// heartbeat (or Started if none came later); if the callee's answer is
// known (from the start record or CallProgress) the disposition is
// ANSWERED with Billsec from answer to Ended, else FAILED. Duration and
// Billsec are wall-clock differences here, the only measure left after a
// crash. It is idempotent: a second run appends nothing. Only the daemon
// calls it, at start, before it places calls: in another process it would
// close the daemon's live calls.
func (db *DB) RecoverInterrupted(ctx context.Context) (int, error) {
	rows, err := db.db.QueryContext(ctx, recoverInterruptedSQL)
	if err != nil {
		return 0, fmt.Errorf("recover interrupted: query: %w", err)
	}
	type open struct {
		rec      kiosk.CallRecord
		hb, answ string
	}
	var opens []open
	for rows.Next() {
		var body, hb, answ string
		if err := rows.Scan(&body, &hb, &answ); err != nil {
			rows.Close()
			return 0, fmt.Errorf("recover interrupted: scan: %w", err)
		}
		rec, err := decodeCall([]byte(body))
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("recover interrupted: %w", err)
		}
		opens = append(opens, open{rec, hb, answ})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("recover interrupted: rows: %w", err)
	}
	closed := 0
	for _, o := range opens {
		r := o.rec
		last, err := parseTime(o.hb)
		if err != nil {
			return closed, fmt.Errorf("recover interrupted: call %s: %w", r.CallID, err)
		}
		answered, err := parseTime(o.answ)
		if err != nil {
			return closed, fmt.Errorf("recover interrupted: call %s: %w", r.CallID, err)
		}
		if answered.IsZero() {
			answered = r.Answered
		}
		r.Answered = answered
		r.Ended = r.Started
		if last.After(r.Ended) {
			r.Ended = last
		}
		if !r.Answered.IsZero() && r.Answered.After(r.Ended) {
			r.Ended = r.Answered
		}
		r.Cause = kiosk.CauseInterrupted
		r.Duration = r.Ended.Sub(r.Started)
		if r.Started.IsZero() {
			r.Duration = 0
		}
		r.Billsec = 0
		if r.Answered.IsZero() {
			r.Disposition = kiosk.DispFailed
		} else {
			r.Disposition = kiosk.DispAnswered
			r.Billsec = r.Ended.Sub(r.Answered)
		}
		_, err = db.callEnded(ctx, r)
		if kiosk.ErrorCode(err) == kiosk.ECONFLICT {
			continue // ended meanwhile, by another process or a late CallEnded
		}
		if err != nil {
			return closed, fmt.Errorf("recover interrupted: %w", err)
		}
		closed++
	}
	if closed > 0 {
		db.log.Info("closed interrupted calls", "count", closed)
	}
	return closed, nil
}

// Audit appends an 'audit' entry: who (actor: a user name or "kioskctl"),
// did what (action, e.g. "export_calls", "reveal_phone") and a free-text
// detail.
func (db *DB) Audit(ctx context.Context, actor, action, detail string) error {
	body, err := json.Marshal(struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
		Detail string `json:"detail"`
	}{actor, action, detail})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	_, err = db.appendOne(ctx, KindAudit, "", body, nil)
	return err
}

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	// Entries is how many entries were checked (up to and including the
	// broken one).
	Entries int
	// OK is true when every entry's prev_hash and hash match.
	OK bool
	// BrokenSeq is the seq of the first entry that does not match (0 when
	// OK), and Problem says how.
	BrokenSeq int64
	Problem   string
	// HeadSeq and Head are the last entry's seq and hash when OK: an
	// inspector who writes them down can later detect a truncated tail
	// (VerifyAnchor), which a hash chain alone cannot show.
	HeadSeq int64
	Head    string
	// Redacted counts the entries checked as redacted by an erasure
	// (erase.go); Erasures counts the erasure entries in the journal.
	Redacted, Erasures int
}

// Verify walks the whole journal in seq order and recomputes the chain
// (see canonical). It stops at the first entry whose prev_hash is not the
// previous entry's hash or whose hash does not match its content; an
// entry redacted by an erasure is checked against what the erasure entry
// recorded instead (entryProblem). It reads one snapshot of the journal.
// An error is returned only when the journal cannot be read.
//
// The journal is first checked in chunks, on several connections at once
// (verifyFast, verify.go); only when that does not find every entry valid
// is it walked serially, and that walk gives the result, so both ways
// report the same.
func (db *DB) Verify(ctx context.Context) (VerifyResult, error) {
	return db.verify(ctx, verifyChunk, min(runtime.GOMAXPROCS(0), verifyMaxWorkers))
}

// verify is Verify with the fast path's chunk size and number of
// connections (workers; 0 for none, the serial walk only) as parameters,
// for tests.
func (db *DB) verify(ctx context.Context, chunk int64, workers int) (VerifyResult, error) {
	// A read transaction (deferred, not IMMEDIATE: writers go on) keeps
	// the erasures read first in step with the entries read after.
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify: begin: %w", err)
	}
	defer tx.Rollback()
	red, erasures, err := loadRedactions(ctx, tx)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify: %w", err)
	}
	// The fast path checks seqs 1..head; a journal that does not start at
	// 1 is broken anyway, and the serial walk says how.
	var first, head int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(min(seq), 0), COALESCE(max(seq), 0) FROM journal`).Scan(&first, &head); err != nil {
		return VerifyResult{}, fmt.Errorf("verify: head: %w", err)
	}
	if workers > 0 && first == 1 {
		if res, ok := db.verifyFast(ctx, red, head, chunk, workers); ok {
			return db.verifyTriggers(ctx, tx, res, erasures)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, id, kind, call_id, at, clock_synced, CAST(body AS BLOB), prev_hash, hash
		FROM journal ORDER BY seq`)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify: query: %w", err)
	}
	defer rows.Close()
	var (
		res      VerifyResult
		prev     = genesisHash
		prevSeq  int64
		seq      int64
		synced   bool
		body     []byte
		id, kind string
		callID   string
		at       string
		ph, hash string
	)
	fail := func(problem string) (VerifyResult, error) {
		res.BrokenSeq = seq
		res.Problem = problem
		return res, nil
	}
	for rows.Next() {
		if err := rows.Scan(&seq, &id, &kind, &callID, &at, &synced, &body, &ph, &hash); err != nil {
			return VerifyResult{}, fmt.Errorf("verify: scan after seq %d: %w", prevSeq, err)
		}
		res.Entries++
		if seq != prevSeq+1 {
			return fail(fmt.Sprintf("seq %d follows %d: entries missing", seq, prevSeq))
		}
		if ph != prev {
			return fail("prev_hash does not match the previous entry's hash")
		}
		if problem := entryProblem(red, seq, id, Kind(kind), callID, at, synced, body, ph, hash); problem != "" {
			return fail(problem)
		}
		if _, ok := red[seq]; ok {
			res.Redacted++
		}
		prev, prevSeq = hash, seq
	}
	if err := rows.Err(); err != nil {
		return VerifyResult{}, fmt.Errorf("verify: rows after seq %d: %w", prevSeq, err)
	}
	res.Head = prev
	return db.verifyTriggers(ctx, tx, res, erasures)
}

// verifyTriggers completes the result res of a valid chain (Entries,
// Redacted and Head set): the chain may be intact and the journal still
// open to edits, so it checks that the append-only triggers are in place.
func (db *DB) verifyTriggers(ctx context.Context, tx *sql.Tx, res VerifyResult, erasures int) (VerifyResult, error) {
	for _, trig := range []string{"journal_no_update", "journal_no_delete"} {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?`, trig).Scan(&n); err != nil {
			return VerifyResult{}, fmt.Errorf("verify: triggers: %w", err)
		}
		if n == 0 {
			res.Head = ""
			res.Problem = fmt.Sprintf("trigger %s is missing: the journal is no longer append-only", trig)
			return res, nil
		}
	}
	res.OK = true
	res.HeadSeq = int64(res.Entries)
	res.Erasures = erasures
	return res, nil
}

// entryProblem checks one entry, whose prev_hash Verify has matched with
// the previous entry's hash: "" when it is valid, else what is wrong. An
// entry is valid when its hash is chainHash(prevHash, canonical(...)) of
// its content; an entry redacted by an erasure (in red, see erase.go)
// when its hash is the one the erasure recorded and that same formula
// over its content, redacted body included, gives the erasure's
// "redacted" hash.
func entryProblem(red map[int64]redaction, seq int64, id string, kind Kind, callID, at string, synced bool, body []byte, prevHash, hash string) string {
	want, err := chainHash(prevHash, canonical(seq, id, kind, callID, at, synced, body))
	if err != nil {
		return err.Error()
	}
	r, ok := red[seq]
	switch {
	case !ok && want != hash:
		return "hash does not match the entry's content"
	case ok && hash != r.hash:
		return fmt.Sprintf("hash is not the one erasure entry %d recorded", r.by)
	case ok && want != r.redacted:
		return fmt.Sprintf("redacted content does not match what erasure entry %d recorded", r.by)
	}
	return ""
}

// VerifyAnchor checks that entry seq exists and has hash, as written down
// at an earlier verification. Returns an EINVALID *kiosk.Error when the
// entry is missing (the tail was cut) or differs.
func (db *DB) VerifyAnchor(ctx context.Context, seq int64, hash string) error {
	var got string
	err := db.db.QueryRowContext(ctx, `SELECT hash FROM journal WHERE seq = ?`, seq).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Errorf(kiosk.EINVALID, "entry %d is missing: the journal was cut after an earlier verification", seq)
	} else if err != nil {
		return fmt.Errorf("verify anchor: %w", err)
	}
	if !strings.EqualFold(got, hash) {
		return kiosk.Errorf(kiosk.EINVALID, "entry %d has hash %s, not %s as recorded", seq, got, hash)
	}
	return nil
}

// Entries returns up to limit entries with seq > afterSeq, in seq order
// (limit <= 0 means 1000), for the JSON export of everything and, later,
// replication.
func (db *DB) Entries(ctx context.Context, afterSeq int64, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.db.QueryContext(ctx, `SELECT seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash
		FROM journal WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("entries after %d: %w", afterSeq, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e        Entry
			kind, at string
			body     string
		)
		if err := rows.Scan(&e.Seq, &e.ID, &kind, &e.CallID, &at, &e.ClockSynced, &body, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("entries after %d: scan: %w", afterSeq, err)
		}
		e.Kind = Kind(kind)
		e.Body = json.RawMessage(body)
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("entries after %d: seq %d: %w", afterSeq, e.Seq, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("entries after %d: %w", afterSeq, err)
	}
	return out, nil
}

// CallRow is one row of the calls register with the seq of the journal
// entry it came from; it is register.Call, so Calls' result goes straight
// to register.WriteCallsCSV.
type CallRow = register.Call

// callsColumns are the columns of the calls projection (migration 0009),
// in the order callsFromJournal selects them.
const callsColumns = `seq, call_id, kind, started, child_id, class, booth, mode, disposition, help, rec`

// callFields are the fields of a call entry's body that the projection's
// rec column holds, in order: each as a netstring (see canonical) of its
// value as json_extract returns it (numbers and booleans in decimal,
// strings unescaped, quality as JSON), an absent field as empty or 0.
// unpackCall reads them back.
var callFields = []struct {
	key string
	num bool
}{
	{"call_id", false}, {"started", false}, {"booth", false}, {"child_id", true},
	{"child_name", false}, {"class", false}, {"contact_id", true}, {"contact_name", false},
	{"relation", false}, {"number", false}, {"mode", false}, {"ring", false},
	{"answered", false}, {"ended", false}, {"clock_synced", true}, {"duration_ms", true},
	{"billsec_ms", true}, {"disposition", false}, {"cause", false}, {"sip_code", true},
	{"limit_ms", true}, {"help", true}, {"reason", false}, {"screen", false},
	{"setup_ms", true}, {"quality", false},
}

// callsFromJournal is the SELECT list that makes, from a call entry j of
// the journal, a row of the calls projection (callsColumns). Migration
// 0009 back-fills with the same list (a test keeps them in step).
var callsFromJournal = func() string {
	field := func(key string, num bool) string {
		zero := "''"
		if num {
			zero = "0"
		}
		return "COALESCE(json_extract(j.body, '$." + key + "'), " + zero + ")"
	}
	var b strings.Builder
	b.WriteString("j.seq, j.call_id, j.kind")
	for _, k := range []string{"started", "child_id", "class", "booth", "mode", "disposition", "help"} {
		num := k == "child_id" || k == "help"
		b.WriteString(",\n\t" + field(k, num))
	}
	for i, f := range callFields {
		v := field(f.key, f.num)
		sep := " ||"
		if i == 0 {
			sep = ","
		}
		b.WriteString(sep + "\n\toctet_length(" + v + ") || ':' || " + v + " || ','")
	}
	return b.String()
}()

// projectCall updates the calls projection for the call entry seq just
// appended in tx, so that the projection commits (or rolls back) with the
// entry: a start adds the call's row unless its end is already there; an
// end replaces the start's row (or adds one: an end without a start is
// accepted); a denied attempt adds a row of its own.
// SQLite uses a partial index only for a query whose WHERE clause has the
// index's own WHERE terms; "kind = 'call_end'" alone does not count, and
// the lookup by call id becomes a scan of every call (TestCallLookupsUseIndexes).
// These terms, redundant for the result, name the partial unique indexes
// of the calls projection (calls_call_once, migration 0009) and of the
// journal's call entries (journal_call_once).
const (
	callsOnce       = ` AND kind <> 'call_denied'`
	journalCallOnce = ` AND e.kind IN ('call_start', 'call_end')`
)

// The statements that keep the calls projection: a start is projected
// unless its end is there already, an end replaces its start, a denied
// attempt is projected as it is; RebuildCalls recomputes it all.
var (
	projectSQL      = `INSERT INTO calls (` + callsColumns + `) SELECT ` + callsFromJournal + ` FROM journal j WHERE j.seq = ?`
	projectStartSQL = projectSQL + ` AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.call_id = ? AND c.kind = 'call_end'` + callsOnce + `)`
	dropStartSQL    = `DELETE FROM calls WHERE call_id = ? AND kind = 'call_start'` + callsOnce
	rebuildCallsSQL = `INSERT INTO calls (` + callsColumns + `) SELECT ` + callsFromJournal + ` FROM journal j
		WHERE j.kind IN ('call_end', 'call_denied')
		   OR (j.kind = 'call_start' AND NOT EXISTS (
		       SELECT 1 FROM journal e WHERE e.kind = 'call_end' AND e.call_id = j.call_id` + journalCallOnce + `))
		ORDER BY j.seq`
)

func projectCall(ctx context.Context, tx *sql.Tx, seq int64, kind Kind, callID string) error {
	insert, args := projectSQL, []any{seq}
	switch kind {
	case KindCallStart:
		insert = projectStartSQL
		args = append(args, callID)
	case KindCallEnd:
		if _, err := tx.ExecContext(ctx, dropStartSQL, callID); err != nil {
			return fmt.Errorf("journal append %s: calls projection: drop start: %w", kind, err)
		}
	}
	if _, err := tx.ExecContext(ctx, insert, args...); err != nil {
		return fmt.Errorf("journal append %s: calls projection: %w", kind, err)
	}
	return nil
}

// RebuildCalls recomputes the calls projection (the table Calls reads,
// migration 0009) from the journal, in one write transaction: the rows
// are the journal's end entries, start entries without an end, and denied
// attempts. The projection is derived data, kept in step by every call
// append; rebuild it after the journal was written by other means (a
// restore, a bulk import) or if it is suspected stale. The journal itself
// is only read. Errors name the step.
func (db *DB) RebuildCalls(ctx context.Context) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rebuild calls: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM calls`); err != nil {
		return fmt.Errorf("rebuild calls: clear: %w", err)
	}
	_, err = tx.ExecContext(ctx, rebuildCallsSQL)
	if err != nil {
		return fmt.Errorf("rebuild calls: fill: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rebuild calls: commit: %w", err)
	}
	return nil
}

// Calls returns the calls register for calls that started in [from, to):
// one row per call (its end entry; its start entry while it is still
// open) and one per denied attempt, ordered by Started then seq. A zero
// from or to leaves that side open. Times come back in UTC. It reads the
// calls projection (see RebuildCalls), not the journal's bodies.
func (db *DB) Calls(ctx context.Context, from, to time.Time) ([]CallRow, error) {
	lo, hi := fmtTime(from), "~" // "~" sorts after every stored time
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	// Counting first (on the index alone) sizes the result once: the
	// rows are large, and growing the slice cost a tenth of the query.
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM calls WHERE started >= ? AND started < ?`, lo, hi).Scan(&n); err != nil {
		return nil, fmt.Errorf("calls register: count: %w", err)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT seq, rec FROM calls
		WHERE started >= ? AND started < ? ORDER BY started, seq`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("calls register: query: %w", err)
	}
	defer rows.Close()
	var out []CallRow
	if n > 0 {
		out = make([]CallRow, 0, n)
	}
	for rows.Next() {
		var (
			row CallRow
			rec string
		)
		if err := rows.Scan(&row.Seq, &rec); err != nil {
			return nil, fmt.Errorf("calls register: scan: %w", err)
		}
		if err := unpackCall(rec, &row.CallRecord); err != nil {
			return nil, fmt.Errorf("calls register: seq %d: %w", row.Seq, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls register: rows: %w", err)
	}
	return out, nil
}

// unpackCall decodes a calls projection's rec (see callFields) into r, as
// decodeCall decodes the entry's body; about a tenth of decodeCall's cost.
func unpackCall(packed string, r *kiosk.CallRecord) error {
	p := netstrings{s: packed}
	r.CallID = p.str()
	r.Started = p.time()
	r.Booth = p.str()
	r.ChildID = kiosk.ChildID(p.int())
	r.ChildName = p.str()
	r.Class = p.str()
	r.ContactID = kiosk.ContactID(p.int())
	r.ContactName = p.str()
	r.Relation = p.str()
	r.Number = p.str()
	r.Mode = kiosk.Mode(p.str())
	r.Ring = p.time()
	r.Answered = p.time()
	r.Ended = p.time()
	r.ClockSynced = p.int() != 0
	r.Duration = time.Duration(p.int()) * time.Millisecond
	r.Billsec = time.Duration(p.int()) * time.Millisecond
	r.Disposition = kiosk.Disposition(p.str())
	r.Cause = kiosk.EndCause(p.str())
	r.SIPCode = int(p.int())
	r.Limit = time.Duration(p.int()) * time.Millisecond
	r.Help = p.int() != 0
	r.Reason = kiosk.Reason(p.str())
	r.Screen = p.str()
	r.Setup = time.Duration(p.int()) * time.Millisecond
	if q := p.str(); q != "" && p.err == nil {
		r.Quality = new(kiosk.CallQuality)
		if err := json.Unmarshal([]byte(q), r.Quality); err != nil {
			return fmt.Errorf("unpack call: quality: %w", err)
		}
	}
	if p.err == nil && p.s != "" {
		p.err = errors.New("trailing bytes")
	}
	if p.err != nil {
		return fmt.Errorf("unpack call %s: %w", r.CallID, p.err)
	}
	return nil
}

// netstrings reads netstrings ("len:bytes,") off s; after the first
// error every read returns the zero value and err stays set.
type netstrings struct {
	s   string
	err error
}

func (p *netstrings) str() string {
	if p.err != nil {
		return ""
	}
	i := strings.IndexByte(p.s, ':')
	n, err := strconv.Atoi(p.s[:max(i, 0)])
	if i < 0 || err != nil || n < 0 || i+1+n >= len(p.s) || p.s[i+1+n] != ',' {
		p.err = errors.New("malformed netstring")
		return ""
	}
	v := p.s[i+1 : i+1+n]
	p.s = p.s[i+2+n:]
	return v
}

func (p *netstrings) int() int64 {
	v := p.str()
	if p.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		p.err = err
	}
	return n
}

func (p *netstrings) time() time.Time {
	v := p.str()
	if p.err != nil {
		return time.Time{}
	}
	t, err := parseTime(v)
	if err != nil {
		p.err = err
	}
	return t
}

// System appends a 'system' entry for a station event (event, e.g.
// "started", "stopped", "clock_synced", with a free-text detail).
func (db *DB) System(ctx context.Context, event, detail string) error {
	body, err := json.Marshal(struct {
		Event  string `json:"event"`
		Detail string `json:"detail"`
	}{event, detail})
	if err != nil {
		return fmt.Errorf("system entry: %w", err)
	}
	_, err = db.appendOne(ctx, KindSystem, "", body, nil)
	return err
}
