package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/qinqing/station/callbridge"
	"github.com/qinqing/station/kiosk"
)

// Defaults of Config.
const (
	DefaultListenAddr      = "127.0.0.1:5060"
	DefaultRealm           = "kiosk"
	DefaultRingTimeout     = 45 * time.Second
	DefaultRTPTimeout      = 30 * time.Second
	DefaultShutdownTimeout = 5 * time.Second
	DefaultScreenTimeout   = 10 * time.Second
	DefaultTrunkTimeout    = 8 * time.Second
)

// Trunk is a SIP trunk: a carrier account or a GSM/4G gateway.
type Trunk struct {
	// Name identifies the trunk in logs and health.
	Name string
	// URI is where INVITEs go, e.g. "sip:gw.example:5060" or
	// "sip:10.0.0.9;transport=tcp". Its host is also the request-URI host.
	URI string
	// User and Password answer the trunk's 401/407 digest challenges; User
	// is also the From user (default "kiosk").
	User, Password string
	// DialPattern turns the callee's number into the request-URI user; see
	// ExpandDialPattern. Default "{e164}".
	DialPattern string
	// Codecs restricts and orders the codecs offered ("PCMU", "PCMA");
	// default both, PCMU first.
	Codecs []string
	// Channels is the maximum number of concurrent calls; 0 is unlimited.
	Channels int
	// NoTelephoneEvent leaves telephone-event (RFC 4733 DTMF) out of the
	// offer to this trunk; by default it is offered as payload type 101.
	NoTelephoneEvent bool
}

// Config configures a Bridge. The zero value of a field means its default.
type Config struct {
	// Listen lists "transport:host:port" sockets, e.g. "udp:127.0.0.1:5060"
	// and "tcp:127.0.0.1:5060". Port 0 picks a free port (a TCP socket with
	// port 0 listed after a UDP one tries the UDP port first). Default: UDP
	// and TCP on ListenAddr.
	Listen []string
	// ListenAddr is host:port for both UDP and TCP when Listen is empty;
	// default 127.0.0.1:5060.
	ListenAddr string
	// Realm is the digest realm of the registrar; default "kiosk".
	Realm string
	// DigestAlgorithms are offered to booth phones and accepted from them,
	// in order: "MD5", "SHA-256"; default MD5 only (see RegistrarOpts).
	DigestAlgorithms []string
	// MediaIP is the address the relay binds and puts in SDP; default the
	// first listen host (127.0.0.1 if that is unspecified).
	MediaIP netip.Addr
	// RTPPortMin and RTPPortMax bound relay ports (inclusive); 0 = any.
	RTPPortMin, RTPPortMax int
	// Extensions maps booth phone extensions to their digest passwords.
	Extensions map[string]string
	// Booths maps extensions to booths, for handset calls whose authorizer
	// leaves CallRequest.Booth empty.
	Booths map[string]kiosk.Booth
	// Trunks are tried in order; the first with a free channel is used.
	Trunks []Trunk
	// CountryCode is the caller's country code for {national}; default "86".
	CountryCode string
	// RingTimeout bounds ringing, of the booth phone and of the trunk;
	// default 45 s, then NO ANSWER and CANCEL.
	RingTimeout time.Duration
	// RTPTimeout hangs up an answered call when one of its legs has sent
	// no RTP for this long (cause rtp_timeout); default 30 s. Booth phones
	// must not use silence suppression (VAD), which G.711 phones default
	// to off.
	RTPTimeout time.Duration
	// ShutdownTimeout bounds Close's hang-ups; default 5 s.
	ShutdownTimeout time.Duration
	// TrunkTimeout bounds the wait for a trunk's first response to an
	// INVITE (a 100 Trying is enough); default 8 s, then FAILED with SIP
	// code 408. A trunk that is down sends nothing, and RFC 3261's Timer B
	// would keep the child waiting 32 s; nor can an INVITE that got no
	// provisional response be CANCELled (section 9.1), so the daemon
	// stops waiting without one.
	TrunkTimeout time.Duration
	// ScreenTimeout bounds the setup of a kiosk screen's headset leg
	// (Opts.ScreenAudio) for a booth without a phone; default 10 s, then
	// FAILED.
	ScreenTimeout time.Duration
}

