package rtc

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/qinqing/station/kiosk"
)

// DefaultReportInterval is the period of the daemon's RTCP sender and
// receiver reports, as browsers send theirs (about once a second).
const DefaultReportInterval = time.Second

// rttResolution is the unit of LSR and DLSR (1/65536 s, RFC 3550 section
// 6.4.1); a measured RTT below it is reported as this value so that
// "measured, under 16 µs" differs from "not measured" (0).
const rttResolution = time.Second / 65536

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP) to
// 1970-01-01 (Unix).
const ntpEpochOffset = 2208988800

// reports is the interceptor factory shared by every PeerConnection of a
// Bridge. It sends RTCP sender reports for the streams the daemon sends
// and receiver reports for the streams it receives (RFC 3550 section
// 6.4), for all PeerConnections from one goroutine, and measures per
// PeerConnection the round-trip time from the pages' report blocks
// (section 6.4.1: RTT = arrival - LSR - DLSR, against the send times of
// our own sender reports), jitter (appendix A.8) and packets lost
// (appendix A.3) in both directions. It replaces pion's report, NACK and
// stats interceptors, which run a goroutine each per PeerConnection.
type reports struct {
	interval time.Duration
	now      func() time.Time
	epoch    time.Time // arrival times count from here

	mu      sync.Mutex
	pcs     map[string]*pcReports // by PeerConnection id
	stop    chan struct{}
	done    chan struct{}
	started bool
}

func newReports(interval time.Duration, now func() time.Time) *reports {
	return &reports{interval: interval, now: now, epoch: now(), pcs: map[string]*pcReports{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// start runs the report ticker until close.
func (r *reports) start() {
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.tick()
			}
		}
	}()
}

// close stops the ticker and waits for it.
func (r *reports) close() {
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	close(r.stop)
	if started {
		<-r.done
	}
}

// tick sends every PeerConnection's reports.
func (r *reports) tick() {
	r.mu.Lock()
	pcs := make([]*pcReports, 0, len(r.pcs))
	for _, p := range r.pcs {
		pcs = append(pcs, p)
	}
	r.mu.Unlock()
	now := r.now()
	for _, p := range pcs {
		p.sendReports(now)
	}
}

// NewInterceptor implements interceptor.Factory; id is the
// PeerConnection's id (webrtc.PeerConnection.ID).
func (r *reports) NewInterceptor(id string) (interceptor.Interceptor, error) {
	p := &pcReports{r: r, id: id, local: map[uint32]*sendStats{}, remote: map[uint32]*recvStats{}}
	r.mu.Lock()
	r.pcs[id] = p
	r.mu.Unlock()
	return p, nil
}

// quality returns the figures of the PeerConnection with id; zero when
// it is unknown.
func (r *reports) quality(id string) kiosk.LegQuality {
	r.mu.Lock()
	p := r.pcs[id]
	r.mu.Unlock()
	if p == nil {
		return kiosk.LegQuality{}
	}
	return p.quality()
}

// remoteStream returns the receive statistics of the page's stream ssrc
// on the PeerConnection with id, for a reader that bypasses the
// interceptor (leg.relay); nil when either is unknown.
func (r *reports) remoteStream(id string, ssrc uint32) *streamReceipts {
	r.mu.Lock()
	p := r.pcs[id]
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	s := p.remote[ssrc]
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	return &streamReceipts{p: p, s: s}
}

// streamReceipts counts the packets of one received stream.
type streamReceipts struct {
	p *pcReports
	s *recvStats
}

// received counts a packet with sequence number seq and RTP timestamp ts,
// arrived now.
func (sr *streamReceipts) received(seq uint16, ts uint32) {
	sr.p.received(sr.s, seq, ts, sr.p.r.now())
}

// pcReports is the reports interceptor of one PeerConnection.
type pcReports struct {
	interceptor.NoOp
	r  *reports
	id string

	mu     sync.Mutex
	w      interceptor.RTCPWriter
	local  map[uint32]*sendStats // by our SSRC
	remote map[uint32]*recvStats // by the page's SSRC
}

// sendStats is a stream the daemon sends. Guarded by pcReports.mu.
type sendStats struct {
	clockRate float64
	packets   uint32
	octets    uint32    // payload octets
	rtpTime   uint32    // timestamp of the last packet sent
	at        time.Time // when it was sent
	srs       [8]sentSR // our last sender reports, a ring
	next      int

	// From the page's report blocks about this stream.
	rtt    time.Duration
	lost   int64
	jitter uint32 // RTP timestamp units
}

