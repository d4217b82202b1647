package sqlite

import (
	"context"
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
// and total call_end entries spread over them, at five-minute intervals
// from September 2016, written by BulkAppendCalls; QQ_BENCH_ENTRIES
// overrides total.
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
	t0 := time.Date(2016, 9, 1, 8, 0, 0, 0, time.UTC)
	n, err := db.BulkAppendCalls(ctx, func(yield func(BulkCall) bool) {
		for i := 0; i < total; i++ {
			child := i%children + 1
			started := t0.Add(time.Duration(i) * 5 * time.Minute)
			r := kiosk.CallRecord{CallID: fmt.Sprintf("c%d", i), Booth: "b1", ChildID: kiosk.ChildID(child),
				ChildName: fmt.Sprintf("学生%03d", child), Class: fmt.Sprintf("%d班", child%12), ContactID: kiosk.ContactID(child),
				ContactName: fmt.Sprintf("家长%03d", child), Relation: "母亲", Number: fmt.Sprintf("+86138%08d", child),
				Mode: kiosk.ModePhone, Started: started, Answered: started.Add(5 * time.Second), Ended: started.Add(2 * time.Minute),
				ClockSynced: true, Duration: 2 * time.Minute, Billsec: 115 * time.Second, Disposition: kiosk.DispAnswered}
			if !yield(BulkCall{Kind: KindCallEnd, Record: r, At: r.Ended}) {
				return
			}
		}
	})
	require.NoError(b, err)
	require.Equal(b, total, n, "call entries written")
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
