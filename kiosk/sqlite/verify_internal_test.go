package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// verifyChunkTest is the chunk size of the fast path in these tests: the
// fixture's 65 entries make 9 chunks, read on verifyWorkersTest
// connections at once.
const (
	verifyChunkTest   = 8
	verifyWorkersTest = 3
)

// verifyFixture writes, through the ordinary appends, a journal of 65
// entries: the roster of two children (seqs 1 to 4), then 28 rounds of an
// audit entry (odd seqs 5 to 59) and a call of child 1 (6, 10, ... 58) or
// 2 (8, 12, ... 60), then child 1 left (61) and erased (62: seqs 1, 2 and
// child 1's calls redacted), then 3 audits. It returns the file's path,
// closed (so a test can copy or tamper with it).
func verifyFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	var tick atomic.Int64
	now := func() time.Time {
		return time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(tick.Add(1)) * time.Minute)
	}
	db, err := Open(ctx, path, Opts{Now: now})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ApplyRoster(ctx, []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "王小明", Class: "三年级1班"},
			Contacts: []kiosk.Contact{{Slot: 1, Name: "李芳", Relation: "母亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}}}},
		{Line: 3, Child: kiosk.Child{Name: "张丽", Class: "五年级2班"},
			Contacts: []kiosk.Contact{{Slot: 1, Name: "张伟", Relation: "父亲", Phone: "+8613912345678", Modes: []kiosk.Mode{kiosk.ModePhone}}}},
	}, false)
	require.NoError(t, err)
	for i := range 28 {
		require.NoError(t, db.Audit(ctx, "mgr", "view", fmt.Sprintf("round %d", i)))
		child := kiosk.ChildID(1 + i%2)
		started := now()
		require.NoError(t, db.CallEnded(ctx, kiosk.CallRecord{CallID: fmt.Sprintf("c%d", i), Booth: "b1", ChildID: child,
			ChildName: []string{"王小明", "张丽"}[i%2], ContactID: kiosk.ContactID(child), Mode: kiosk.ModePhone,
			Started: started, Answered: started.Add(5 * time.Second), Ended: started.Add(time.Minute), ClockSynced: i%3 != 0,
			Billsec: 55 * time.Second, Duration: time.Minute, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup}))
	}
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))
	e, err := db.EraseChild(ctx, "mgr", EraseManual, 1)
	require.NoError(t, err)
	require.Greater(t, e.Redacted, 14, "child 1's calls and roster entries are redacted")
	for i := range 3 {
		require.NoError(t, db.Audit(ctx, "mgr", "view", fmt.Sprintf("after %d", i)))
	}
	var head int64
	require.NoError(t, db.db.QueryRowContext(ctx, `SELECT max(seq) FROM journal`).Scan(&head))
	require.Equal(t, int64(65), head, "the fixture's length, which the tests' seqs assume")
	return path
}

// openCopy copies the database file at path into a new directory and
// opens it, so that each test case tampers with a journal of its own.
func openCopy(t *testing.T, path string) (*DB, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cp := filepath.Join(t.TempDir(), "kiosk.db")
	require.NoError(t, os.WriteFile(cp, b, 0o600))
	db, err := Open(context.Background(), cp, Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, cp
}

// fastVerify runs the fast path alone over the whole journal of db.
func fastVerify(t *testing.T, db *DB, chunk int64) (VerifyResult, bool) {
	t.Helper()
	ctx := context.Background()
	red, _, err := loadRedactions(ctx, db.db)
	require.NoError(t, err)
	var head int64
	require.NoError(t, db.db.QueryRowContext(ctx, `SELECT max(seq) FROM journal`).Scan(&head))
	return db.verifyFast(ctx, red, head, chunk, verifyWorkersTest)
}

// The fast path finds a valid journal valid, redacted entries included,
// whatever the chunks, and Verify reports exactly what the serial walk
// reports.
func TestVerifyFastValid(t *testing.T) {
	ctx := context.Background()
	db, _ := openCopy(t, verifyFixture(t))
	serial, err := db.verify(ctx, verifyChunkTest, 0)
	require.NoError(t, err)
	require.True(t, serial.OK, serial.Problem)
	require.Equal(t, 65, serial.Entries)
	require.Equal(t, 1, serial.Erasures)
	require.Positive(t, serial.Redacted)
	for _, chunk := range []int64{1, 3, verifyChunkTest, 33, 64, 65, 66, verifyChunk} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			fast, ok := fastVerify(t, db, chunk)
			require.True(t, ok, "the fast path takes a valid journal")
			assert.Equal(t, VerifyResult{Entries: 65, Redacted: serial.Redacted, Head: serial.Head}, fast)
			res, err := db.verify(ctx, chunk, verifyWorkersTest)
			require.NoError(t, err)
			assert.Equal(t, serial, res)
		})
	}
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.Equal(t, serial, res)
}

