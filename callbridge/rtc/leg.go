package rtc

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/webrtc/v4"

	"github.com/qinqing/station/kiosk"
)

// pliInterval is the least time between two keyframe requests to one
// browser: receivers ask again and again while they wait for one.
const pliInterval = 200 * time.Millisecond

// leg is one PeerConnection of a call, toward one page.
type leg struct {
	c    *call
	kind pageKind
	pc   *webrtc.PeerConnection

	mu        sync.Mutex
	closed    bool
	offerSent bool
	early     []*webrtc.ICECandidate // ours, gathered before the offer was sent
	remoteSet bool
	pending   []webrtc.ICECandidateInit // the page's, before its answer
	bufs      map[uint32]*relayBuffer   // the page's RTP streams by SSRC
	wg        sync.WaitGroup

	restarting bool // an ICE restart offer is out, its path not yet up
	restarts   int  // ICE restarts offered in this call

	// The call's drain owns these: restartGrace after a disconnection,
	// and the deadline of a restart.
	graceT, restartT *time.Timer

	ice       atomic.Int32 // webrtc.ICEConnectionState
	gotMedia  atomic.Bool
	videoSSRC atomic.Uint32 // SSRC of the video the page sends
	lastPLI   atomic.Int64  // unix nanoseconds
	received  atomic.Uint64 // RTP packets from the page
	closeOnce sync.Once
}

// newLeg creates the PeerConnection toward a page, adds the tracks that
// carry the other leg's media, and sends the offer; candidates trickle
// after it.
func (c *call) newLeg(kind pageKind, codecs []webrtc.RTPCodecParameters, audio, video *forwardTrack) (*leg, error) {
	l := &leg{c: c, kind: kind, bufs: map[uint32]*relayBuffer{}}
	api, err := c.b.newAPI(codecs, l.newBuffer)
	if err != nil {
		return nil, err
	}
	if l.pc, err = api.NewPeerConnection(c.b.pcConfig()); err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	pc := l.pc
	fail := func(step string, err error) (*leg, error) {
		l.close()
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	for _, t := range []*forwardTrack{audio, video} {
		tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
		if err != nil {
			return fail("add transceiver", err)
		}
		if t.kind == webrtc.RTPCodecTypeVideo {
			// Audio feedback (receiver reports) is not read: video's gives
			// the RTT, and pion bounds the unread buffer (100 kB).
			l.spawn(func() { l.readRTCP(tr.Sender()) })
		}
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		out := c.toParentAudio
		switch {
		case kind == pageScreen && remote.Kind() == webrtc.RTPCodecTypeVideo:
			out = c.toParentVideo
		case kind == pageParent && remote.Kind() == webrtc.RTPCodecTypeAudio:
			out = c.toScreenAudio
		case kind == pageParent:
			out = c.toScreenVideo
		}
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			l.videoSSRC.Store(uint32(remote.SSRC()))
		}
		// The page's sender reports on recv are not read (one goroutine
		// less per track); the buffer is bounded (100 kB).
		_ = recv
		l.relay(remote, out)
	})
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		l.mu.Lock()
		if !l.offerSent {
			l.early = append(l.early, cand)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.sendCandidate(cand)
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		l.ice.Store(int32(s))
		if s == webrtc.ICEConnectionStateConnected || s == webrtc.ICEConnectionStateCompleted {
			l.mu.Lock()
			l.restarting = false
			l.mu.Unlock()
		}
		c.post(event{kind: evICE, leg: l, ice: s})
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.post(event{kind: evPC, leg: l, pcs: s})
	})
	if err := l.offer(false); err != nil {
		return fail("offer", err)
	}
	return l, nil
}

// offer sends the page an offer, then the candidates gathered meanwhile:
// a candidate must not reach the page before the offer it belongs to.
// restart asks for new ICE credentials on the same PeerConnection.
func (l *leg) offer(restart bool) error {
	var opts *webrtc.OfferOptions
	if restart {
		opts = &webrtc.OfferOptions{ICERestart: true}
	}
	l.mu.Lock()
	l.offerSent = false
	l.mu.Unlock()
	offer, err := l.pc.CreateOffer(opts)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := l.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set local description: %w", err)
	}
	l.c.sendTo(l.session(), Message{Type: TypeOffer, SDP: offer.SDP, Restart: restart})
	l.mu.Lock()
	l.offerSent = true
	early := l.early
	l.early = nil
	l.mu.Unlock()
	for _, cand := range early {
		l.sendCandidate(cand)
	}
	return nil
}

