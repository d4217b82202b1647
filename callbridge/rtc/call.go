package rtc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/qinqing/station/kiosk"
)

type evKind int

const (
	evMsg            evKind = iota // a signaling message from sess
	evAttached                     // sess reconnected
	evDetached                     // sess's channel closed
	evLost                         // sess was not heard from within ReconnectWindow
	evNewParent                    // a parent page of the contact opened while ringing
	evICE                          // leg's ICE connection state changed
	evPC                           // leg's PeerConnection state changed
	evMedia                        // leg received its first RTP packet
	evStart                        // Dial: find the pages, ring, offer to the screen
	evEnd                          // the call's context was cancelled
	evRingTimeout                  // Config.RingTimeout passed
	evSetupTimeout                 // Config.SetupTimeout passed
	evLimit                        // the call's limit was reached
	evWarn                         // the next of the call's warnings is due
	evRestartTimeout               // leg: its ICE restart did not bring the path back in time
	evRestartICE                   // RestartICE was called
	evPathCheck                    // leg: restartGrace after its ICE went disconnected
)

// maxQueued bounds the events waiting for a call's drain: past it, page
// messages are dropped (a page flooding the daemon), never the call's own
// events.
const maxQueued = 256

type event struct {
	kind evKind
	sess *session
	msg  Message
	leg  *leg
	ice  webrtc.ICEConnectionState
	pcs  webrtc.PeerConnectionState
}

// endErr is why a call ends; the first one wins.
type endErr struct {
	cause kiosk.EndCause
	disp  kiosk.Disposition // for calls that were never answered; "" = derive
}

func (e *endErr) Error() string { return "rtc: call ends: " + string(e.cause) }

// call is one video call. It has no goroutine of its own while it waits:
// events (page messages, pion's callbacks, timers) are queued by post and
// applied one at a time, in order, by drain, which runs on a goroutine
// started when the first event of a burst arrives and gone when the queue
// is empty (BENCHMARKS.md: goroutines per call). drain owns the fields
// marked "drain" and emits every event, so the observer sees them in
// order and EventEnded exactly once.
type call struct {
	b      *Bridge
	req    kiosk.CallRequest
	ctx    context.Context
	cancel context.CancelCauseFunc

	qmu      sync.Mutex
	queue    []event
	draining bool // a goroutine runs drain
	finished bool // drain is finishing the call: events are dropped

	toScreenAudio, toScreenVideo *forwardTrack
	toParentAudio, toParentVideo *forwardTrack
	screenLeg, parentLeg         atomic.Pointer[leg]

	// Guarded by b.mu.
	screen  *session
	parent  *session // the device that accepted
	ringing map[*session]bool

	// drain.
	start, setupStart, accepted, answered time.Time
	setup                                 time.Duration
	parentCodecs                          []webrtc.RTPCodecParameters
	ringT, setupT, limitT, warnT          *time.Timer
	warns                                 []warning

	statsMu   sync.Mutex
	pageStats map[pageKind]PageStats
}

