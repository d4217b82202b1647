package kiosk_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

type enrolResult struct {
	uid string
	err error
}

// startEnrol runs EnrolNext at booth in a goroutine and waits until the
// booth's screen asks for the card.
func startEnrol(t *testing.T, f *fixture, ctx context.Context, booth string, timeout time.Duration) <-chan enrolResult {
	t.Helper()
	ch, cancel, err := f.st.Subscribe(booth)
	require.NoError(t, err)
	defer cancel()
	out := make(chan enrolResult, 1)
	go func() {
		uid, err := f.st.EnrolNext(ctx, booth, timeout)
		out <- enrolResult{uid, err}
	}()
	sc := waitScreen(t, ch, kiosk.ScreenEnrol)
	require.NotNil(t, sc.Words)
	assert.Equal(t, "请刷卡登记", sc.Words.ZH)
	assert.Equal(t, "Tap the new card", sc.Words.EN)
	return out
}

func waitEnrol(t *testing.T, ch <-chan enrolResult) enrolResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("EnrolNext did not return within 5 s")
	}
	return enrolResult{}
}

func TestEnrolCapturesNextTap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()
	waitScreen(t, ch, kiosk.ScreenIdle)

	res := startEnrol(t, f, ctx, "b1", time.Minute)
	assert.Equal(t, kiosk.LightRinging, f.lights["b1"].State(), "the light points at the reader")
	st := f.st.BoothStatus()
	assert.True(t, st[0].Enrolling)
	assert.False(t, st[1].Enrolling)

	// The other booth works as usual meanwhile.
	require.NoError(t, f.st.Tap(ctx, "b2", uidHong))
	sc, err := f.st.Screen("b2")
	require.NoError(t, err)
	assert.Equal(t, kiosk.ScreenIdentified, sc.Kind)

	require.NoError(t, f.st.Tap(ctx, "b1", "11:22:33:aa"))
	r := waitEnrol(t, res)
	require.NoError(t, r.err)
	assert.Equal(t, "112233AA", r.uid, "the UID comes back normalised")
	waitScreen(t, ch, kiosk.ScreenEnrol) // the prompt
	sc = waitScreen(t, ch, kiosk.ScreenEnrol)
	require.NotNil(t, sc.Words)
	assert.Equal(t, "已读卡，请看管理后台", sc.Words.ZH, "the booth says the card was read")
	waitScreen(t, ch, kiosk.ScreenIdle)
	assert.Equal(t, kiosk.LightIdle, f.lights["b1"].State())
	assert.False(t, f.st.BoothStatus()[0].Enrolling)

	// A known card is captured too (the console tells the manager): it
	// identifies nobody.
	res = startEnrol(t, f, ctx, "b1", time.Minute)
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	r = waitEnrol(t, res)
	require.NoError(t, r.err)
	assert.Equal(t, uidMing, r.uid)
	assert.Zero(t, f.st.BoothStatus()[0].Child.ID, "nobody is identified by an enrolled card")

	// Once enrolled, the next tap is a child's tap again.
	waitScreen(t, ch, kiosk.ScreenIdle)
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	sc = waitScreen(t, ch, kiosk.ScreenIdentified)
	assert.Equal(t, "王小明", sc.Child)
	_, _, denied := f.journal.Snapshot()
	assert.Empty(t, denied, "enrolment taps are not call attempts")
}

func TestEnrolEnds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})

	t.Run("timeout", func(t *testing.T) {
		r, err := f.st.EnrolNext(ctx, "b1", 10*time.Millisecond)
		assert.Empty(t, r)
		assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "no card in time: %v", err)
		sc, err := f.st.Screen("b1")
		require.NoError(t, err)
		assert.Equal(t, kiosk.ScreenIdle, sc.Kind, "back to idle")
		assert.Equal(t, kiosk.LightIdle, f.lights["b1"].State())
	})
	t.Run("cancel", func(t *testing.T) {
		res := startEnrol(t, f, ctx, "b1", time.Minute)
		require.NoError(t, f.st.CancelEnrol("b1"))
		r := waitEnrol(t, res)
		assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(r.err), "cancelled: %v", r.err)
		sc, err := f.st.Screen("b1")
		require.NoError(t, err)
		assert.Equal(t, kiosk.ScreenIdle, sc.Kind)
		assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(f.st.CancelEnrol("b1")), "nothing left to cancel")
		assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(f.st.CancelEnrol("b9")))
	})
	t.Run("context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		res := startEnrol(t, f, cctx, "b1", time.Minute)
		cancel()
		r := waitEnrol(t, res)
		assert.True(t, errors.Is(r.err, context.Canceled), "the console went away: %v", r.err)
		sc, err := f.st.Screen("b1")
		require.NoError(t, err)
		assert.Equal(t, kiosk.ScreenIdle, sc.Kind)
	})
	t.Run("help call", func(t *testing.T) {
		res := startEnrol(t, f, ctx, "b1", time.Minute)
		require.NoError(t, f.st.Help(ctx, "b1"), "help is never refused")
		r := waitEnrol(t, res)
		assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(r.err), "the help call took the booth: %v", r.err)
		req := waitDial(t, f.dialer)
		f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup})
	})
}

func TestEnrolRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Lines: 1})

	_, err := f.st.EnrolNext(ctx, "b9", time.Minute)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "no such booth")

	// In a call.
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	req := waitDial(t, f.dialer)
	_, err = f.st.EnrolNext(ctx, "b1", time.Minute)
	var ke *kiosk.Error
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, kiosk.ECONFLICT, ke.Code, "a booth in a call refuses enrol mode")
	assert.Equal(t, kiosk.ReasonBoothBusy, ke.Reason)

	// Waiting for a line.
	require.NoError(t, f.st.Tap(ctx, "b2", uidHong))
	require.NoError(t, f.st.Pick(ctx, "b2", 1))
	_, err = f.st.EnrolNext(ctx, "b2", time.Minute)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "a queued booth refuses enrol mode")
	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup})
	second := waitDial(t, f.dialer)
	f.dialer.Event(kiosk.CallEvent{CallID: second.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup})

	// Already waiting for a card.
	require.Eventually(t, func() bool {
		_, err := f.st.EnrolNext(ctx, "b1", time.Nanosecond)
		return kiosk.ErrorCode(err) == kiosk.EGONE
	}, 5*time.Second, 10*time.Millisecond, "b1 takes enrol mode once its call is over")
	res := startEnrol(t, f, ctx, "b1", time.Minute)
	_, err = f.st.EnrolNext(ctx, "b1", time.Minute)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "one enrolment per booth")
	require.NoError(t, f.st.CancelEnrol("b1"))
	waitEnrol(t, res)

	// A booth whose reader is down.
	require.NoError(t, f.st.SetBoothFault("b2", "reader: no answer"))
	_, err = f.st.EnrolNext(ctx, "b2", time.Minute)
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, kiosk.ReasonDeviceFault, ke.Reason)
}

func TestEnrolEndsAtClose(t *testing.T) {
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	res := startEnrol(t, f, context.Background(), "b1", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.NoError(t, f.st.Close(ctx))
	r := waitEnrol(t, res)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(r.err), "shutting down: %v", r.err)
	assert.Equal(t, kiosk.LightOff, f.lights["b1"].State())
	_, err := f.st.EnrolNext(context.Background(), "b1", time.Minute)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "no enrolment after close")
}

// fakeClock is a settable wall clock for exact durations.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestBoothStatus(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Now: clk.Now, Lines: 1})

	st := f.st.BoothStatus()
	require.Len(t, st, 2)
	assert.Equal(t, "b1", st[0].Booth.ID)
	assert.Equal(t, "二号", st[1].Booth.Name)
	for _, b := range st {
		assert.Equal(t, kiosk.ScreenIdle, b.State)
		assert.Nil(t, b.Call)
		assert.Zero(t, b.Child.ID)
	}

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	st = f.st.BoothStatus()
	assert.Equal(t, kiosk.ScreenIdentified, st[0].State)
	assert.Equal(t, "王小明", st[0].Child.Name)
	assert.Equal(t, kiosk.LightIdentified, st[0].Light)

	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	req := waitDial(t, f.dialer)
	clk.Add(10 * time.Second)
	st = f.st.BoothStatus()
	require.NotNil(t, st[0].Call)
	assert.Equal(t, kiosk.ScreenCalling, st[0].State)
	assert.False(t, st[0].Call.Answered)
	assert.Equal(t, 10*time.Second, st[0].Call.Elapsed)
	assert.Equal(t, 5*time.Minute, st[0].Call.Limit)
	assert.Equal(t, kiosk.ModePhone, st[0].Call.Mode)

	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventAnswered})
	clk.Add(90 * time.Second)
	st = f.st.BoothStatus()
	assert.Equal(t, kiosk.ScreenConnected, st[0].State)
	assert.True(t, st[0].Call.Answered)
	assert.Equal(t, 100*time.Second, st[0].Call.Elapsed, "since the call started")
	assert.Equal(t, 210*time.Second, st[0].Call.Left, "5 min from the answer")
	assert.Equal(t, "王小明", st[0].Child.Name)

	// The second booth's child waits for the only line.
	require.NoError(t, f.st.Tap(ctx, "b2", uidHong))
	require.NoError(t, f.st.Pick(ctx, "b2", 1))
	require.NoError(t, f.st.SetBoothFault("b1", "light: no answer"))
	st = f.st.BoothStatus()
	assert.Equal(t, kiosk.ScreenQueued, st[1].State)
	assert.Equal(t, 1, st[1].Queued)
	assert.Equal(t, "张小红", st[1].Child.Name)
	assert.Zero(t, st[0].Queued)
	assert.Equal(t, "light: no answer", st[0].Fault)
	assert.NotNil(t, st[0].Call, "a fault does not end the call in progress")
	assert.Empty(t, st[1].Fault)

	clk.Add(10 * time.Minute)
	assert.Zero(t, f.st.BoothStatus()[0].Call.Left, "never below zero")
}
