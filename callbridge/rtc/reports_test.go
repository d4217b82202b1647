package rtc

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// fakeClock is a settable clock for the reports.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rtcpCapture is an interceptor.RTCPWriter that keeps what it gets.
type rtcpCapture struct{ pkts []rtcp.Packet }

func (w *rtcpCapture) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	w.pkts = append(w.pkts, pkts...)
	return 0, nil
}

// reportsFixture is one PeerConnection's reports interceptor with a
// stream we send (SSRC 10, VP8) and one we receive (SSRC 20, VP8).
type reportsFixture struct {
	clk  *fakeClock
	r    *reports
	p    *pcReports
	out  *rtcpCapture
	send interceptor.RTPWriter
	recv interceptor.RTPReader
	in   chan []byte // RTP the page "sends"
	rtcp interceptor.RTCPReader
	fb   chan []byte // RTCP the page "sends"
}

func newReportsFixture(t *testing.T) *reportsFixture {
	t.Helper()
	f := &reportsFixture{clk: &fakeClock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}, out: &rtcpCapture{},
		in: make(chan []byte, 64), fb: make(chan []byte, 8)}
	f.r = newReports(time.Second, f.clk.now)
	it, err := f.r.NewInterceptor("pc1")
	require.NoError(t, err)
	f.p = it.(*pcReports)
	f.p.BindRTCPWriter(f.out)
	f.send = f.p.BindLocalStream(&interceptor.StreamInfo{SSRC: 10, ClockRate: 90000},
		interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			return len(payload), nil
		}))
	f.recv = f.p.BindRemoteStream(&interceptor.StreamInfo{SSRC: 20, ClockRate: 90000},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, <-f.in), a, nil
		}))
	f.rtcp = f.p.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, <-f.fb), a, nil
	}))
	return f
}

// receive passes one RTP packet from the page through the interceptor.
func (f *reportsFixture) receive(t *testing.T, seq uint16, ts uint32) {
	t.Helper()
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 20, SequenceNumber: seq, Timestamp: ts}, Payload: []byte{1}}).Marshal()
	require.NoError(t, err)
	f.in <- raw
	buf := make([]byte, 1500)
	_, _, err = f.recv.Read(buf, nil)
	require.NoError(t, err)
}

// feedback passes RTCP from the page through the interceptor.
func (f *reportsFixture) feedback(t *testing.T, pkts ...rtcp.Packet) {
	t.Helper()
	raw, err := rtcp.Marshal(pkts)
	require.NoError(t, err)
	f.fb <- raw
	buf := make([]byte, 1500)
	_, _, err = f.rtcp.Read(buf, nil)
	require.NoError(t, err)
}

// lastSR returns the last sender report the interceptor wrote.
func (f *reportsFixture) lastSR(t *testing.T) *rtcp.SenderReport {
	t.Helper()
	for i := len(f.out.pkts) - 1; i >= 0; i-- {
		if sr, ok := f.out.pkts[i].(*rtcp.SenderReport); ok {
			return sr
		}
	}
	require.Fail(t, "no sender report written")
	return nil
}

func TestReportsRTTFromReceiverReports(t *testing.T) {
	const ms = float64(time.Millisecond)
	resolution := float64(rttResolution) / ms
	for _, tc := range []struct {
		name      string
		delay     time.Duration // network round trip injected by the fake clock
		dlsr      time.Duration // the page's hold time between our SR and its RR
		wrongLSR  bool
		noLSR     bool
		wantRTTMs float64
	}{
		{name: "80 ms round trip, page holds 200 ms", delay: 80 * time.Millisecond, dlsr: 200 * time.Millisecond, wantRTTMs: 80},
		{name: "250 ms round trip, page answers at once", delay: 250 * time.Millisecond, wantRTTMs: 250},
		{name: "loopback: below the clock's resolution is reported as it", dlsr: 300 * time.Millisecond, wantRTTMs: resolution},
		{name: "LSR of no report we sent", delay: 80 * time.Millisecond, wrongLSR: true, wantRTTMs: 0},
		{name: "no SR received yet (LSR 0)", delay: 80 * time.Millisecond, noLSR: true, wantRTTMs: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newReportsFixture(t)
			_, err := f.send.Write(&rtp.Header{SSRC: 10, Timestamp: 9000}, make([]byte, 1000), nil)
			require.NoError(t, err)
			f.r.tick()
			sr := f.lastSR(t)
			assert.Equal(t, uint32(10), sr.SSRC)
			assert.Equal(t, uint32(1), sr.PacketCount)
			assert.Equal(t, uint32(1000), sr.OctetCount)
			assert.Equal(t, ntpTime(f.clk.now()), sr.NTPTime)

			f.clk.advance(tc.delay + tc.dlsr)
			lsr := uint32(sr.NTPTime >> 16)
			switch {
			case tc.wrongLSR:
				lsr++
			case tc.noLSR:
				lsr = 0
			}
			f.feedback(t, &rtcp.ReceiverReport{SSRC: 99, Reports: []rtcp.ReceptionReport{{SSRC: 10, TotalLost: 3,
				Jitter: 900, LastSenderReport: lsr, Delay: uint32(tc.dlsr / rttResolution)}}})
			q := f.r.quality("pc1")
			assert.InDelta(t, tc.wantRTTMs, q.RTTMs, resolution, "RTT = arrival - LSR - DLSR (RFC 3550 section 6.4.1)")
			assert.Equal(t, int64(3), q.PacketsLost, "the page's count of what it lost")
			assert.InDelta(t, 10.0, q.JitterMs, 0.001, "900 units at 90 kHz")
		})
	}
}

