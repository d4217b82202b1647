package callbridge

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var loopback = netip.MustParseAddr("127.0.0.1")

const waitFor, pollEvery = 3 * time.Second, 5 * time.Millisecond

// fakeClock is an injected clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// recorder keeps copies of what an Endpoint receives.
type recorder struct {
	mu   sync.Mutex
	hdrs []rtp.Header
	pays [][]byte
}

func (r *recorder) handle(h *rtp.Header, payload []byte, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hdrs = append(r.hdrs, h.Clone())
	r.pays = append(r.pays, bytes.Clone(payload))
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hdrs, r.pays = nil, nil
}

func (r *recorder) snapshot() ([]rtp.Header, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtp.Header(nil), r.hdrs...), append([][]byte(nil), r.pays...)
}

type call struct {
	relay *Relay
	a, b  *Endpoint
}

// newCall wires endpoint a (booth) and b (trunk) through a started relay,
// with both legs' SDP addresses known unless noRemoteB.
func newCall(t *testing.T, opts RelayOpts, noRemoteB bool) call {
	t.Helper()
	r, err := NewRelay(loopback, opts)
	require.NoError(t, err)
	a, err := NewEndpoint(loopback)
	require.NoError(t, err)
	b, err := NewEndpoint(loopback)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = r.Close()
		_ = a.Close()
		_ = b.Close()
	})
	a.SetRemote(r.LocalAddr(LegA))
	b.SetRemote(r.LocalAddr(LegB))
	r.SetRemote(LegA, a.LocalAddr())
	if !noRemoteB {
		r.SetRemote(LegB, b.LocalAddr())
	}
	r.Start()
	return call{relay: r, a: a, b: b}
}

func received(e *Endpoint) int {
	n, _ := e.Received()
	return n
}

func silence(pt uint8) []byte {
	return bytes.Repeat([]byte{silenceByte(pt)}, 160)
}

func TestRelayForwardsBothWays(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	var recA, recB recorder
	c.a.SetHandler(recA.handle)
	c.b.SetHandler(recB.handle)

	for i := range 10 {
		payload := bytes.Repeat([]byte{byte(i)}, 160)
		require.NoError(t, c.a.Send(PayloadTypePCMU, payload, i == 0))
	}
	for range 7 {
		require.NoError(t, c.b.Send(PayloadTypePCMA, silence(PayloadTypePCMA), false))
	}
	require.Eventually(t, func() bool { return received(c.b) == 10 && received(c.a) == 7 }, waitFor, pollEvery,
		"b gets a's 10 packets and a gets b's 7")

	hdrs, pays := recB.snapshot()
	for i := range hdrs {
		assert.Equal(t, c.a.SSRC(), hdrs[i].SSRC, "SSRC untouched")
		assert.Equal(t, bytes.Repeat([]byte{byte(i)}, 160), pays[i], "payload %d untouched", i)
		assert.Equal(t, i == 0, hdrs[i].Marker, "marker of packet %d", i)
	}
	hdrsA, _ := recA.snapshot()
	assert.Equal(t, uint8(PayloadTypePCMA), hdrsA[0].PayloadType)

	s := c.relay.Stats()
	assert.Equal(t, uint64(10), s.AToB.Packets)
	assert.Equal(t, uint64(10*172), s.AToB.Bytes, "172-byte G.711 packets")
	assert.Equal(t, uint64(7), s.BToA.Packets)
	assert.Zero(t, s.AToB.Dropped+s.BToA.Dropped+s.AToB.NoRemote+s.BToA.NoRemote)
	assert.False(t, s.AToB.LastPacket.IsZero())
	assert.Equal(t, s.From(LegB), s.BToA)
	assert.False(t, s.LastPacket.Before(s.AToB.LastPacket) || s.LastPacket.Before(s.BToA.LastPacket), "LastPacket is the latest")
}

