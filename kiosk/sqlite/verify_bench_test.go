package sqlite

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkVerify verifies a journal of 200,000 call entries
// (QQ_BENCH_ENTRIES; benchJournal writes them with BulkAppendCalls):
// "fast" is Verify (chunks checked inside SQLite's scan, on GOMAXPROCS
// connections, at most verifyMaxWorkers), "fast-1conn" the same on one
// connection, "serial" the row-by-row walk Verify falls back to. Issue 5
// target: 1,000,000 entries in <= 3 s.
//
//	QQ_BENCH_ENTRIES=1000000 go test ./kiosk/sqlite -run '^$' -bench BenchmarkVerify$ -benchtime 3x
func BenchmarkVerify(b *testing.B) {
	db := benchJournal(b, 200000)
	ctx := context.Background()
	// benchJournal writes in transactions of 20,000 entries: empty the WAL
	// into the file, as the station's small transactions keep it.
	_, err := db.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	require.NoError(b, err)
	for _, bc := range []struct {
		name    string
		workers int
	}{
		{"fast", min(runtime.GOMAXPROCS(0), verifyMaxWorkers)},
		{"fast-1conn", 1},
		{"serial", 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var res VerifyResult
			for b.Loop() {
				var err error
				res, err = db.verify(ctx, verifyChunk, bc.workers)
				require.NoError(b, err)
				require.True(b, res.OK, res.Problem)
			}
			b.ReportMetric(float64(res.Entries), "entries")
			b.ReportMetric(float64(b.Elapsed())/float64(time.Microsecond)/float64(b.N)/float64(res.Entries), "µs/entry")
		})
	}
}
