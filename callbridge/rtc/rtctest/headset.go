// Package rtctest has stand-ins for the browser pages of callbridge/rtc,
// for tests: Headset is a kiosk screen that takes headset legs (audio-only
// rtc.offer with Kind "audio"), built on a pion PeerConnection.
package rtctest

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/qinqing/station/callbridge/rtc"
)

// HeadsetOpts configure a Headset; the zero value answers with PCMU.
type HeadsetOpts struct {
	// PCMA answers with PCMA instead of PCMU (the browser's choice).
	PCMA bool
	// NoAnswer leaves offers unanswered (a page that never gets going).
	NoAnswer bool
	// LoseEvery, when > 0, skips every LoseEvery-th microphone packet:
	// its sequence number is used but nothing is sent, as if the network
	// lost it (see Lost).
	LoseEvery int
}

// Headset stands in for the kiosk screen page on its headset legs, as
// ui/assets/app.js behaves: it says rtc.hello, pings at the daemon's
// heartbeat, answers each audio offer with a G.711 microphone track
// sending 20 ms packets of 160 bytes, trickles candidates both ways and
// counts the RTP it receives. Like a browser it sends RTCP sender and
// receiver reports (every ReportInterval), so the daemon can measure the
// leg's RTT, jitter and loss. Messages go out through send; the test
// feeds the daemon's messages to Deliver. It is safe for concurrent use.
type Headset struct {
	opts HeadsetOpts
	send func(json.RawMessage)

	mu      sync.Mutex
	session string
	pc      *webrtc.PeerConnection
	call    string
	held    []webrtc.ICECandidateInit
	offers  []rtc.Message
	ends    []rtc.Message
	pinging bool
	closed  bool

	received atomic.Int64
	sent     atomic.Int64
	lost     atomic.Int64
	lastPT   atomic.Int32
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewHeadset returns a Headset that sends its messages with send (which
// must not block for long).
func NewHeadset(opts HeadsetOpts, send func(json.RawMessage)) *Headset {
	h := &Headset{opts: opts, send: send, stop: make(chan struct{})}
	h.lastPT.Store(-1)
	return h
}

var api = sync.OnceValue(func() *webrtc.API { return newAPI(false) })
var apiPCMA = sync.OnceValue(func() *webrtc.API { return newAPI(true) })

func newAPI(pcma bool) *webrtc.API {
	me := &webrtc.MediaEngine{}
	c := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0}
	if pcma {
		c = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8}
	}
	if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
		panic(err) // a static codec always registers
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICETimeouts(time.Second, 2*time.Second, 200*time.Millisecond)
	reg := &interceptor.Registry{}
	rr, err := report.NewReceiverInterceptor(report.ReceiverInterval(ReportInterval))
	if err != nil {
		panic(err) // only options can fail, and these are valid
	}
	sr, err := report.NewSenderInterceptor(report.SenderInterval(ReportInterval))
	if err != nil {
		panic(err)
	}
	reg.Add(rr)
	reg.Add(sr)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg))
}

// ReportInterval is the period of a Headset's RTCP reports: shorter than
// a browser's (about 1 to 5 s for audio), so that a short test call
// measures its RTT.
const ReportInterval = 200 * time.Millisecond

func (h *Headset) out(m rtc.Message) {
	m.V = rtc.Version
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err) // Message always marshals
	}
	h.send(raw)
}

// Hello sends rtc.hello (resuming the session if there is one).
func (h *Headset) Hello() {
	h.mu.Lock()
	s := h.session
	h.mu.Unlock()
	h.out(rtc.Message{Type: rtc.TypeHello, Session: s})
}

// Session returns the session id the daemon gave, "" before rtc.session.
func (h *Headset) Session() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.session
}

// Deliver handles one message from the daemon; messages that are not
// rtc signaling are ignored.
func (h *Headset) Deliver(raw json.RawMessage) {
	var m rtc.Message
	if err := json.Unmarshal(raw, &m); err != nil || !rtc.IsSignal(m.Type) {
		return
	}
	switch m.Type {
	case rtc.TypeSession:
		h.mu.Lock()
		h.session = m.Session
		start := !h.pinging && !h.closed && m.HeartbeatMS > 0
		h.pinging = h.pinging || start
		h.mu.Unlock()
		if start {
			h.wg.Go(func() { h.ping(time.Duration(m.HeartbeatMS) * time.Millisecond) })
		}
	case rtc.TypeOffer:
		h.mu.Lock()
		h.offers = append(h.offers, m)
		ok := !h.closed && !h.opts.NoAnswer && m.Kind == rtc.KindAudio
		if ok {
			h.wg.Go(func() { h.answer(m) })
		}
		h.mu.Unlock()
	case rtc.TypeCandidate:
		h.mu.Lock()
		pc, call := h.pc, h.call
		if m.Candidate == nil || m.Call != call {
			h.mu.Unlock()
			return
		}
		if pc == nil || pc.RemoteDescription() == nil {
			h.held = append(h.held, *m.Candidate)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		_ = pc.AddICECandidate(*m.Candidate)
	case rtc.TypeEnd:
		h.mu.Lock()
		h.ends = append(h.ends, m)
		h.mu.Unlock()
	}
}

func (h *Headset) ping(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.out(rtc.Message{Type: rtc.TypePing})
		}
	}
}