// Opts are optional dependencies.
type Opts struct {
	// Now is the clock for events and durations; default time.Now. Keep a
	// clock with a monotonic reading: Billsec and Duration subtract it.
	Now func() time.Time
	// Logger gets the bridge's logs; default discards. No numbers are
	// logged at info level.
	Logger *slog.Logger
	// ScreenAudio opens the kiosk screen's headset leg for click-to-calls
	// from a booth without a phone extension (callbridge/rtc's Bridge);
	// default none, and then such calls end FAILED. SetScreenAudio sets
	// it after New.
	ScreenAudio kiosk.ScreenAudio
}

// Bridge is the SIP side of the station: registrar for the booth phones
// and back-to-back user agent (RFC 3261, RFC 7092) between booth phones
// and trunks, with media anchored in a callbridge.Relay per call. It
// implements kiosk.Dialer.
type Bridge struct {
	cfg  Config
	auth kiosk.HandsetAuthorizer
	now  func() time.Time
	log  *slog.Logger
	reg  *Registrar

	ready     chan struct{}
	startOnce sync.Once
	closeOnce sync.Once
	closed    chan struct{}
	runErr    error

	// set before ready is closed
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	duas   map[string]*sipgo.DialogUA // by lower-case transport
	addrs  map[string]string          // by lower-case transport
	host   string
	lns    []net.Listener
	pconns []net.PacketConn

	mu        sync.Mutex
	closing   bool
	screen    kiosk.ScreenAudio // headset legs; nil if none
	calls     map[string]*call  // by kiosk call id
	legs      map[string]*leg   // by SIP Call-ID
	trunkUsed []int
	wg        sync.WaitGroup
}

var _ kiosk.Dialer = (*Bridge)(nil)