// A break anywhere, at a chunk's first or last entry, between chunks or in
// the second half, makes the fast path give way, and Verify names the
// same entry with the same words as the serial walk.
func TestVerifyFastBreaks(t *testing.T) {
	ctx := context.Background()
	path := verifyFixture(t)
	// Chunks of 8: 1..8, 9..16, ... 57..64, 65.
	tests := []struct {
		name    string
		tamper  []string
		seq     int64
		problem string
		// outside: the break is outside seqs 1..head, which the fast
		// path reads; Verify sees it and does not take the fast path.
		outside bool
		// rechain, when not 0: after tamper, the entries from this seq on
		// get the hashes of their content, chained from the previous
		// entry's hash, or from a forged one (forge), as a forger would.
		rechain int64
		forge   bool
	}{
		{name: "content of the first entry of the second chunk",
			tamper: []string{`UPDATE journal SET clock_synced = 1 - clock_synced WHERE seq = 9`},
			seq:    9, problem: "hash does not match the entry's content"},
		{name: "content of the last entry of a chunk",
			tamper: []string{`UPDATE journal SET at = at || ' ' WHERE seq = 16`},
			seq:    16, problem: "hash does not match the entry's content"},
		{name: "hash of the last entry of a chunk, and the link after it",
			tamper: []string{`UPDATE journal SET hash = '` + genesisHash + `' WHERE seq = 24`,
				`UPDATE journal SET prev_hash = '` + genesisHash + `' WHERE seq = 25`},
			seq: 24, problem: "hash does not match the entry's content"},
		{name: "link between two chunks",
			tamper: []string{`UPDATE journal SET prev_hash = (SELECT hash FROM journal WHERE seq = 31) WHERE seq = 33`},
			seq:    33, problem: "prev_hash does not match the previous entry's hash"},
		{name: "first entry of a chunk deleted",
			tamper: []string{`DELETE FROM journal WHERE seq = 41`},
			seq:    42, problem: "seq 42 follows 40: entries missing"},
		{name: "second half, mid-chunk",
			tamper: []string{`UPDATE journal SET body = replace(body, 'view', 'edit') WHERE seq = 53`},
			seq:    53, problem: "hash does not match the entry's content"},
		{name: "redacted entry in the second half changed again",
			tamper: []string{`UPDATE journal SET body = replace(body, '"booth":"b1"', '"booth":"b2"') WHERE seq = 54`},
			seq:    54, problem: "redacted content does not match what erasure entry 62 recorded"},
		{name: "redacted entry's hash changed",
			tamper: []string{`UPDATE journal SET hash = '` + genesisHash + `' WHERE seq = 58`},
			seq:    58, problem: "hash is not the one erasure entry 62 recorded"},
		{name: "last entry",
			tamper: []string{`UPDATE journal SET kind = 'system' WHERE seq = 65`},
			seq:    65, problem: "hash does not match the entry's content"},
		{name: "tail rechained from a forged hash at the last chunk", rechain: 65, forge: true,
			seq: 65, problem: "prev_hash does not match the previous entry's hash"},
		{name: "redacted entry given its content's hash, the rest rechained", rechain: 58,
			seq: 58, problem: "hash is not the one erasure entry 62 recorded"},
		{name: "first entry",
			tamper: []string{`UPDATE journal SET prev_hash = hash WHERE seq = 1`},
			seq:    1, problem: "prev_hash does not match the previous entry's hash"},
		{name: "an entry before the first", outside: true,
			tamper: []string{`INSERT INTO journal (seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash)
				SELECT 0, 'x', kind, call_id, at, clock_synced, body, prev_hash, hash FROM journal WHERE seq = 1`},
			seq: 0, problem: "seq 0 follows 0: entries missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, cp := openCopy(t, path)
			raw, err := sql.Open("sqlite", cp+"?_pragma=busy_timeout(5000)")
			require.NoError(t, err)
			defer raw.Close()
			for _, q := range append([]string{`DROP TRIGGER journal_no_update`, `DROP TRIGGER journal_no_delete`}, tc.tamper...) {
				_, err := raw.Exec(q)
				require.NoError(t, err, q)
			}
			if tc.rechain > 0 {
				rechain(t, raw, tc.rechain, tc.forge)
			}
			if !tc.outside {
				_, ok := fastVerify(t, db, verifyChunkTest)
				assert.False(t, ok, "the fast path gives way")
			}
			serial, err := db.verify(ctx, verifyChunkTest, 0)
			require.NoError(t, err)
			require.False(t, serial.OK)
			assert.Equal(t, tc.seq, serial.BrokenSeq, serial.Problem)
			assert.Equal(t, tc.problem, serial.Problem)
			for _, chunk := range []int64{verifyChunkTest, verifyChunk} {
				res, err := db.verify(ctx, chunk, verifyWorkersTest)
				require.NoError(t, err)
				assert.Equal(t, serial, res, "chunks of %d", chunk)
			}
		})
	}
}