func TestRelayPorts(t *testing.T) {
	t.Run("os chosen ports are even, rtcp on the next port", func(t *testing.T) {
		r, err := NewRelay(loopback, RelayOpts{})
		require.NoError(t, err)
		defer r.Close()
		for _, l := range []Leg{LegA, LegB} {
			p := r.LocalAddr(l).Port()
			assert.Zerof(t, p%2, "leg %s RTP port %d is even", l, p)
			_, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, p+1)))
			assert.Errorf(t, err, "leg %s RTCP port %d is taken by the relay", l, p+1)
		}
		assert.NotEqual(t, r.LocalAddr(LegA), r.LocalAddr(LegB))
	})
	t.Run("range respected", func(t *testing.T) {
		r, err := NewRelay(loopback, RelayOpts{PortMin: 41001, PortMax: 41040})
		require.NoError(t, err)
		defer r.Close()
		for _, l := range []Leg{LegA, LegB} {
			p := int(r.LocalAddr(l).Port())
			assert.Zero(t, p%2)
			assert.GreaterOrEqual(t, p, 41002, "odd PortMin rounds up to even")
			assert.LessOrEqual(t, p+1, 41040, "RTCP within the range")
		}
	})
	t.Run("range too small for two legs", func(t *testing.T) {
		_, err := NewRelay(loopback, RelayOpts{PortMin: 41100, PortMax: 41102})
		assert.ErrorIs(t, err, ErrNoPorts)
		// The first leg's sockets were released.
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 41100)))
		require.NoError(t, err, "leg A's port was closed after the failure")
		c.Close()
	})
	t.Run("invalid ranges", func(t *testing.T) {
		for _, o := range []RelayOpts{{PortMin: 5000}, {PortMin: 6000, PortMax: 5000}, {PortMin: 1, PortMax: 70000}} {
			_, err := NewRelay(loopback, o)
			assert.Errorf(t, err, "range %d-%d", o.PortMin, o.PortMax)
		}
		_, err := NewRelay(netip.IPv4Unspecified(), RelayOpts{})
		assert.Error(t, err, "0.0.0.0 cannot go in an SDP")
	})
}

func TestRelayLatching(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	// The booth's SDP lies (as behind NAT): nothing listens there.
	dead, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	deadAddr := dead.LocalAddr().(*net.UDPAddr).AddrPort()
	c.relay.SetRemote(LegA, deadAddr)

	require.NoError(t, c.b.Send(PayloadTypePCMU, silence(0), true))
	buf := make([]byte, 1500)
	require.NoError(t, dead.SetReadDeadline(time.Now().Add(waitFor)))
	_, _, err = dead.ReadFromUDPAddrPort(buf)
	require.NoError(t, err, "before latching, media goes to the SDP address")
	dead.Close()

	require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), true))
	require.Eventually(t, func() bool { return received(c.b) == 1 }, waitFor, pollEvery)
	for range 3 {
		require.NoError(t, c.b.Send(PayloadTypePCMU, silence(0), false))
	}
	require.Eventually(t, func() bool { return received(c.a) == 3 }, waitFor, pollEvery,
		"after a's first packet, media toward A goes to its source address")

	// A re-INVITE moving the media clears the latch.
	other, err := NewEndpoint(loopback)
	require.NoError(t, err)
	defer other.Close()
	c.relay.SetRemote(LegA, other.LocalAddr())
	require.NoError(t, c.b.Send(PayloadTypePCMU, silence(0), false))
	require.Eventually(t, func() bool { return received(other) == 1 }, waitFor, pollEvery, "new SDP address used")
	assert.Equal(t, 3, received(c.a))
}

