package console

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qinqing/station/kiosk"
)

// BenchmarkRegisterPages requests every register page of the console,
// through the handler (session check, queries, rendering, audit entry),
// on a generated decade of a 500-child school (newBenchDecade:
// QQ_BENCH_ENTRIES journal entries, default 200,000), and reports each
// page's p50 and p95 in milliseconds over the iterations. Issue 5 target:
// p95 <= 100 ms at 1,000,000 entries:
//
//	QQ_BENCH_ENTRIES=1000000 go test ./ui/console -run '^$' -bench RegisterPages -benchtime 40x
func BenchmarkRegisterPages(b *testing.B) {
	d := newBenchDecade(b, b.TempDir(), benchEntries(b))
	kid, err := d.db.SearchChildren(b.Context(), kiosk.ChildQuery{Text: "学生007"})
	if err != nil || len(kid) != 1 {
		b.Fatalf("child 学生007: %v %d", err, len(kid))
	}
	child := strconv.FormatInt(int64(kid[0].ID), 10)
	month := "from=2026-11-01&to=2026-11-30"
	pages := []struct{ name, target string }{
		{"calls-month-phone", "/console/calls?mode=phone&" + month},
		{"calls-month-phone-page-300", "/console/calls?mode=phone&page=300&" + month},
		{"calls-month-video", "/console/calls?mode=video&" + month},
		{"calls-month-video-page-70", "/console/calls?mode=video&page=70&" + month},
		{"calls-month-class", "/console/calls?mode=phone&class=3年级2班&" + month},
		{"calls-month-child", "/console/calls?mode=phone&child=" + child + "&" + month},
		{"calls-month-booth", "/console/calls?mode=phone&booth=b2&" + month},
		{"calls-year-phone-page-1500", "/console/calls?mode=phone&page=1500&from=2025-12-01&to=2026-11-30"},
		{"loans-month", "/console/loans?from=2026-10-01&to=2026-10-31"},
		{"loans-year", "/console/loans?from=2025-11-01&to=2026-10-31"},
		{"tv-month", "/console/tv?from=2026-10-01&to=2026-10-31"},
		{"equipment-month", "/console/equipment?from=2026-10-01&to=2026-10-31"},
		{"roster-month", "/console/roster?from=2026-10-01&to=2026-10-31"},
		{"helplog-year", "/console/helplog?from=2025-11-01&to=2026-10-31"},
		{"help", "/console/help"},
		{"consent", "/console/consent"},
		{"audit", "/console/audit"},
		{"audit-deep", "/console/audit?before=" + strconv.FormatInt(d.AuditMid, 10)},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				rec := httptest.NewRecorder()
				t := time.Now()
				d.get(b, p.target, rec)
				ds = append(ds, time.Since(t))
			}
			b.ReportMetric(float64(quantile(ds, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(quantile(ds, 0.95).Microseconds())/1000, "p95-ms")
		})
	}
}

// BenchmarkCallsExport exports the calls register over the handler as
// XLSX and CSV for a range of about 100,000 phone rows of the generated
// decade (QQ_BENCH_ENTRIES, default 200,000: fewer rows), into a writer
// that keeps nothing, and reports per export: rows, the time (ns/op),
// peak-heap-MB (the largest Go heap in use, live and not yet swept
// objects, runtime/metrics sampled every millisecond, after a GC before
// each export), and peak-rss-MB and base-rss-MB: the process's VmHWM
// (/proc/self/status) after resetting it to the current RSS (writing 5 to
// /proc/self/clear_refs), and that RSS; 0 where /proc does not allow it.
// Issue 5 target: 100,000 rows XLSX in <= 5 s and <= 200 MB:
//
//	QQ_BENCH_ENTRIES=1000000 go test ./ui/console -run '^$' -bench CallsExport -benchtime 2x
func BenchmarkCallsExport(b *testing.B) {
	d := newBenchDecade(b, b.TempDir(), benchEntries(b))
	// 100,000 phone rows: the month's 16,000 and 84,000 of the 80% of the
	// decade's other calls that are phone calls, at an even rate.
	perDay := float64(d.Calls-20000) / (10 * 365.25)
	days := int(84000/(0.8*perDay)) + 1
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -days).Format(time.DateOnly)
	q := "?mode=phone&from=" + from + "&to=2026-11-30"
	for _, ext := range []string{"xlsx", "csv"} {
		b.Run(ext, func(b *testing.B) {
			var peakHeap, peakRSS, baseRSS, rows float64
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				base := resetPeakRSS()
				stop := sampleHeap()
				b.StartTimer()
				w := &countingWriter{}
				d.get(b, "/console/calls."+ext+q, w)
				b.StopTimer()
				heap := stop()
				peakHeap = max(peakHeap, float64(heap)/1e6)
				peakRSS = max(peakRSS, float64(vmHWM())/1e6)
				baseRSS = max(baseRSS, float64(base)/1e6)
				b.StartTimer()
				if w.n == 0 {
					b.Fatal("empty export")
				}
			}
			es, err := d.db.AuditLog(b.Context(), 0, 1)
			if err != nil || len(es) != 1 {
				b.Fatalf("audit: %v", err)
			}
			fmt.Sscanf(es[0].Detail[bytes.LastIndexByte([]byte(es[0].Detail), '=')+1:], "%g", &rows)
			b.ReportMetric(rows, "rows")
			b.ReportMetric(peakHeap, "peak-heap-MB")
			b.ReportMetric(peakRSS, "peak-rss-MB")
			b.ReportMetric(baseRSS, "base-rss-MB")
		})
	}
}

// sampleHeap samples the Go heap in use (runtime/metrics
// /memory/classes/heap/objects:bytes) every millisecond until the
// returned function is called, which returns the largest sample.
func sampleHeap() func() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var (
		mu   sync.Mutex
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	read := func() {
		metrics.Read(s)
		mu.Lock()
		peak = max(peak, s[0].Value.Uint64())
		mu.Unlock()
	}
	read()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		read()
		return peak
	}
}

// resetPeakRSS resets the process's VmHWM to its current RSS (Linux
// clear_refs "5") and returns that RSS in bytes; 0 if not permitted.
func resetPeakRSS() uint64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0
	}
	return procStatus("VmRSS:")
}

// vmHWM is the process's peak RSS in bytes since the last reset; 0 if
// unknown.
func vmHWM() uint64 { return procStatus("VmHWM:") }

func procStatus(key string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0
	}
	var kb uint64
	fmt.Sscanf(string(b[i+len(key):]), "%d", &kb)
	return kb * 1024
}
