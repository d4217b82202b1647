package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/webrtc/v4"

	"github.com/qinqing/station/kiosk"
)

var (
	_ kiosk.Dialer   = (*Bridge)(nil)
	_ kiosk.Presence = (*Bridge)(nil)
)

// ErrClosed is returned by Dial after Close.
var ErrClosed = errors.New("rtc: bridge closed")

// Bridge places video calls between kiosk screens and parent pages. Create
// it with New; it is safe for concurrent use. Close ends every call.
type Bridge struct {
	cfg        Config
	links      kiosk.Links
	log        *slog.Logger
	now        func() time.Time
	onPresence func(kiosk.ContactID)
	newID      func() string

	se       webrtc.SettingEngine
	registry *interceptor.Registry
	reports  *reports
	udpMux   *ice.MultiUDPMuxDefault     // nil without Config.UDPPort
	audioAPI *webrtc.API                 // headset legs: PCMU and PCMA only
	codecs   []webrtc.RTPCodecParameters // offered on the screen leg
	relayed  relayed

	stop     chan struct{}
	reaperWG sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	calls    map[string]*call
	avail    map[kiosk.ContactID]time.Time
	callWG   sync.WaitGroup
	audio    map[string]*audioLeg // headset legs by call id
	audioWG  sync.WaitGroup       // their watch goroutines
}

type pageKind string

const (
	pageScreen pageKind = "screen"
	pageParent pageKind = "parent"
)

// conn is one attached signaling channel (a websocket in ui). Guarded by
// Bridge.mu.
type conn struct {
	token   string // parent pages: the link's token, re-checked while open
	kind    pageKind
	booth   string
	contact kiosk.ContactID
	child   string
	send    func(json.RawMessage)
	sess    *session
	closed  bool
}

// session is a page across websocket reconnects. Guarded by Bridge.mu.
type session struct {
	token    string // parent pages: the link's token
	id       string
	kind     pageKind
	booth    string
	contact  kiosk.ContactID
	child    string
	conn     *conn     // nil while detached
	lastSeen time.Time // last message, or detach time
	call     *call
	audio    *audioLeg // a headset leg on this screen, or nil
}

func (s *session) sendMsg(m Message) {
	if s != nil && s.conn != nil && !s.conn.closed {
		s.conn.send(encode(m))
	}
}

// New returns a Bridge. links stores the parents' "available until" and
// resolves tokens. It returns an error if the WebRTC stack cannot be set
// up.
func New(cfg Config, links kiosk.Links, opts Opts) (*Bridge, error) {
	if links == nil {
		return nil, errors.New("rtc: new bridge: links are required")
	}
	cfg.defaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = randomID
	}
	b := &Bridge{
		cfg: cfg, links: links, log: opts.Logger.With("component", "rtc"), now: opts.Now,
		onPresence: opts.OnPresence, newID: opts.NewID,
		stop:     make(chan struct{}),
		sessions: map[string]*session{},
		calls:    map[string]*call{},
		avail:    map[kiosk.ContactID]time.Time{},
		audio:    map[string]*audioLeg{},
	}
	if err := b.setup(); err != nil {
		return nil, err
	}
	b.reports.start()
	b.reaperWG.Add(1)
	go b.reaper()
	return b, nil
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// Codec payload types offered on the screen leg, as Chromium numbers them.
var videoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
	{Type: "nack"}, {Type: "nack", Parameter: "pli"}}

func offeredCodecs() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: videoFeedback}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFeedback}, PayloadType: 102},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", RTCPFeedback: videoFeedback}, PayloadType: 108},
	}
}