type sentSR struct {
	lsr uint32 // middle 32 bits of the NTP timestamp
	at  time.Time
}

// recvStats is a stream the daemon receives. Guarded by pcReports.mu.
type recvStats struct {
	clockRate     float64
	started       bool
	baseSeq       uint16
	maxSeq        uint16
	cycles        uint32 // sequence number wraps << 16
	received      uint32
	expectedPrior uint32
	receivedPrior uint32
	lastTS        uint32
	lastArrival   float64 // RTP timestamp units since reports.epoch
	jitter        float64 // RTP timestamp units
	lastSR        uint32  // middle 32 bits of the page's last SR's NTP time
	lastSRAt      time.Time
}

// BindRTCPWriter implements interceptor.Interceptor.
func (p *pcReports) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	p.mu.Lock()
	p.w = w
	p.mu.Unlock()
	return w
}

// BindLocalStream implements interceptor.Interceptor: it counts what is
// sent for the sender reports.
func (p *pcReports) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	s := &sendStats{clockRate: float64(max(info.ClockRate, 1))}
	p.mu.Lock()
	p.local[info.SSRC] = s
	p.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		now := p.r.now()
		p.mu.Lock()
		s.packets++
		s.octets += uint32(len(payload))
		s.rtpTime, s.at = h.Timestamp, now
		p.mu.Unlock()
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream implements interceptor.Interceptor.
func (p *pcReports) UnbindLocalStream(info *interceptor.StreamInfo) {
	p.mu.Lock()
	delete(p.local, info.SSRC)
	p.mu.Unlock()
}

// BindRemoteStream implements interceptor.Interceptor: it keeps the
// receive statistics of RFC 3550 appendix A.1, A.3 and A.8.
func (p *pcReports) BindRemoteStream(info *interceptor.StreamInfo, rd interceptor.RTPReader) interceptor.RTPReader {
	s := &recvStats{clockRate: float64(max(info.ClockRate, 1))}
	p.mu.Lock()
	p.remote[info.SSRC] = s
	p.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := rd.Read(b, a)
		if err == nil && n >= 12 {
			p.received(s, binary.BigEndian.Uint16(b[2:4]), binary.BigEndian.Uint32(b[4:8]), p.r.now())
		}
		return n, a, err
	})
}

// UnbindRemoteStream implements interceptor.Interceptor.
func (p *pcReports) UnbindRemoteStream(info *interceptor.StreamInfo) {
	p.mu.Lock()
	delete(p.remote, info.SSRC)
	p.mu.Unlock()
}

// Close implements interceptor.Interceptor.
func (p *pcReports) Close() error {
	p.r.mu.Lock()
	if p.r.pcs[p.id] == p {
		delete(p.r.pcs, p.id)
	}
	p.r.mu.Unlock()
	return nil
}

func (p *pcReports) received(s *recvStats, seq uint16, ts uint32, now time.Time) {
	arrival := now.Sub(p.r.epoch).Seconds() * s.clockRate
	p.mu.Lock()
	defer p.mu.Unlock()
	if !s.started {
		s.started = true
		s.baseSeq, s.maxSeq, s.received = seq, seq, 1
		s.lastTS, s.lastArrival = ts, arrival
		return
	}
	s.received++
	if d := seq - s.maxSeq; d != 0 && d < 0x8000 { // in order, maybe after a gap
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	}
	// D(i-1,i) = (Rj - Ri) - (Sj - Si), with the timestamp difference
	// taken modulo 2^32.
	d := (arrival - s.lastArrival) - float64(int32(ts-s.lastTS))
	if d < 0 {
		d = -d
	}
	s.jitter += (d - s.jitter) / 16
	s.lastTS, s.lastArrival = ts, arrival
}

