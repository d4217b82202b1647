package sip_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qinqing/station/callbridge/sip"
	"github.com/qinqing/station/callbridge/sip/sipdemo"
	"github.com/qinqing/station/kiosk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	ext      = "201"
	extPW    = "pw-201"
	callee   = "+8613812345678"
	waitLong = 8 * time.Second
)

// recorder is a kiosk.CallObserver that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []kiosk.CallEvent
	ended  chan kiosk.CallEvent
}

func newRecorder() *recorder { return &recorder{ended: make(chan kiosk.CallEvent, 4)} }

func (r *recorder) CallEvent(ev kiosk.CallEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if ev.Kind == kiosk.EventEnded {
		r.ended <- ev
	}
}

func (r *recorder) kinds() []kiosk.CallEventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []kiosk.CallEventKind
	for _, ev := range r.events {
		k = append(k, ev.Kind)
	}
	return k
}

func (r *recorder) waitEnded(t *testing.T) kiosk.CallEvent {
	t.Helper()
	select {
	case ev := <-r.ended:
		// Exactly once: nothing more may follow.
		select {
		case again := <-r.ended:
			t.Fatalf("second EventEnded: %+v", again)
		case <-time.After(50 * time.Millisecond):
		}
		return ev
	case <-time.After(waitLong):
		t.Fatalf("no EventEnded; events so far: %v", r.kinds())
	}
	return kiosk.CallEvent{}
}

func (r *recorder) warnings() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var w []time.Duration
	for _, ev := range r.events {
		if ev.Kind == kiosk.EventWarning {
			w = append(w, ev.Remaining)
		}
	}
	return w
}

// fakeAuth is a kiosk.HandsetAuthorizer returning a fixed answer.
type fakeAuth struct {
	req kiosk.CallRequest
	err error

	mu    sync.Mutex
	asked []string
}

func (a *fakeAuth) AuthorizeHandset(ctx context.Context, ext, dialled string) (kiosk.CallRequest, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, ext+":"+dialled)
	return a.req, a.err
}

// set sets the answer. The bridge reads it from another goroutine, and the
// race detector cannot see that the test's INVITE comes after the write.
func (a *fakeAuth) set(req kiosk.CallRequest, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.req, a.err = req, err
}

type env struct {
	bridge *sip.Bridge
	trunk  *sipdemo.Trunk
	phone  *sipdemo.Phone
	auth   *fakeAuth
}

type envOpts struct {
	trunk   sipdemo.TrunkConfig
	phone   sipdemo.PhoneConfig
	cfg     func(*sip.Config)
	noPhone bool
	now     func() time.Time
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	trunk, err := sipdemo.NewTrunk(o.trunk, sipdemo.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { trunk.Close() })
	cfg := sip.Config{
		Listen:      []string{"udp:127.0.0.1:0", "tcp:127.0.0.1:0"},
		Extensions:  map[string]string{ext: extPW},
		Trunks:      []sip.Trunk{{Name: "gw", URI: trunk.URI(), User: o.trunk.User, Password: o.trunk.Password, DialPattern: "0{national}"}},
		RingTimeout: 2 * time.Second,
		RTPTimeout:  2 * time.Second,
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	auth := &fakeAuth{}
	b, err := sip.New(cfg, auth, sip.Opts{Now: o.now})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "Run returns nil after ctx ends")
		case <-time.After(waitLong):
			t.Error("Run did not return")
		}
	})
	<-b.Ready()
	require.NotEmpty(t, b.Addr("udp"))
	e := &env{bridge: b, trunk: trunk, auth: auth}
	if o.noPhone {
		return e
	}
	pc := o.phone
	pc.Ext, pc.Password, pc.Server = ext, extPW, b.Addr("udp")
	phone, err := sipdemo.NewPhone(pc, sipdemo.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { phone.Close() })
	code, err := phone.Register(context.Background())
	require.NoError(t, err)
	require.Equal(t, 200, code, "booth phone registers with digest")
	e.phone = phone
	return e
}

