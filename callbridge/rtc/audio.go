package rtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/qinqing/station/kiosk"
)

var _ kiosk.ScreenAudio = (*Bridge)(nil)

// KindAudio is the Kind of an rtc.offer for a headset leg: the page
// answers with its microphone only and plays what it receives.
const KindAudio = "audio"

// G.711 static payload types (RFC 3551 section 6).
const (
	ptPCMU = 0
	ptPCMA = 8
)

// audioCodecs are the only codecs of a headset leg: G.711, so that its
// audio goes to a SIP trunk untouched (Opus would need transcoding).
func audioCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: ptPCMU},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: ptPCMA},
	}
}

// audioLeg is a headset leg: an audio-only PeerConnection with a kiosk
// screen, bridged to a UDP socket on loopback. It implements
// kiosk.MediaLeg, and Quality.
type audioLeg struct {
	b      *Bridge
	callID string
	sess   *session // guarded by b.mu
	pc     *webrtc.PeerConnection
	out    *forwardTrack // toward the browser
	conn   *net.UDPConn
	local  netip.AddrPort

	mu        sync.Mutex
	remote    netip.AddrPort
	closing   bool
	offerSent bool
	early     []*webrtc.ICECandidate
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	wg        sync.WaitGroup   // media goroutines
	quality   kiosk.LegQuality // taken when the leg closes

	ice atomic.Int32 // webrtc.ICEConnectionState

	connected     chan struct{} // closed when the PeerConnection is connected
	connectedOnce sync.Once
	lost          chan kiosk.EndCause // the leg ended by itself (buffer 1)
	stop          chan struct{}       // closed when close starts
	done          chan struct{}       // closed when close has finished
	closeOnce     sync.Once
}