// rechain gives the entries from seq from on the hashes of their content
// (chainHash, canonical), chained from the previous entry's hash or, if
// forge, from a hash that is no entry's.
func rechain(t *testing.T, raw *sql.DB, from int64, forge bool) {
	t.Helper()
	prev := genesisHash
	if !forge {
		require.NoError(t, raw.QueryRow(`SELECT hash FROM journal WHERE seq = ?`, from-1).Scan(&prev))
	}
	var head int64
	require.NoError(t, raw.QueryRow(`SELECT max(seq) FROM journal`).Scan(&head))
	for seq := from; seq <= head; seq++ {
		var (
			id, kind, callID, at string
			synced               bool
			body                 []byte
		)
		require.NoError(t, raw.QueryRow(`SELECT id, kind, call_id, at, clock_synced, CAST(body AS BLOB) FROM journal WHERE seq = ?`, seq).
			Scan(&id, &kind, &callID, &at, &synced, &body))
		hash, err := chainHash(prev, canonical(seq, id, Kind(kind), callID, at, synced, body))
		require.NoError(t, err)
		_, err = raw.Exec(`UPDATE journal SET prev_hash = ?, hash = ? WHERE seq = ?`, prev, hash, seq)
		require.NoError(t, err)
		prev = hash
	}
}

// Values the fast path does not expect, or a journal valid but open to
// edits, end as the serial walk ends.
func TestVerifyFastOddValues(t *testing.T) {
	ctx := context.Background()
	path := verifyFixture(t)
	tests := []struct {
		name   string
		tamper string
	}{
		{"id stored as a blob of the same bytes", `UPDATE journal SET id = CAST(id AS BLOB) WHERE seq = 20`},
		{"hash in capitals", `UPDATE journal SET prev_hash = upper(prev_hash) WHERE seq = 21`},
		{"append-only trigger dropped", `SELECT 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, cp := openCopy(t, path)
			raw, err := sql.Open("sqlite", cp+"?_pragma=busy_timeout(5000)")
			require.NoError(t, err)
			defer raw.Close()
			for _, q := range []string{`DROP TRIGGER journal_no_update`, tc.tamper} {
				_, err := raw.Exec(q)
				require.NoError(t, err, q)
			}
			serial, err := db.verify(ctx, verifyChunkTest, 0)
			require.NoError(t, err)
			require.False(t, serial.OK)
			res, err := db.verify(ctx, verifyChunkTest, verifyWorkersTest)
			require.NoError(t, err)
			assert.Equal(t, serial, res)
		})
	}
}

// An erasure between the loading of the redactions and the chunks' reads
// (as when one runs while Verify does) makes the fast path give way, not
// report a break.
func TestVerifyFastStaleRedactions(t *testing.T) {
	ctx := context.Background()
	db, _ := openCopy(t, verifyFixture(t))
	red, _, err := loadRedactions(ctx, db.db)
	require.NoError(t, err)
	require.NoError(t, db.SetChildStatus(ctx, 2, kiosk.ChildLeft))
	_, err = db.EraseChild(ctx, "mgr", EraseManual, 2)
	require.NoError(t, err)
	var head int64
	require.NoError(t, db.db.QueryRowContext(ctx, `SELECT max(seq) FROM journal`).Scan(&head))
	_, ok := db.verifyFast(ctx, red, head, verifyChunkTest, verifyWorkersTest)
	assert.False(t, ok, "child 2's redacted entries do not match the redactions loaded before")
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
	assert.Equal(t, 2, res.Erasures)
}
