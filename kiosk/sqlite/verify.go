package sqlite

// The fast path of Verify: the journal's seq range cut into chunks, each
// chunk hashed inside SQLite's scan by an aggregate function written in Go
// (chainAgg), the chunks spread over several connections at once.
//
// Reading rows through database/sql is what made Verify slow: about
// 0.25 µs per column of each row (modernc's column calls each take the
// connection's mutex and copy the value; nine columns a row), against
// 0.6 µs to hash an entry. An aggregate function sees each row's values
// where SQLite holds them, without a copy (VolatileArgs), and a chunk
// crosses back to Go as one small summary. The journal being append-only,
// the range 1..head (head fixed first, in Verify's snapshot) can be checked
// in pieces: each chunk checks its own links, and the chunks are stitched
// (each chunk's first prev_hash is the previous chunk's last hash). The
// aggregate cannot see Verify's redactions: it lists the entries whose
// hash is not their content's, and verifyFast checks that these are
// exactly the redacted entries, each as entryProblem would.
//
// The fast path only ever concludes "every entry is valid". On anything
// else (a broken link or hash, a seq missing or out of order, a value of
// an unexpected type, a read error) Verify walks the journal serially in
// its own snapshot and reports what that finds, so Problem and BrokenSeq
// are the serial walk's, word for word. The workers read in snapshots of
// their own, taken after Verify's: rows up to head are the same in all of
// them unless an erasure ran in between (its redacted bodies then fail
// here against the redactions Verify loaded, and the serial walk, which
// sees neither, passes) or the file was tampered with meanwhile.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	msqlite "modernc.org/sqlite"
)

const (
	// verifyChunk is how many entries one query of the fast path reads.
	verifyChunk = 16384
	// verifyMaxWorkers caps the connections the fast path reads on.
	verifyMaxWorkers = 4
	// chainFunc is the SQL name of the aggregate chainAgg.
	chainFunc = "qq_journal_chain"
)

// chainChunkQuery checks the entries of a seq range with chainAgg.
const chainChunkQuery = `SELECT ` + chainFunc + `(seq, id, kind, call_id, at, clock_synced, CAST(body AS BLOB), prev_hash, hash)
	FROM journal WHERE seq BETWEEN ? AND ?`

// The driver offers a registered function to every connection it opens
// afterwards, in this process.
func init() {
	msqlite.MustRegisterFunction(chainFunc, &msqlite.FunctionImpl{
		NArgs:         9,
		Deterministic: true,
		VolatileArgs:  true, // chainAgg keeps no argument past Step
		MakeAggregate: func(msqlite.FunctionContext) (msqlite.AggregateFunction, error) {
			return &chainAgg{}, nil
		},
	})
}

// chainSummary is what chainAgg returns for a chunk, as JSON.
type chainSummary struct {
	// N is how many entries the chunk had, First the first one's seq.
	N, First int64
	// Broken: the seqs did not follow each other, a prev_hash was not
	// the previous entry's hash or was not 32 bytes in hex, or a value
	// had an unexpected type; the rest of the summary is then partial.
	Broken bool
	// FirstPrev is the first entry's prev_hash, Last the last one's hash.
	FirstPrev, Last string
	// Mismatches are the entries whose hash is not chainHash of their
	// content (in seq order); for a valid chunk, its redacted entries.
	Mismatches []chainMismatch
}

// chainMismatch is an entry whose hash does not match its content: its
// hash as stored and Want, chainHash of its content.
type chainMismatch struct {
	Seq        int64
	Hash, Want string
}

// chainAgg is the aggregate SQL function chainFunc(seq, id, kind, call_id,
// at, clock_synced, body, prev_hash, hash), fed a chunk's entries in seq
// order; its value is a chainSummary.
type chainAgg struct {
	sum       chainSummary
	last, buf []byte
	// digest is the last entry's chain hash (raw), lastMatched whether
	// its stored hash (last) was that.
	digest      [sha256.Size]byte
	lastMatched bool
}

var _ msqlite.AggregateFunction = (*chainAgg)(nil)

// Step checks one entry as Verify's serial walk does: seq follows, the
// prev_hash links, the hash is chainHash(prev_hash, canonical(...)).
func (a *chainAgg) Step(_ *msqlite.FunctionContext, args []driver.Value) error {
	s := &a.sum
	if s.Broken {
		return nil
	}
	seq, ok0 := args[0].(int64)
	synced, ok5 := args[5].(int64)
	id, ok1 := textArg(args[1])
	kind, ok2 := textArg(args[2])
	callID, ok3 := textArg(args[3])
	at, ok4 := textArg(args[4])
	body, ok6 := args[6].([]byte)
	ph, ok7 := textArg(args[7])
	hash, ok8 := textArg(args[8])
	if !(ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || (synced != 0 && synced != 1) {
		s.Broken = true
		return nil
	}
	// The string arguments are views into SQLite's memory: what is kept
	// is copied.
	if s.N == 0 {
		s.First = seq
		s.FirstPrev = strings.Clone(ph)
	} else if seq != s.First+s.N || ph != string(a.last) {
		s.Broken = true
		return nil
	}
	s.N++
	// As chainHash(ph, canonical(...)), without allocating.
	// The previous entry's raw hash is ph decoded; when its hash matched
	// its content, it is the digest computed for it.
	if a.lastMatched {
		a.buf = append(a.buf[:0], a.digest[:]...)
	} else {
		a.buf = append(a.buf[:0], make([]byte, sha256.Size)...)
		if !decodeHex(a.buf, ph) {
			s.Broken = true
			return nil
		}
	}
	var num [20]byte
	a.buf = appendNetstring(a.buf, strconv.AppendInt(num[:0], seq, 10))
	a.buf = appendNetstring(a.buf, id)
	a.buf = appendNetstring(a.buf, kind)
	a.buf = appendNetstring(a.buf, callID)
	a.buf = appendNetstring(a.buf, at)
	a.buf = appendNetstring(a.buf, strconv.FormatInt(synced, 10))
	a.buf = appendNetstring(a.buf, body)
	var want [2 * sha256.Size]byte
	a.digest = sha256.Sum256(a.buf)
	hex.Encode(want[:], a.digest[:])
	a.lastMatched = string(want[:]) == hash
	if !a.lastMatched {
		s.Mismatches = append(s.Mismatches, chainMismatch{Seq: seq, Hash: strings.Clone(hash), Want: string(want[:])})
	}
	a.last = append(a.last[:0], hash...)
	return nil
}

// textArg returns the bytes of a TEXT (or BLOB) argument, as Scan into a
// string gives them; ok is false for any other type.
func textArg(v driver.Value) (s string, ok bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	}
	return "", false
}