// block is the reception report block about s (RFC 3550 section 6.4.1).
func (s *recvStats) block(ssrc uint32, now time.Time) rtcp.ReceptionReport {
	ext := s.cycles + uint32(s.maxSeq)
	expected := ext - uint32(s.baseSeq) + 1
	lost := int64(expected) - int64(s.received)
	lost = min(max(lost, 0), 1<<23-1)
	expInt, recvInt := expected-s.expectedPrior, s.received-s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInt := int64(expInt) - int64(recvInt); expInt > 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/int64(expInt), 255))
	}
	var dlsr uint32
	if !s.lastSRAt.IsZero() {
		dlsr = uint32(int64(now.Sub(s.lastSRAt)) * 65536 / int64(time.Second))
	}
	return rtcp.ReceptionReport{SSRC: ssrc, FractionLost: fraction, TotalLost: uint32(lost),
		LastSequenceNumber: ext, Jitter: uint32(s.jitter), LastSenderReport: s.lastSR, Delay: dlsr}
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 5905 section 6).
func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// sendReports writes one sender report per stream that has sent, the
// first carrying the reception report blocks, or a receiver report when
// nothing was sent yet.
func (p *pcReports) sendReports(now time.Time) {
	p.mu.Lock()
	w := p.w
	if w == nil {
		p.mu.Unlock()
		return
	}
	var blocks []rtcp.ReceptionReport
	for ssrc, s := range p.remote {
		if s.started && len(blocks) < 31 {
			blocks = append(blocks, s.block(ssrc, now))
		}
	}
	var out []rtcp.Packet
	var anySSRC uint32 = 1
	ntp := ntpTime(now)
	for ssrc, s := range p.local {
		anySSRC = ssrc
		if s.packets == 0 {
			continue
		}
		sr := &rtcp.SenderReport{SSRC: ssrc, NTPTime: ntp,
			RTPTime:     s.rtpTime + uint32(now.Sub(s.at).Seconds()*s.clockRate),
			PacketCount: s.packets, OctetCount: s.octets}
		if len(out) == 0 {
			sr.Reports = blocks
		}
		s.srs[s.next] = sentSR{lsr: uint32(ntp >> 16), at: now}
		s.next = (s.next + 1) % len(s.srs)
		out = append(out, sr)
	}
	if len(out) == 0 && len(blocks) > 0 {
		out = append(out, &rtcp.ReceiverReport{SSRC: anySSRC, Reports: blocks})
	}
	p.mu.Unlock()
	for _, pkt := range out {
		// Errors mean the PeerConnection is closing.
		_, _ = w.Write([]rtcp.Packet{pkt}, interceptor.Attributes{})
	}
}

// BindRTCPReader implements interceptor.Interceptor: it takes the page's
// sender reports (for our LSR and DLSR) and its report blocks about our
// streams (RTT, loss, jitter).
func (p *pcReports) BindRTCPReader(rd interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := rd.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		if pkts, err := a.GetRTCPPackets(b[:n]); err == nil {
			p.feedback(pkts, p.r.now())
		}
		return n, a, nil
	})
}

func (p *pcReports) feedback(pkts []rtcp.Packet, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pkt := range pkts {
		var blocks []rtcp.ReceptionReport
		switch pkt := pkt.(type) {
		case *rtcp.SenderReport:
			if s := p.remote[pkt.SSRC]; s != nil {
				s.lastSR, s.lastSRAt = uint32(pkt.NTPTime>>16), now
			}
			blocks = pkt.Reports
		case *rtcp.ReceiverReport:
			blocks = pkt.Reports
		}
		for _, blk := range blocks {
			s := p.local[blk.SSRC]
			if s == nil {
				continue
			}
			// TotalLost is a 24-bit signed count.
			s.lost = int64(int32(blk.TotalLost<<8) >> 8)
			s.jitter = blk.Jitter
			if blk.LastSenderReport == 0 {
				continue
			}
			for _, sr := range s.srs {
				if sr.lsr != blk.LastSenderReport || sr.at.IsZero() {
					continue
				}
				dlsr := time.Duration(int64(blk.Delay) * int64(time.Second) / 65536)
				s.rtt = max(now.Sub(sr.at)-dlsr, rttResolution)
				break
			}
		}
	}
}

// quality is the PeerConnection's figures: RTT the largest over the
// streams we send, jitter the largest over both directions, packets lost
// summed over both directions and all streams.
func (p *pcReports) quality() kiosk.LegQuality {
	p.mu.Lock()
	defer p.mu.Unlock()
	var q kiosk.LegQuality
	for _, s := range p.local {
		q.RTTMs = max(q.RTTMs, float64(s.rtt)/float64(time.Millisecond))
		q.JitterMs = max(q.JitterMs, float64(s.jitter)/s.clockRate*1000)
		q.PacketsLost += max(s.lost, 0)
	}
	for _, s := range p.remote {
		if !s.started {
			continue
		}
		expected := s.cycles + uint32(s.maxSeq) - uint32(s.baseSeq) + 1
		q.PacketsLost += max(int64(expected)-int64(s.received), 0)
		q.JitterMs = max(q.JitterMs, s.jitter/s.clockRate*1000)
	}
	return q
}
