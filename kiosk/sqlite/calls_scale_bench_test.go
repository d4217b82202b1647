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

// BenchmarkCallsAtScale measures, with a register of QQ_BENCH_CALLS
// ended calls (default 100,000, about six years of a 500-child school's
// family calls), what the daemon does on every call and at every start:
// a call's start and end appended (the calls projection kept in step),
// RecoverInterrupted (nothing to recover: the query alone), and the
// console's quiet list (every active child's answered calls in two weeks).
// None of these may grow with the register (TestCallLookupsUseIndexes).
//
//	QQ_BENCH_CALLS=100000 go test ./kiosk/sqlite -run '^$' -bench CallsAtScale -benchtime 20x
func BenchmarkCallsAtScale(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("QQ_BENCH_CALLS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "kiosk.db"), Opts{})
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	for i := 1; i <= 500; i++ {
		_, err := db.db.ExecContext(ctx, `INSERT INTO children (id, external_id, name, class, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', '2020-09-01T00:00:00Z', '2020-09-01T00:00:00Z')`,
			i, fmt.Sprintf("S%04d", i), fmt.Sprintf("孩子%d", i), fmt.Sprintf("%d年级1班", i%6+1))
		require.NoError(b, err)
	}
	base := time.Date(2020, 9, 1, 8, 0, 0, 0, time.UTC)
	rec := func(i int) kiosk.CallRecord {
		started := base.Add(time.Duration(i) * 30 * time.Minute)
		return kiosk.CallRecord{CallID: fmt.Sprintf("c%07d", i), Booth: "b1", ChildID: kiosk.ChildID(i%500 + 1),
			ChildName: "孩子", Class: "1年级1班", ContactID: 2, Relation: "母亲", Number: "+8613800000002",
			Mode: kiosk.ModePhone, Started: started, ClockSynced: true, Limit: 5 * time.Minute,
			Ring: started.Add(2 * time.Second), Answered: started.Add(5 * time.Second), Ended: started.Add(3 * time.Minute),
			Billsec: 175 * time.Second, Duration: 178 * time.Second, Disposition: kiosk.DispAnswered,
			Cause: kiosk.CauseCalleeHangup, SIPCode: 200}
	}
	start := time.Now()
	_, err = db.BulkAppendCalls(ctx, func(yield func(BulkCall) bool) {
		for i := range n {
			r := rec(i)
			if !yield(BulkCall{Kind: KindCallStart, Record: r, At: r.Started}) || !yield(BulkCall{Kind: KindCallEnd, Record: r, At: r.Ended}) {
				return
			}
		}
	})
	require.NoError(b, err)
	b.Logf("%d calls written in %s", n, time.Since(start).Round(time.Millisecond))

	next := n // call numbers not used yet, across the runs of b.N
	b.Run("append-start-and-end", func(b *testing.B) {
		for range b.N {
			r := rec(next)
			next++
			require.NoError(b, db.CallStarted(ctx, r))
			require.NoError(b, db.CallEnded(ctx, r))
		}
	})
	b.Run("recover-interrupted", func(b *testing.B) {
		for range b.N {
			got, err := db.RecoverInterrupted(ctx)
			require.NoError(b, err)
			require.Zero(b, got)
		}
	})
	b.Run("quiet-children", func(b *testing.B) {
		since := base.Add(time.Duration(n-700) * 30 * time.Minute) // the last two weeks
		for range b.N {
			_, err := db.QuietChildren(ctx, since)
			require.NoError(b, err)
		}
	})
}
