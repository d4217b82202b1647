package rtc

import (
	"context"
	"encoding/json"
	"net"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// fakeLinks is a kiosk.Links with fixed tokens.
type fakeLinks struct {
	mu    sync.Mutex
	links map[string]struct {
		contact kiosk.Contact
		child   kiosk.Child
		gone    bool
	}
	avail map[kiosk.ContactID]time.Time
}

func newFakeLinks() *fakeLinks {
	return &fakeLinks{links: map[string]struct {
		contact kiosk.Contact
		child   kiosk.Child
		gone    bool
	}{}, avail: map[kiosk.ContactID]time.Time{}}
}

func (f *fakeLinks) add(token string, contact kiosk.ContactID, child string, gone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[token] = struct {
		contact kiosk.Contact
		child   kiosk.Child
		gone    bool
	}{kiosk.Contact{ID: contact, Relation: "母亲"}, kiosk.Child{ID: 1, Name: child}, gone}
}

func (f *fakeLinks) CreateLink(context.Context, kiosk.ContactID, time.Time) (string, kiosk.ParentLink, error) {
	return "", kiosk.ParentLink{}, kiosk.Errorf(kiosk.EINTERNAL, "not in the fake")
}

func (f *fakeLinks) ResolveLink(_ context.Context, token string) (kiosk.ParentLink, kiosk.Contact, kiosk.Child, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.links[token]
	if !ok {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "unknown link")
	}
	if l.gone {
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.EGONE, "link revoked")
	}
	return kiosk.ParentLink{ID: 1, Contact: l.contact.ID}, l.contact, l.child, nil
}

func (f *fakeLinks) RevokeLink(context.Context, int64) error { return nil }
func (f *fakeLinks) Links(context.Context, kiosk.ContactID) ([]kiosk.ParentLink, error) {
	return nil, nil
}

func (f *fakeLinks) SetAvailableUntil(_ context.Context, c kiosk.ContactID, t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.avail[c] = t
	return nil
}

// events records a call's events.
type events struct{ ch chan kiosk.CallEvent }

func newEvents() *events { return &events{ch: make(chan kiosk.CallEvent, 64)} }

func (e *events) CallEvent(ev kiosk.CallEvent) { e.ch <- ev }

func (e *events) wait(t testing.TB, kind kiosk.CallEventKind, within time.Duration) kiosk.CallEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
			if ev.Kind == kiosk.EventEnded {
				t.Fatalf("want %s, call ended first: %+v", kind, ev)
			}
		case <-deadline:
			t.Fatalf("no %s event within %s", kind, within)
		}
	}
}

// page stands in for a browser: a pion PeerConnection that answers the
// daemon's offers, trickles candidates and sends fake Opus and VP8 RTP.
type page struct {
	t       testing.TB
	name    string
	recv    func(json.RawMessage)
	detach  func()
	msgs    chan Message
	session string
	// hold, when set, sends the page's candidates before its answer.
	candidatesFirst bool
	// noAnswer leaves offers unanswered (a page that never gets going).
	noAnswer bool
	videoPPS int // video packets per second (default 30)
	videoLen int // video payload bytes (default 1000)
	// autoAccept answers a ring at once.
	autoAccept bool
	// pingEvery is the period of rtc.ping (default 50 ms).
	pingEvery time.Duration
	// reports makes the page send RTCP sender and receiver reports every
	// 100 ms (pion's report interceptors), as a browser does every
	// second, so that the daemon can measure the RTT.
	reports bool
	// net, when set, carries the page's media (ICE over one UDP socket
	// that the test can take down, as a phone leaving Wi-Fi).
	net *dropConn

	mu         sync.Mutex
	restarting bool // an ICE restart offer is being applied: hold candidates
	pc         *webrtc.PeerConnection
	call       string
	held       []webrtc.ICECandidateInit
	stopped    bool
	tabClosed  bool
	opMu       sync.Mutex // serialises answer and closeTab
	gotRTP     atomic.Uint64
	stop       chan struct{}
	wg         sync.WaitGroup
	pings      bool
}

// pageICEKeepalive is the fake browsers' ICE keepalive period; the
// benchmark's helper process sets Chromium's (about 2.5 s) before the
// first page.
var pageICEKeepalive = 200 * time.Millisecond

var pageAPI = sync.OnceValue(func() *webrtc.API {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(time.Second, 2*time.Second, pageICEKeepalive)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
})

// pageReportsAPI is pageAPI with RTCP reports.
var pageReportsAPI = sync.OnceValue(func() *webrtc.API {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	reg := &interceptor.Registry{}
	rr, err := report.NewReceiverInterceptor(report.ReceiverInterval(100 * time.Millisecond))
	if err != nil {
		panic(err)
	}
	sr, err := report.NewSenderInterceptor(report.SenderInterval(100 * time.Millisecond))
	if err != nil {
		panic(err)
	}
	reg.Add(rr)
	reg.Add(sr)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg))
})

