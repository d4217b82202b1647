package sip

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/qinqing/station/callbridge"
	"github.com/qinqing/station/kiosk"
)

// leg is one SIP dialog of a call: the booth (LegA) or the trunk (LegB).
// Exactly one of uac (we sent the INVITE) and uas is set.
type leg struct {
	call      *call
	side      callbridge.Leg
	uac       *sipgo.DialogClientSession
	uas       *sipgo.DialogServerSession
	sipCallID string
	byeRcvd   atomic.Bool
	localSDP  []byte
	pt        uint8 // negotiated audio payload type
}

// endErr is why a call ends; it is the cause of the call's context. disp
// is set for failures before answer (BUSY, NO ANSWER, FAILED).
type endErr struct {
	disp  kiosk.Disposition
	cause kiosk.EndCause
	code  int
}

func (e *endErr) Error() string {
	return fmt.Sprintf("call ends: %s %s %d", e.disp, e.cause, e.code)
}

var errRingTimeout = errors.New("sip: ring timeout")

// call is one bridged call. Its goroutine (runClick or runHandset) owns
// the fields below ctx and emits every event, so observers see them in
// order and EventEnded once.
type call struct {
	b       *Bridge
	req     kiosk.CallRequest
	ext     string
	handset bool
	ctx     context.Context
	cancel  context.CancelCauseFunc
	sessID  uint64

	start, ring, answered time.Time
	booth, trunk          *leg
	boothOffer            Media
	relay                 *callbridge.Relay
	trunkIdx              int
	media                 kiosk.MediaLeg // the screen's headset leg (no booth phone), or nil
	inviteDone            chan struct{}
	inviteOnce            sync.Once
	code                  int // final SIP code of the trunk leg
}

// hangup asks the call to end; the first reason wins.
func (c *call) hangup(e *endErr) { c.cancel(e) }

func (c *call) emit(ev kiosk.CallEvent) {
	ev.CallID = c.req.CallID
	ev.At = c.b.now()
	c.req.Observer.CallEvent(ev)
}

// respondBooth sends the final response to a handset INVITE once.
func (c *call) respondBooth(code int, reason string) {
	c.inviteOnce.Do(func() {
		if c.handset && c.booth != nil {
			_ = c.booth.uas.Respond(code, reason, nil)
		}
		close(c.inviteDone)
	})
}

func (c *call) newRelay() error {
	r, err := callbridge.NewRelay(c.b.cfg.MediaIP, callbridge.RelayOpts{
		PortMin: c.b.cfg.RTPPortMin, PortMax: c.b.cfg.RTPPortMax, Now: c.b.now, Logger: c.b.log,
	})
	if err != nil {
		return fmt.Errorf("relay for call: %w", err)
	}
	c.relay = r
	r.Start()
	return nil
}