func TestRelayDropsMalformed(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer raw.Close()

	rtpv2 := func(b0, b1 byte, size int) []byte {
		p := make([]byte, size)
		p[0], p[1] = b0, b1
		return p
	}
	bad := []struct {
		name string
		pkt  []byte
	}{
		{"text", []byte("hello, world!")},
		{"too short", rtpv2(0x80, 0, 8)},
		{"version 1", rtpv2(0x40, 0, 172)},
		{"csrc count beyond the end", rtpv2(0x8F, 0, 20)},
		{"padding longer than the packet", append(rtpv2(0xA0, 0, 20), 200)},
		{"rtcp on the rtp port", rtpv2(0x80, 200, 28)},
		{"stun binding request", rtpv2(0x00, 0x01, 20)},
	}
	for _, tc := range bad {
		_, err := raw.WriteToUDPAddrPort(tc.pkt, c.relay.LocalAddr(LegA))
		require.NoError(t, err, tc.name)
	}
	rtcpPort := netip.AddrPortFrom(loopback, c.relay.LocalAddr(LegA).Port()+1)
	_, err = raw.WriteToUDPAddrPort([]byte("not rtcp at all"), rtcpPort)
	require.NoError(t, err)

	require.Eventually(t, func() bool { return c.relay.Stats().AToB.Dropped == uint64(len(bad)+1) }, waitFor, pollEvery,
		"every malformed datagram is counted")
	require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), true))
	require.Eventually(t, func() bool { return received(c.b) == 1 }, waitFor, pollEvery)
	s := c.relay.Stats()
	assert.Equal(t, uint64(1), s.AToB.Packets, "only the valid packet is forwarded")
	assert.Zero(t, s.AToB.RTCPPackets)

	// Garbage did not latch leg A: b's packet goes to a, not to raw.
	require.NoError(t, c.b.Send(PayloadTypePCMU, silence(0), true))
	require.Eventually(t, func() bool { return received(c.a) == 1 }, waitFor, pollEvery)
}

func TestRelayNoRemote(t *testing.T) {
	c := newCall(t, RelayOpts{}, true)
	for range 3 {
		require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), false))
	}
	require.Eventually(t, func() bool { return c.relay.Stats().AToB.NoRemote == 3 }, waitFor, pollEvery,
		"packets before B's address is known are dropped and counted")
	assert.Zero(t, c.relay.Stats().AToB.Packets)
	assert.Zero(t, received(c.b))

	// An SDP hold address (0.0.0.0) is no address either.
	c.relay.SetRemote(LegB, netip.MustParseAddrPort("0.0.0.0:4000"))
	require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), false))
	require.Eventually(t, func() bool { return c.relay.Stats().AToB.NoRemote == 4 }, waitFor, pollEvery)

	// Once B's address is known, media flows.
	c.relay.SetRemote(LegB, c.b.LocalAddr())
	require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), false))
	require.Eventually(t, func() bool { return received(c.b) == 1 }, waitFor, pollEvery)
}

func TestRelayRTCP(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	listen := func() *net.UDPConn {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		t.Cleanup(func() { u.Close() })
		return u
	}
	rtcpA, rtcpB := listen(), listen()
	rtcpPort := func(l Leg) netip.AddrPort {
		return netip.AddrPortFrom(loopback, c.relay.LocalAddr(l).Port()+1)
	}
	receiverReport := []byte{0x80, 201, 0x00, 0x01, 0xDE, 0xAD, 0xBE, 0xEF}

	// B's RTCP source latches, so A's reports reach it.
	_, err := rtcpB.WriteToUDPAddrPort(receiverReport, rtcpPort(LegB))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.relay.Stats().BToA.RTCPPackets == 1 }, waitFor, pollEvery)
	_, err = rtcpA.WriteToUDPAddrPort(receiverReport, rtcpPort(LegA))
	require.NoError(t, err)

	buf := make([]byte, 100)
	require.NoError(t, rtcpB.SetReadDeadline(time.Now().Add(waitFor)))
	n, from, err := rtcpB.ReadFromUDPAddrPort(buf)
	require.NoError(t, err, "A's RTCP reaches B's latched RTCP address")
	assert.Equal(t, receiverReport, buf[:n])
	assert.Equal(t, rtcpPort(LegB), from, "sent from B's RTCP socket")
	assert.Equal(t, uint64(1), c.relay.Stats().AToB.RTCPPackets)
}