// New checks cfg and returns a Bridge; Run starts it. auth decides handset
// calls; it may be nil, and then every handset INVITE gets 403.
func New(cfg Config, auth kiosk.HandsetAuthorizer, opts Opts) (*Bridge, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Listen) == 0 {
		a := cfg.ListenAddr
		if a == "" {
			a = DefaultListenAddr
		}
		cfg.Listen = []string{"udp:" + a, "tcp:" + a}
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.CountryCode == "" {
		cfg.CountryCode = "86"
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.RTPTimeout <= 0 {
		cfg.RTPTimeout = DefaultRTPTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.TrunkTimeout <= 0 {
		cfg.TrunkTimeout = DefaultTrunkTimeout
	}
	if cfg.ScreenTimeout <= 0 {
		cfg.ScreenTimeout = DefaultScreenTimeout
	}
	var errs []error
	for _, l := range cfg.Listen {
		if _, _, err := parseListen(l); err != nil {
			errs = append(errs, err)
		}
	}
	for i, t := range cfg.Trunks {
		var u siplib.Uri
		if err := siplib.ParseUri(t.URI, &u); err != nil || u.Host == "" {
			errs = append(errs, fmt.Errorf("trunk %d (%s): uri %q: invalid", i, t.Name, t.URI))
		}
		if _, err := ExpandDialPattern(t.DialPattern, "+8613800000000", cfg.CountryCode); err != nil {
			errs = append(errs, fmt.Errorf("trunk %d (%s): %w", i, t.Name, err))
		}
		for _, c := range t.Codecs {
			if _, ok := codecPT(c); !ok {
				errs = append(errs, fmt.Errorf("trunk %d (%s): codec %q: only PCMU and PCMA", i, t.Name, c))
			}
		}
		if t.Channels < 0 {
			errs = append(errs, fmt.Errorf("trunk %d (%s): channels %d < 0", i, t.Name, t.Channels))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sip config: %w", err)
	}
	if !cfg.MediaIP.IsValid() {
		_, hp, _ := parseListen(cfg.Listen[0])
		h, _, _ := net.SplitHostPort(hp)
		ip, err := netip.ParseAddr(h)
		if err != nil || ip.IsUnspecified() {
			ip = netip.MustParseAddr("127.0.0.1")
		}
		cfg.MediaIP = ip
	}
	log := opts.Logger.With("component", "sip")
	return &Bridge{
		cfg:  cfg,
		auth: auth,
		now:  opts.Now,
		log:  log,
		reg: NewRegistrar(cfg.Realm, cfg.Extensions, RegistrarOpts{Now: opts.Now, Logger: log,
			Algorithms: cfg.DigestAlgorithms}),
		screen:    opts.ScreenAudio,
		ready:     make(chan struct{}),
		closed:    make(chan struct{}),
		calls:     map[string]*call{},
		legs:      map[string]*leg{},
		trunkUsed: make([]int, len(cfg.Trunks)),
	}, nil
}

func parseListen(s string) (network, hostport string, err error) {
	network, hostport, ok := strings.Cut(s, ":")
	network = strings.ToLower(network)
	if !ok || (network != "udp" && network != "tcp") {
		return "", "", fmt.Errorf("listen %q: want udp:host:port or tcp:host:port", s)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		return "", "", fmt.Errorf("listen %q: %w", s, err)
	}
	return network, hostport, nil
}

// Registrar returns the bridge's registrar (bindings of the booth phones).
func (b *Bridge) Registrar() *Registrar { return b.reg }

// StartErr returns, once Ready is closed, why the bridge failed to start
// (a port in use, say), or nil when it is listening.
func (b *Bridge) StartErr() error {
	<-b.ready
	return b.runErr
}

// Ready is closed once Run has bound its sockets (or failed).
func (b *Bridge) Ready() <-chan struct{} { return b.ready }

// Addr returns the bound host:port of transport "udp" or "tcp" (after
// Ready), or "" if not listening on it.
func (b *Bridge) Addr(transport string) string {
	select {
	case <-b.ready:
		return b.addrs[strings.ToLower(transport)]
	default:
		return ""
	}
}

// Run binds the sockets, serves SIP until ctx ends, then hangs up every
// call (cause shutdown) and returns. It returns an error if a socket
// cannot be bound: then the *net.OpError, which names the transport and
// address ("listen udp 127.0.0.1:5060: bind: address already in use").
// Run may be called once.
func (b *Bridge) Run(ctx context.Context) error {
	started := false
	b.startOnce.Do(func() { started = true })
	if !started {
		return errors.New("sip bridge: Run called twice")
	}
	if err := b.listen(); err != nil {
		b.runErr = err
		close(b.ready)
		b.Close()
		return err
	}
	for _, c := range b.pconns {
		go func() { _ = b.srv.ServeUDP(c) }()
	}
	for _, l := range b.lns {
		go func() { _ = b.srv.ServeTCP(l) }()
	}
	// Requests leave from the UDP listening socket: wait until sipgo has it.
	for i := 0; i < 1000 && b.addrs["udp"] != ""; i++ {
		if conn, _ := b.ua.TransportLayer().GetConnection("udp", b.addrs["udp"]); conn != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(b.ready)
	b.log.Info("sip listening", "addrs", b.addrs)
	select {
	case <-ctx.Done():
	case <-b.closed:
	}
	return b.Close()
}

func (b *Bridge) listen() error {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("qinqing-kioskd"))
	if err != nil {
		return fmt.Errorf("sip user agent: %w", err)
	}
	b.ua = ua
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(b.log))
	if err != nil {
		return fmt.Errorf("sip server: %w", err)
	}
	b.srv = srv
	b.addrs = map[string]string{}
	b.duas = map[string]*sipgo.DialogUA{}
	lastPort := ""
	for _, l := range b.cfg.Listen {
		network, hp, _ := parseListen(l)
		host, port, _ := net.SplitHostPort(hp)
		if b.host == "" {
			b.host = host
			if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
				b.host = b.cfg.MediaIP.String()
			}
		}
		switch network {
		case "udp":
			pc, err := net.ListenPacket("udp", hp)
			if err != nil {
				return err // a *net.OpError: "listen udp HOST:PORT: ..."
			}
			b.pconns = append(b.pconns, pc)
			b.addrs["udp"] = pc.LocalAddr().String()
			_, lastPort, _ = net.SplitHostPort(b.addrs["udp"])
		case "tcp":
			var ln net.Listener
			if port == "0" && lastPort != "" {
				ln, _ = net.Listen("tcp", net.JoinHostPort(host, lastPort))
			}
			if ln == nil {
				if ln, err = net.Listen("tcp", hp); err != nil {
					return err // a *net.OpError: "listen tcp HOST:PORT: ..."
				}
			}
			b.lns = append(b.lns, ln)
			b.addrs["tcp"] = ln.Addr().String()
		}
	}
	for network, addr := range b.addrs {
		_, p, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(p)
		opts := []sipgo.ClientOption{sipgo.WithClientHostname(b.host)}
		if network == "udp" {
			// Send from the listening socket, so that phones and trunks
			// see one address and NAT bindings hold.
			opts = append(opts, sipgo.WithClientConnectionAddr(addr), sipgo.WithClientPort(port))
		}
		cl, err := sipgo.NewClient(ua, opts...)
		if err != nil {
			return fmt.Errorf("sip client %s: %w", network, err)
		}
		contact := siplib.ContactHeader{Address: siplib.Uri{Scheme: "sip", User: "kiosk", Host: b.host, Port: port}}
		if network == "tcp" {
			contact.Address.UriParams = siplib.NewParams()
			contact.Address.UriParams.Add("transport", "tcp")
		}
		b.duas[network] = &sipgo.DialogUA{Client: cl, ContactHDR: contact, RewriteContact: true}
	}
	srv.OnRegister(b.reg.ServeRegister)
	srv.OnInvite(b.onInvite)
	srv.OnAck(b.onAck)
	srv.OnBye(b.onBye)
	srv.OnCancel(func(req *siplib.Request, tx siplib.ServerTransaction) {
		_ = tx.Respond(siplib.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	srv.OnOptions(func(req *siplib.Request, tx siplib.ServerTransaction) {
		res := siplib.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(siplib.NewHeader("Allow", allowed))
		_ = tx.Respond(res)
	})
	srv.OnNoRoute(func(req *siplib.Request, tx siplib.ServerTransaction) {
		code, reason := 501, "Not Implemented"
		if slices.Contains(knownMethods, string(req.Method)) {
			code, reason = 405, "Method Not Allowed"
		}
		res := siplib.NewResponseFromRequest(req, code, reason, nil)
		res.AppendHeader(siplib.NewHeader("Allow", allowed))
		_ = tx.Respond(res)
	})
	return nil
}

const allowed = "INVITE, ACK, CANCEL, BYE, REGISTER, OPTIONS"

// knownMethods are RFC methods we do not implement (405, not 501).
var knownMethods = []string{"SUBSCRIBE", "NOTIFY", "REFER", "INFO", "MESSAGE", "PRACK", "UPDATE", "PUBLISH"}

// Close hangs up every call with cause shutdown (both legs BYE'd or
// CANCELled, EventEnded delivered), waiting at most
// Config.ShutdownTimeout, then closes the sockets. It is idempotent and
// returns nil unless Run failed to bind.
func (b *Bridge) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closing = true
		calls := make([]*call, 0, len(b.calls))
		for _, c := range b.calls {
			calls = append(calls, c)
		}
		b.mu.Unlock()
		for _, c := range calls {
			c.hangup(&endErr{cause: kiosk.CauseShutdown})
		}
		done := make(chan struct{})
		go func() { b.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(b.cfg.ShutdownTimeout):
			b.log.Warn("sip shutdown timed out", "calls", len(calls))
		}
		close(b.closed)
		for _, l := range b.lns {
			_ = l.Close()
		}
		for _, c := range b.pconns {
			_ = c.Close()
		}
		if b.ua != nil {
			_ = b.ua.Close()
		}
	})
	return b.runErr
}

// Health reports fault when not listening, degraded when no booth phone
// is registered (or a trunk is full), else ok.
func (b *Bridge) Health() kiosk.Health {
	select {
	case <-b.closed:
		return kiosk.Health{Status: kiosk.HealthFault, Reason: "sip stopped"}
	default:
	}
	select {
	case <-b.ready:
	default:
		return kiosk.Health{Status: kiosk.HealthFault, Reason: "sip not started"}
	}
	if b.runErr != nil {
		return kiosk.Health{Status: kiosk.HealthFault, Reason: b.runErr.Error()}
	}
	if len(b.cfg.Trunks) == 0 {
		return kiosk.Health{Status: kiosk.HealthDegraded, Reason: "no sip trunk configured"}
	}
	if len(b.cfg.Extensions) > 0 {
		if n := b.reg.Registered(); n < len(b.cfg.Extensions) {
			return kiosk.Health{Status: kiosk.HealthDegraded,
				Reason: fmt.Sprintf("%d of %d booth phones registered", n, len(b.cfg.Extensions))}
		}
	}
	return kiosk.Health{Status: kiosk.HealthOK}
}

// ActiveCalls returns the number of calls in progress (ringing or up).
func (b *Bridge) ActiveCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

// FreeLines returns how many more trunk calls can start now, summed over
// trunks; -1 means unlimited (a trunk with Channels 0).
func (b *Bridge) FreeLines() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for i, t := range b.cfg.Trunks {
		if t.Channels == 0 {
			return -1
		}
		n += t.Channels - b.trunkUsed[i]
	}
	return n
}