// Dial implements kiosk.Dialer for video calls (req.Mode must be video):
// it rings every open parent page of req.Contact, offers to the kiosk
// screen of req.Booth and returns; progress goes to req.Observer, which
// receives exactly one EventEnded. EventRinging when the parent pages
// ring; EventAnswered when media flows both ways, with Setup measured from
// the moment the call could be set up (the parent accepted, or the screen
// answered its offer if that came later) to media both ways, so that
// ringing time is not counted;
// EventWarning at each of req.Warnings before req.Limit; EventEnded with
// Quality. No screen attached or no parent page open ends the call FAILED;
// a parent page of the contact already in a call ends it BUSY. Returns an
// EINVALID *kiosk.Error for a request that is not a video call, or
// ErrClosed after Close.
func (b *Bridge) Dial(ctx context.Context, req kiosk.CallRequest) error {
	if req.Mode != kiosk.ModeVideo {
		return kiosk.Errorf(kiosk.EINVALID, "rtc bridge places video calls, not %q", req.Mode)
	}
	if req.Observer == nil || req.CallID == "" {
		return kiosk.Errorf(kiosk.EINVALID, "call id and observer are required")
	}
	c := &call{
		b: b, req: req, start: b.now(), ringing: map[*session]bool{},
		toScreenAudio: newForwardTrack(webrtc.RTPCodecTypeAudio, "parent", &b.relayed),
		toScreenVideo: newForwardTrack(webrtc.RTPCodecTypeVideo, "parent", &b.relayed),
		toParentAudio: newForwardTrack(webrtc.RTPCodecTypeAudio, "kiosk", &b.relayed),
		toParentVideo: newForwardTrack(webrtc.RTPCodecTypeVideo, "kiosk", &b.relayed),
		pageStats:     map[pageKind]PageStats{},
	}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		c.cancel(nil)
		return ErrClosed
	}
	if _, dup := b.calls[req.CallID]; dup {
		b.mu.Unlock()
		c.cancel(nil)
		return kiosk.Errorf(kiosk.ECONFLICT, "call %s is already in progress", req.CallID)
	}
	b.calls[req.CallID] = c
	b.callWG.Add(1)
	// evStart is queued before any page can see the call.
	c.queue, c.draining = []event{{kind: evStart}}, true
	b.mu.Unlock()
	context.AfterFunc(c.ctx, func() { c.post(event{kind: evEnd}) })
	go c.drain()
	return nil
}

// Hangup implements kiosk.Dialer: it ends the call with cause. Returns an
// ENOTFOUND *kiosk.Error if no such call is in progress.
func (b *Bridge) Hangup(callID string, cause kiosk.EndCause) error {
	b.mu.Lock()
	c := b.calls[callID]
	b.mu.Unlock()
	if c == nil {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no call %s", callID)
	}
	c.end(cause)
	return nil
}

func (c *call) end(cause kiosk.EndCause) { c.cancel(&endErr{cause: cause}) }

// RestartICE asks both pages of an answered call for an ICE restart now,
// as the bridge does by itself for a leg whose media path went down
// (pathDown): for a technician's diagnostics and the end-to-end test of
// the pages' side. Each leg has at most maxICERestarts in a call. Errors:
// ENOTFOUND for no such call in progress.
func (b *Bridge) RestartICE(callID string) error {
	b.mu.Lock()
	c := b.calls[callID]
	b.mu.Unlock()
	if c == nil {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no video call %q in progress", callID)
	}
	c.post(event{kind: evRestartICE})
	return nil
}

func (c *call) fail(disp kiosk.Disposition, cause kiosk.EndCause) {
	c.cancel(&endErr{cause: cause, disp: disp})
}

// post queues an event for drain, starting drain if it is not running;
// it never blocks. Events after the call has ended are dropped.
func (c *call) post(ev event) {
	c.qmu.Lock()
	if c.finished || (ev.kind == evMsg && len(c.queue) >= maxQueued) {
		c.qmu.Unlock()
		return
	}
	c.queue = append(c.queue, ev)
	start := !c.draining
	c.draining = true
	c.qmu.Unlock()
	if start {
		go c.drain()
	}
}

// drain applies the queued events in order until the queue is empty, or,
// once the call's context is cancelled, drops them and finishes the call.
// Only one drain runs at a time (post starts it when none runs), so the
// fields marked "drain" need no lock; qmu orders one drain after the
// next. finish never runs on pion's goroutines or the leg's readers,
// which it waits for.
func (c *call) drain() {
	for {
		c.qmu.Lock()
		if c.ctx.Err() != nil {
			c.finished, c.queue = true, nil
			c.qmu.Unlock()
			c.finish()
			return
		}
		if len(c.queue) == 0 {
			c.draining, c.queue = false, nil
			c.qmu.Unlock()
			return
		}
		ev := c.queue[0]
		c.queue[0] = event{}
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		c.step(ev)
	}
}

// after posts an event of kind once d has passed; finish stops the timer.
func (c *call) after(d time.Duration, kind evKind) *time.Timer {
	return time.AfterFunc(d, func() { c.post(event{kind: kind}) })
}

type warning struct{ at, remaining time.Duration }

