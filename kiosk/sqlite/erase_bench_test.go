package sqlite

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// benchJournal fills a new database with 500 children (one contact each)
// and about total call_end entries spread over them, chained as appends
// chain them, written in one transaction; QQ_BENCH_ENTRIES overrides
// total.
func benchJournal(b *testing.B, total int) *DB {
	b.Helper()
	if s := os.Getenv("QQ_BENCH_ENTRIES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err)
		total = n
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "kiosk.db"), Opts{})
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	const children = 500
	var entries []kiosk.RosterEntry
	for i := 1; i <= children; i++ {
		entries = append(entries, kiosk.RosterEntry{Line: i + 1,
			Child:    kiosk.Child{Name: fmt.Sprintf("学生%03d", i), Class: fmt.Sprintf("%d班", i%12)},
			Contacts: []kiosk.Contact{{Name: fmt.Sprintf("家长%03d", i), Relation: "母亲", Phone: fmt.Sprintf("+86138%08d", i)}}})
	}
	_, err = db.ApplyRoster(ctx, entries, false)
	require.NoError(b, err)
	tx, err := db.db.BeginTx(ctx, nil)
	require.NoError(b, err)
	var (
		seq  int64
		prev string
	)
	require.NoError(b, tx.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev))
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO journal (seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash)
		VALUES (?, ?, 'call_end', ?, ?, 1, ?, ?, ?)`)
	require.NoError(b, err)
	t0 := time.Date(2016, 9, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < total; i++ {
		seq++
		child := i%children + 1
		started := t0.Add(time.Duration(i) * 5 * time.Minute)
		body, err := encodeCall(kiosk.CallRecord{CallID: fmt.Sprintf("c%d", i), Booth: "b1", ChildID: kiosk.ChildID(child),
			ChildName: fmt.Sprintf("学生%03d", child), Class: fmt.Sprintf("%d班", child%12), ContactID: kiosk.ContactID(child),
			ContactName: fmt.Sprintf("家长%03d", child), Relation: "母亲", Number: fmt.Sprintf("+86138%08d", child),
			Mode: kiosk.ModePhone, Started: started, Answered: started.Add(5 * time.Second), Ended: started.Add(2 * time.Minute),
			ClockSynced: true, Duration: 2 * time.Minute, Billsec: 115 * time.Second, Disposition: kiosk.DispAnswered})
		require.NoError(b, err)
		id := hex.EncodeToString([]byte(fmt.Sprintf("%016d", seq)))
		at := fmtTime(started.Add(2 * time.Minute))
		callID := fmt.Sprintf("c%d", i)
		hash, err := chainHash(prev, canonical(seq, id, KindCallEnd, callID, at, true, body))
		require.NoError(b, err)
		_, err = stmt.ExecContext(ctx, seq, id, callID, at, string(body), prev, hash)
		require.NoError(b, err)
		prev = hash
	}
	require.NoError(b, stmt.Close())
	require.NoError(b, tx.Commit())
	require.NoError(b, db.RebuildCalls(ctx))
	return db
}

// BenchmarkEraseChild erases one child of 500 from a journal of 200,000
// call entries (QQ_BENCH_ENTRIES): the two scans of every body and the
// redaction of the child's 400 entries.
func BenchmarkEraseChild(b *testing.B) {
	db := benchJournal(b, 200000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := kiosk.ChildID(i%500 + 1)
		require.NoError(b, db.SetChildStatus(ctx, id, kiosk.ChildLeft))
		e, err := db.EraseChild(ctx, "bench", EraseManual, id)
		require.NoError(b, err)
		b.ReportMetric(float64(e.Redacted), "redacted/op")
	}
}

// BenchmarkVerifyErased verifies the journal of BenchmarkEraseChild after
// 20 erasures, to compare with a journal without any.
func BenchmarkVerifyErased(b *testing.B) {
	db := benchJournal(b, 200000)
	ctx := context.Background()
	erased := 0
	for _, erase := range []int{0, 20} {
		b.Run(fmt.Sprintf("erasures=%d", erase), func(b *testing.B) {
			for ; erased < erase; erased++ {
				id := kiosk.ChildID(erased + 1)
				require.NoError(b, db.SetChildStatus(ctx, id, kiosk.ChildLeft))
				_, err := db.EraseChild(ctx, "bench", EraseManual, id)
				require.NoError(b, err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := db.Verify(ctx)
				require.NoError(b, err)
				require.True(b, res.OK, res.Problem)
			}
		})
	}
}