// setup builds the setting engine, the interceptor registry shared by
// every PeerConnection and the screen leg's API.
func (b *Bridge) setup() error {
	se := webrtc.SettingEngine{}
	se.SetICETimeouts(b.cfg.ICEDisconnectedTimeout, b.cfg.ICEFailedTimeout, b.cfg.ICEKeepalive)
	se.SetIncludeLoopbackCandidate(b.cfg.AllowLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	nets := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if b.cfg.IPv6 {
		nets = append(nets, webrtc.NetworkTypeUDP6)
	}
	se.SetNetworkTypes(nets)
	// A page's DTLS close_notify must not close our PeerConnection behind
	// the call's back (pion's close races with GetStats); a closed tab is
	// found by ICE consent and the signaling heartbeat instead.
	se.DisableCloseByDTLS(true)
	var ifFilter func(string) bool
	if len(b.cfg.Interfaces) > 0 {
		ifFilter = func(name string) bool { return slices.Contains(b.cfg.Interfaces, name) }
		se.SetInterfaceFilter(ifFilter)
	}
	if b.cfg.UDPPort != 0 {
		opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4)}
		if b.cfg.IPv6 {
			opts = []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6)}
		}
		if ifFilter != nil {
			opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(ifFilter))
		}
		if b.cfg.AllowLoopback {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
		mux, err := ice.NewMultiUDPMuxFromPort(b.cfg.UDPPort, opts...)
		if err != nil {
			return fmt.Errorf("rtc: udp mux on port %d: %w", b.cfg.UDPPort, err)
		}
		b.udpMux = mux
		se.SetICEUDPMux(mux)
	} else if b.cfg.UDPPortMin != 0 || b.cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(b.cfg.UDPPortMin, b.cfg.UDPPortMax); err != nil {
			return fmt.Errorf("rtc: udp port range: %w", err)
		}
	}
	if len(b.cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(b.cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	b.se = se

	// One interceptor for every PeerConnection: RTCP reports and the
	// quality figures, from one goroutine (reports.go). NACKs are not
	// answered here but passed on to the page that sent the media
	// (leg.readRTCP), as a translator does (RFC 3550 section 7.1): no
	// retransmission buffer and no loss detection goroutine per call.
	b.reports = newReports(b.cfg.ReportInterval, b.now)
	reg := &interceptor.Registry{}
	reg.Add(b.reports)
	b.registry = reg
	b.codecs = offeredCodecs()
	var err error
	if b.audioAPI, err = b.newAPI(audioCodecs(), nil); err != nil {
		return err
	}
	return nil
}

// newAPI returns an API whose media engine offers exactly codecs, plus the
// MID header extension; buffers, when not nil, makes the buffers of its
// SRTP streams (leg.newBuffer).
func (b *Bridge) newAPI(codecs []webrtc.RTPCodecParameters, buffers func(packetio.BufferPacketType, uint32) io.ReadWriteCloser) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range codecs {
		kind := webrtc.RTPCodecTypeVideo
		if strings.HasPrefix(c.MimeType, "audio/") {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := me.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("rtc: register codec %s: %w", c.MimeType, err)
		}
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: "urn:ietf:params:rtp-hdrext:sdes:mid"}, kind); err != nil {
			return nil, fmt.Errorf("rtc: register mid extension: %w", err)
		}
	}
	se := b.se
	if buffers != nil {
		se.BufferFactory = buffers
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(b.registry),
		webrtc.WithSettingEngine(se)), nil
}

// pcConfig is the daemon side's PeerConnection configuration.
func (b *Bridge) pcConfig() webrtc.Configuration {
	var servers []webrtc.ICEServer
	for _, s := range b.cfg.iceServers(b.now()) {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return webrtc.Configuration{ICEServers: servers, BundlePolicy: webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire}
}

// ResolveLink resolves a parent's token through the kiosk.Links given to
// New. Errors: ENOTFOUND for an unknown token, EGONE for a revoked or
// expired link.
func (b *Bridge) ResolveLink(ctx context.Context, token string) (kiosk.ParentLink, kiosk.Contact, kiosk.Child, error) {
	return b.links.ResolveLink(ctx, token)
}

// Screen attaches a kiosk screen's signaling channel for booth. send
// delivers a message to the page and must not block; recv handles one
// message from the page; detach is called once when the channel closes.
// The page's first message is rtc.hello.
func (b *Bridge) Screen(booth string, send func(json.RawMessage)) (recv func(json.RawMessage), detach func()) {
	c := &conn{kind: pageScreen, booth: booth, send: send}
	return func(m json.RawMessage) { b.recv(c, m) }, func() { b.detach(c) }
}

// Parent attaches a parent page's signaling channel for token; see Screen.
// Errors: ENOTFOUND for an unknown token, EGONE for a revoked or expired
// link (from kiosk.Links.ResolveLink).
func (b *Bridge) Parent(ctx context.Context, token string, send func(json.RawMessage)) (recv func(json.RawMessage), detach func(), err error) {
	_, contact, child, err := b.links.ResolveLink(ctx, token)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve parent link: %w", err)
	}
	c := &conn{kind: pageParent, token: token, contact: contact.ID, child: GivenName(child.Name), send: send}
	return func(m json.RawMessage) { b.recv(c, m) }, func() { b.detach(c) }, nil
}