// maxICERestarts bounds the ICE restarts of one leg in one call: a path
// that fails again and again ends the call as peer_lost.
const maxICERestarts = 3

// restartICE offers the page new ICE credentials on the same
// PeerConnection (RFC 8445 section 9), so that a call survives a phone
// moving from Wi-Fi to mobile data or a NAT binding that expired: the page
// answers on its PeerConnection, both sides gather and check again, and
// media resumes on the new path while DTLS and SRTP go on. The page's
// candidates that arrive before its answer are held, as at the start.
// It reports false, and does nothing, when a restart is already out or
// the leg has had maxICERestarts.
func (l *leg) restartICE() (bool, error) {
	l.mu.Lock()
	if l.closed || l.restarting || l.restarts >= maxICERestarts {
		l.mu.Unlock()
		return false, nil
	}
	l.restarting = true
	l.restarts++
	l.remoteSet = false
	l.pending = nil
	l.mu.Unlock()
	if err := l.offer(true); err != nil {
		return false, err
	}
	return true, nil
}

// pendingRestart returns the restart offer the page has not answered yet,
// to send again.
func (l *leg) pendingRestart() (string, bool) {
	l.mu.Lock()
	pending := l.restarting && !l.remoteSet
	l.mu.Unlock()
	desc := l.pc.LocalDescription()
	if !pending || desc == nil {
		return "", false
	}
	return desc.SDP, true
}

// isRestarting reports whether an ICE restart is out and its path not yet
// up.
func (l *leg) isRestarting() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.restarting
}

// canRestart reports whether an ICE restart is out or may still be
// offered.
func (l *leg) canRestart() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.closed && (l.restarting || l.restarts < maxICERestarts)
}

func (l *leg) session() *session {
	l.c.b.mu.Lock()
	defer l.c.b.mu.Unlock()
	if l.kind == pageScreen {
		return l.c.screen
	}
	return l.c.parent
}

// spawn runs f on a goroutine that close waits for; nothing starts once
// the leg is closed.
func (l *leg) spawn(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

func (l *leg) sendCandidate(cand *webrtc.ICECandidate) {
	m := Message{Type: TypeCandidate}
	if cand == nil {
		m.End = true
	} else {
		init := cand.ToJSON()
		m.Candidate = &init
	}
	l.c.sendTo(l.session(), m)
}

// setAnswer applies the page's answer, then the candidates that came
// before it.
func (l *leg) setAnswer(sdp string) error {
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("set remote description: %w", err)
	}
	l.mu.Lock()
	l.remoteSet = true
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, cand := range pending {
		l.applyCandidate(cand)
	}
	return nil
}