func newPage(t testing.TB, name string) *page {
	return &page{t: t, name: name, msgs: make(chan Message, 256), stop: make(chan struct{}), videoPPS: 30, videoLen: 1000}
}

// attachScreen connects p as booth's kiosk screen and says hello.
func (p *page) attachScreen(b *Bridge, booth string) *page {
	r, d := b.Screen(booth, p.deliver)
	p.mu.Lock()
	p.recv, p.detach = r, d
	p.mu.Unlock()
	p.hello(b)
	return p
}

func (p *page) attachParent(b *Bridge, token string) *page {
	r, d, err := b.Parent(context.Background(), token, p.deliver)
	require.NoError(p.t, err, "attach parent page")
	p.mu.Lock()
	p.recv, p.detach = r, d
	p.mu.Unlock()
	p.hello(b)
	return p
}

func (p *page) hello(b *Bridge) {
	p.send(Message{Type: TypeHello, Session: p.session})
	m := p.next(TypeSession, 2*time.Second)
	p.session = m.Session
	if !p.pings {
		p.pings = true
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			every := p.pingEvery
			if every == 0 {
				every = 50 * time.Millisecond
			}
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.mu.Lock()
					r := p.recv
					p.mu.Unlock()
					if r != nil {
						p.send(Message{Type: TypePing})
					}
				}
			}
		}()
	}
}

// deliver is the page's side of the channel: it handles offers and
// candidates itself and queues everything for the test.
func (p *page) deliver(raw json.RawMessage) {
	// Goroutines the page starts count as the browser's, not the
	// daemon's (see BenchmarkCall).
	pprof.Do(context.Background(), pageLabels, func(context.Context) { p.handle(raw) })
}

var (
	pageLabels   = pprof.Labels("side", "page")
	daemonLabels = pprof.Labels("side", "daemon")
)

func (p *page) handle(raw json.RawMessage) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		p.t.Errorf("%s: bad message %s", p.name, raw)
		return
	}
	switch m.Type {
	case TypeOffer:
		p.mu.Lock()
		if !p.stopped {
			answer := p.answer
			if m.Restart && p.pc != nil && p.call == m.Call {
				p.restarting, answer = true, p.reanswer
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				answer(m)
			}()
		}
		p.mu.Unlock()
	case TypeCandidate:
		p.mu.Lock()
		pc := p.pc
		if m.Candidate != nil && (pc == nil || pc.RemoteDescription() == nil || p.restarting) {
			p.held = append(p.held, *m.Candidate)
			p.mu.Unlock()
			break
		}
		p.mu.Unlock()
		if m.Candidate != nil {
			_ = pc.AddICECandidate(*m.Candidate)
		}
	case TypePong:
		return
	case TypeRing:
		if p.autoAccept {
			go p.send(Message{Type: TypeAccept, Call: m.Call})
		}
	}
	select {
	case p.msgs <- m:
	default:
	}
}

func (p *page) send(m Message) {
	m.V = Version
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	r := p.recv
	p.mu.Unlock()
	if r != nil {
		pprof.Do(context.Background(), daemonLabels, func(context.Context) { r(raw) })
	}
}

// next returns the next message of type typ, skipping others.
func (p *page) next(typ string, within time.Duration) Message {
	p.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == typ {
				return m
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s within %s", p.name, typ, within)
			return Message{}
		}
	}
}

func (p *page) answer(offer Message) {
	if p.noAnswer {
		return
	}
	// pion leaks an ICE agent when Close runs while SetLocalDescription
	// starts gathering on another goroutine; the daemon does both on one
	// goroutine per call, and the fake browser serialises them here.
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	stopped := p.stopped || p.tabClosed
	p.mu.Unlock()
	if stopped {
		return
	}
	api := pageAPI()
	if p.reports {
		api = pageReportsAPI()
	}
	if p.net != nil {
		api = p.net.api()
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = err // the page was closed meanwhile
		return
	}
	audio, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", p.name)
	video, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", p.name)
	for _, tr := range []webrtc.TrackLocal{audio, video} {
		sender, err := pc.AddTrack(tr)
		if err != nil {
			p.t.Errorf("%s: add track: %v", p.name, err)
			continue
		}
		if p.reports {
			go readRTCPUntilClosed(sender)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		if p.reports {
			go readRTCPUntilClosed(recv)
		}
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			p.gotRTP.Add(1)
		}
	})
	var cands []webrtc.ICECandidateInit
	var cmu sync.Mutex
	answered := !p.candidatesFirst
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		cmu.Lock()
		defer cmu.Unlock()
		if !answered {
			cands = append(cands, init)
			return
		}
		p.send(Message{Type: TypeCandidate, Call: offer.Call, Candidate: &init})
	})
	p.mu.Lock()
	old := p.pc
	p.pc, p.call = pc, offer.Call
	p.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		_ = err // the page was closed meanwhile
		return
	}
	p.mu.Lock()
	held := p.held
	p.held = nil
	p.mu.Unlock()
	for _, c := range held {
		_ = pc.AddICECandidate(c)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		_ = err // the page was closed meanwhile
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		_ = err // the page was closed meanwhile
		return
	}
	if p.candidatesFirst {
		// Send every candidate before the answer: the daemon must hold
		// them until the answer arrives.
		<-gathered
		cmu.Lock()
		for i := range cands {
			p.send(Message{Type: TypeCandidate, Call: offer.Call, Candidate: &cands[i]})
		}
		answered = true
		cmu.Unlock()
	}
	p.send(Message{Type: TypeAnswer, Call: offer.Call, SDP: ans.SDP})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.sendMedia(pc, audio, video)
	}()
}