func (c *call) emit(ev kiosk.CallEvent) {
	ev.CallID = c.req.CallID
	ev.At = c.b.now()
	c.req.Observer.CallEvent(ev)
}

// sendTo sends m to the page of s, if attached.
func (c *call) sendTo(s *session, m Message) {
	m.Call = c.req.CallID
	c.b.mu.Lock()
	s.sendMsg(m)
	c.b.mu.Unlock()
}

// begin rings the parent pages and offers the screen leg (evStart).
func (c *call) begin() {
	b := c.b
	// A parent page whose link was revoked since it opened must not ring.
	b.checkLinks(c.req.Contact)

	b.mu.Lock()
	var screen *session
	var parents []*session
	busy := false
	for _, s := range b.sessions {
		switch {
		case s.kind == pageScreen && s.booth == c.req.Booth.ID && s.conn != nil && s.call == nil && s.audio == nil:
			if screen == nil || s.lastSeen.After(screen.lastSeen) {
				screen = s
			}
		case s.kind == pageParent && s.contact == c.req.Contact:
			if s.call != nil {
				busy = true
			} else if s.conn != nil {
				parents = append(parents, s)
			}
		}
	}
	switch {
	case screen == nil:
		b.mu.Unlock()
		b.log.Info("video call failed: no kiosk screen", "call", c.req.CallID, "booth", c.req.Booth.ID)
		c.fail(kiosk.DispFailed, kiosk.CauseFailed)
		return
	case busy:
		b.mu.Unlock()
		c.fail(kiosk.DispBusy, kiosk.CauseBusy)
		return
	case len(parents) == 0:
		b.mu.Unlock()
		b.log.Info("video call failed: parent page not open", "call", c.req.CallID)
		c.fail(kiosk.DispFailed, kiosk.CauseFailed)
		return
	}
	screen.call = c
	c.screen = screen
	for _, p := range parents {
		c.ringing[p] = true
		p.sendMsg(Message{Type: TypeRing, Call: c.req.CallID, Child: c.req.ChildName})
	}
	b.mu.Unlock()
	c.emit(kiosk.CallEvent{Kind: kiosk.EventRinging})

	sl, err := c.newLeg(pageScreen, b.codecs, c.toScreenAudio, c.toScreenVideo)
	if err != nil {
		b.log.Error("video call: screen leg", "call", c.req.CallID, "err", err)
		c.fail(kiosk.DispFailed, kiosk.CauseFailed)
		return
	}
	c.screenLeg.Store(sl)

	c.ringT = c.after(b.cfg.RingTimeout, evRingTimeout)
}