// acquireTrunk reserves a channel on the first trunk with one free.
func (b *Bridge) acquireTrunk() (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, t := range b.cfg.Trunks {
		if t.Channels == 0 || b.trunkUsed[i] < t.Channels {
			b.trunkUsed[i]++
			return i, true
		}
	}
	return -1, false
}

func (b *Bridge) releaseTrunk(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trunkUsed[i]--
}

// SetScreenAudio sets (or, with nil, removes) the kiosk screens' headset
// legs used by later click-to-calls from booths without a phone; see
// Opts.ScreenAudio.
func (b *Bridge) SetScreenAudio(sa kiosk.ScreenAudio) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.screen = sa
}

func (b *Bridge) screenAudio() kiosk.ScreenAudio {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.screen
}

// Dial places a click-to-call (see kiosk.Dialer). A booth with a phone
// extension is rung first; a booth without one (Booth.Extension "") gets
// its kiosk screen's headset leg from Opts.ScreenAudio as the child's
// leg. It returns an EINVALID *kiosk.Error for a request without CallID,
// number or observer, ECONFLICT for a duplicate CallID or a bridge not
// running. A booth phone that is not registered, or a booth without a
// phone whose screen is not connected (or with no ScreenAudio), gives
// EventEnded FAILED (and nil).
func (b *Bridge) Dial(ctx context.Context, req kiosk.CallRequest) error {
	if req.CallID == "" || req.Observer == nil || req.Number == "" {
		return kiosk.Errorf(kiosk.EINVALID, "call request needs a call id, a number and an observer")
	}
	select {
	case <-b.ready:
	default:
		return kiosk.Errorf(kiosk.ECONFLICT, "the phone system is not running")
	}
	c, err := b.newCall(req, req.Booth.Extension, false)
	if err != nil {
		return err
	}
	b.wg.Go(c.runClick)
	return nil
}

