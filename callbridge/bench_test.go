package callbridge

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// cpuTime returns the user+system CPU time used so far by the whole process.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchListen(b *testing.B) *net.UDPConn {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// pumpPackets sends n 172-byte PCMU packets from a raw socket to dest and
// receives them on recv, with at most 32 in flight so loopback never drops.
// It returns the process CPU time spent.
func pumpPackets(b *testing.B, n int, send, recv *net.UDPConn, dest netip.AddrPort) time.Duration {
	pkt := make([]byte, 172)
	pkt[0], pkt[1] = 0x80, PayloadTypePCMU
	binary.BigEndian.PutUint32(pkt[8:], 0x1234abcd)
	window := make(chan struct{}, 32)
	if err := recv.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	start := cpuTime(b)
	go func() {
		for i := range n {
			window <- struct{}{}
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
			if _, err := send.WriteToUDPAddrPort(pkt, dest); err != nil {
				panic(err)
			}
		}
	}()
	buf := make([]byte, 1500)
	for i := range n {
		if _, _, err := recv.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatalf("packet %d of %d not received: %v", i, n, err)
		}
		<-window
	}
	return cpuTime(b) - start
}

// BenchmarkRelayPacket measures one 172-byte G.711 RTP packet in and out of
// a real relay on loopback. ns/op is wall time per packet with 32 in flight;
// cpu-ns/pkt is the whole process's CPU per packet (sender, relay, receiver);
// direct-cpu-ns/pkt is the same without the relay (sender straight to the
// receiver, same b.N), and relay-cpu-ns/pkt the difference: the relay's cost.
func BenchmarkRelayPacket(b *testing.B) {
	send, recv := benchListen(b), benchListen(b)
	sendAddr := send.LocalAddr().(*net.UDPAddr).AddrPort()
	recvAddr := recv.LocalAddr().(*net.UDPAddr).AddrPort()

	direct := pumpPackets(b, b.N, send, recv, recvAddr)

	r, err := NewRelay(loopback, RelayOpts{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	r.SetRemote(LegA, sendAddr)
	r.SetRemote(LegB, recvAddr)
	r.Start()
	b.ReportAllocs()
	b.ResetTimer()
	relayed := pumpPackets(b, b.N, send, recv, r.LocalAddr(LegA))
	b.StopTimer()

	if got := r.Stats().AToB.Packets; got != uint64(b.N) {
		b.Fatalf("relay forwarded %d packets, want %d", got, b.N)
	}
	perPkt := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(perPkt(relayed), "cpu-ns/pkt")
	b.ReportMetric(perPkt(direct), "direct-cpu-ns/pkt")
	b.ReportMetric(perPkt(relayed)-perPkt(direct), "relay-cpu-ns/pkt")
}

// latencies collects one-way packet latencies in microseconds.
type latencies struct {
	mu sync.Mutex
	us []float64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.us = append(l.us, float64(d.Nanoseconds())/1e3)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.us) == 0 {
		return 0
	}
	s := slices.Clone(l.us)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

const (
	benchCalls  = 100
	benchRounds = 6                      // relay and direct phases alternate this many times
	benchPhase  = 500 * time.Millisecond // length of one phase
	modeDirect  = 0
	modeRelay   = 1
)

// BenchmarkRelay100Calls runs 100 relayed calls at once, 50 G.711 packets/s
// each way (senders spread over one 20 ms period), for 6 s. Every 500 ms the
// endpoints switch between sending through their relay and sending straight
// to each other, so the relayed and direct figures share the same machine
// load. Each payload carries its send time and mode; the receiver records the
// one-way latency. Reported: "lost" (relayed packets not received, must be
// 0), "p50-latency-us" and "p99-latency-us" through the relays,
// "direct-p99-latency-us", and "added-p99-us" (relayed p99 minus direct p99).
// It runs once whatever b.N (about 7 s).
func BenchmarkRelay100Calls(b *testing.B) {
	if b.N > 1 {
		b.Skip("one iteration is the measurement")
	}
	lat := [2]*latencies{{}, {}}
	var gotMode [2]atomic.Int64
	base := time.Now()
	record := func(_ *rtp.Header, payload []byte, at time.Time) {
		if len(payload) >= 9 && payload[8] <= modeRelay {
			m := payload[8]
			gotMode[m].Add(1)
			lat[m].add(at.Sub(base) - time.Duration(binary.BigEndian.Uint64(payload)))
		}
	}
	type peer struct {
		e       *Endpoint
		targets [2]netip.AddrPort // by mode
	}
	var peers []*peer
	var relays []*Relay
	defer func() {
		for _, r := range relays {
			r.Close()
		}
		for _, p := range peers {
			p.e.Close()
		}
	}()
	for range benchCalls {
		a, err := NewEndpoint(loopback)
		if err != nil {
			b.Fatal(err)
		}
		z, err := NewEndpoint(loopback)
		if err != nil {
			b.Fatal(err)
		}
		a.SetHandler(record)
		z.SetHandler(record)
		r, err := NewRelay(loopback, RelayOpts{})
		if err != nil {
			b.Fatal(err)
		}
		relays = append(relays, r)
		r.SetRemote(LegA, a.LocalAddr())
		r.SetRemote(LegB, z.LocalAddr())
		r.Start()
		peers = append(peers,
			&peer{e: a, targets: [2]netip.AddrPort{z.LocalAddr(), r.LocalAddr(LegA)}},
			&peer{e: z, targets: [2]netip.AddrPort{a.LocalAddr(), r.LocalAddr(LegB)}})
	}

	var mode atomic.Int32
	mode.Store(modeRelay)
	var sentMode [2]atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * packetTime / time.Duration(len(peers)))
			payload := silence(PayloadTypePCMU)
			tick := time.NewTicker(packetTime)
			defer tick.Stop()
			cur := int32(-1)
			for {
				// The sender switches its own remote, so the mode tag is exact.
				if m := mode.Load(); m != cur {
					cur = m
					p.e.SetRemote(p.targets[m])
				}
				binary.BigEndian.PutUint64(payload, uint64(time.Since(base)))
				payload[8] = byte(cur)
				if err := p.e.Send(PayloadTypePCMU, payload, false); err == nil {
					sentMode[cur].Add(1)
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
	}
	for range benchRounds {
		mode.Store(modeRelay)
		time.Sleep(benchPhase)
		mode.Store(modeDirect)
		time.Sleep(benchPhase)
	}
	close(done)
	wg.Wait()
	time.Sleep(200 * time.Millisecond) // let the last packets land

	var relayed uint64
	for _, r := range relays {
		s := r.Stats()
		relayed += s.AToB.Packets + s.BToA.Packets
	}
	sent := sentMode[modeRelay].Load()
	if sent == 0 || uint64(sent) != relayed {
		b.Errorf("relays forwarded %d packets of %d sent through them", relayed, sent)
	}
	b.ReportMetric(float64(sent-gotMode[modeRelay].Load()), "lost")
	b.ReportMetric(float64(sentMode[modeDirect].Load()-gotMode[modeDirect].Load()), "direct-lost")
	b.ReportMetric(float64(sent), "relayed")
	b.ReportMetric(lat[modeRelay].quantile(0.50), "p50-latency-us")
	b.ReportMetric(lat[modeRelay].quantile(0.99), "p99-latency-us")
	b.ReportMetric(lat[modeDirect].quantile(0.99), "direct-p99-latency-us")
	b.ReportMetric(lat[modeRelay].quantile(0.99)-lat[modeDirect].quantile(0.99), "added-p99-us")
}