// step applies one event, then starts the setup timer once the call can
// be set up, and answers the call once media flows both ways: the limit
// and warning timers start then.
func (c *call) step(ev event) {
	b := c.b
	switch ev.kind {
	case evStart:
		c.begin()
	case evEnd:
		return // drain finishes the call
	case evRingTimeout:
		if c.accepted.IsZero() {
			c.fail(kiosk.DispNoAnswer, kiosk.CauseNoAnswer)
		}
	case evSetupTimeout:
		if c.answered.IsZero() {
			b.log.Info("video call: no media within setup timeout", "call", c.req.CallID)
			c.fail(kiosk.DispFailed, kiosk.CauseFailed)
		}
	case evLimit:
		c.end(kiosk.CauseLimit)
	case evRestartICE:
		if c.answered.IsZero() {
			return
		}
		for _, l := range []*leg{c.screenLeg.Load(), c.parentLeg.Load()} {
			if l != nil && c.ctx.Err() == nil {
				c.pathDown(l, webrtc.ICEConnectionState(l.ice.Load()), c.attached(l))
			}
		}
	case evPathCheck:
		ev.leg.graceT = nil
		if ev.leg.iceDown() {
			c.pathDown(ev.leg, webrtc.ICEConnectionState(ev.leg.ice.Load()), c.attached(ev.leg))
		}
	case evRestartTimeout:
		ev.leg.restartT = nil
		if ev.leg.iceDown() || ev.leg.isRestarting() {
			b.log.Info("video call: ICE restart did not bring the leg back", "call", c.req.CallID, "leg", string(ev.leg.kind))
			c.end(kiosk.CausePeerLost)
		}
	case evWarn:
		w := c.warns[0]
		c.warns = c.warns[1:]
		c.emit(kiosk.CallEvent{Kind: kiosk.EventWarning, Remaining: w.remaining})
		c.sendBoth(Message{Type: TypeWarning, RemainingMS: w.remaining.Milliseconds()})
		if len(c.warns) > 0 {
			c.warnT = c.after(c.warns[0].at-w.at, evWarn)
		}
	default:
		c.handle(ev)
	}
	if c.ctx.Err() != nil {
		return
	}
	if !c.accepted.IsZero() && c.ringT != nil {
		c.ringT.Stop()
		c.ringT = nil
	}
	if c.setupT == nil && !c.setupStart.IsZero() && c.answered.IsZero() {
		c.setupT = c.after(b.cfg.SetupTimeout, evSetupTimeout)
	}
	if !c.answered.IsZero() || !c.mediaBothWays() {
		return
	}
	c.answered = b.now()
	c.setup = c.answered.Sub(c.setupStart)
	if c.setupT != nil {
		c.setupT.Stop()
	}
	c.emit(kiosk.CallEvent{Kind: kiosk.EventAnswered, Setup: c.setup})
	b.log.Info("video call answered", "call", c.req.CallID, "setup", c.setup.Round(time.Millisecond).String())
	c.sendBoth(Message{Type: TypeConnected, LimitMS: c.req.Limit.Milliseconds(), RemainingMS: c.req.Limit.Milliseconds()})
	c.keyframe(c.screenLeg.Load())
	c.keyframe(c.parentLeg.Load())
	l := c.req.Limit
	if l <= 0 {
		return
	}
	c.limitT = c.after(l, evLimit)
	for _, w := range c.req.Warnings {
		if w > 0 && w < l {
			c.warns = append(c.warns, warning{at: l - w, remaining: w})
		}
	}
	slices.SortFunc(c.warns, func(a, b warning) int { return int(a.at - b.at) })
	if len(c.warns) > 0 {
		c.warnT = c.after(c.warns[0].at, evWarn)
	}
}

func (c *call) sendBoth(m Message) {
	c.b.mu.Lock()
	s, p := c.screen, c.parent
	c.b.mu.Unlock()
	c.sendTo(s, m)
	if p != nil {
		c.sendTo(p, m)
	}
}

func (c *call) mediaBothWays() bool {
	sl, pl := c.screenLeg.Load(), c.parentLeg.Load()
	return sl != nil && pl != nil && sl.gotMedia.Load() && pl.gotMedia.Load()
}