// recv handles one message from a page.
func (b *Bridge) recv(c *conn, raw json.RawMessage) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil || m.V != Version {
		b.reply(c, Message{Type: TypeError, Code: kiosk.EINVALID, Message: "bad message"})
		return
	}
	if m.Type == TypeHello {
		b.hello(c, m.Session)
		return
	}
	b.mu.Lock()
	s := c.sess
	if s == nil || c.closed {
		b.mu.Unlock()
		b.reply(c, Message{Type: TypeError, Code: CodeNoSession, Message: "send rtc.hello first"})
		return
	}
	s.lastSeen = b.now()
	cl := b.calls[m.Call]
	al := b.audio[m.Call]
	b.mu.Unlock()
	switch m.Type {
	case TypePing:
		b.reply(c, Message{Type: TypePong})
	case TypeAvailable:
		b.available(c, s, m.Until)
	case TypeAnswer, TypeCandidate, TypeAccept, TypeHangup, TypeStats:
		// The call checks that the session takes part in it.
		if cl == nil && al != nil {
			al.fromPage(s, m)
			return
		}
		if cl == nil {
			if m.Type == TypeAccept || m.Type == TypeHangup {
				b.reply(c, Message{Type: TypeEnd, Call: m.Call, Cause: string(kiosk.CauseFailed)})
			}
			return
		}
		cl.post(event{kind: evMsg, sess: s, msg: m})
	default:
		b.reply(c, Message{Type: TypeError, Code: kiosk.EINVALID, Message: "unknown type"})
	}
}

func (b *Bridge) reply(c *conn, m Message) {
	b.mu.Lock()
	closed := c.closed
	b.mu.Unlock()
	if !closed {
		c.send(encode(m))
	}
}

// hello binds c to a new session or resumes the session id, and tells the
// page its session. A resumed session in a call gets the call's state
// again; a parent page that opens while its link is ringing rings too.
func (b *Bridge) hello(c *conn, id string) {
	var notify []kiosk.ContactID
	b.mu.Lock()
	if c.closed {
		b.mu.Unlock()
		return
	}
	s := b.sessions[id]
	if s == nil || s.kind != c.kind || s.booth != c.booth || s.contact != c.contact {
		s = &session{id: b.newID(), kind: c.kind, booth: c.booth, contact: c.contact, child: c.child, token: c.token}
		b.sessions[s.id] = s
	}
	if old := c.sess; old != nil && old != s && old.conn == c {
		old.conn = nil
	}
	if s.conn != nil && s.conn != c {
		s.conn.sess = nil // an older channel of the same session
	}
	c.sess = s
	s.conn = c
	s.lastSeen = b.now()
	until := b.untilLocked(s.contact)
	msg := Message{Type: TypeSession, Session: s.id, ICEServers: b.cfg.iceServers(b.now()),
		HeartbeatMS: b.cfg.Heartbeat.Milliseconds()}
	if s.kind == pageParent {
		msg.Child = s.child
		if !until.IsZero() {
			msg.Until = until.Format(time.RFC3339)
		}
		notify = append(notify, s.contact)
	}
	s.sendMsg(msg)
	cl := s.call
	var ringing []*call
	if cl == nil && s.kind == pageParent {
		for _, x := range b.calls {
			if x.req.Contact == s.contact {
				ringing = append(ringing, x)
			}
		}
	}
	b.mu.Unlock()
	if cl != nil {
		cl.post(event{kind: evAttached, sess: s})
	}
	for _, x := range ringing {
		x.post(event{kind: evNewParent, sess: s})
	}
	b.notify(notify)
}