// Hangup ends a call with cause; ENOTFOUND if no such call is in progress.
func (b *Bridge) Hangup(callID string, cause kiosk.EndCause) error {
	b.mu.Lock()
	c := b.calls[callID]
	b.mu.Unlock()
	if c == nil {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no call in progress with this id")
	}
	c.hangup(&endErr{cause: cause})
	return nil
}

func (b *Bridge) newCall(req kiosk.CallRequest, ext string, handset bool) (*call, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &call{
		b: b, req: req, ext: ext, handset: handset, trunkIdx: -1,
		ctx: ctx, cancel: cancel, start: b.now(), inviteDone: make(chan struct{}),
		sessID: rand.Uint64() >> 2,
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return nil, kiosk.Errorf(kiosk.ECONFLICT, "the phone system is stopping")
	}
	if _, dup := b.calls[req.CallID]; dup {
		return nil, kiosk.Errorf(kiosk.ECONFLICT, "call %s is already in progress", req.CallID)
	}
	b.calls[req.CallID] = c
	return c, nil
}

func (b *Bridge) addLeg(l *leg) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.legs[l.sipCallID] = l
}

func (b *Bridge) findLeg(req *siplib.Request) *leg {
	id := req.CallID()
	if id == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.legs[id.Value()]
}

// dialogUA returns the UA for a transport ("udp" if not listening on it).
func (b *Bridge) dialogUA(transport string) *sipgo.DialogUA {
	if d := b.duas[strings.ToLower(transport)]; d != nil {
		return d
	}
	if d := b.duas["udp"]; d != nil {
		return d
	}
	for _, d := range b.duas {
		return d
	}
	return nil
}

func (b *Bridge) onAck(req *siplib.Request, tx siplib.ServerTransaction) {
	if l := b.findLeg(req); l != nil && l.uas != nil {
		_ = l.uas.ReadAck(req, tx)
	}
}