// decodeHex decodes s, 2*len(dst) hex digits in either case (as
// hex.DecodeString takes them), into dst.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// WindowInverse is not used: chainFunc is no window function.
func (a *chainAgg) WindowInverse(*msqlite.FunctionContext, []driver.Value) error {
	return errors.New(chainFunc + ": not a window function")
}

// WindowValue returns the chainSummary as JSON.
func (a *chainAgg) WindowValue(*msqlite.FunctionContext) (driver.Value, error) {
	a.sum.Last = string(a.last)
	b, err := json.Marshal(a.sum)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", chainFunc, err)
	}
	return b, nil
}

// Final does nothing: WindowValue gave the result.
func (a *chainAgg) Final(*msqlite.FunctionContext) {}

// appendNetstring appends s to b as a netstring ("len:bytes,", see
// canonical).
func appendNetstring[T string | []byte](b []byte, s T) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// chunkLinks is what a valid chunk tells the stitching: its first entry's
// prev_hash and its last entry's hash (hex, as stored).
type chunkLinks struct {
	firstPrev, last string
}

// errChunk says that a chunk is not valid, without saying why.
var errChunk = errors.New("verify: chunk not valid")

// verifyFast checks entries 1..head (head >= 1) as Verify does, in chunks
// of chunk entries read on up to workers connections at once (Verify:
// GOMAXPROCS, at most verifyMaxWorkers). red is Verify's redactions. ok is true when every entry is
// valid; then Entries, Redacted and Head of res are set. ok false says
// nothing about where or why: the caller walks serially.
func (db *DB) verifyFast(ctx context.Context, red map[int64]redaction, head, chunk int64, workers int) (res VerifyResult, ok bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nChunks := (head + chunk - 1) / chunk
	links := make([]chunkLinks, nChunks)
	// The redacted entries of each chunk: a valid chunk's mismatches are
	// exactly these.
	redacted := make([]int, nChunks)
	for seq := range red {
		if seq >= 1 && seq <= head {
			redacted[(seq-1)/chunk]++
			res.Redacted++
		}
	}
	var (
		next   atomic.Int64 // the next chunk to take
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	for range min(int64(workers), nChunks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.verifyWorker(ctx, func(i int64, stmt *sql.Stmt) error {
				lo := i*chunk + 1
				hi := min(lo+chunk-1, head)
				l, err := checkChunk(ctx, stmt, red, lo, hi, redacted[i])
				links[i] = l
				return err
			}, nChunks, &next)
			if err != nil {
				if failed.CompareAndSwap(false, true) {
					db.log.Debug("verify: the fast path gives way to the serial walk", "err", err)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	if failed.Load() {
		return VerifyResult{}, false
	}
	prev := genesisHash
	for _, l := range links {
		if l.firstPrev != prev {
			return VerifyResult{}, false
		}
		prev = l.last
	}
	res.Entries = int(head)
	res.Head = prev
	return res, true
}

// verifyWorker takes chunk indexes (from next, below n) until none is
// left and checks each with check, on a connection of its own in one read
// transaction, with chainChunkQuery prepared once. It returns at the first
// error, errChunk included.
func (db *DB) verifyWorker(ctx context.Context, check func(i int64, stmt *sql.Stmt) error, n int64, next *atomic.Int64) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("verify: begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, chainChunkQuery)
	if err != nil {
		return fmt.Errorf("verify: prepare: %w", err)
	}
	defer stmt.Close()
	for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
		if err := check(i, stmt); err != nil {
			return err
		}
	}
	return nil
}

// checkChunk checks entries lo..hi with stmt (chainChunkQuery): all there
// in order and linked, and those whose hash is not their content's are
// exactly the chunk's nRed redacted entries, each with the hash and the
// redacted hash its erasure recorded (as entryProblem checks them).
func checkChunk(ctx context.Context, stmt *sql.Stmt, red map[int64]redaction, lo, hi int64, nRed int) (chunkLinks, error) {
	var raw []byte
	if err := stmt.QueryRowContext(ctx, lo, hi).Scan(&raw); err != nil {
		return chunkLinks{}, fmt.Errorf("verify: entries %d..%d: %w", lo, hi, err)
	}
	var s chainSummary
	if err := json.Unmarshal(raw, &s); err != nil {
		return chunkLinks{}, fmt.Errorf("verify: entries %d..%d: %w", lo, hi, err)
	}
	if s.Broken || s.First != lo || s.N != hi-lo+1 || len(s.Mismatches) != nRed {
		return chunkLinks{}, errChunk
	}
	for _, m := range s.Mismatches {
		r, ok := red[m.Seq]
		if !ok || m.Hash != r.hash || m.Want != r.redacted {
			return chunkLinks{}, errChunk
		}
	}
	return chunkLinks{firstPrev: s.FirstPrev, last: s.Last}, nil
}