// sendSilence sends 20 ms PCMU silence packets from e until ctx ends.
func sendSilence(ctx context.Context, e *Endpoint) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = e.Send(PayloadTypePCMU, silence(PayloadTypePCMU), false)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func TestRelayToneMixing(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	var recA, recB recorder
	c.a.SetHandler(recA.handle)
	c.b.SetHandler(recB.handle)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sendSilence(ctx, c.a) }()
	go func() { defer wg.Done(); sendSilence(ctx, c.b) }()

	require.Eventually(t, func() bool { return received(c.b) >= 5 }, waitFor, pollEvery)
	before := received(c.b)
	tone := Tone{Freq: 450, LevelDBm0: -10, Total: 200 * time.Millisecond} // 10 packets of 160 samples
	c.relay.PlayTone(LegB, tone, PayloadTypePCMU)
	require.Eventually(t, func() bool { return received(c.b) >= before+25 }, waitFor, pollEvery)
	cancel()
	wg.Wait()

	hdrs, pays := recB.snapshot()
	var toned []int
	for i, p := range pays {
		if !bytes.Equal(p, silence(PayloadTypePCMU)) {
			toned = append(toned, i)
		}
	}
	require.Len(t, toned, 10, "exactly the 200 ms of tone is mixed (10 packets)")
	assert.GreaterOrEqual(t, toned[0], before, "nothing mixed before PlayTone")
	assert.Equal(t, toned[0]+9, toned[9], "the mixed packets are consecutive")
	for i := 1; i < len(hdrs); i++ {
		assert.Equal(t, c.a.SSRC(), hdrs[i].SSRC, "SSRC kept")
		assert.Equal(t, hdrs[i-1].SequenceNumber+1, hdrs[i].SequenceNumber, "sequence numbers contiguous")
		assert.Equal(t, hdrs[i-1].Timestamp+160, hdrs[i].Timestamp, "timestamps kept")
	}
	dec := make([]int16, 160)
	_, _ = Decode(PayloadTypePCMU, dec, pays[toned[5]])
	assert.InDelta(t, -10, levelDBm0(rms(dec)), 1, "a mid-tone packet carries the tone at its level")

	_, paysA := recA.snapshot()
	for i, p := range paysA {
		require.Equalf(t, silence(PayloadTypePCMU), p, "packet %d toward A is untouched", i)
	}
}

func TestRelayToneGenerated(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	var rec recorder
	c.b.SetHandler(rec.handle)

	t.Run("fresh stream when nothing was sent", func(t *testing.T) {
		c.relay.PlayTone(LegB, Tone{Freq: 450, LevelDBm0: -10, Total: 100 * time.Millisecond}, PayloadTypePCMA)
		require.Eventually(t, func() bool { return c.relay.Stats().AToB.TonePackets == 5 }, waitFor, pollEvery)
		require.Eventually(t, func() bool { return received(c.b) == 5 }, waitFor, pollEvery)
		hdrs, pays := rec.snapshot()
		assert.True(t, hdrs[0].Marker, "first generated packet has the marker")
		for i, h := range hdrs {
			assert.Equal(t, uint8(PayloadTypePCMA), h.PayloadType)
			assert.Len(t, pays[i], 160, "20 ms")
			assert.Equal(t, hdrs[0].SSRC, h.SSRC)
			assert.Equal(t, hdrs[0].SequenceNumber+uint16(i), h.SequenceNumber)
			assert.Equal(t, hdrs[0].Timestamp+uint32(160*i), h.Timestamp)
		}
		assert.NotEqual(t, c.a.SSRC(), hdrs[0].SSRC)
	})

	t.Run("continues the last forwarded stream", func(t *testing.T) {
		rec.reset()
		for range 3 {
			require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), false))
		}
		require.Eventually(t, func() bool { return received(c.b) == 8 }, waitFor, pollEvery)
		c.relay.PlayTone(LegB, Tone{Freq: 450, LevelDBm0: -10, Total: 60 * time.Millisecond}, PayloadTypePCMU)
		require.Eventually(t, func() bool { return received(c.b) == 11 }, waitFor, pollEvery)
		// The booth's stream resumes: its sequence numbers are shifted past the generated ones.
		require.NoError(t, c.a.Send(PayloadTypePCMU, silence(0), false))
		require.Eventually(t, func() bool { return received(c.b) == 12 }, waitFor, pollEvery)
		hdrs, _ := rec.snapshot()
		require.Len(t, hdrs, 7)
		for i, h := range hdrs {
			assert.Equal(t, c.a.SSRC(), h.SSRC, "packet %d keeps the booth's SSRC", i)
			if i > 0 {
				assert.Equal(t, hdrs[i-1].SequenceNumber+1, h.SequenceNumber, "packet %d sequence continues", i)
			}
		}
		assert.True(t, hdrs[3].Marker, "the first generated packet starts a talkspurt")
		gap := hdrs[3].Timestamp - hdrs[2].Timestamp
		assert.Zero(t, gap%160, "timestamps advance in 20 ms steps")
		assert.GreaterOrEqual(t, gap, uint32(160), "timestamps move on")
		assert.Equal(t, hdrs[4].Timestamp+160, hdrs[5].Timestamp, "generated packets are 20 ms apart")
		assert.Equal(t, hdrs[5].Timestamp+160, hdrs[6].Timestamp, "the resumed stream's timestamp is moved past the tone")
	})
}