// runClick is a click-to-call: ring the booth phone with auto-answer
// hints, then the trunk.
func (c *call) runClick() {
	defer c.finish()
	if c.ext == "" {
		c.runScreen()
		return
	}
	bind, ok := c.b.reg.Lookup(c.ext)
	if !ok {
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	if err := c.newRelay(); err != nil {
		c.b.log.Error("click-to-call", "err", err)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	dua := c.b.dialogUA(bind.Transport)
	host := dua.ContactHDR.Address.Host
	req := siplib.NewRequest(siplib.INVITE, *bind.Contact.Clone())
	req.SetDestination(bind.Source)
	req.SetTransport(bind.Transport)
	from := siplib.FromHeader{DisplayName: "Qinqing", Address: siplib.Uri{Scheme: "sip", User: "kiosk", Host: host}, Params: siplib.NewParams()}
	from.Params.Add("tag", siplib.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&siplib.ToHeader{Address: siplib.Uri{Scheme: "sip", User: c.ext, Host: host}})
	req.AppendHeader(siplib.NewHeader("Call-Info", "<sip:"+host+">;answer-after=0"))
	req.AppendHeader(siplib.NewHeader("Alert-Info", "<http://localhost/auto>;info=alert-autoanswer"))
	req.AppendHeader(siplib.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(BuildSDP(OfferParams(c.relay.LocalAddr(callbridge.LegA), nil, c.sessID)))
	sess, err := dua.WriteInvite(c.ctx, req)
	if err != nil {
		c.b.log.Error("invite booth phone", "ext", c.ext, "err", err)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	c.booth = &leg{call: c, side: callbridge.LegA, uac: sess, sipCallID: req.CallID().Value(), localSDP: req.Body()}
	c.b.addLeg(c.booth)
	ringCtx, cancel := context.WithTimeoutCause(c.ctx, c.b.cfg.RingTimeout, errRingTimeout)
	err = sess.WaitAnswer(ringCtx, sipgo.AnswerOptions{})
	cancel()
	if err != nil {
		if res := sess.InviteResponse; res != nil && res.IsSuccess() {
			c.ackBye(sess)
		}
		code := 0
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			code = de.Res.StatusCode
		}
		c.b.log.Info("booth phone did not answer", "ext", c.ext, "code", code)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	ans, err := ParseSDP(sess.InviteResponse.Body())
	var pt uint8
	if err == nil {
		pt, err = ans.ChooseCodec(nil)
	}
	if err != nil {
		c.b.log.Warn("booth phone answer sdp", "ext", c.ext, "err", err)
		c.ackBye(sess)
		c.booth.byeRcvd.Store(true)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	c.booth.pt = pt
	c.relay.SetRemote(callbridge.LegA, ans.RTP)
	if err := sess.Ack(c.ctx); err != nil {
		c.b.log.Warn("ack booth phone", "err", err)
	}
	c.emit(kiosk.CallEvent{Kind: kiosk.EventBoothUp})
	if !c.callTrunk() {
		return
	}
	c.supervise()
}

// runScreen is a click-to-call from a booth without a phone: the kiosk
// screen's headset leg (WebRTC, G.711) is the child's leg, then the
// trunk. If the screen vanishes the call ends with cause peer_lost.
func (c *call) runScreen() {
	sa := c.b.screenAudio()
	if sa == nil {
		c.b.log.Warn("click-to-call: booth has no phone and no screen audio", "booth", c.req.Booth.ID)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	if err := c.newRelay(); err != nil {
		c.b.log.Error("click-to-call", "err", err)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.b.cfg.ScreenTimeout)
	m, err := sa.OpenAudio(ctx, c.req.Booth.ID, c.req.CallID)
	cancel()
	if err != nil {
		if c.ctx.Err() == nil {
			c.b.log.Info("kiosk screen headset leg failed", "booth", c.req.Booth.ID, "err", err)
			c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		}
		return
	}
	c.media = m
	c.booth = &leg{call: c, side: callbridge.LegA, pt: m.PayloadType()}
	c.relay.SetRemote(callbridge.LegA, m.RTPAddr())
	m.SetRemote(c.relay.LocalAddr(callbridge.LegA))
	c.b.wg.Go(func() {
		select {
		case <-m.Done():
			c.hangup(&endErr{cause: kiosk.CausePeerLost})
		case <-c.ctx.Done():
		}
	})
	c.emit(kiosk.CallEvent{Kind: kiosk.EventBoothUp})
	if !c.callTrunk() {
		return
	}
	c.supervise()
}

// runHandset is a call dialled on the booth phone: its INVITE is in
// c.booth.uas; call the trunk and answer the booth when the trunk does.
func (c *call) runHandset() {
	defer c.finish()
	uas := c.booth.uas
	go func() {
		// A CANCEL from the booth ends the dialog's context before answer.
		select {
		case <-uas.Context().Done():
			if uas.LoadState() < siplib.DialogStateEstablished || errors.Is(context.Cause(uas.Context()), siplib.ErrTransactionCanceled) {
				c.hangup(&endErr{disp: kiosk.DispCancelled, cause: kiosk.CauseCancelled})
			}
		case <-c.ctx.Done():
		}
	}()
	if err := c.newRelay(); err != nil {
		c.b.log.Error("handset call", "err", err)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return
	}
	c.relay.SetRemote(callbridge.LegA, c.boothOffer.RTP)
	if !c.callTrunk() {
		return
	}
	params, err := AnswerParams(c.boothOffer, c.relay.LocalAddr(callbridge.LegA), c.codecPreference(), c.sessID)
	if err != nil {
		params, _ = AnswerParams(c.boothOffer, c.relay.LocalAddr(callbridge.LegA), nil, c.sessID)
	}
	c.booth.pt = params.Payloads[0]
	body := BuildSDP(params)
	c.booth.localSDP = body
	c.inviteOnce.Do(func() {
		err = uas.RespondSDP(body)
		close(c.inviteDone)
	})
	if err != nil {
		c.b.log.Warn("answer booth phone", "err", err)
		c.hangup(&endErr{cause: kiosk.CauseCallerHangup})
	}
	c.supervise()
}

// codecPreference puts the trunk leg's codec first, so that the relay
// does not have to transcode.
func (c *call) codecPreference() []string {
	if c.trunk == nil {
		return nil
	}
	if c.trunk.pt == PTPCMA {
		return []string{"PCMA"}
	}
	return []string{"PCMU"}
}

// callTrunk INVITEs the trunk and waits for its answer. It returns false
// when the call ended instead (the reason is in c.ctx).
func (c *call) callTrunk() bool {
	idx, ok := c.b.acquireTrunk()
	if !ok {
		c.b.log.Warn("no free trunk line")
		c.code = 503
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed, code: 503})
		return false
	}
	c.trunkIdx = idx
	t := c.b.cfg.Trunks[idx]
	user, err := ExpandDialPattern(t.DialPattern, c.req.Number, c.b.cfg.CountryCode)
	if err != nil {
		c.b.log.Warn("dial pattern", "trunk", t.Name, "err", err)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return false
	}
	var ruri siplib.Uri
	_ = siplib.ParseUri(t.URI, &ruri) // checked in New
	ruri.User = user
	transport := "udp"
	if ruri.UriParams != nil {
		if tr, ok := ruri.UriParams.Get("transport"); ok {
			transport = tr
		}
	}
	dua := c.b.dialogUA(transport)
	req := siplib.NewRequest(siplib.INVITE, ruri)
	req.SetTransport(transport)
	fromUser := t.User
	if fromUser == "" {
		fromUser = "kiosk"
	}
	from := siplib.FromHeader{Address: siplib.Uri{Scheme: "sip", User: fromUser, Host: ruri.Host}, Params: siplib.NewParams()}
	from.Params.Add("tag", siplib.GenerateTagN(16))
	req.AppendHeader(&from)
	req.AppendHeader(&siplib.ToHeader{Address: siplib.Uri{Scheme: "sip", User: user, Host: ruri.Host}})
	req.AppendHeader(siplib.NewHeader("Content-Type", "application/sdp"))
	codecs := t.Codecs
	if c.booth != nil && (c.booth.uac != nil || c.media != nil) {
		// Click-to-call: the booth's codec first, to avoid transcoding.
		codecs = preferCodec(codecs, c.booth.pt)
	}
	offer := OfferParams(c.relay.LocalAddr(callbridge.LegB), codecs, c.sessID)
	if t.NoTelephoneEvent {
		offer.TelephoneEvent = -1
	}
	body := BuildSDP(offer)
	req.SetBody(body)
	sess, err := dua.WriteInvite(c.ctx, req)
	if err != nil {
		c.b.log.Error("invite trunk", "trunk", t.Name, "err", maskDialled(err, user, c.req.Number))
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		return false
	}
	c.trunk = &leg{call: c, side: callbridge.LegB, uac: sess, sipCallID: req.CallID().Value(), localSDP: body}
	c.b.addLeg(c.trunk)
	ringCtx, cancel := context.WithTimeoutCause(c.ctx, c.b.cfg.RingTimeout, errRingTimeout)
	defer cancel()
	// sipgo CANCELs when its context ends, but only after a provisional
	// response (RFC 3261 section 9.1); without one it waits for Timer B
	// (32 s). So the wait ends with sipgo's forced cancel when nothing at
	// all came back, at the ring timeout, the call's end or TrunkTimeout.
	var heard, silent atomic.Bool
	waitCtx, stopWait := context.WithCancelCause(context.Background())
	defer stopWait(nil)
	forced := func(cause error) error {
		if heard.Load() {
			return cause
		}
		return sipgo.WaitAnswerForceCancelErr
	}
	defer context.AfterFunc(ringCtx, func() { stopWait(forced(context.Cause(ringCtx))) })()
	quiet := time.AfterFunc(c.b.cfg.TrunkTimeout, func() {
		if !heard.Load() {
			silent.Store(true)
			stopWait(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer quiet.Stop()
	err = sess.WaitAnswer(waitCtx, sipgo.AnswerOptions{
		Username: t.User, Password: t.Password,
		OnResponse: func(res *siplib.Response) error {
			heard.Store(true)
			if (res.StatusCode == 180 || res.StatusCode == 183) && c.ring.IsZero() {
				c.ring = c.b.now()
				c.emit(kiosk.CallEvent{Kind: kiosk.EventRinging})
				if c.handset {
					_ = c.booth.uas.Respond(180, "Ringing", nil)
				}
			}
			return nil
		},
	})
	if err != nil {
		if res := sess.InviteResponse; res != nil && res.IsSuccess() {
			// The trunk's 200 OK crossed our CANCEL: ACK, then BYE.
			c.code = res.StatusCode
			c.ackBye(sess)
			c.trunk.byeRcvd.Store(true)
		}
		var de *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &de):
			c.code = de.Res.StatusCode
			disp := kiosk.DispFailed
			cause := kiosk.CauseFailed
			switch c.code {
			case 486, 600, 603:
				disp, cause = kiosk.DispBusy, kiosk.CauseBusy
			}
			c.hangup(&endErr{disp: disp, cause: cause, code: c.code})
		case c.ctx.Err() != nil:
			// Ended by the booth, Hangup or Close; the cause is set.
		case errors.Is(context.Cause(ringCtx), errRingTimeout):
			c.hangup(&endErr{disp: kiosk.DispNoAnswer, cause: kiosk.CauseNoAnswer})
		case silent.Load():
			c.b.log.Warn("trunk sent no response to the INVITE", "trunk", t.Name, "timeout", c.b.cfg.TrunkTimeout.String())
			c.code = 408
			c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed, code: 408})
		default:
			c.b.log.Warn("trunk invite", "trunk", t.Name, "err", maskDialled(err, user, c.req.Number))
			c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed})
		}
		return false
	}
	c.code = sess.InviteResponse.StatusCode
	ans, err := ParseSDP(sess.InviteResponse.Body())
	var pt uint8
	if err == nil {
		pt, err = ans.ChooseCodec(t.Codecs)
	}
	if err != nil {
		c.b.log.Warn("trunk answer sdp", "trunk", t.Name, "err", err)
		c.ackBye(sess)
		c.trunk.byeRcvd.Store(true)
		c.hangup(&endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed, code: 488})
		return false
	}
	c.trunk.pt = pt
	c.relay.SetRemote(callbridge.LegB, ans.RTP)
	if err := sess.Ack(c.ctx); err != nil {
		c.b.log.Warn("ack trunk", "err", err)
	}
	c.answered = c.b.now()
	c.emit(kiosk.CallEvent{Kind: kiosk.EventAnswered})
	c.b.log.Info("call answered", "call", c.req.CallID, "trunk", t.Name)
	return true
}

// maskDialled is err's text for the log with the number masked: sipgo
// quotes whole request lines and responses in some errors ("fail to write
// request on init req=...", "resp=..."), and their request-URI and To
// header hold the number dialled (user, from number).
func maskDialled(err error, user, number string) string {
	s := err.Error()
	masked := kiosk.MaskPhone(number)
	for _, n := range []string{number, strings.TrimPrefix(number, "+"), user} {
		if len(n) >= 7 {
			s = strings.ReplaceAll(s, n, masked)
		}
	}
	return s
}

func preferCodec(codecs []string, pt uint8) []string {
	if len(codecs) == 0 {
		codecs = []string{"PCMU", "PCMA"}
	}
	name := "PCMU"
	if pt == PTPCMA {
		name = "PCMA"
	}
	out := []string{}
	for _, c := range codecs {
		if c == name {
			out = append([]string{c}, out...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// ackBye ends a dialog whose 2xx we do not want.
func (c *call) ackBye(sess *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := sess.Ack(ctx); err != nil {
		c.b.log.Debug("ack unwanted answer", "err", err)
	}
	if err := sess.Bye(ctx); err != nil {
		c.b.log.Debug("bye unwanted answer", "err", err)
	}
}

// supervise runs an answered call: warnings, the limit and the RTP
// timeout, until something ends it.
func (c *call) supervise() {
	// Each leg hears its own G.711 law, whatever the other one chose.
	c.relay.SetPayloadType(callbridge.LegA, c.booth.pt)
	c.relay.SetPayloadType(callbridge.LegB, c.trunk.pt)
	type warn struct {
		at        time.Duration // after answer
		remaining time.Duration
	}
	var warns []warn
	var limitC <-chan time.Time
	if l := c.req.Limit; l > 0 {
		lt := time.NewTimer(l)
		defer lt.Stop()
		limitC = lt.C
		for _, w := range c.req.Warnings {
			if w > 0 && w < l {
				warns = append(warns, warn{at: l - w, remaining: w})
			}
		}
		slices.SortFunc(warns, func(a, b warn) int { return int(a.at - b.at) })
	}
	var warnC <-chan time.Time
	var wt *time.Timer
	if len(warns) > 0 {
		wt = time.NewTimer(warns[0].at)
		defer wt.Stop()
		warnC = wt.C
	}
	tick := min(max(c.b.cfg.RTPTimeout/4, 20*time.Millisecond), time.Second)
	rtpT := time.NewTicker(tick)
	defer rtpT.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-limitC:
			c.hangup(&endErr{cause: kiosk.CauseLimit})
		case <-warnC:
			w := warns[0]
			warns = warns[1:]
			c.emit(kiosk.CallEvent{Kind: kiosk.EventWarning, Remaining: w.remaining})
			c.relay.PlayTone(callbridge.LegA, callbridge.WarningTone, c.booth.pt)
			if len(warns) > 0 {
				wt.Reset(warns[0].at - w.at)
			} else {
				warnC = nil
			}
		case <-rtpT.C:
			now := c.b.now()
			// Either leg silent for RTPTimeout ends the call: a trunk or
			// gateway that lost the parent's side without a BYE must not
			// keep counting the child's minutes.
			silent := max(c.relay.SinceLastMediaFrom(callbridge.LegA, now), c.relay.SinceLastMediaFrom(callbridge.LegB, now))
			if now.Sub(c.answered) >= c.b.cfg.RTPTimeout && silent >= c.b.cfg.RTPTimeout {
				c.hangup(&endErr{cause: kiosk.CauseRTPTimeout})
			}
		}
	}
}

// finish tears the call down: BYE (or final response) to each leg that
// did not end by itself, relay closed, trunk line freed, EventEnded.
func (c *call) finish() {
	<-c.ctx.Done() // every path out of run has set a cause
	e, _ := context.Cause(c.ctx).(*endErr)
	if e == nil {
		e = &endErr{disp: kiosk.DispFailed, cause: kiosk.CauseFailed}
	}
	if c.handset {
		code, reason := 503, "Service Unavailable"
		switch e.disp {
		case kiosk.DispBusy:
			code, reason = 486, "Busy Here"
		case kiosk.DispNoAnswer:
			code, reason = 480, "Temporarily Unavailable"
		case kiosk.DispCancelled:
			code, reason = 487, "Request Terminated"
		case kiosk.DispFailed:
			if e.code >= 400 && e.code != 401 && e.code != 407 {
				code, reason = e.code, "Call Failed"
			}
		}
		c.respondBooth(code, reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	var wg sync.WaitGroup
	for _, l := range []*leg{c.booth, c.trunk} {
		if l == nil || l.byeRcvd.Load() {
			continue
		}
		wg.Go(func() { l.bye(ctx) })
	}
	wg.Wait()
	cancel()
	if c.media != nil {
		_ = c.media.Close()
	}
	if c.relay != nil {
		_ = c.relay.Close()
	}
	if c.trunkIdx >= 0 {
		c.b.releaseTrunk(c.trunkIdx)
	}
	c.b.forget(c)
	end := c.b.now()
	ev := kiosk.CallEvent{Kind: kiosk.EventEnded, Cause: e.cause, SIPCode: c.code, Duration: end.Sub(c.start)}
	// A headset leg (callbridge/rtc) measures its quality from RTCP; the
	// trunk leg's plain RTP has none.
	if m, ok := c.media.(interface{ Quality() kiosk.LegQuality }); ok {
		ev.Quality = &kiosk.CallQuality{Screen: m.Quality()}
	}
	if e.code != 0 {
		ev.SIPCode = e.code
	}
	switch {
	case !c.answered.IsZero():
		ev.Disposition = kiosk.DispAnswered
		ev.Billsec = end.Sub(c.answered)
	case e.disp != "":
		ev.Disposition = e.disp
	default:
		ev.Disposition = kiosk.DispCancelled
		if e.cause == kiosk.CauseCallerHangup {
			ev.Cause = kiosk.CauseCancelled
		}
	}
	c.b.log.Info("call ended", "call", c.req.CallID, "disposition", string(ev.Disposition),
		"cause", string(ev.Cause), "sip_code", ev.SIPCode, "billsec", ev.Billsec.Round(time.Millisecond).String())
	c.emit(ev)
}

// bye ends the leg's dialog if it is up; an early or unanswered INVITE
// was already CANCELled by WaitAnswer.
func (l *leg) bye(ctx context.Context) {
	var err error
	switch {
	case l.uac != nil:
		if l.uac.LoadState() < siplib.DialogStateConfirmed {
			return
		}
		err = l.uac.Bye(ctx)
	case l.uas != nil:
		if l.uas.LoadState() < siplib.DialogStateEstablished {
			return
		}
		err = l.uas.Bye(ctx)
	}
	if err != nil && !l.byeRcvd.Load() {
		l.call.b.log.Debug("bye", "leg", l.side.String(), "err", err)
	}
}