func (b *Bridge) onBye(req *siplib.Request, tx siplib.ServerTransaction) {
	l := b.findLeg(req)
	if l == nil {
		_ = tx.Respond(siplib.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	l.byeRcvd.Store(true)
	var err error
	if l.uas != nil {
		err = l.uas.ReadBye(req, tx)
	} else {
		err = l.uac.ReadBye(req, tx)
	}
	if err != nil {
		// A BYE crossing ours, or a late one: answer 200 all the same.
		_ = tx.Respond(siplib.NewResponseFromRequest(req, 200, "OK", nil))
	}
	cause := kiosk.CauseCalleeHangup
	if l.side == callbridge.LegA {
		cause = kiosk.CauseCallerHangup
	}
	l.call.hangup(&endErr{cause: cause})
}

// onInvite handles a booth phone's INVITE (handset call) and re-INVITEs.
func (b *Bridge) onInvite(req *siplib.Request, tx siplib.ServerTransaction) {
	respond := func(code int, reason string, hdrs ...siplib.Header) {
		res := siplib.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
	}
	from, to := req.From(), req.To()
	if from == nil || to == nil || req.Contact() == nil || req.CallID() == nil || req.CSeq() == nil {
		respond(400, "Bad Request")
		return
	}
	if tag, _ := to.Params.Get("tag"); tag != "" {
		// Re-INVITE (session refresh, hold): keep the media as it is.
		if l := b.findLeg(req); l != nil && l.uas != nil && l.localSDP != nil {
			res := siplib.NewSDPResponseFromRequest(req, l.localSDP)
			_ = tx.Respond(res)
			return
		}
		respond(481, "Call/Transaction Does Not Exist")
		return
	}
	user, chal := b.reg.Authenticate(req, true)
	if chal != nil {
		_ = tx.Respond(chal)
		return
	}
	if _, ok := b.reg.Lookup(user); !ok || from.Address.User != user {
		respond(403, "Forbidden")
		return
	}
	dialled := req.Recipient.User
	if dialled == "" {
		respond(404, "Not Found")
		return
	}
	offer, err := ParseSDP(req.Body())
	if err == nil {
		_, err = offer.ChooseCodec(nil)
	}
	if err != nil {
		respond(488, "Not Acceptable Here", siplib.NewHeader("Warning", `399 kioskd "`+err.Error()+`"`))
		return
	}
	respond(100, "Trying")
	if b.auth == nil {
		respond(403, "Forbidden")
		return
	}
	creq, err := b.auth.AuthorizeHandset(context.Background(), user, dialled)
	if err != nil {
		switch kiosk.ErrorCode(err) {
		case kiosk.EDENIED:
			b.log.Info("handset call denied", "ext", user)
			respond(403, "Forbidden")
		case kiosk.ENOTFOUND, kiosk.EINVALID:
			respond(404, "Not Found")
		case kiosk.ECONFLICT:
			respond(503, "Service Unavailable")
		default:
			b.log.Error("authorize handset call", "ext", user, "err", err)
			respond(500, "Server Internal Error")
		}
		return
	}
	if creq.Observer == nil {
		creq.Observer = nopObserver{}
	}
	if creq.Booth.Extension == "" {
		creq.Booth = b.cfg.Booths[user]
		creq.Booth.Extension = user
	}
	if creq.CallID == "" {
		creq.CallID = req.CallID().Value()
	}
	c, err := b.newCall(creq, user, true)
	if err != nil {
		respond(503, "Service Unavailable")
		return
	}
	uas, err := b.dialogUA(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		b.forget(c)
		respond(400, "Bad Request")
		return
	}
	c.booth = &leg{call: c, side: callbridge.LegA, uas: uas, sipCallID: req.CallID().Value()}
	c.boothOffer = offer
	b.addLeg(c.booth)
	b.wg.Go(c.runHandset)
	// The server transaction ends when this handler returns, so wait
	// until the booth has its final response.
	<-c.inviteDone
}

func (b *Bridge) forget(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls[c.req.CallID] == c {
		delete(b.calls, c.req.CallID)
	}
	for _, l := range []*leg{c.booth, c.trunk} {
		if l != nil && b.legs[l.sipCallID] == l {
			delete(b.legs, l.sipCallID)
		}
	}
}

type nopObserver struct{}

func (nopObserver) CallEvent(kiosk.CallEvent) {}
