package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// BenchmarkTapToScreen measures a simulated card tap at the booth's reader
// to the websocket frame a screen client receives, through the whole
// daemon (reader, station with SQLite lookups, ui hub, websocket on
// loopback). Reports p50 and p99 in µs; the target is p99 <= 20 ms.
func BenchmarkTapToScreen(b *testing.B) {
	m := NewMain()
	m.Demo = true
	m.DataDir = b.TempDir()
	m.HTTPAddr, m.SIPAddr = "127.0.0.1:0", "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	}()
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(m.HTTPURL(), "http", "ws", 1)+"/ws?booth=booth1", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	var msg struct {
		Screen struct {
			Seq   uint64 `json:"seq"`
			State string `json:"state"`
		} `json:"screen"`
	}
	if err := ws.ReadJSON(&msg); err != nil { // the current screen
		b.Fatal(err)
	}
	reader := m.readers["booth1"]
	cards := []string{"DE000001", "DE000002", "DE000003"}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := reader.Present(context.Background(), cards[i%len(cards)]); err != nil {
			b.Fatal(err)
		}
		for {
			if err := ws.ReadJSON(&msg); err != nil {
				b.Fatal(err)
			}
			if msg.Screen.State == "identified" {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// BenchmarkStartToHealthy starts the kioskd binary with -demo (fresh data
// dir each time), measures process start to the first 200 from /healthz,
// and after 2 s idle reads its resident set size from /proc. Targets:
// start to healthy <= 300 ms, idle RSS <= 40 MB. With QQ_BENCH_CALLS=N
// each data dir starts with a register of N ended calls (written once
// with sqlite's BulkAppendCalls, then copied): what a start costs after
// years of calls, which must not grow with them (systemd gives a start
// 90 s, and a slow start after a crash is a phone room out of service).
//
//	QQ_BENCH_CALLS=100000 go test ./cmd/kioskd -run '^$' -bench StartToHealthy -benchtime 5x
func BenchmarkStartToHealthy(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "kioskd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v: %s", err, out)
	}
	var register string // a data dir with QQ_BENCH_CALLS calls
	if n, err := strconv.Atoi(os.Getenv("QQ_BENCH_CALLS")); err == nil && n > 0 {
		register = b.TempDir()
		fillCallRegister(b, filepath.Join(register, "kiosk.db"), n)
	}
	var starts []time.Duration
	var rss []float64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		if register != "" {
			copyFile(b, filepath.Join(register, "kiosk.db"), filepath.Join(dir, "kiosk.db"))
		}
		port := freePort(b)
		cmd := exec.Command(bin, "-demo", "-data", dir, "-http", "127.0.0.1:"+port, "-sip", "127.0.0.1:0")
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
			if err == nil {
				var hz struct{ Status string }
				json.NewDecoder(resp.Body).Decode(&hz)
				resp.Body.Close()
				if resp.StatusCode == 200 && hz.Status == "ok" {
					break
				}
			}
			if time.Since(t0) > 10*time.Second {
				cmd.Process.Kill()
				b.Fatal("not healthy within 10 s")
			}
			time.Sleep(2 * time.Millisecond)
		}
		starts = append(starts, time.Since(t0))
		time.Sleep(2 * time.Second)
		rss = append(rss, rssMB(b, cmd.Process.Pid))
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	slices.Sort(starts)
	slices.Sort(rss)
	b.ReportMetric(float64(starts[len(starts)/2].Milliseconds()), "start-ms-p50")
	b.ReportMetric(float64(starts[len(starts)-1].Milliseconds()), "start-ms-max")
	b.ReportMetric(rss[len(rss)-1], "idle-rss-MB-max")
}

func freePort(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := strings.Cut(ln.Addr().String(), ":")
	return port
}

// rssMB reads VmRSS of pid from /proc, in MB.
func rssMB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skip("no /proc: cannot read RSS")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// fillCallRegister writes n ended calls, one every 30 minutes from
// September 2020, into a new database at path, and checkpoints it into
// the one file.
func fillCallRegister(b *testing.B, path string, n int) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Opts{})
	if err != nil {
		b.Fatal(err)
	}
	base := time.Date(2020, 9, 1, 8, 0, 0, 0, time.UTC)
	t0 := time.Now()
	_, err = db.BulkAppendCalls(ctx, func(yield func(sqlite.BulkCall) bool) {
		for i := range n {
			started := base.Add(time.Duration(i) * 30 * time.Minute)
			r := kiosk.CallRecord{CallID: fmt.Sprintf("old%07d", i), Booth: "booth1", ChildID: kiosk.ChildID(i%3 + 1),
				ChildName: "王小明", Class: "三年级1班", ContactID: 1, Relation: "父亲", Number: "+8613800000001",
				Mode: kiosk.ModePhone, Started: started, ClockSynced: true, Limit: 5 * time.Minute,
				Ring: started.Add(2 * time.Second), Answered: started.Add(5 * time.Second), Ended: started.Add(3 * time.Minute),
				Billsec: 175 * time.Second, Duration: 178 * time.Second, Disposition: kiosk.DispAnswered,
				Cause: kiosk.CauseCalleeHangup, SIPCode: 200}
			if !yield(sqlite.BulkCall{Kind: sqlite.KindCallStart, Record: r, At: r.Started}) ||
				!yield(sqlite.BulkCall{Kind: sqlite.KindCallEnd, Record: r, At: r.Ended}) {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		b.Fatal("the write-ahead log was left beside the database: copying the file alone would lose entries")
	}
	b.Logf("register of %d calls written in %s: %.0f MB", n, time.Since(t0).Round(time.Millisecond), float64(st.Size())/(1<<20))
}

func copyFile(b *testing.B, from, to string) {
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		b.Fatal(err)
	}
}