// reanswer answers an ICE restart offer on the page's PeerConnection, as
// a browser does when it gets a new offer with new ICE credentials.
func (p *page) reanswer(offer Message) {
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	pc := p.pc
	p.mu.Unlock()
	err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP})
	p.mu.Lock()
	p.restarting = false
	held := p.held
	p.held = nil
	p.mu.Unlock()
	if err != nil {
		p.t.Logf("%s: restart offer: %v", p.name, err)
		return
	}
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
	p.send(Message{Type: TypeAnswer, Call: offer.Call, SDP: ans.SDP})
}

// dropConn is a page's one UDP socket for ICE (through an ICE UDP mux),
// which the test can take down: while down, nothing is sent or received,
// as when a phone leaves a Wi-Fi network.
type dropConn struct {
	net.PacketConn
	down atomic.Bool
	mux  *ice.UDPMuxDefault
}

func newDropConn(t testing.TB) *dropConn {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	d := &dropConn{PacketConn: c}
	d.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: d})
	t.Cleanup(func() { _ = d.mux.Close() })
	return d
}

func (d *dropConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := d.PacketConn.ReadFrom(b)
		if err != nil || !d.down.Load() {
			return n, addr, err
		}
	}
}

func (d *dropConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if d.down.Load() {
		return len(b), nil
	}
	return d.PacketConn.WriteTo(b, addr)
}

// api is pageAPI with ICE on d.
func (d *dropConn) api() *webrtc.API {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(time.Second, 2*time.Second, pageICEKeepalive)
	se.SetICEUDPMux(d.mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
}

// readRTCPUntilClosed pulls RTCP through the page's interceptors (which
// read the daemon's sender reports) until the PeerConnection closes.
func readRTCPUntilClosed(r interface {
	Read([]byte) (int, interceptor.Attributes, error)
}) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// sendMedia writes 50 Opus packets a second and videoPPS VP8 packets of
// videoLen bytes until the page stops or its PC closes.
func (p *page) sendMedia(pc *webrtc.PeerConnection, audio, video *webrtc.TrackLocalStaticRTP) {
	at := time.NewTicker(20 * time.Millisecond)
	defer at.Stop()
	vt := time.NewTicker(time.Second / time.Duration(p.videoPPS))
	defer vt.Stop()
	apkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: make([]byte, 80)}
	vpkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}, Payload: make([]byte, p.videoLen)}
	vpkt.Payload[0] = 0x10 // VP8 descriptor: start of partition
	for {
		select {
		case <-p.stop:
			return
		case <-at.C:
			if pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
			apkt.SequenceNumber++
			apkt.Timestamp += 960
			_ = audio.WriteRTP(apkt)
		case <-vt.C:
			vpkt.SequenceNumber++
			vpkt.Timestamp += 3000
			vpkt.Marker = true
			_ = video.WriteRTP(vpkt)
		}
	}
}

// drop closes the page's signaling channel without a word, as a network
// drop does; the PeerConnection keeps running.
func (p *page) drop() {
	p.mu.Lock()
	d := p.detach
	p.recv, p.detach = nil, nil
	p.mu.Unlock()
	if d != nil {
		d()
	}
}

// closeTab drops the channel and closes the PeerConnection.
func (p *page) closeTab() {
	p.drop()
	p.opMu.Lock()
	defer p.opMu.Unlock()
	p.mu.Lock()
	pc := p.pc
	p.tabClosed = true
	p.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

// shutdown ends the page's goroutines; call it at the end of a test.
func (p *page) shutdown() {
	p.mu.Lock()
	already := p.stopped
	p.stopped = true
	p.mu.Unlock()
	if already {
		return
	}
	close(p.stop)
	p.closeTab()
	p.wg.Wait()
	p.closeTab() // an offer answered while stopping
}