func TestRelaySinceLastMedia(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: t0}
	c := newCall(t, RelayOpts{Now: clock.Now}, false)

	assert.Equal(t, 3*time.Second, c.relay.SinceLastMediaFrom(LegB, t0.Add(3*time.Second)), "counted from Start when no media")

	clock.Set(t0.Add(time.Second))
	require.NoError(t, c.b.Send(PayloadTypePCMU, silence(0), true))
	require.Eventually(t, func() bool { return received(c.a) == 1 }, waitFor, pollEvery)
	assert.Equal(t, t0.Add(time.Second), c.relay.Stats().BToA.LastPacket)
	assert.Equal(t, time.Duration(0), c.relay.SinceLastMediaFrom(LegB, t0.Add(time.Second)))
	assert.Equal(t, 10*time.Second, c.relay.SinceLastMediaFrom(LegB, t0.Add(11*time.Second)), "grows while media is stopped")
	assert.Equal(t, 30*time.Second, c.relay.SinceLastMediaFrom(LegB, t0.Add(31*time.Second)))
	assert.Equal(t, 31*time.Second, c.relay.SinceLastMediaFrom(LegA, t0.Add(31*time.Second)), "the silent leg counts from Start")
}

func TestRelayCloseIdempotent(t *testing.T) {
	before := runtime.NumGoroutine()
	r, err := NewRelay(loopback, RelayOpts{})
	require.NoError(t, err)
	r.SetRemote(LegB, netip.AddrPortFrom(loopback, 9))
	r.Start()
	r.Start()
	r.PlayTone(LegB, DemoTone, PayloadTypePCMU) // endless
	require.Greater(t, runtime.NumGoroutine(), before, "the relay runs goroutines")
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "second Close is a no-op")
	r.Start()
	r.PlayTone(LegA, WarningTone, PayloadTypePCMU)
	// Polled by hand: testify's Eventually runs its condition on a goroutine of its own.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(waitFor); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(pollEvery)
	}
	assert.LessOrEqual(t, after, before, "no goroutine left behind")

	e, err := NewEndpoint(loopback)
	require.NoError(t, err)
	require.NoError(t, e.Close())
	require.NoError(t, e.Close())
}

// Legs that chose different G.711 laws hear each other: PCMA from one leg
// reaches a PCMU leg as PCMU carrying the same sound.
func TestRelayConvertsG711Law(t *testing.T) {
	c := newCall(t, RelayOpts{}, false)
	c.relay.SetPayloadType(LegA, PayloadTypePCMU)
	c.relay.SetPayloadType(LegB, PayloadTypePCMA)
	type got struct {
		pt      uint8
		payload []byte
	}
	gotA := make(chan got, 4)
	c.a.SetHandler(func(h *rtp.Header, payload []byte, _ time.Time) {
		gotA <- got{h.PayloadType, append([]byte(nil), payload...)}
	})
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*450*float64(i)/SampleRate))
	}
	alaw := make([]byte, 160)
	_, err := Encode(PayloadTypePCMA, alaw, pcm)
	require.NoError(t, err)
	require.NoError(t, c.b.Send(PayloadTypePCMA, alaw, true))
	select {
	case g := <-gotA:
		assert.Equal(t, PayloadTypePCMU, g.pt, "rewritten to the leg's law")
		back := make([]int16, 160)
		_, err := Decode(PayloadTypePCMU, back, g.payload)
		require.NoError(t, err)
		for i := range pcm {
			assert.InDelta(t, pcm[i], back[i], 520, "sample %d keeps its value within two G.711 steps", i)
		}
	case <-time.After(waitFor):
		t.Fatal("nothing reached leg A")
	}
}
