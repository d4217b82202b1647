package sip_test

import (
	"context"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/qinqing/station/callbridge"

	"github.com/qinqing/station/callbridge/sip/sipdemo"
	"github.com/qinqing/station/kiosk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeScreen is a kiosk.ScreenAudio whose headset legs are RTP endpoints
// that "talk" (a tone) once they know where to send.
type fakeScreen struct {
	pt      uint8
	missing bool // no screen at the booth

	mu     sync.Mutex
	legs   []*fakeLeg
	booths []string
}

func (f *fakeScreen) OpenAudio(ctx context.Context, booth, callID string) (kiosk.MediaLeg, error) {
	f.mu.Lock()
	f.booths = append(f.booths, booth+"/"+callID)
	f.mu.Unlock()
	if f.missing {
		return nil, kiosk.Errorf(kiosk.ENOTFOUND, "no kiosk screen at booth %s", booth)
	}
	ep, err := callbridge.NewEndpoint(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &fakeLeg{ep: ep, pt: f.pt, done: make(chan struct{}), ctx: ctx, cancel: cancel}
	f.mu.Lock()
	f.legs = append(f.legs, l)
	f.mu.Unlock()
	return l, nil
}

func (f *fakeScreen) leg(t *testing.T) *fakeLeg {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.legs, 1, "one headset leg opened")
	return f.legs[0]
}

type fakeLeg struct {
	ep     *callbridge.Endpoint
	pt     uint8
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
}

func (l *fakeLeg) RTPAddr() netip.AddrPort { return l.ep.LocalAddr() }
func (l *fakeLeg) PayloadType() uint8      { return l.pt }
func (l *fakeLeg) Done() <-chan struct{}   { return l.done }

func (l *fakeLeg) SetRemote(a netip.AddrPort) {
	l.ep.SetRemote(a)
	l.wg.Go(func() { _ = l.ep.SendTone(l.ctx, callbridge.DemoTone, l.pt) })
}

func (l *fakeLeg) Close() error {
	l.once.Do(func() {
		l.cancel()
		l.wg.Wait()
		_ = l.ep.Close()
		close(l.done)
	})
	return nil
}

func (l *fakeLeg) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *fakeLeg) received() int {
	n, _ := l.ep.Received()
	return n
}

func newScreenEnv(t *testing.T, trunk sipdemo.TrunkConfig, screen *fakeScreen) *env {
	t.Helper()
	e := newEnv(t, envOpts{trunk: trunk, noPhone: true})
	if screen != nil {
		e.bridge.SetScreenAudio(screen)
	}
	return e
}

func dialScreen(t *testing.T, e *env, limit time.Duration, warnings ...time.Duration) *recorder {
	t.Helper()
	rec := newRecorder()
	err := e.bridge.Dial(context.Background(), kiosk.CallRequest{
		CallID: "call-1", Booth: kiosk.Booth{ID: "b1"}, Number: callee,
		Limit: limit, Warnings: warnings, Observer: rec,
	})
	require.NoError(t, err, "a booth without a phone may dial")
	return rec
}

var firstAudioPT = regexp.MustCompile(`m=audio \d+ RTP/AVP (\d+)`)

func TestScreenHeadsetCallAnswered(t *testing.T) {
	for _, tc := range []struct {
		name string
		pt   uint8
		want string // first payload type offered to the trunk
	}{
		{"PCMU", callbridge.PayloadTypePCMU, "0"},
		{"PCMA", callbridge.PayloadTypePCMA, "8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			screen := &fakeScreen{pt: tc.pt}
			e := newScreenEnv(t, sipdemo.TrunkConfig{RingDelay: 100 * time.Millisecond}, screen)
			rec := dialScreen(t, e, 1500*time.Millisecond, 500*time.Millisecond)
			ev := rec.waitEnded(t)
			assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
			assert.Equal(t, kiosk.CauseLimit, ev.Cause)
			assert.Equal(t, 200, ev.SIPCode)
			assert.GreaterOrEqual(t, ev.Billsec, 1500*time.Millisecond)
			assert.Equal(t, []kiosk.CallEventKind{kiosk.EventBoothUp, kiosk.EventRinging, kiosk.EventAnswered,
				kiosk.EventWarning, kiosk.EventEnded}, rec.kinds())
			assert.Equal(t, []string{"b1/call-1"}, screen.booths, "the booth's screen is asked for the call")

			leg := screen.leg(t)
			assert.True(t, leg.closed(), "the headset leg is closed when the call ends")
			assert.Greater(t, leg.received(), 10, "the child hears the parent through the relay")
			tc2 := e.trunk.Last()
			require.NotNil(t, tc2)
			waitFor(t, tc2.Done(), "trunk leg to end")
			assert.Equal(t, "remote", tc2.EndedBy(), "the bridge BYEs the trunk at the limit")
			assert.Greater(t, tc2.RTPReceived(), 10, "the parent hears the child through the relay")
			m := firstAudioPT.FindStringSubmatch(string(tc2.Invite.Body()))
			require.Len(t, m, 2, "an audio offer to the trunk")
			assert.Equal(t, tc.want, m[1], "the headset's codec first, so nothing is transcoded")
			assert.Equal(t, 0, e.bridge.ActiveCalls())
		})
	}
}