// handle applies one page or pion event; it runs on drain.
func (c *call) handle(ev event) {
	b := c.b
	b.mu.Lock()
	screen, parent, ringing := c.screen, c.parent, c.ringing[ev.sess]
	b.mu.Unlock()
	switch ev.kind {
	case evMsg:
		m := ev.msg
		switch {
		case ev.sess == screen:
			c.fromPage(c.screenLeg.Load(), pageScreen, m)
		case ev.sess == parent && parent != nil:
			c.fromPage(c.parentLeg.Load(), pageParent, m)
		case ringing && m.Type == TypeAccept:
			c.accept(ev.sess)
		case ringing && m.Type == TypeHangup && parent == nil:
			// The parent declined on one device: the call is refused.
			c.fail(kiosk.DispBusy, kiosk.CauseCalleeHangup)
		case ringing && parent != nil:
			c.sendTo(ev.sess, Message{Type: TypeBusy, Cause: CauseInCall})
		}
	case evNewParent:
		if ev.sess.contact != c.req.Contact {
			return
		}
		if parent != nil {
			c.sendTo(ev.sess, Message{Type: TypeBusy, Cause: CauseInCall})
			return
		}
		b.mu.Lock()
		c.ringing[ev.sess] = true
		b.mu.Unlock()
		c.sendTo(ev.sess, Message{Type: TypeRing, Child: c.req.ChildName})
	case evAttached:
		// A page came back within the reconnect window: tell it where
		// the call stands (messages sent while it was away are lost), and
		// restart ICE if its media path went down meanwhile (a phone that
		// changed networks comes back on the new one).
		if !c.answered.IsZero() && (ev.sess == screen || ev.sess == parent) {
			left := c.req.Limit - b.now().Sub(c.answered)
			c.sendTo(ev.sess, Message{Type: TypeConnected, LimitMS: c.req.Limit.Milliseconds(), RemainingMS: max(left, 0).Milliseconds()})
			l := c.legOf(ev.sess, screen, parent)
			switch {
			case l == nil:
			case l.isRestarting():
				// The restart offer may have gone down the old channel:
				// offer it again, if it is still unanswered.
				if sdp, ok := l.pendingRestart(); ok {
					c.sendTo(ev.sess, Message{Type: TypeOffer, SDP: sdp, Restart: true})
					c.armRestartTimeout(l)
				}
			case l.iceDown():
				c.pathDown(l, webrtc.ICEConnectionState(l.ice.Load()), true)
			}
		}
	case evDetached:
		if l := c.legOf(ev.sess, screen, parent); l != nil && l.iceDown() {
			c.end(kiosk.CausePeerLost)
		}
	case evLost:
		switch {
		case ev.sess == screen || ev.sess == parent:
			c.end(kiosk.CausePeerLost)
		case ringing:
			b.mu.Lock()
			delete(c.ringing, ev.sess)
			left := len(c.ringing)
			b.mu.Unlock()
			if left == 0 && parent == nil {
				c.fail(kiosk.DispFailed, kiosk.CausePeerLost)
			}
		}
	case evICE:
		l := ev.leg
		switch ev.ice {
		case webrtc.ICEConnectionStateFailed:
			c.pathDown(l, ev.ice, c.attached(l))
		case webrtc.ICEConnectionStateDisconnected:
			switch {
			case !c.attached(l):
				c.end(kiosk.CausePeerLost) // the page is gone
			case c.answered.IsZero() || l.isRestarting() || l.graceT != nil:
			default:
				// Consent checks go on: a short outage heals by itself,
				// and a restart would drop the path at once.
				l.graceT = time.AfterFunc(restartGrace, func() { c.post(event{kind: evPathCheck, leg: l}) })
			}
		}
	case evPC:
		switch ev.pcs {
		case webrtc.PeerConnectionStateClosed:
			c.end(kiosk.CausePeerLost)
		case webrtc.PeerConnectionStateFailed:
			// ICE failed (evICE restarts it, or has) or DTLS did.
			l := ev.leg
			saving := l.isRestarting() || (l.canRestart() && l.iceDown())
			if c.answered.IsZero() || !saving {
				c.end(kiosk.CausePeerLost)
			}
		}
	case evMedia:
		// mediaBothWays is checked after every event.
	}
}

// restartGrace is how long a leg's ICE connection may stay disconnected
// (no answer to consent checks for ICEDisconnectedTimeout already) before
// the daemon restarts ICE; a failed connection is restarted at once.
const restartGrace = 2 * time.Second

// attached reports whether l's page has its signaling channel.
func (c *call) attached(l *leg) bool {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	s := c.screen
	if l.kind == pageParent {
		s = c.parent
	}
	return s != nil && s.conn != nil
}

// armRestartTimeout gives l's ICE restart ReconnectWindow to bring the
// path back (evRestartTimeout).
func (c *call) armRestartTimeout(l *leg) {
	if l.restartT != nil {
		l.restartT.Stop()
	}
	l.restartT = time.AfterFunc(c.b.cfg.ReconnectWindow, func() { c.post(event{kind: evRestartTimeout, leg: l}) })
}

