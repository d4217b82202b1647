package kiosk_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// TestSetPolicyAppliesAtOnce: a new policy judges the next tap and pick
// without a restart; a call in progress keeps its limit; screens refresh.
func TestSetPolicyAppliesAtOnce(t *testing.T) {
	ctx := context.Background()
	cst := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 18, 10, 0, 0, 0, cst) // a Wednesday, 10:00
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Now: func() time.Time { return now }})
	b1, cancel1, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel1()
	b2, cancel2, err := f.st.Subscribe("b2")
	require.NoError(t, err)
	defer cancel2()
	assert.Equal(t, "00:00-24:00", waitScreen(t, b1, kiosk.ScreenIdle).Hours)
	waitScreen(t, b2, kiosk.ScreenIdle)

	// Closed now: idle screens show the new hours and when it opens.
	closed := defaultPolicy()
	closed.Hours.Windows = []kiosk.Window{{Day: time.Wednesday, Start: 16 * 60, End: 18 * 60}}
	f.st.SetPolicy(ctx, closed)
	sc := waitScreen(t, b1, kiosk.ScreenIdle)
	assert.Equal(t, "16:00-18:00", sc.Hours)
	assert.NotEmpty(t, sc.NextOpening, "the idle screen says when the room opens")
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	assert.Equal(t, kiosk.ReasonClosed, waitScreen(t, b1, kiosk.ScreenClosed).Reason, "a tap outside the new hours")

	// Open again; a call starts under the old limit of 5 minutes.
	f.st.SetPolicy(ctx, defaultPolicy())
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	waitScreen(t, b1, kiosk.ScreenIdentified)
	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	first := waitDial(t, f.dialer)
	assert.Equal(t, 5*time.Minute, first.Limit)

	require.NoError(t, f.st.Tap(ctx, "b2", uidHong))
	sc = waitScreen(t, b2, kiosk.ScreenIdentified)
	require.NotNil(t, sc.QuotaMinutesLeft)
	assert.Equal(t, -1, *sc.QuotaMinutesLeft, "no quota yet")

	// Shorter limit, other warnings, a weekly quota, another help number.
	p := defaultPolicy()
	p.Limit = 2 * time.Minute
	p.Warnings = []time.Duration{30 * time.Second}
	p.Quota = kiosk.Quota{Minutes: 20, Calls: 3}
	p.HelpCode = "9"
	p.HelpNumbers = []string{"12356"}
	f.st.SetPolicy(ctx, p)

	sc = waitScreen(t, b2, kiosk.ScreenIdentified)
	require.NotNil(t, sc.QuotaMinutesLeft)
	require.NotNil(t, sc.QuotaCallsLeft)
	assert.Equal(t, 20, *sc.QuotaMinutesLeft, "the identified screen shows the new quota")
	assert.Equal(t, 3, *sc.QuotaCallsLeft)

	f.dialer.Event(kiosk.CallEvent{CallID: first.CallID, Kind: kiosk.EventAnswered})
	sc = waitScreen(t, b1, kiosk.ScreenConnected)
	assert.Equal(t, int64(300000), sc.RemainingMS, "the call in progress keeps its limit")

	require.NoError(t, f.st.Pick(ctx, "b2", 1))
	second := waitDial(t, f.dialer)
	assert.Equal(t, 2*time.Minute, second.Limit, "a new call gets the new limit")
	assert.Equal(t, []time.Duration{30 * time.Second}, second.Warnings)
	f.dialer.Event(kiosk.CallEvent{CallID: second.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispNoAnswer, Cause: kiosk.CauseNoAnswer})
	f.dialer.Event(kiosk.CallEvent{CallID: first.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCallerHangup, Billsec: time.Minute})
	waitScreen(t, b1, kiosk.ScreenIdle)
	waitScreen(t, b2, kiosk.ScreenIdle)

	// The new help code reaches the new help number; the old code is an
	// ordinary (unidentified) number now.
	req, err := f.st.AuthorizeHandset(ctx, "102", "9")
	require.NoError(t, err)
	assert.True(t, req.Help)
	assert.Equal(t, "12356", req.Number)
	req.Observer.CallEvent(kiosk.CallEvent{Kind: kiosk.EventEnded, Disposition: kiosk.DispNoAnswer, Cause: kiosk.CauseNoAnswer})
	_, err = f.st.AuthorizeHandset(ctx, "102", "0")
	var ke *kiosk.Error
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, kiosk.ReasonNotIdentified, ke.Reason)
	require.NoError(t, f.st.Help(ctx, "b1"))
	assert.Equal(t, "12356", waitDial(t, f.dialer).Number, "the help button dials the new number")
}

// TestSetPolicyKeepsTimeZone: the time zone is the config file's; a
// policy with another zone does not move the opening hours.
func TestSetPolicyKeepsTimeZone(t *testing.T) {
	ctx := context.Background()
	cst := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 18, 17, 0, 0, 0, cst) // Wednesday 17:00 CST, 09:00 UTC
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Now: func() time.Time { return now }})
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()
	waitScreen(t, ch, kiosk.ScreenIdle)
	p := defaultPolicy()
	p.Hours.Loc = time.UTC
	p.Hours.Windows = []kiosk.Window{{Day: time.Wednesday, Start: 16 * 60, End: 18 * 60}}
	f.st.SetPolicy(ctx, p)
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	waitScreen(t, ch, kiosk.ScreenIdentified) // open at 17:00 CST, though closed at 09:00 UTC
}

// TestSetPolicyCopiesEveryField guards SetPolicy, which copies the policy
// field by field (all but the time zone): a new Policy field must be
// added there, then counted here.
func TestSetPolicyCopiesEveryField(t *testing.T) {
	assert.Equal(t, 7, reflect.TypeFor[kiosk.Policy]().NumField(), "kiosk.Policy changed: copy the new field in Station.SetPolicy")
	assert.Equal(t, 3, reflect.TypeFor[kiosk.Hours]().NumField(), "kiosk.Hours changed: copy the new field in Station.SetPolicy")
}

// TestSetPolicyConcurrent runs policy changes beside taps, picks, help
// and handset calls; run with -race.
func TestSetPolicyConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	go func() {
		for req := range f.dialer.Dialed {
			f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispNoAnswer, Cause: kiosk.CauseNoAnswer})
		}
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			p := defaultPolicy()
			p.Limit = time.Duration(1+i%5) * time.Minute
			p.HelpNumbers = []string{"12355", "+8613500000000"}[i%2:]
			p.Quota.Calls = i % 4
			f.st.SetPolicy(ctx, p)
		}
	}()
	go func() {
		defer wg.Done()
		for range 200 {
			f.st.Tap(ctx, "b1", uidMing)
			f.st.Pick(ctx, "b1", 1)
			f.st.Help(ctx, "b2")
			if req, err := f.st.AuthorizeHandset(ctx, "101", "0"); err == nil {
				req.Observer.CallEvent(kiosk.CallEvent{Kind: kiosk.EventEnded, Disposition: kiosk.DispNoAnswer, Cause: kiosk.CauseNoAnswer})
			}
		}
	}()
	wg.Wait()
}