func (e *env) dial(t *testing.T, limit time.Duration, warnings ...time.Duration) *recorder {
	t.Helper()
	rec := newRecorder()
	err := e.bridge.Dial(context.Background(), kiosk.CallRequest{
		CallID: "call-1", Booth: kiosk.Booth{ID: "b1", Extension: ext}, Number: callee,
		Limit: limit, Warnings: warnings, Observer: rec,
	})
	require.NoError(t, err)
	return rec
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLong):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestClickToCallAnsweredCutAtLimit(t *testing.T) {
	e := newEnv(t, envOpts{trunk: sipdemo.TrunkConfig{RingDelay: 100 * time.Millisecond}})
	rec := e.dial(t, 1500*time.Millisecond, time.Second, 500*time.Millisecond)
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
	assert.Equal(t, kiosk.CauseLimit, ev.Cause)
	assert.Equal(t, 200, ev.SIPCode)
	assert.GreaterOrEqual(t, ev.Billsec, 1500*time.Millisecond, "billsec runs from the trunk's 200 OK to the cut")
	assert.Less(t, ev.Billsec, 3*time.Second)
	assert.GreaterOrEqual(t, ev.Duration, ev.Billsec)
	assert.Equal(t, []kiosk.CallEventKind{kiosk.EventBoothUp, kiosk.EventRinging, kiosk.EventAnswered,
		kiosk.EventWarning, kiosk.EventWarning, kiosk.EventEnded}, rec.kinds())
	assert.Equal(t, []time.Duration{time.Second, 500 * time.Millisecond}, rec.warnings())

	tc := e.trunk.Last()
	require.NotNil(t, tc)
	waitFor(t, tc.Done(), "trunk leg to end")
	assert.Equal(t, "remote", tc.EndedBy(), "the bridge BYEs the trunk at the limit")
	assert.Equal(t, "013812345678", tc.Invite.Recipient.User, "dial pattern 0{national}")
	assert.Contains(t, string(tc.Invite.Body()), "telephone-event/8000", "DTMF offered by default")
	assert.Greater(t, tc.RTPReceived(), 10, "the trunk hears the booth through the relay")
	pcall := e.phone.Current()
	require.NotNil(t, pcall)
	waitFor(t, pcall.Done(), "booth leg to end")
	assert.Equal(t, "remote", pcall.EndedBy(), "the bridge BYEs the booth at the limit")
	assert.Greater(t, pcall.RTPReceived(), 10, "the booth hears the trunk through the relay")
	ci := pcall.Invite.GetHeader("Call-Info")
	require.NotNil(t, ci)
	assert.Contains(t, ci.Value(), "answer-after=0")
	ai := pcall.Invite.GetHeader("Alert-Info")
	require.NotNil(t, ai)
	assert.Contains(t, ai.Value(), "info=alert-autoanswer")
	assert.Equal(t, 0, e.bridge.ActiveCalls())
}

func TestClickToCallTrunkFinalResponses(t *testing.T) {
	tests := []struct {
		name   string
		reject int
		disp   kiosk.Disposition
		cause  kiosk.EndCause
	}{
		{"busy 486", 486, kiosk.DispBusy, kiosk.CauseBusy},
		{"busy everywhere 600", 600, kiosk.DispBusy, kiosk.CauseBusy},
		{"decline 603", 603, kiosk.DispBusy, kiosk.CauseBusy},
		{"unavailable 503", 503, kiosk.DispFailed, kiosk.CauseFailed},
		{"not found 404", 404, kiosk.DispFailed, kiosk.CauseFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{trunk: sipdemo.TrunkConfig{RingDelay: 50 * time.Millisecond, Reject: tc.reject}})
			rec := e.dial(t, time.Minute)
			ev := rec.waitEnded(t)
			assert.Equal(t, tc.disp, ev.Disposition)
			assert.Equal(t, tc.cause, ev.Cause)
			assert.Equal(t, tc.reject, ev.SIPCode, "the trunk's SIP code is kept")
			assert.Zero(t, ev.Billsec)
			assert.NotContains(t, rec.kinds(), kiosk.EventAnswered)
			pcall := e.phone.Current()
			require.NotNil(t, pcall)
			waitFor(t, pcall.Done(), "booth leg to be released")
			assert.Equal(t, "remote", pcall.EndedBy(), "the booth is BYE'd")
		})
	}
}

func TestNoAnswer(t *testing.T) {
	e := newEnv(t, envOpts{
		trunk: sipdemo.TrunkConfig{NoAnswer: true},
		cfg:   func(c *sip.Config) { c.RingTimeout = 500 * time.Millisecond },
	})
	rec := e.dial(t, time.Minute)
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispNoAnswer, ev.Disposition)
	assert.Equal(t, kiosk.CauseNoAnswer, ev.Cause)
	assert.Zero(t, ev.Billsec)
	assert.Contains(t, rec.kinds(), kiosk.EventRinging)
	tc := e.trunk.Last()
	require.NotNil(t, tc)
	waitFor(t, tc.Done(), "trunk INVITE cancelled")
	assert.Equal(t, 487, tc.Code(), "the trunk's INVITE was CANCELled")
}