// addCandidate applies a trickled candidate, or holds it until the answer.
func (l *leg) addCandidate(m Message) {
	if m.Candidate == nil {
		return // end of candidates: nothing to do for pion
	}
	l.mu.Lock()
	if !l.remoteSet {
		l.pending = append(l.pending, *m.Candidate)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.applyCandidate(*m.Candidate)
}

func (l *leg) applyCandidate(cand webrtc.ICECandidateInit) {
	if cand.Candidate == "" {
		return
	}
	if err := l.pc.AddICECandidate(cand); err != nil {
		l.c.b.log.Debug("add ice candidate", "leg", string(l.kind), "err", err)
	}
}

// newBuffer is the leg's webrtc.SettingEngine.BufferFactory: pion's SRTP
// and SRTCP sessions put each stream's decrypted packets in a
// relayBuffer, and the leg keeps the RTP ones to bind them in relay.
func (l *leg) newBuffer(t packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	b := newRelayBuffer()
	if t == packetio.RTPBufferPacket {
		l.mu.Lock()
		l.bufs[ssrc] = b
		l.mu.Unlock()
	}
	return b
}

// relay forwards the page's RTP on remote to out, a track of the other
// leg: first what pion has read or queued (the packet it peeked at to
// learn the codec, and what came meanwhile), then each packet as pion's
// SRTP session decrypts it, on that session's goroutine (relayBuffer).
// The receive statistics of the RTCP reports are kept on the way.
func (l *leg) relay(remote *webrtc.TrackRemote, out *forwardTrack) {
	ssrc := uint32(remote.SSRC())
	l.mu.Lock()
	rb := l.bufs[ssrc]
	l.mu.Unlock()
	var p rtp.Packet
	forward := func(pkt []byte) {
		l.received.Add(1)
		if !l.gotMedia.Load() {
			l.gotMedia.Store(true)
			l.c.post(event{kind: evMedia, leg: l})
		}
		if err := p.Unmarshal(pkt); err != nil {
			return
		}
		out.write(&p)
	}
	// What pion holds: read through its interceptors, which count it.
	_ = remote.SetReadDeadline(time.Now())
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			break
		}
		forward(buf[:n])
	}
	if rb == nil {
		// newBuffer makes every RTP stream's buffer: a stream without one
		// is pion's, not ours to bind.
		l.c.b.log.Error("video call: remote track without a relay buffer", "call", l.c.req.CallID, "leg", string(l.kind))
		return
	}
	stats := l.c.b.reports.remoteStream(l.pc.ID(), ssrc)
	rb.bind(func(pkt []byte) {
		if stats != nil && len(pkt) >= 12 {
			stats.received(binary.BigEndian.Uint16(pkt[2:4]), binary.BigEndian.Uint32(pkt[4:8]))
		}
		forward(pkt)
	})
}

// readRTCP reads the feedback this leg's page sends about the media it
// receives: PLI and FIR become a keyframe request to the other leg's page,
// REMB and generic NACKs (RFC 4585 section 6.2.1) are passed on to it
// with its media SSRC: sequence numbers pass through the bridge
// unchanged, so the sending page retransmits what the receiving page
// missed on either leg.
func (l *leg) readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				l.c.keyframe(l.c.other(l))
			case *rtcp.TransportLayerNack:
				if o := l.c.other(l); o != nil {
					if ssrc := o.videoSSRC.Load(); ssrc != 0 {
						_ = o.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: p.Nacks}})
					}
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if o := l.c.other(l); o != nil {
					if ssrc := o.videoSSRC.Load(); ssrc != 0 {
						_ = o.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: p.Bitrate, SSRCs: []uint32{ssrc}}})
					}
				}
			}
		}
	}
}

func (c *call) other(l *leg) *leg {
	if l.kind == pageScreen {
		return c.parentLeg.Load()
	}
	return c.screenLeg.Load()
}

// keyframe asks the page of l for a keyframe of its video (PLI, RFC 4585
// section 6.3.1), at most once per pliInterval.
func (c *call) keyframe(l *leg) {
	if l == nil {
		return
	}
	ssrc := l.videoSSRC.Load()
	if ssrc == 0 {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(pliInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	_ = l.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// iceDown reports whether the leg's ICE connection is disconnected,
// failed or closed.
func (l *leg) iceDown() bool {
	switch webrtc.ICEConnectionState(l.ice.Load()) {
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateClosed:
		return true
	}
	return false
}

// quality takes the leg's network figures from the RTCP the daemon and
// the page exchanged (reports.go): RTT from the page's report blocks
// about our sender reports, jitter the larger of both directions, packets
// lost summed over both directions and all streams. A nil leg has no
// figures.
func (l *leg) quality() kiosk.LegQuality {
	if l == nil {
		return kiosk.LegQuality{}
	}
	return l.c.b.reports.quality(l.pc.ID())
}

// close closes the PeerConnection and waits for the leg's goroutines.
func (l *leg) close() {
	if l == nil {
		return
	}
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		if err := l.pc.Close(); err != nil {
			l.c.b.log.Debug("close peer connection", "leg", string(l.kind), "err", err)
		}
		l.wg.Wait()
	})
}