// pathDown handles a leg whose ICE connection failed, or stayed
// disconnected for restartGrace. Without the page's signaling the page is
// gone: the call ends as peer_lost. Before the call is answered a failure
// ends it (the path never worked). After, the daemon restarts ICE on the
// leg (leg.restartICE) and gives the restart ReconnectWindow to bring the
// path back (a restart already out is left to its own deadline); a
// failure once the restarts are used up ends the call.
func (c *call) pathDown(l *leg, st webrtc.ICEConnectionState, attached bool) {
	if l == nil {
		return
	}
	switch {
	case !attached:
		c.end(kiosk.CausePeerLost)
		return
	case c.answered.IsZero():
		if st == webrtc.ICEConnectionStateFailed {
			c.end(kiosk.CausePeerLost)
		}
		return
	case l.isRestarting():
		return
	}
	restarted, err := l.restartICE()
	if err != nil {
		c.b.log.Warn("video call: ICE restart", "call", c.req.CallID, "leg", string(l.kind), "err", err)
		c.end(kiosk.CausePeerLost)
		return
	}
	if restarted {
		c.b.log.Info("video call: media path down, ICE restarted", "call", c.req.CallID, "leg", string(l.kind), "ice", st.String())
		c.armRestartTimeout(l)
		return
	}
	if st == webrtc.ICEConnectionStateFailed {
		c.end(kiosk.CausePeerLost) // restarts used up
	}
}

func (c *call) legOf(s, screen, parent *session) *leg {
	switch {
	case s == screen:
		return c.screenLeg.Load()
	case s == parent && parent != nil:
		return c.parentLeg.Load()
	}
	return nil
}

// fromPage handles a message from the screen or the accepted parent page.
func (c *call) fromPage(l *leg, kind pageKind, m Message) {
	switch m.Type {
	case TypeAnswer:
		if l == nil {
			return
		}
		if st := l.pc.SignalingState(); st != webrtc.SignalingStateHaveLocalOffer {
			// An answer to an offer sent twice (a restart offer again
			// after the page reconnected): the first one was applied.
			c.b.log.Debug("video call: answer without an offer out", "call", c.req.CallID, "leg", string(kind), "state", st.String())
			return
		}
		if err := l.setAnswer(m.SDP); err != nil {
			c.b.log.Warn("video call: bad answer", "call", c.req.CallID, "leg", string(kind), "err", err)
			c.fail(kiosk.DispFailed, kiosk.CauseFailed)
			return
		}
		if kind == pageScreen && c.parentCodecs == nil {
			codecs, err := answeredCodecs(m.SDP, c.b.codecs)
			if err != nil {
				c.b.log.Warn("video call: screen answer codecs", "call", c.req.CallID, "err", err)
				c.fail(kiosk.DispFailed, kiosk.CauseFailed)
				return
			}
			c.parentCodecs = codecs
			c.startParent()
		}
	case TypeCandidate:
		if l != nil {
			l.addCandidate(m)
		}
	case TypeHangup:
		switch {
		case m.Cause == CausePageClosed:
			// The tab was closed or navigated away mid-call: the page
			// vanished, it did not hang up (issue: peer_lost). Saying so
			// ends the call at once instead of after the ICE timeout.
			c.end(kiosk.CausePeerLost)
		case kind == pageScreen:
			c.end(kiosk.CauseCallerHangup)
		default:
			c.end(kiosk.CauseCalleeHangup)
		}
	case TypeStats:
		if m.Stats != nil {
			c.statsMu.Lock()
			c.pageStats[kind] = *m.Stats
			c.statsMu.Unlock()
		}
	}
}

// accept makes s the parent of the call; the other ringing devices stop.
func (c *call) accept(s *session) {
	b := c.b
	b.mu.Lock()
	if c.parent != nil || s.call != nil {
		b.mu.Unlock()
		c.sendTo(s, Message{Type: TypeBusy, Cause: CauseInCall})
		return
	}
	c.parent = s
	s.call = c
	var others []*session
	for o := range c.ringing {
		if o != s {
			others = append(others, o)
		}
	}
	b.mu.Unlock()
	c.accepted = b.now()
	for _, o := range others {
		c.sendTo(o, Message{Type: TypeEnd, Cause: CauseAnsweredElsewhere})
	}
	c.startParent()
}

// startParent offers the parent leg once the parent accepted and the
// screen answered.
func (c *call) startParent() {
	if c.accepted.IsZero() || c.parentCodecs == nil || c.parentLeg.Load() != nil {
		return
	}
	c.setupStart = c.b.now()
	pl, err := c.newLeg(pageParent, c.parentCodecs, c.toParentAudio, c.toParentVideo)
	if err != nil {
		c.b.log.Error("video call: parent leg", "call", c.req.CallID, "err", err)
		c.fail(kiosk.DispFailed, kiosk.CauseFailed)
		return
	}
	c.parentLeg.Store(pl)
}