func TestScreenHeadsetWarningTone(t *testing.T) {
	// A silent parent: whatever reaches the child's ear is the warning tone.
	screen := &fakeScreen{pt: callbridge.PayloadTypePCMU}
	e := newScreenEnv(t, sipdemo.TrunkConfig{RingDelay: 50 * time.Millisecond, Silent: true}, screen)
	rec := dialScreen(t, e, time.Second, 600*time.Millisecond)
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.CauseLimit, ev.Cause)
	assert.Equal(t, []time.Duration{600 * time.Millisecond}, rec.warnings())
	assert.Greater(t, screen.leg(t).received(), 5, "the warning tone is played into the headset leg")
}

func TestScreenHeadsetFailures(t *testing.T) {
	tests := []struct {
		name   string
		screen *fakeScreen
	}{
		{"no screen connected", &fakeScreen{missing: true}},
		{"no screen audio configured", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newScreenEnv(t, sipdemo.TrunkConfig{}, tc.screen)
			rec := dialScreen(t, e, time.Minute)
			ev := rec.waitEnded(t)
			assert.Equal(t, kiosk.DispFailed, ev.Disposition)
			assert.Equal(t, kiosk.CauseFailed, ev.Cause)
			assert.Equal(t, []kiosk.CallEventKind{kiosk.EventEnded}, rec.kinds())
			assert.Equal(t, 0, e.trunk.Invites(), "no trunk call without the child's leg")
		})
	}
}

func TestScreenHeadsetVanishes(t *testing.T) {
	screen := &fakeScreen{pt: callbridge.PayloadTypePCMU}
	e := newScreenEnv(t, sipdemo.TrunkConfig{RingDelay: 50 * time.Millisecond}, screen)
	rec := newRecorder()
	answered := make(chan struct{})
	var once sync.Once
	obs := observerFunc(func(ev kiosk.CallEvent) {
		if ev.Kind == kiosk.EventAnswered {
			once.Do(func() { close(answered) })
		}
		rec.CallEvent(ev)
	})
	require.NoError(t, e.bridge.Dial(context.Background(), kiosk.CallRequest{
		CallID: "call-1", Booth: kiosk.Booth{ID: "b1"}, Number: callee, Limit: time.Minute, Observer: obs,
	}))
	waitFor(t, answered, "answer")
	// The kiosk screen's tab closes: the rtc side ends the leg.
	require.NoError(t, screen.leg(t).Close())
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispAnswered, ev.Disposition)
	assert.Equal(t, kiosk.CausePeerLost, ev.Cause, "a vanished screen ends the call as peer_lost")
	tc := e.trunk.Last()
	require.NotNil(t, tc)
	waitFor(t, tc.Done(), "trunk leg to end")
	assert.Equal(t, "remote", tc.EndedBy(), "the bridge BYEs the trunk")
}

func TestScreenHeadsetHangup(t *testing.T) {
	screen := &fakeScreen{pt: callbridge.PayloadTypePCMU}
	e := newScreenEnv(t, sipdemo.TrunkConfig{NoAnswer: true}, screen)
	rec := dialScreen(t, e, time.Minute)
	require.Eventually(t, func() bool { return e.trunk.Invites() > 0 }, waitLong, 10*time.Millisecond, "trunk rung")
	require.NoError(t, e.bridge.Hangup("call-1", kiosk.CauseCallerHangup))
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispCancelled, ev.Disposition, "the child gave up before answer")
	assert.True(t, screen.leg(t).closed(), "hanging up closes the headset leg")
}

type observerFunc func(kiosk.CallEvent)

func (f observerFunc) CallEvent(ev kiosk.CallEvent) { f(ev) }

var _ kiosk.ScreenAudio = (*fakeScreen)(nil)
