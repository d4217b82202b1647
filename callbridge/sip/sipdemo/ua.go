// Package sipdemo holds small in-process SIP user agents built on sipgo:
// a booth Phone (registers with digest, auto-answers, dials, hangs up,
// cancels) and a Trunk (a carrier stand-in that challenges, rings,
// answers with a tone, rejects or never answers). The SIP bridge's tests
// use them, and so does `kioskd -demo`: one Phone per booth and one Trunk,
// all on loopback. Media goes through callbridge.Endpoint (G.711 RTP).
package sipdemo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/qinqing/station/callbridge"
	bsip "github.com/qinqing/station/callbridge/sip"
)

// Opts are optional dependencies of a Phone or Trunk.
type Opts struct {
	// Logger gets debug logs; default discards.
	Logger *slog.Logger
}

// core is one user agent listening on a UDP socket, with the dialogs it
// has, shared by Phone and Trunk.
type core struct {
	log    *slog.Logger
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    *sipgo.DialogUA
	pc     net.PacketConn
	addr   netip.AddrPort
	user   string

	mu    sync.Mutex
	calls map[string]*Call // by SIP Call-ID
	wg    sync.WaitGroup
}

func newCore(listen, user string, opts Opts) (*core, error) {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("sipdemo listen %s: %w", listen, err)
	}
	addr := netip.MustParseAddrPort(pc.LocalAddr().String())
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("qinqing-sipdemo"))
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("sipdemo ua: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("sipdemo server: %w", err)
	}
	cl, err := sipgo.NewClient(ua, sipgo.WithClientHostname(addr.Addr().String()),
		sipgo.WithClientPort(int(addr.Port())), sipgo.WithClientConnectionAddr(addr.String()))
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("sipdemo client: %w", err)
	}
	c := &core{
		log: log, ua: ua, srv: srv, client: cl, pc: pc, addr: addr, user: user,
		calls: map[string]*Call{},
	}
	c.dua = &sipgo.DialogUA{Client: cl, RewriteContact: true, ContactHDR: siplib.ContactHeader{
		Address: siplib.Uri{Scheme: "sip", User: user, Host: addr.Addr().String(), Port: int(addr.Port())},
	}}
	srv.OnAck(func(req *siplib.Request, tx siplib.ServerTransaction) {
		if call := c.find(req); call != nil && call.uas != nil {
			_ = call.uas.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *siplib.Request, tx siplib.ServerTransaction) {
		call := c.find(req)
		if call == nil {
			_ = tx.Respond(siplib.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		call.byeRcvd.Store(true)
		_ = tx.Respond(siplib.NewResponseFromRequest(req, 200, "OK", nil))
		call.end("remote")
	})
	return c, nil
}

// serve starts serving, after every handler is registered.
func (c *core) serve() {
	go func() { _ = c.srv.ServeUDP(c.pc) }()
	// Requests are sent from the listening socket: wait until sipgo has it.
	for i := 0; i < 1000; i++ {
		if conn, _ := c.ua.TransportLayer().GetConnection("udp", c.addr.String()); conn != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *core) find(req *siplib.Request) *Call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[id.Value()]
}

func (c *core) add(call *Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[call.sipCallID] = call
}

func (c *core) close() error {
	c.mu.Lock()
	calls := make([]*Call, 0, len(c.calls))
	for _, call := range c.calls {
		calls = append(calls, call)
	}
	c.mu.Unlock()
	for _, call := range calls {
		call.end("local")
	}
	c.wg.Wait()
	err := c.pc.Close()
	_ = c.ua.Close()
	return err
}

// Call is one call of a Phone or Trunk.
type Call struct {
	core      *core
	sipCallID string
	uac       *sipgo.DialogClientSession
	uas       *sipgo.DialogServerSession
	ep        *callbridge.Endpoint
	pt        uint8
	tone      callbridge.Tone

	// Invite is the INVITE as received (incoming calls only).
	Invite *siplib.Request

	answered chan struct{}
	done     chan struct{}
	endOnce  sync.Once
	byeRcvd  atomic.Bool
	code     atomic.Int32
	endedBy  atomic.Value // "local" or "remote"
	cancel   context.CancelFunc
	rtpStop  context.CancelFunc
	mu       sync.Mutex
}

func newCall(c *core, sipCallID string) *Call {
	return &Call{core: c, sipCallID: sipCallID, answered: make(chan struct{}), done: make(chan struct{}),
		cancel: func() {}, rtpStop: func() {}}
}

// Answered is closed when the call is answered (200 OK sent or received).
func (c *Call) Answered() <-chan struct{} { return c.answered }

// Done is closed when the call has ended (BYE, CANCEL or failure).
func (c *Call) Done() <-chan struct{} { return c.done }

// Code is the final SIP status of the INVITE, 0 before one.
func (c *Call) Code() int { return int(c.code.Load()) }

// EndedBy says who ended the call: "remote" (a BYE came in) or "local".
func (c *Call) EndedBy() string {
	s, _ := c.endedBy.Load().(string)
	return s
}

// RTPReceived returns how many RTP packets reached this call's endpoint.
func (c *Call) RTPReceived() int {
	c.mu.Lock()
	ep := c.ep
	c.mu.Unlock()
	if ep == nil {
		return 0
	}
	n, _ := ep.Received()
	return n
}

// StopRTP stops sending media (to provoke an RTP timeout).
func (c *Call) StopRTP() {
	c.mu.Lock()
	stop := c.rtpStop
	c.mu.Unlock()
	stop()
}

// Cancel gives up an outgoing call that is not answered (CANCEL).
func (c *Call) Cancel() { c.cancel() }

// Hangup sends BYE on an answered call; it returns nil if the call had
// already ended.
func (c *Call) Hangup(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	var err error
	switch {
	case c.uac != nil:
		err = c.uac.Bye(ctx)
	case c.uas != nil:
		err = c.uas.Bye(ctx)
	}
	c.end("local")
	if err != nil && c.byeRcvd.Load() {
		return nil // crossing BYEs
	}
	return err
}

func (c *Call) end(by string) {
	c.endOnce.Do(func() {
		c.endedBy.Store(by)
		c.cancel()
		c.mu.Lock()
		c.rtpStop()
		if c.ep != nil {
			_ = c.ep.Close()
		}
		c.mu.Unlock()
		c.core.mu.Lock()
		delete(c.core.calls, c.sipCallID)
		c.core.mu.Unlock()
		close(c.done)
	})
}

// startMedia opens the endpoint toward remote and sends the tone unless
// silent.
func (c *Call) startMedia(remote netip.AddrPort, silent bool) {
	c.mu.Lock()
	ep := c.ep
	c.mu.Unlock()
	ep.SetRemote(remote)
	if silent {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	c.mu.Lock()
	c.rtpStop = stop
	c.mu.Unlock()
	select {
	case <-c.done:
		stop()
		return
	default:
	}
	c.core.wg.Go(func() { _ = ep.SendTone(ctx, c.tone, c.pt) })
}

// openEndpoint creates the call's RTP endpoint on the core's IP.
func (c *Call) openEndpoint() error {
	ep, err := callbridge.NewEndpoint(c.core.addr.Addr())
	if err != nil {
		return fmt.Errorf("rtp endpoint: %w", err)
	}
	c.mu.Lock()
	c.ep = ep
	c.mu.Unlock()
	return nil
}

// answerIncoming answers an INVITE held in c.uas with our SDP after the
// offer, then starts media. It blocks until the ACK (or failure).
func (c *Call) answerIncoming(silent bool) error {
	offer, err := bsip.ParseSDP(c.uas.InviteRequest.Body())
	if err != nil {
		_ = c.uas.Respond(488, "Not Acceptable Here", nil)
		return err
	}
	if err := c.openEndpoint(); err != nil {
		_ = c.uas.Respond(500, "Server Internal Error", nil)
		return err
	}
	p, err := bsip.AnswerParams(offer, c.ep.LocalAddr(), nil, uint64(time.Now().UnixNano()>>8))
	if err != nil {
		_ = c.uas.Respond(488, "Not Acceptable Here", nil)
		return err
	}
	c.pt = p.Payloads[0]
	if err := c.uas.RespondSDP(bsip.BuildSDP(p)); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	c.code.Store(200)
	close(c.answered)
	c.startMedia(offer.RTP, silent)
	return nil
}

// waitCancelled reports whether the incoming INVITE was CANCELled (or the
// call ended) before d elapsed.
func (c *Call) waitCancelled(d time.Duration) bool {
	if d < 0 {
		<-c.uas.Context().Done()
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.uas.Context().Done():
		return true
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

// dial sends an INVITE to ruri (via dest) with our offer and waits for
// the answer in the background, answering 401/407 with user/password.
func (c *core) dial(ruri siplib.Uri, dest string, user, password string, tone callbridge.Tone, silent bool) (*Call, error) {
	req := siplib.NewRequest(siplib.INVITE, ruri)
	req.SetDestination(dest)
	from := siplib.FromHeader{Address: siplib.Uri{Scheme: "sip", User: c.user, Host: ruri.Host}, Params: siplib.NewParams()}
	from.Params.Add("tag", siplib.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&siplib.ToHeader{Address: siplib.Uri{Scheme: "sip", User: ruri.User, Host: ruri.Host}})
	req.AppendHeader(siplib.NewHeader("Content-Type", "application/sdp"))
	call := newCall(c, "")
	call.tone = tone
	if err := call.openEndpoint(); err != nil {
		return nil, err
	}
	req.SetBody(bsip.BuildSDP(bsip.OfferParams(call.ep.LocalAddr(), nil, uint64(time.Now().UnixNano()>>8))))
	ctx, cancel := context.WithCancel(context.Background())
	call.cancel = cancel
	sess, err := c.dua.WriteInvite(ctx, req)
	if err != nil {
		cancel()
		_ = call.ep.Close()
		return nil, fmt.Errorf("invite: %w", err)
	}
	call.uac = sess
	call.sipCallID = req.CallID().Value()
	c.add(call)
	c.wg.Go(func() {
		err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: user, Password: password})
		var de *sipgo.ErrDialogResponse
		switch {
		case err == nil:
		case errors.As(err, &de):
			call.code.Store(int32(de.Res.StatusCode))
			call.end("remote")
			return
		default:
			if res := sess.InviteResponse; res != nil && !res.IsProvisional() {
				call.code.Store(int32(res.StatusCode))
			}
			call.end("local")
			return
		}
		call.code.Store(int32(sess.InviteResponse.StatusCode))
		ans, err := bsip.ParseSDP(sess.InviteResponse.Body())
		if err == nil {
			call.pt, err = ans.ChooseCodec(nil)
		}
		_ = sess.Ack(context.Background())
		if err != nil {
			_ = sess.Bye(context.Background())
			call.end("local")
			return
		}
		close(call.answered)
		call.startMedia(ans.RTP, silent)
	})
	return call, nil
}

// hostPort formats an address for a SIP URI.
func hostPort(a netip.AddrPort) (string, int) {
	return a.Addr().String(), int(a.Port())
}