func TestHangupFromEachSide(t *testing.T) {
	tests := []struct {
		name  string
		trunk sipdemo.TrunkConfig
		cause kiosk.EndCause
	}{
		{"booth hangs up", sipdemo.TrunkConfig{}, kiosk.CauseCallerHangup},
		{"trunk hangs up", sipdemo.TrunkConfig{ByeAfter: 300 * time.Millisecond}, kiosk.CauseCalleeHangup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{trunk: tc.trunk})
			rec := e.dial(t, time.Minute)
			tcall := <-e.trunk.Calls()
			waitFor(t, tcall.Answered(), "trunk answer")
			pcall := e.phone.Current()
			if tc.cause == kiosk.CauseCallerHangup {
				time.Sleep(200 * time.Millisecond)
				require.NoError(t, pcall.Hangup(context.Background()))
			}
			ev := rec.waitEnded(t)
			assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
			assert.Equal(t, tc.cause, ev.Cause)
			assert.Positive(t, ev.Billsec)
			waitFor(t, tcall.Done(), "trunk leg ended")
			waitFor(t, pcall.Done(), "booth leg ended")
			if tc.cause == kiosk.CauseCallerHangup {
				assert.Equal(t, "remote", tcall.EndedBy(), "the trunk gets the BYE")
			} else {
				assert.Equal(t, "remote", pcall.EndedBy(), "the booth gets the BYE")
			}
		})
	}
}

func TestCrossingByes(t *testing.T) {
	e := newEnv(t, envOpts{})
	rec := e.dial(t, time.Minute)
	tcall := <-e.trunk.Calls()
	waitFor(t, tcall.Answered(), "trunk answer")
	pcall := e.phone.Current()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*sipdemo.Call{pcall, tcall} {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			errs[i] = c.Hangup(ctx)
		})
	}
	wg.Wait()
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
	assert.Contains(t, []kiosk.EndCause{kiosk.CauseCallerHangup, kiosk.CauseCalleeHangup}, ev.Cause)
	assert.NoError(t, errs[0], "booth's BYE answered 200")
	assert.NoError(t, errs[1], "trunk's BYE answered 200")
}

func TestTrunkWithoutTelephoneEvent(t *testing.T) {
	e := newEnv(t, envOpts{
		trunk: sipdemo.TrunkConfig{ByeAfter: 100 * time.Millisecond},
		cfg:   func(c *sip.Config) { c.Trunks[0].NoTelephoneEvent = true },
	})
	rec := e.dial(t, time.Minute)
	rec.waitEnded(t)
	tc := e.trunk.Last()
	require.NotNil(t, tc)
	body := string(tc.Invite.Body())
	assert.NotContains(t, body, "telephone-event", "DTMF left out of the offer")
	assert.Contains(t, body, "m=audio ")
	assert.NotContains(t, body, " 101", "no payload type 101 in the m= line")
}

func TestRTPTimeout(t *testing.T) {
	tests := []struct {
		name        string
		trunkSilent bool
		phoneSilent bool
	}{
		{"both legs silent", true, true},
		{"parent's leg silent", true, false},
		{"booth's leg silent", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{
				trunk: sipdemo.TrunkConfig{Silent: tc.trunkSilent},
				phone: sipdemo.PhoneConfig{Silent: tc.phoneSilent},
				cfg:   func(c *sip.Config) { c.RTPTimeout = 500 * time.Millisecond },
			})
			rec := e.dial(t, time.Minute)
			ev := rec.waitEnded(t)
			assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
			assert.Equal(t, kiosk.CauseRTPTimeout, ev.Cause)
			assert.GreaterOrEqual(t, ev.Billsec, 500*time.Millisecond)
		})
	}
}

func TestTrunkDigest(t *testing.T) {
	for _, code := range []int{401, 407} {
		t.Run(http(code), func(t *testing.T) {
			e := newEnv(t, envOpts{trunk: sipdemo.TrunkConfig{Challenge: code, User: "acct", Password: "trunk-secret", ByeAfter: 200 * time.Millisecond}})
			rec := e.dial(t, time.Minute)
			ev := rec.waitEnded(t)
			assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
			assert.Equal(t, kiosk.CauseCalleeHangup, ev.Cause)
			assert.Equal(t, 2, e.trunk.Invites(), "challenged once, then authorised")
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		e := newEnv(t, envOpts{
			trunk: sipdemo.TrunkConfig{Challenge: 407, User: "acct", Password: "trunk-secret"},
			cfg:   func(c *sip.Config) { c.Trunks[0].Password = "wrong" },
		})
		rec := e.dial(t, time.Minute)
		ev := rec.waitEnded(t)
		assert.Equal(t, kiosk.DispFailed, ev.Disposition)
		assert.Equal(t, 407, ev.SIPCode)
	})
}

func http(code int) string {
	if code == 401 {
		return "401 www-authenticate"
	}
	return "407 proxy-authenticate"
}

func TestDialUnregisteredBooth(t *testing.T) {
	e := newEnv(t, envOpts{noPhone: true})
	rec := e.dial(t, time.Minute)
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispFailed, ev.Disposition)
	assert.Equal(t, kiosk.CauseFailed, ev.Cause)
	assert.Equal(t, 0, e.trunk.Invites(), "no trunk call without a booth")
}