// OpenAudio implements kiosk.ScreenAudio: it offers an audio-only
// PeerConnection (PCMU and PCMA only) to booth's kiosk screen with an
// rtc.offer whose Kind is "audio", and returns the leg once the
// PeerConnection is connected (ICE and DTLS), so audio can flow. The leg
// receives RTP on a UDP socket on 127.0.0.1 and sends the child's audio
// from it. Errors: an ENOTFOUND *kiosk.Error when no screen is attached
// at booth (or it is in a video call), ECONFLICT for a callID that
// already has a leg, ErrClosed after Close, ctx's error when the screen
// has not connected by its deadline, or the page's refusal (rtc.hangup)
// as ECONFLICT.
func (b *Bridge) OpenAudio(ctx context.Context, booth, callID string) (kiosk.MediaLeg, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("open audio: listen rtp: %w", err)
	}
	l := &audioLeg{
		b: b, callID: callID, conn: conn,
		local:     conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		out:       newForwardTrack(webrtc.RTPCodecTypeAudio, "kiosk", &b.relayed),
		connected: make(chan struct{}), lost: make(chan kiosk.EndCause, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	l.local = netip.AddrPortFrom(l.local.Addr().Unmap(), l.local.Port())
	b.mu.Lock()
	var screen *session
	for _, s := range b.sessions {
		if s.kind == pageScreen && s.booth == booth && s.conn != nil && s.call == nil && s.audio == nil {
			if screen == nil || s.lastSeen.After(screen.lastSeen) {
				screen = s
			}
		}
	}
	switch {
	case b.closed:
		err = ErrClosed
	case screen == nil:
		err = kiosk.Errorf(kiosk.ENOTFOUND, "no kiosk screen connected at booth %s", booth)
	case b.audio[callID] != nil:
		err = kiosk.Errorf(kiosk.ECONFLICT, "call %s already has a headset leg", callID)
	}
	if err != nil {
		b.mu.Unlock()
		conn.Close()
		return nil, fmt.Errorf("open audio: %w", err)
	}
	l.sess = screen
	screen.audio = l
	b.audio[callID] = l
	b.audioWG.Add(1)
	b.mu.Unlock()
	go l.watch()

	if err := l.start(); err != nil {
		l.close("")
		return nil, fmt.Errorf("open audio: %w", err)
	}
	select {
	case <-l.connected:
		b.log.Info("headset leg connected", "call", callID, "booth", booth, "pt", l.PayloadType())
		return l, nil
	case cause := <-l.lost:
		l.close("")
		return nil, fmt.Errorf("open audio: %w", kiosk.Errorf(kiosk.ECONFLICT, "the kiosk screen ended the headset leg (%s)", cause))
	case <-l.done:
		return nil, fmt.Errorf("open audio: %w", kiosk.Errorf(kiosk.ECONFLICT, "the headset leg was closed"))
	case <-ctx.Done():
		l.close(kiosk.CauseFailed)
		return nil, fmt.Errorf("open audio: screen did not connect: %w", ctx.Err())
	}
}

// start creates the PeerConnection and sends the offer.
func (l *audioLeg) start() error {
	pc, err := l.b.audioAPI.NewPeerConnection(l.b.pcConfig())
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	l.mu.Lock()
	l.pc = pc
	l.mu.Unlock()
	tr, err := pc.AddTransceiverFromTrack(l.out, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return fmt.Errorf("add transceiver: %w", err)
	}
	// The page's receiver reports about the audio we send reach the
	// reports interceptor only when read: they give the leg's RTT.
	l.spawn(func() { drainRTCP(tr.Sender()) })
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if remote.Kind() == webrtc.RTPCodecTypeAudio {
			l.spawn(func() { l.fromBrowser(remote) })
		}
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
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			l.connectedOnce.Do(func() { close(l.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			l.trip(kiosk.CausePeerLost)
		}
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		l.ice.Store(int32(s))
		if s != webrtc.ICEConnectionStateDisconnected {
			return
		}
		// Disconnected and the page's channel gone too: the tab closed.
		l.b.mu.Lock()
		gone := l.sess == nil || l.sess.conn == nil
		l.b.mu.Unlock()
		if gone {
			l.trip(kiosk.CausePeerLost)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set local description: %w", err)
	}
	l.send(Message{Type: TypeOffer, SDP: offer.SDP, Kind: KindAudio})
	l.mu.Lock()
	l.offerSent = true
	early := l.early
	l.early = nil
	l.mu.Unlock()
	for _, cand := range early {
		l.sendCandidate(cand)
	}
	l.spawn(l.toBrowser)
	return nil
}

// send sends m, for this leg's call, to the screen page if attached.
func (l *audioLeg) send(m Message) {
	m.Call = l.callID
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	l.sess.sendMsg(m)
}

func (l *audioLeg) sendCandidate(cand *webrtc.ICECandidate) {
	m := Message{Type: TypeCandidate}
	if cand == nil {
		m.End = true
	} else {
		init := cand.ToJSON()
		m.Candidate = &init
	}
	l.send(m)
}

// spawn runs f on a goroutine that close waits for; nothing starts once
// the leg is closing.
func (l *audioLeg) spawn(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return
	}
	l.wg.Go(f)
}

// trip reports that the leg ended by itself; watch closes it.
func (l *audioLeg) trip(cause kiosk.EndCause) {
	select {
	case l.lost <- cause:
	default:
	}
}

// watch closes the leg when it trips (pion's callbacks must not close
// their own PeerConnection), until close starts.
func (l *audioLeg) watch() {
	defer l.b.audioWG.Done()
	select {
	case cause := <-l.lost:
		select {
		case <-l.connected:
		default:
			// OpenAudio is still waiting: give it the news.
			l.trip(cause)
			select {
			case <-l.stop:
				return
			case <-l.connected:
			}
		}
		l.close(cause)
	case <-l.stop:
	}
}

// fromPage handles the screen page's message for this leg.
func (l *audioLeg) fromPage(s *session, m Message) {
	l.b.mu.Lock()
	mine := l.sess == s
	l.b.mu.Unlock()
	if !mine {
		return
	}
	switch m.Type {
	case TypeAnswer:
		l.mu.Lock()
		pc := l.pc
		l.mu.Unlock()
		if pc == nil {
			return
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			l.b.log.Warn("headset leg: bad answer", "call", l.callID, "err", err)
			l.trip(kiosk.CauseFailed)
			return
		}
		l.mu.Lock()
		l.remoteSet = true
		pending := l.pending
		l.pending = nil
		l.mu.Unlock()
		for _, c := range pending {
			l.applyCandidate(pc, c)
		}
	case TypeCandidate:
		if m.Candidate == nil {
			return
		}
		l.mu.Lock()
		pc := l.pc
		if !l.remoteSet {
			l.pending = append(l.pending, *m.Candidate)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.applyCandidate(pc, *m.Candidate)
	case TypeHangup:
		l.trip(kiosk.CauseCallerHangup)
	}
}

func (l *audioLeg) applyCandidate(pc *webrtc.PeerConnection, c webrtc.ICECandidateInit) {
	if c.Candidate == "" {
		return
	}
	if err := pc.AddICECandidate(c); err != nil {
		l.b.log.Debug("headset leg: add ice candidate", "err", err)
	}
}

// fromBrowser sends the child's audio to the remote RTP address: G.711
// packets only, header extensions stripped, payload untouched.
func (l *audioLeg) fromBrowser(remote *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	out := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		if p.PayloadType != ptPCMU && p.PayloadType != ptPCMA {
			continue
		}
		p.Extension, p.Extensions, p.ExtensionProfile = false, p.Extensions[:0], 0
		m, err := p.MarshalTo(out)
		if err != nil {
			continue
		}
		l.mu.Lock()
		to := l.remote
		l.mu.Unlock()
		if !to.IsValid() {
			continue
		}
		if _, err := l.conn.WriteToUDPAddrPort(out[:m], to); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// toBrowser plays the RTP arriving on the leg's socket to the child: the
// negotiated G.711 payload type only (not telephone-event).
func (l *audioLeg) toBrowser() {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		if pt, ok := l.out.boundPT(); !ok || p.PayloadType != pt {
			continue
		}
		l.out.write(&p)
	}
}

// drainRTCP reads the RTCP a page sends about what the daemon sends,
// so that it passes through the reports interceptor, until the
// PeerConnection closes.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// Quality returns the headset leg's network figures from the RTCP the
// daemon and the page exchanged (RFC 3550 section 6.4, as for a video
// leg, see reports.go): RTT from the page's receiver reports about our
// audio, jitter the larger of both directions, packets lost summed over
// both directions. Zero fields are not known (yet): the RTT needs one of
// our sender reports and the page's report about it (Chromium reports
// audio every few seconds). After the leg has ended, the figures at its
// end. callbridge/sip puts them in the call record as the screen leg's
// quality.
func (l *audioLeg) Quality() kiosk.LegQuality {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing || l.pc == nil {
		return l.quality
	}
	return l.b.reports.quality(l.pc.ID())
}

// iceDown reports whether the leg's ICE connection is disconnected,
// failed or closed.
func (l *audioLeg) iceDown() bool {
	switch webrtc.ICEConnectionState(l.ice.Load()) {
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed, webrtc.ICEConnectionStateClosed:
		return true
	}
	return false
}

// RTPAddr implements kiosk.MediaLeg: the leg's UDP socket on 127.0.0.1.
func (l *audioLeg) RTPAddr() netip.AddrPort { return l.local }

// SetRemote implements kiosk.MediaLeg.
func (l *audioLeg) SetRemote(a netip.AddrPort) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remote = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// PayloadType implements kiosk.MediaLeg: 0 (PCMU) or 8 (PCMA), as the
// browser answered; 0 before the answer.
func (l *audioLeg) PayloadType() uint8 {
	pt, _ := l.out.boundPT()
	return pt
}

// Done implements kiosk.MediaLeg.
func (l *audioLeg) Done() <-chan struct{} { return l.done }

// Close implements kiosk.MediaLeg: the page is told (rtc.end) and the
// PeerConnection and socket are closed. It always returns nil.
func (l *audioLeg) Close() error {
	l.close("")
	return nil
}

// close tears the leg down once; cause goes to the page with rtc.end.
func (l *audioLeg) close(cause kiosk.EndCause) {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		pc := l.pc
		if pc != nil {
			// Before pc.Close, which drops the interceptor's figures.
			l.quality = l.b.reports.quality(pc.ID())
		}
		l.closing = true
		l.mu.Unlock()
		close(l.stop)
		l.send(Message{Type: TypeEnd, Cause: string(cause)})
		b := l.b
		b.mu.Lock()
		if b.audio[l.callID] == l {
			delete(b.audio, l.callID)
		}
		if l.sess != nil && l.sess.audio == l {
			l.sess.audio = nil
		}
		b.mu.Unlock()
		if pc != nil {
			if err := pc.Close(); err != nil {
				b.log.Debug("headset leg: close peer connection", "err", err)
			}
		}
		_ = l.conn.Close()
		l.wg.Wait()
		close(l.done)
		if cause != "" {
			b.log.Info("headset leg ended", "call", l.callID, "cause", string(cause))
		}
	})
}
