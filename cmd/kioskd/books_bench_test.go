package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/qinqing/station/devices/evdev"
	"github.com/qinqing/station/kiosk/books"
)

// BenchmarkScanToScreen measures a barcode scanned at the booth to the
// websocket frame a screen client receives, through the whole demo
// daemon: the scanner's line handler (hwDevices.scan, what the evdev
// keyboard-wedge reader calls per line), the book desk, the SQLite loan
// (journal entry, hash chain), the station, the ui hub and the websocket
// on loopback. Each iteration taps a card (not timed), scans a copy to
// lend it (timed to the book_lent frame), goes back to idle and scans it
// again to return it (timed to the book_returned frame). Reports p50 and
// p99 in µs for both; issue 6's target is p99 <= 50 ms.
func BenchmarkScanToScreen(b *testing.B) {
	m := NewMain()
	m.Demo = true
	m.DataDir = b.TempDir()
	m.HTTPAddr, m.SIPAddr = "127.0.0.1:0", "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	if err := m.Run(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	}()
	if m.desk == nil {
		b.Fatal("[books] is off in the demo")
	}
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,条码\n9787020002207,红楼梦,曹雪芹,59.70,30001\n"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.db.ApplyCatalogue(ctx, cat, false); err != nil {
		b.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(m.HTTPURL(), "http", "ws", 1)+"/ws?booth=booth1", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	var msg struct {
		Screen struct {
			State string `json:"state"`
		} `json:"screen"`
	}
	until := func(state string) {
		for {
			if err := ws.ReadJSON(&msg); err != nil {
				b.Fatal(err)
			}
			if msg.Screen.State == state {
				return
			}
		}
	}
	until("idle")
	scan := func(want string) time.Duration {
		start := time.Now()
		m.devs.scan(ctx, "booth1", evdev.Scan{Device: "bench", Code: "30001"})
		until(want)
		return time.Since(start)
	}
	reader := m.readers["booth1"]
	lend := make([]time.Duration, 0, b.N)
	back := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := reader.Present(ctx, "DE000001"); err != nil {
			b.Fatal(err)
		}
		until("identified")
		b.StartTimer()
		lend = append(lend, scan("book_lent"))
		b.StopTimer()
		if err := m.station.Hangup(ctx, "booth1"); err != nil {
			b.Fatal(err)
		}
		until("idle")
		b.StartTimer()
		back = append(back, scan("book_returned"))
	}
	b.StopTimer()
	slices.Sort(lend)
	slices.Sort(back)
	b.ReportMetric(float64(lend[len(lend)/2].Microseconds()), "lend-p50-us")
	b.ReportMetric(float64(lend[len(lend)*99/100].Microseconds()), "lend-p99-us")
	b.ReportMetric(float64(back[len(back)/2].Microseconds()), "return-p50-us")
	b.ReportMetric(float64(back[len(back)*99/100].Microseconds()), "return-p99-us")
}
