package main

import (
	"context"
	"encoding/json"
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
// start to healthy <= 300 ms, idle RSS <= 40 MB.
func BenchmarkStartToHealthy(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "kioskd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v: %s", err, out)
	}
	var starts []time.Duration
	var rss []float64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
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