func TestDialInvalid(t *testing.T) {
	e := newEnv(t, envOpts{noPhone: true})
	err := e.bridge.Dial(context.Background(), kiosk.CallRequest{CallID: "x"})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	err = e.bridge.Hangup("nope", kiosk.CauseCallerHangup)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
}

func TestHandsetAnsweredAndLimit(t *testing.T) {
	e := newEnv(t, envOpts{trunk: sipdemo.TrunkConfig{RingDelay: 100 * time.Millisecond}})
	rec := newRecorder()
	e.auth.set(kiosk.CallRequest{CallID: "h-1", Number: callee, Limit: 800 * time.Millisecond, Observer: rec}, nil)
	pcall, err := e.phone.Dial("1")
	require.NoError(t, err)
	waitFor(t, pcall.Answered(), "booth hears 200 OK")
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
	assert.Equal(t, kiosk.CauseLimit, ev.Cause)
	assert.Equal(t, 200, ev.SIPCode)
	assert.GreaterOrEqual(t, ev.Billsec, 800*time.Millisecond)
	assert.Equal(t, []kiosk.CallEventKind{kiosk.EventRinging, kiosk.EventAnswered, kiosk.EventEnded}, rec.kinds())
	assert.Equal(t, []string{ext + ":1"}, e.auth.asked, "the authorizer maps the speed-dial digit")
	waitFor(t, pcall.Done(), "booth leg BYE'd")
	assert.Equal(t, "remote", pcall.EndedBy())
	assert.Greater(t, pcall.RTPReceived(), 5, "booth heard the trunk")
}

func TestHandsetDenied(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.auth.set(kiosk.CallRequest{}, &kiosk.Error{Code: kiosk.EDENIED, Message: "not approved", Reason: "contact_not_approved"})
	pcall, err := e.phone.Dial("+8613999999999")
	require.NoError(t, err)
	waitFor(t, pcall.Done(), "refusal")
	assert.Equal(t, 403, pcall.Code(), "unapproved number refused with 403")
	assert.Equal(t, 0, e.trunk.Invites(), "nothing reaches the trunk")
	assert.Equal(t, 0, e.bridge.ActiveCalls())
}

func TestHandsetBoothCancelsWhileRinging(t *testing.T) {
	e := newEnv(t, envOpts{trunk: sipdemo.TrunkConfig{NoAnswer: true}})
	rec := newRecorder()
	e.auth.set(kiosk.CallRequest{CallID: "h-2", Number: callee, Limit: time.Minute, Observer: rec}, nil)
	pcall, err := e.phone.Dial("2")
	require.NoError(t, err)
	tcall := <-e.trunk.Calls()
	require.Eventually(t, func() bool { return len(rec.kinds()) > 0 }, waitLong, 10*time.Millisecond, "ringing reported")
	pcall.Cancel()
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispCancelled, ev.Disposition)
	assert.Equal(t, kiosk.CauseCancelled, ev.Cause)
	waitFor(t, tcall.Done(), "trunk INVITE cancelled")
	assert.Equal(t, 487, tcall.Code(), "the bridge CANCELs the trunk")
	waitFor(t, pcall.Done(), "booth INVITE terminated")
	assert.Equal(t, 487, pcall.Code())
}

func TestHandsetUnauthenticated(t *testing.T) {
	e := newEnv(t, envOpts{})
	// A phone with the wrong password gets challenged and refused.
	bad, err := sipdemo.NewPhone(sipdemo.PhoneConfig{Ext: ext, Password: "wrong", Server: e.bridge.Addr("udp")}, sipdemo.Opts{})
	require.NoError(t, err)
	defer bad.Close()
	call, err := bad.Dial("1")
	require.NoError(t, err)
	waitFor(t, call.Done(), "refusal")
	assert.Equal(t, 407, call.Code(), "bad credentials stay challenged")
	assert.Empty(t, e.auth.asked, "the policy is not asked for strangers")
}

func TestCloseHangsUpCalls(t *testing.T) {
	e := newEnv(t, envOpts{})
	rec := e.dial(t, time.Minute)
	tcall := <-e.trunk.Calls()
	waitFor(t, tcall.Answered(), "trunk answer")
	require.NoError(t, e.bridge.Close())
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
	assert.Equal(t, kiosk.CauseShutdown, ev.Cause)
	waitFor(t, tcall.Done(), "trunk BYE'd")
	assert.Equal(t, "remote", tcall.EndedBy())
	assert.Equal(t, kiosk.HealthFault, e.bridge.Health().Status)
}