// detach is called when a page's channel closes: its session waits
// ReconnectWindow for the page to come back.
func (b *Bridge) detach(c *conn) {
	var notify []kiosk.ContactID
	b.mu.Lock()
	c.closed = true
	s := c.sess
	var cl *call
	var al *audioLeg
	if s != nil && s.conn == c {
		s.conn = nil
		s.lastSeen = b.now()
		cl = s.call
		al = s.audio
		if s.kind == pageParent {
			notify = append(notify, s.contact)
		}
	}
	b.mu.Unlock()
	if cl != nil {
		cl.post(event{kind: evDetached, sess: s})
	}
	if al != nil && al.iceDown() {
		al.trip(kiosk.CausePeerLost)
	}
	b.notify(notify)
}

// available stores what the parent said about being available.
func (b *Bridge) available(c *conn, s *session, until string) {
	if s.kind != pageParent {
		b.reply(c, Message{Type: TypeError, Code: kiosk.EINVALID, Message: "only a parent page is available"})
		return
	}
	var t time.Time
	if until != "" {
		var err error
		t, err = time.Parse(time.RFC3339, until)
		if err != nil {
			b.reply(c, Message{Type: TypeError, Code: kiosk.EINVALID, Message: "until must be RFC 3339"})
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.links.SetAvailableUntil(ctx, s.contact, t); err != nil {
		b.log.Error("store available until", "err", err)
		b.reply(c, Message{Type: TypeError, Code: kiosk.EINTERNAL, Message: "internal error"})
		return
	}
	b.mu.Lock()
	if t.IsZero() {
		delete(b.avail, s.contact)
	} else {
		b.avail[s.contact] = t
	}
	b.mu.Unlock()
	msg := Message{Type: TypeSession, Session: s.id, Child: s.child, Until: until,
		HeartbeatMS: b.cfg.Heartbeat.Milliseconds()}
	b.reply(c, msg)
	b.notify([]kiosk.ContactID{s.contact})
}

func (b *Bridge) untilLocked(contact kiosk.ContactID) time.Time {
	t, ok := b.avail[contact]
	if !ok || !t.After(b.now()) {
		return time.Time{}
	}
	return t
}

func (b *Bridge) notify(cs []kiosk.ContactID) {
	if b.onPresence == nil {
		return
	}
	for _, c := range cs {
		b.onPresence(c)
	}
}

// Online implements kiosk.Presence: a contact is online while one of its
// parent pages is attached; until is what the parent said, zero when not
// said or past.
func (b *Bridge) Online(contact kiosk.ContactID) (online bool, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.sessions {
		if s.kind == pageParent && s.contact == contact && s.conn != nil {
			online = true
			break
		}
	}
	return online, b.untilLocked(contact)
}

// reaper forgets sessions not heard from within ReconnectWindow; a lost
// session in a call ends the call with peer_lost.
func (b *Bridge) reaper() {
	defer b.reaperWG.Done()
	tick := min(b.cfg.Heartbeat, b.cfg.ReconnectWindow/8)
	t := time.NewTicker(max(tick, 10*time.Millisecond))
	defer t.Stop()
	lastCheck := b.now()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		if b.now().Sub(lastCheck) >= b.cfg.LinkCheck {
			lastCheck = b.now()
			b.checkLinks(0)
		}
		var lost []*session
		var lostAudio []*audioLeg
		var notify []kiosk.ContactID
		now := b.now()
		b.mu.Lock()
		for id, s := range b.sessions {
			if now.Sub(s.lastSeen) < b.cfg.ReconnectWindow {
				continue
			}
			delete(b.sessions, id)
			if s.conn != nil {
				s.conn.sess = nil
				if s.kind == pageParent {
					notify = append(notify, s.contact)
				}
				s.conn = nil
			}
			if s.call != nil {
				lost = append(lost, s)
			}
			if s.audio != nil {
				lostAudio = append(lostAudio, s.audio)
			}
		}
		b.mu.Unlock()
		for _, s := range lost {
			s.call.post(event{kind: evLost, sess: s})
		}
		for _, l := range lostAudio {
			l.trip(kiosk.CausePeerLost)
		}
		b.notify(notify)
	}
}

// Relayed returns the RTP packets and bytes the bridge has forwarded to
// browsers since New, over all calls and headset legs.
func (b *Bridge) Relayed() (packets, bytes uint64) {
	return b.relayed.packets.Load(), b.relayed.bytes.Load()
}

// ActiveCalls returns the number of calls in progress.
func (b *Bridge) ActiveCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

// Health reports fault after Close, degraded when no kiosk screen is
// attached (no video call can be placed), else ok.
func (b *Bridge) Health() kiosk.Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return kiosk.Health{Status: kiosk.HealthFault, Reason: "rtc stopped"}
	}
	for _, s := range b.sessions {
		if s.kind == pageScreen && s.conn != nil {
			return kiosk.Health{Status: kiosk.HealthOK}
		}
	}
	// Not an error: the daemon works without a screen (handset calls), and
	// the screen connects when Chromium starts.
	return kiosk.Health{Status: kiosk.HealthOK, Reason: "no kiosk screen connected"}
}