// answeredCodecs returns, for each media section of an answer to our
// offer, the first codec the answerer listed, as we offered it. The
// answerer sends with that codec, so it is what the other leg must carry.
func answeredCodecs(answer string, offered []webrtc.RTPCodecParameters) ([]webrtc.RTPCodecParameters, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		return nil, fmt.Errorf("parse answer: %w", err)
	}
	var out []webrtc.RTPCodecParameters
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Port.Value == 0 {
			continue // rejected section
		}
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			i := slices.IndexFunc(offered, func(c webrtc.RTPCodecParameters) bool { return int(c.PayloadType) == pt })
			if i >= 0 {
				if !slices.ContainsFunc(out, func(c webrtc.RTPCodecParameters) bool { return c.PayloadType == offered[i].PayloadType }) {
					out = append(out, offered[i])
				}
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("answer accepts none of the offered codecs")
	}
	return out, nil
}

// finish tears the call down: the pages are told why, quality is taken,
// both PeerConnections are closed, the sessions are freed, EventEnded.
func (c *call) finish() {
	b := c.b
	for _, t := range []*time.Timer{c.ringT, c.setupT, c.limitT, c.warnT} {
		if t != nil {
			t.Stop()
		}
	}
	for _, l := range []*leg{c.screenLeg.Load(), c.parentLeg.Load()} {
		if l != nil {
			for _, t := range []*time.Timer{l.graceT, l.restartT} {
				if t != nil {
					t.Stop()
				}
			}
		}
	}
	e, _ := context.Cause(c.ctx).(*endErr)
	if e == nil {
		e = &endErr{cause: kiosk.CauseFailed, disp: kiosk.DispFailed}
	}
	end := b.now()
	sl, pl := c.screenLeg.Load(), c.parentLeg.Load()
	q := &kiosk.CallQuality{Screen: sl.quality(), Parent: pl.quality()}
	c.statsMu.Lock()
	ps, pp := c.pageStats[pageScreen], c.pageStats[pageParent]
	c.statsMu.Unlock()
	q.Screen.FramesDecoded, q.Screen.Freezes = ps.FramesDecoded, ps.FreezeCount
	q.Parent.FramesDecoded, q.Parent.Freezes = pp.FramesDecoded, pp.FreezeCount

	msg := Message{Type: TypeEnd, Call: c.req.CallID, Cause: string(e.cause)}
	b.mu.Lock()
	delete(b.calls, c.req.CallID)
	if c.screen != nil {
		c.screen.sendMsg(msg)
		if c.screen.call == c {
			c.screen.call = nil
		}
	}
	if c.parent != nil && c.parent.call == c {
		c.parent.call = nil
	}
	for s := range c.ringing {
		s.sendMsg(msg)
	}
	b.mu.Unlock()
	sl.close()
	pl.close()

	ev := kiosk.CallEvent{Kind: kiosk.EventEnded, Cause: e.cause, Duration: end.Sub(c.start), Quality: q}
	switch {
	case !c.answered.IsZero():
		ev.Disposition = kiosk.DispAnswered
		ev.Billsec = end.Sub(c.answered)
		ev.Setup = c.setup
	case e.disp != "":
		ev.Disposition = e.disp
	case e.cause == kiosk.CauseCallerHangup:
		ev.Disposition, ev.Cause = kiosk.DispCancelled, kiosk.CauseCancelled
	case e.cause == kiosk.CausePeerLost || e.cause == kiosk.CauseCalleeHangup:
		ev.Disposition = kiosk.DispFailed
	default:
		ev.Disposition = kiosk.DispCancelled
	}
	b.log.Info("video call ended", "call", c.req.CallID, "disposition", string(ev.Disposition),
		"cause", string(ev.Cause), "billsec", ev.Billsec.Round(time.Millisecond).String())
	c.emit(ev)
	b.callWG.Done()
}
