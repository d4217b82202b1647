package sipdemo

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	siplib "github.com/emiago/sipgo/sip"
	"github.com/qinqing/station/callbridge"
	bsip "github.com/qinqing/station/callbridge/sip"
)

// TrunkConfig sets how a Trunk treats each INVITE.
type TrunkConfig struct {
	// Listen is the UDP host:port; default 127.0.0.1:0.
	Listen string
	// Challenge is 0 (none), 401 or 407: the first INVITE of each call is
	// challenged for User/Password.
	Challenge      int
	User, Password string
	// RingDelay is how long it rings (180) before the final response;
	// the demo uses 2 s.
	RingDelay time.Duration
	// Reject, if set (486, 603, 503...), is the final response after
	// RingDelay instead of 200 OK.
	Reject int
	// NoAnswer rings until CANCEL.
	NoAnswer bool
	// ByeAfter, if set, hangs up (BYE) that long after answering.
	ByeAfter time.Duration
	// Silent sends no RTP (to provoke an RTP timeout).
	Silent bool
	// Tone is what the callee "says"; default callbridge.DemoTone.
	Tone callbridge.Tone
}

// Trunk is a SIP trunk stand-in (UAS on UDP): it answers INVITEs
// according to its TrunkConfig, with a tone as the callee's voice.
type Trunk struct {
	core    *core
	auth    *bsip.Registrar
	mu      sync.Mutex
	cfg     TrunkConfig
	invites atomic.Int32
	calls   chan *Call
	last    atomic.Pointer[Call]
}

// NewTrunk starts a Trunk.
func NewTrunk(cfg TrunkConfig, opts Opts) (*Trunk, error) {
	if cfg.Tone == (callbridge.Tone{}) {
		cfg.Tone = callbridge.DemoTone
	}
	switch cfg.Challenge {
	case 0, 401, 407:
	default:
		return nil, fmt.Errorf("sipdemo trunk: challenge %d: want 0, 401 or 407", cfg.Challenge)
	}
	c, err := newCore(cfg.Listen, "trunk", opts)
	if err != nil {
		return nil, err
	}
	t := &Trunk{core: c, cfg: cfg, calls: make(chan *Call, 16),
		auth: bsip.NewRegistrar("trunk", map[string]string{cfg.User: cfg.Password}, bsip.RegistrarOpts{})}
	c.srv.OnInvite(t.onInvite)
	c.serve()
	return t, nil
}

// Set replaces the trunk's behaviour for calls that start afterwards.
func (t *Trunk) Set(cfg TrunkConfig) {
	if cfg.Tone == (callbridge.Tone{}) {
		cfg.Tone = callbridge.DemoTone
	}
	auth := bsip.NewRegistrar("trunk", map[string]string{cfg.User: cfg.Password}, bsip.RegistrarOpts{})
	t.mu.Lock()
	t.cfg, t.auth = cfg, auth
	t.mu.Unlock()
}

// Addr is the trunk's UDP address.
func (t *Trunk) Addr() netip.AddrPort { return t.core.addr }

// URI is the trunk's SIP URI for callbridge/sip's Trunk.URI.
func (t *Trunk) URI() string { return "sip:" + t.core.addr.String() }

// Invites counts the INVITEs received, challenged ones included.
func (t *Trunk) Invites() int { return int(t.invites.Load()) }

// Calls delivers each call the trunk accepted to ring.
func (t *Trunk) Calls() <-chan *Call { return t.calls }

// Last is the latest call, nil if none.
func (t *Trunk) Last() *Call { return t.last.Load() }

func (t *Trunk) onInvite(req *siplib.Request, tx siplib.ServerTransaction) {
	t.invites.Add(1)
	t.mu.Lock()
	cfg, auth := t.cfg, t.auth
	t.mu.Unlock()
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" {
			_ = tx.Respond(siplib.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
	}
	if cfg.Challenge != 0 {
		if _, chal := auth.Authenticate(req, cfg.Challenge == 407); chal != nil {
			_ = tx.Respond(chal)
			return
		}
	}
	uas, err := t.core.dua.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(siplib.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	call := newCall(t.core, req.CallID().Value())
	call.uas, call.Invite, call.tone = uas, req, cfg.Tone
	t.core.add(call)
	t.last.Store(call)
	_ = uas.Respond(180, "Ringing", nil)
	select {
	case t.calls <- call:
	default:
	}
	delay := cfg.RingDelay
	if cfg.NoAnswer {
		delay = -1
	}
	if call.waitCancelled(delay) {
		call.code.Store(487)
		call.end("remote")
		return
	}
	if cfg.Reject != 0 {
		_ = uas.Respond(cfg.Reject, "Rejected", nil)
		call.code.Store(int32(cfg.Reject))
		call.end("local")
		return
	}
	if err := call.answerIncoming(cfg.Silent); err != nil {
		t.core.log.Debug("trunk answer", "err", err)
		call.end("local")
		return
	}
	if cfg.ByeAfter > 0 {
		t.core.wg.Go(func() {
			tm := time.NewTimer(cfg.ByeAfter)
			defer tm.Stop()
			select {
			case <-tm.C:
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = call.Hangup(ctx)
				cancel()
			case <-call.Done():
			}
		})
	}
}

// Close ends all calls and stops the trunk.
func (t *Trunk) Close() error { return t.core.close() }
