package rtc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// The fake browsers of BenchmarkCall run in a child process (this test
// binary, TestHelperPages), so that the daemon's goroutines, heap and CPU
// are measured alone. They talk over the child's stdin and stdout, one
// JSON object a line.
type helperLine struct {
	Page   int             `json:"page"`
	Attach string          `json:"attach,omitempty"` // "screen" or "parent", child -> daemon
	Booth  string          `json:"booth,omitempty"`
	Token  string          `json:"token,omitempty"`
	Msg    json.RawMessage `json:"msg,omitempty"`
}

// TestHelperPages is the child process of BenchmarkCall: it runs
// RTC_HELPER_CALLS pairs of pages (screen booth<i>, parent token t<i>)
// that answer and send 1.5 Mbit/s of video plus Opus, until stdin closes.
func TestHelperPages(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RTC_HELPER_CALLS"))
	if n == 0 {
		t.Skip("helper process of BenchmarkCall")
	}
	var wmu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	write := func(l helperLine) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = enc.Encode(l)
	}
	pageICEKeepalive = 2500 * time.Millisecond // as Chromium, once connected
	pages := map[int]*page{}
	for i := range 2 * n {
		kind := [2]string{"screen", "parent"}[i%2]
		p := newPage(t, kind)
		p.videoPPS, p.videoLen, p.autoAccept = 156, 1200, kind == "parent"
		p.pingEvery = DefaultHeartbeat
		p.recv = func(raw json.RawMessage) { write(helperLine{Page: i, Msg: raw}) }
		pages[i] = p
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l helperLine
			if json.Unmarshal(sc.Bytes(), &l) == nil && pages[l.Page] != nil {
				pages[l.Page].deliver(l.Msg)
			}
		}
	}()
	for i := range 2 * n {
		p := pages[i]
		write(helperLine{Page: i, Attach: p.name, Booth: fmt.Sprint("booth", i/2), Token: fmt.Sprint("t", i/2)})
		p.hello(nil) // and ping every 50 ms
	}
	<-done
	for _, p := range pages {
		p.shutdown()
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCall connects 4 video calls (RTC_BENCH_CALLS) to fake browsers
// in a child process, each browser sending 1.5 Mbit/s of video (156
// packets of 1200 bytes a second) and 50 Opus packets a second, lets media
// flow for 3 s (RTC_BENCH_HOLD) and reports per call the daemon's
// goroutines and heap while connected, its CPU as a percentage of one
// core, and CPU per forwarded packet. kioskd runs with GOMAXPROCS=1 and
// GODEBUG=schedtrace=2147483647 (cmd/kioskd/goruntime.go); give the
// benchmark the same environment to measure the daemon as it runs. The
// daemon runs with its production timings (ICE keepalive 1 s, pages
// pinging every 2 s; the tests' 100 ms and 50 ms would cost more CPU
// than the media) and gathers on the loopback interface only (a kiosk has
// one LAN interface), with a socket per PeerConnection (udp=per-pc) or
// one shared UDP port (udp=mux, Config.UDPPort).
//
//	GOMAXPROCS=1 GODEBUG=schedtrace=2147483647 go test ./callbridge/rtc -run '^$' -bench BenchmarkCall -benchtime 1x
func BenchmarkCall(b *testing.B) {
	for _, mux := range []bool{false, true} {
		name := "udp=per-pc"
		if mux {
			name = "udp=mux"
		}
		b.Run(name, func(b *testing.B) {
			cfg := Config{AllowLoopback: true, Interfaces: []string{"lo"}}
			if mux {
				cfg.UDPPort = freeUDPPort(b)
			}
			benchCalls(b, cfg)
		})
	}
}

// freeUDPPort returns a UDP port that was free a moment ago.
func freeUDPPort(tb testing.TB) int {
	tb.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(tb, err)
	port := c.LocalAddr().(*net.UDPAddr).Port
	require.NoError(tb, c.Close())
	return port
}

func benchCalls(b *testing.B, cfg Config) {
	calls := 4
	if n, err := strconv.Atoi(os.Getenv("RTC_BENCH_CALLS")); err == nil && n > 0 {
		calls = n
	}
	b.Logf("%d calls; GOMAXPROCS=%d GODEBUG=%q", calls, runtime.GOMAXPROCS(0), os.Getenv("GODEBUG"))
	hold := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("RTC_BENCH_HOLD")); err == nil && d > 0 {
		hold = d // longer, for a CPU profile with enough samples
	}
	for range b.N {
		links := newFakeLinks()
		for i := range calls {
			links.add(fmt.Sprint("t", i), kiosk.ContactID(100+i), "王小明", false)
		}
		br, err := New(cfg, links, Opts{})
		require.NoError(b, err)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h0 := ms.HeapAlloc

		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPages$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RTC_HELPER_CALLS="+strconv.Itoa(calls))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		require.NoError(b, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(b, err)
		require.NoError(b, cmd.Start())
		var wmu sync.Mutex
		enc := json.NewEncoder(stdin)
		recvs := map[int]func(json.RawMessage){}
		detaches := []func(){}
		attached := make(chan struct{}, 2*calls)
		readerDone := make(chan struct{})
		go func() {
			defer close(readerDone)
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var l helperLine
				if json.Unmarshal(sc.Bytes(), &l) != nil {
					continue // the test binary's own output
				}
				page := l.Page
				send := func(raw json.RawMessage) {
					wmu.Lock()
					defer wmu.Unlock()
					_ = enc.Encode(helperLine{Page: page, Msg: raw})
				}
				switch l.Attach {
				case "screen":
					r, d := br.Screen(l.Booth, send)
					recvs[page], detaches = r, append(detaches, d)
					attached <- struct{}{}
				case "parent":
					r, d, err := br.Parent(context.Background(), l.Token, send)
					if err == nil {
						recvs[page], detaches = r, append(detaches, d)
					}
					attached <- struct{}{}
				default:
					if r := recvs[page]; r != nil {
						r(l.Msg)
					}
				}
			}
			_, _ = io.Copy(io.Discard, stdout)
		}()
		// The baseline includes the benchmark's own reader of the helper's
		// output; nothing of the bridge runs before a call is dialled.
		g0 := runtime.NumGoroutine()
		for range 2 * calls {
			<-attached
		}
		time.Sleep(200 * time.Millisecond) // hellos
		var evs []*events
		for i := range calls {
			ev := newEvents()
			require.NoError(b, br.Dial(context.Background(), kiosk.CallRequest{CallID: fmt.Sprint("c", i), Mode: kiosk.ModeVideo,
				Booth: kiosk.Booth{ID: fmt.Sprint("booth", i)}, Contact: kiosk.ContactID(100 + i), ChildName: "小明",
				Limit: time.Hour, Observer: ev}))
			ev.wait(b, kiosk.EventAnswered, 10*time.Second)
			evs = append(evs, ev)
		}
		time.Sleep(500 * time.Millisecond)
		runtime.GC()
		g1 := runtime.NumGoroutine()
		if path := os.Getenv("RTC_BENCH_GOROUTINES"); path != "" {
			// Where the goroutines are, for profiling by hand.
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 2)
				_ = f.Close()
			}
		}
		runtime.ReadMemStats(&ms)
		h1 := ms.HeapAlloc
		fwd0, _ := br.Relayed()
		mallocs0 := ms.Mallocs
		cpu0, wall0 := cpuTime(), time.Now()
		time.Sleep(hold)
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		fwd1, _ := br.Relayed()
		pkts := fwd1 - fwd0
		runtime.ReadMemStats(&ms)
		if pkts > 0 {
			// Everything the process allocated (media, RTCP, ICE, the
			// benchmark's signaling) per forwarded packet.
			b.ReportMetric(float64(ms.Mallocs-mallocs0)/float64(pkts), "allocs/pkt")
		}
		b.ReportMetric(float64(g1-g0)/float64(calls), "goroutines/call")
		b.ReportMetric(float64(int64(h1)-int64(h0))/float64(calls)/(1<<20), "MB-heap/call")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/float64(calls), "%core/call")
		if pkts > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(pkts), "ns-cpu/pkt")
		}
		b.ReportMetric(float64(pkts)/wall.Seconds()/float64(calls), "pkts/s/call")
		require.NoError(b, br.Close())
		for _, ev := range evs {
			ev.wait(b, kiosk.EventEnded, 5*time.Second)
		}
		_ = stdin.Close()
		<-readerDone
		_ = cmd.Wait()
		for _, d := range detaches {
			d()
		}
	}
}

// discardWriter is a webrtc.TrackLocalWriter that drops what it gets.
type discardWriter struct{}

func (discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return h.MarshalSize() + len(payload), nil
}
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkForwardPacket is the relay's own work per packet (parse,
// rewrite SSRC and payload type, hand on), without SRTP, interceptors and
// sockets, which BenchmarkCall includes.
func BenchmarkForwardPacket(b *testing.B) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Extension: true, ExtensionProfile: 0xBEDE},
		Payload: make([]byte, 1200)}
	_ = pkt.Header.SetExtension(1, []byte{1, 2})
	raw, err := pkt.Marshal()
	require.NoError(b, err)
	ft := newForwardTrack(webrtc.RTPCodecTypeVideo, "kiosk", nil)
	ft.binding = &trackBinding{ssrc: 42, pt: 100, w: discardWriter{}}
	var p rtp.Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := p.Unmarshal(raw); err != nil {
			b.Fatal(err)
		}
		ft.write(&p)
	}
}
