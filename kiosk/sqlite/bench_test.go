package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// reportP99 reports the 99th percentile of ds in microseconds as "p99-us".
func reportP99(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	i := (len(ds)*99 + 99) / 100
	if i > len(ds) {
		i = len(ds)
	}
	b.ReportMetric(float64(ds[i-1].Nanoseconds())/1e3, "p99-us")
}

// BenchmarkAppend measures a durable CallEnded append (WAL,
// synchronous=FULL: one fsync of the WAL per commit). Compare its p99-us
// with BenchmarkRawWriteFsync's, run in the same invocation:
//
//	go test ./kiosk/sqlite -run '^$' -bench 'Append|RawWriteFsync' -benchtime 2000x
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	db, _ := newDB(b)
	r := answered(call("", 1, t0), 4*time.Minute, kiosk.CauseLimit)
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.CallID = fmt.Sprintf("bench-%d", i)
		start := time.Now()
		if err := db.CallEnded(ctx, r); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportP99(b, ds)
}

// BenchmarkRawWriteFsync measures a 4 KB write and fsync to a file in the
// same kind of temp dir as BenchmarkAppend's database: the floor a durable
// append cannot beat.
func BenchmarkRawWriteFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	require.NoError(b, err)
	defer f.Close()
	buf := make([]byte, 4096)
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf[0] = byte(i)
		start := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	reportP99(b, ds)
}