func TestReportsReceiverSide(t *testing.T) {
	f := newReportsFixture(t)
	// 1..5 every 20 ms (1800 units at 90 kHz), 6 lost, 7 late by 10 ms.
	for seq := uint16(1); seq <= 5; seq++ {
		f.receive(t, seq, uint32(seq)*1800)
		f.clk.advance(20 * time.Millisecond)
	}
	assert.Zero(t, f.r.quality("pc1").JitterMs, "evenly spaced packets have no jitter")
	f.clk.advance(20*time.Millisecond + 10*time.Millisecond)
	f.receive(t, 7, 7*1800)

	// The page's sender report, then ours 500 ms later.
	pageNTP := uint64(0xAABBCCDD11223344)
	f.feedback(t, &rtcp.SenderReport{SSRC: 20, NTPTime: pageNTP})
	f.clk.advance(500 * time.Millisecond)
	f.r.tick()
	require.Len(t, f.out.pkts, 1, "nothing sent yet: a receiver report alone")
	rr, ok := f.out.pkts[0].(*rtcp.ReceiverReport)
	require.True(t, ok, "receiver report, got %T", f.out.pkts[0])
	require.Len(t, rr.Reports, 1)
	blk := rr.Reports[0]
	assert.Equal(t, uint32(20), blk.SSRC)
	assert.Equal(t, uint32(7), blk.LastSequenceNumber)
	assert.Equal(t, uint32(1), blk.TotalLost, "sequence number 6 never came")
	assert.Equal(t, uint8(256/7), blk.FractionLost, "1 of 7 expected, in 1/256")
	assert.Equal(t, uint32(0xCCDD1122), blk.LastSenderReport, "middle 32 bits of the page's NTP time")
	assert.Equal(t, uint32(65536/2), blk.Delay, "500 ms in 1/65536 s")
	// 10 ms late at 90 kHz is 900 units; J = 900/16.
	assert.InDelta(t, 900.0/16, float64(blk.Jitter), 1)

	q := f.r.quality("pc1")
	assert.Equal(t, int64(1), q.PacketsLost)
	assert.InDelta(t, 900.0/16/90, q.JitterMs, 0.02)

	f.r.tick()
	rr = f.out.pkts[1].(*rtcp.ReceiverReport)
	assert.Zero(t, rr.Reports[0].FractionLost, "no loss since the last report")
}

func TestReportsSequenceWrapAndClose(t *testing.T) {
	f := newReportsFixture(t)
	for _, seq := range []uint16{65534, 65535, 0, 1} {
		f.receive(t, seq, 0)
	}
	f.r.tick()
	blk := f.out.pkts[0].(*rtcp.ReceiverReport).Reports[0]
	assert.Equal(t, uint32(1<<16|1), blk.LastSequenceNumber, "one cycle counted (RFC 3550 appendix A.1)")
	assert.Zero(t, blk.TotalLost)

	require.NoError(t, f.p.Close())
	assert.Equal(t, kiosk.LegQuality{}, f.r.quality("pc1"), "a closed PeerConnection is forgotten")
}

func TestNTPTime(t *testing.T) {
	got := ntpTime(time.Date(1970, 1, 1, 0, 0, 1, int(time.Second/2), time.UTC))
	assert.Equal(t, uint64(ntpEpochOffset+1)<<32|1<<31, got)
	assert.Equal(t, uint32(1<<15), uint32(got>>16)&0xFFFF, "half a second in the middle 32 bits")
}

// TestRTTMeasuredInCall runs a call over loopback between pages that send
// RTCP reports as browsers do: both legs' quality has an RTT, tiny but
// measured.
func TestRTTMeasuredInCall(t *testing.T) {
	cfg := testConfig()
	cfg.ReportInterval = 100 * time.Millisecond
	b, _ := newBridge(t, cfg)
	screen := newPage(t, "screen")
	screen.reports = true
	screen.attachScreen(b, booth)
	parent := newPage(t, "parent")
	parent.reports = true
	parent.attachParent(b, token)
	t.Cleanup(screen.shutdown)
	t.Cleanup(parent.shutdown)
	ev := dial(t, b, "rtt", time.Minute)
	ring := parent.next(TypeRing, 2*time.Second)
	parent.send(Message{Type: TypeAccept, Call: ring.Call})
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	require.Eventually(t, func() bool {
		b.mu.Lock()
		c := b.calls["rtt"]
		b.mu.Unlock()
		return c != nil && c.screenLeg.Load().quality().RTTMs > 0 && c.parentLeg.Load().quality().RTTMs > 0
	}, 5*time.Second, 50*time.Millisecond, "both legs measure an RTT from the pages' receiver reports")
	screen.send(Message{Type: TypeHangup, Call: "rtt"})
	end := ev.wait(t, kiosk.EventEnded, 5*time.Second)
	require.NotNil(t, end.Quality)
	for name, q := range map[string]kiosk.LegQuality{"screen": end.Quality.Screen, "parent": end.Quality.Parent} {
		assert.Greater(t, q.RTTMs, 0.0, "%s leg RTT measured", name)
		assert.Less(t, q.RTTMs, 1000.0, "%s leg RTT on loopback", name)
		t.Logf("%s leg: RTT %.3f ms, jitter %.3f ms, lost %d", name, q.RTTMs, q.JitterMs, q.PacketsLost)
	}
}