func (h *Headset) answer(offer rtc.Message) {
	a := api()
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	if h.opts.PCMA {
		a = apiPCMA()
		codec.MimeType = webrtc.MimeTypePCMA
	}
	pc, err := a.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return
	}
	mic, err := webrtc.NewTrackLocalStaticRTP(codec, "mic", "kiosk-screen")
	if err != nil {
		_ = pc.Close()
		return
	}
	if _, err := pc.AddTrack(mic); err != nil {
		_ = pc.Close()
		return
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		// The daemon's sender reports reach the report interceptor (for
		// the LSR and DLSR of our receiver reports) only when read; the
		// reads end when the PeerConnection closes.
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := recv.Read(buf); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 1500)
		var p rtp.Packet
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			if p.Unmarshal(buf[:n]) == nil {
				h.lastPT.Store(int32(p.PayloadType))
			}
			h.received.Add(1)
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			h.out(rtc.Message{Type: rtc.TypeCandidate, Call: offer.Call, End: true})
			return
		}
		init := c.ToJSON()
		h.out(rtc.Message{Type: rtc.TypeCandidate, Call: offer.Call, Candidate: &init})
	})
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = pc.Close()
		return
	}
	old := h.pc
	h.pc, h.call = pc, offer.Call
	h.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		h.out(rtc.Message{Type: rtc.TypeHangup, Call: offer.Call})
		return
	}
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, c := range held {
		_ = pc.AddICECandidate(c)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return
	}
	h.out(rtc.Message{Type: rtc.TypeAnswer, Call: offer.Call, SDP: ans.SDP})
	h.talk(pc, mic)
}

// talk sends a 160-byte G.711 packet every 20 ms until the headset closes
// or the PeerConnection does.
func (h *Headset) talk(pc *webrtc.PeerConnection, mic *webrtc.TrackLocalStaticRTP) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2}, Payload: make([]byte, 160)}
	for i := range pkt.Payload {
		pkt.Payload[i] = 0xD5 // G.711 near-silence, any law
	}
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		switch pc.ConnectionState() {
		case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed:
			return
		case webrtc.PeerConnectionStateConnected:
			pkt.SequenceNumber++
			pkt.Timestamp += 160
			if n := h.opts.LoseEvery; n > 0 && pkt.SequenceNumber%uint16(n) == 0 {
				h.lost.Add(1)
				continue
			}
			if mic.WriteRTP(pkt) == nil {
				h.sent.Add(1)
			}
		}
	}
}

// Received returns the RTP packets received from the daemon.
func (h *Headset) Received() int { return int(h.received.Load()) }

// Sent returns the RTP packets sent to the daemon.
func (h *Headset) Sent() int { return int(h.sent.Load()) }

// Lost returns the microphone packets skipped by HeadsetOpts.LoseEvery.
func (h *Headset) Lost() int { return int(h.lost.Load()) }

// LastPayloadType is the payload type of the last packet received, -1
// before any.
func (h *Headset) LastPayloadType() int { return int(h.lastPT.Load()) }

// Offers returns the offers received so far.
func (h *Headset) Offers() []rtc.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]rtc.Message(nil), h.offers...)
}

// Ends returns the rtc.end messages received so far.
func (h *Headset) Ends() []rtc.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]rtc.Message(nil), h.ends...)
}

// PCState returns the state of the current PeerConnection ("new" with
// none).
func (h *Headset) PCState() webrtc.PeerConnectionState {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pc == nil {
		return webrtc.PeerConnectionStateNew
	}
	return h.pc.ConnectionState()
}

// HangUp sends rtc.hangup for the latest offer's call, as the page does
// when it cannot get the microphone.
func (h *Headset) HangUp() {
	h.mu.Lock()
	call := h.call
	if n := len(h.offers); n > 0 {
		call = h.offers[n-1].Call
	}
	h.mu.Unlock()
	h.out(rtc.Message{Type: rtc.TypeHangup, Call: call})
}

// ClosePC closes the current PeerConnection without a word, as a crashed
// tab does (the caller drops the signaling channel itself).
func (h *Headset) ClosePC() {
	h.mu.Lock()
	pc := h.pc
	h.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

// Close stops the headset's goroutines and closes its PeerConnection.
func (h *Headset) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	pc := h.pc
	h.mu.Unlock()
	close(h.stop)
	if pc != nil {
		_ = pc.Close()
	}
	h.wg.Wait()
	h.mu.Lock()
	pc = h.pc
	h.mu.Unlock()
	if pc != nil {
		_ = pc.Close() // answered while closing
	}
}