// Close ends every call with cause shutdown (each sends EventEnded), tells
// the pages, and stops the bridge. Dial fails afterwards with ErrClosed.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	calls := make([]*call, 0, len(b.calls))
	for _, c := range b.calls {
		calls = append(calls, c)
	}
	audio := make([]*audioLeg, 0, len(b.audio))
	for _, l := range b.audio {
		audio = append(audio, l)
	}
	b.mu.Unlock()
	for _, c := range calls {
		c.end(kiosk.CauseShutdown)
	}
	for _, l := range audio {
		l.close(kiosk.CauseShutdown)
	}
	b.callWG.Wait()
	b.audioWG.Wait()
	close(b.stop)
	b.reaperWG.Wait()
	b.reports.close()
	if b.udpMux != nil {
		if err := b.udpMux.Close(); err != nil {
			return fmt.Errorf("rtc: close udp mux: %w", err)
		}
	}
	return nil
}

// GivenName is kiosk.GivenName: the part of a child's name a parent's
// page shows.
func GivenName(name string) string { return kiosk.GivenName(name) }

// checkLinks re-resolves the links of the open parent pages (only those of
// contact, when not 0) and drops the pages whose link was revoked or has
// expired since they connected: such a page must not take another call.
// Revocation happens in the database (kioskctl, the console), so the
// bridge asks again: every Config.LinkCheck, and before ringing a parent.
func (b *Bridge) checkLinks(contact kiosk.ContactID) {
	b.mu.Lock()
	tokens := map[string]bool{}
	for _, s := range b.sessions {
		if s.kind == pageParent && s.token != "" && (contact == 0 || s.contact == contact) {
			tokens[s.token] = true
		}
	}
	b.mu.Unlock()
	for tok := range tokens {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _, _, err := b.links.ResolveLink(ctx, tok)
		cancel()
		if code := kiosk.ErrorCode(err); code == kiosk.EGONE || code == kiosk.ENOTFOUND {
			b.dropLink(tok)
		}
	}
}

// dropLink tells the pages of a revoked or expired link so, forgets them,
// and ends their call, if any, with cause revoked.
func (b *Bridge) dropLink(token string) {
	var calls []*call
	var notify []kiosk.ContactID
	b.mu.Lock()
	for id, s := range b.sessions {
		if s.token != token {
			continue
		}
		s.sendMsg(Message{Type: TypeError, Code: kiosk.EGONE, Message: "this link is no longer valid"})
		if s.conn != nil {
			s.conn.closed = true
			s.conn.sess = nil
			s.conn = nil
		}
		if s.call != nil {
			calls = append(calls, s.call)
		}
		notify = append(notify, s.contact)
		delete(b.sessions, id)
	}
	b.mu.Unlock()
	if len(notify) > 0 {
		b.log.Info("parent page of a revoked link dropped", "contact", notify[0])
	}
	for _, c := range calls {
		c.end(kiosk.CauseRevoked)
	}
	b.notify(notify)
}
