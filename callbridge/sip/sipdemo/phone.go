package sipdemo

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/qinqing/station/callbridge"
)

// PhoneConfig configures a booth Phone.
type PhoneConfig struct {
	// Ext and Password are the booth extension and its digest password.
	Ext, Password string
	// Server is the bridge's UDP host:port (registrar and proxy).
	Server string
	// Listen is the phone's UDP host:port; default 127.0.0.1:0.
	Listen string
	// AnswerDelay is how long an incoming call rings before auto-answer.
	AnswerDelay time.Duration
	// Reject, if set, answers incoming calls with this status instead.
	Reject int
	// Silent sends no RTP (the phone still receives).
	Silent bool
	// Expires is the registration interval; default 3600 s.
	Expires time.Duration
}

// Phone is a booth phone: it registers to the bridge with digest auth,
// auto-answers click-to-call INVITEs, dials numbers (answering 407), and
// sends a tone as its microphone.
type Phone struct {
	cfg    PhoneConfig
	core   *core
	server netip.AddrPort

	mu       sync.Mutex
	incoming chan *Call
	current  *Call
}

// NewPhone starts a Phone listening on cfg.Listen. It does not register;
// call Register.
func NewPhone(cfg PhoneConfig, opts Opts) (*Phone, error) {
	server, err := netip.ParseAddrPort(cfg.Server)
	if err != nil {
		return nil, fmt.Errorf("sipdemo phone: server %q: %w", cfg.Server, err)
	}
	if cfg.Expires <= 0 {
		cfg.Expires = time.Hour
	}
	c, err := newCore(cfg.Listen, cfg.Ext, opts)
	if err != nil {
		return nil, err
	}
	p := &Phone{cfg: cfg, core: c, server: server, incoming: make(chan *Call, 16)}
	c.srv.OnInvite(p.onInvite)
	c.serve()
	return p, nil
}

// Addr is the phone's SIP address (UDP).
func (p *Phone) Addr() netip.AddrPort { return p.core.addr }

// Incoming delivers each incoming INVITE's call (click-to-call), as it
// starts ringing.
func (p *Phone) Incoming() <-chan *Call { return p.incoming }

// Current is the phone's latest call, nil if none.
func (p *Phone) Current() *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

func (p *Phone) setCurrent(c *Call) {
	p.mu.Lock()
	p.current = c
	p.mu.Unlock()
}

// Register sends REGISTER (answering the digest challenge) and returns
// the final status code.
func (p *Phone) Register(ctx context.Context) (int, error) {
	return p.register(ctx, p.cfg.Expires)
}

// Unregister removes the binding (Expires: 0).
func (p *Phone) Unregister(ctx context.Context) (int, error) {
	return p.register(ctx, 0)
}

func (p *Phone) register(ctx context.Context, expires time.Duration) (int, error) {
	host := p.server.Addr().String()
	req := siplib.NewRequest(siplib.REGISTER, siplib.Uri{Scheme: "sip", Host: host, Port: int(p.server.Port())})
	aor := siplib.Uri{Scheme: "sip", User: p.cfg.Ext, Host: host}
	from := siplib.FromHeader{Address: aor, Params: siplib.NewParams()}
	from.Params.Add("tag", siplib.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&siplib.ToHeader{Address: aor})
	contact := p.core.dua.ContactHDR
	req.AppendHeader(&contact)
	req.AppendHeader(siplib.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	res, err := p.core.client.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
	if err != nil {
		return 0, fmt.Errorf("register: %w", err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = p.core.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.cfg.Ext, Password: p.cfg.Password})
		if err != nil {
			return 0, fmt.Errorf("register with digest: %w", err)
		}
	}
	return res.StatusCode, nil
}

// Dial calls number (a speed-dial digit, a full number or a help code)
// through the bridge, answering its 407 challenge. It returns at once;
// watch the Call's Answered and Done.
func (p *Phone) Dial(number string) (*Call, error) {
	ruri := siplib.Uri{Scheme: "sip", User: number, Host: p.server.Addr().String(), Port: int(p.server.Port())}
	c, err := p.core.dial(ruri, p.server.String(), p.cfg.Ext, p.cfg.Password, callbridge.DemoTone, p.cfg.Silent)
	if err != nil {
		return nil, err
	}
	p.setCurrent(c)
	return c, nil
}

// Hangup hangs up the current call (BYE if answered, CANCEL if ringing).
func (p *Phone) Hangup(ctx context.Context) error {
	c := p.Current()
	if c == nil {
		return nil
	}
	select {
	case <-c.Answered():
		return c.Hangup(ctx)
	default:
		c.Cancel()
		return nil
	}
}

func (p *Phone) onInvite(req *siplib.Request, tx siplib.ServerTransaction) {
	uas, err := p.core.dua.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(siplib.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	call := newCall(p.core, req.CallID().Value())
	call.uas, call.Invite, call.tone = uas, req, callbridge.DemoTone
	p.core.add(call)
	p.setCurrent(call)
	_ = uas.Respond(180, "Ringing", nil)
	select {
	case p.incoming <- call:
	default:
	}
	if call.waitCancelled(p.cfg.AnswerDelay) {
		call.end("remote")
		return
	}
	if p.cfg.Reject != 0 {
		_ = uas.Respond(p.cfg.Reject, "Rejected", nil)
		call.code.Store(int32(p.cfg.Reject))
		call.end("local")
		return
	}
	if err := call.answerIncoming(p.cfg.Silent); err != nil {
		p.core.log.Debug("phone answer", "err", err)
		call.end("local")
	}
}

// Close hangs up and stops the phone.
func (p *Phone) Close() error {
	if c := p.Current(); c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = p.Hangup(ctx)
		cancel()
	}
	return p.core.close()
}
