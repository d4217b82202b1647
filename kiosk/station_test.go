package kiosk_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/sim"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/kiosktest"
)

const (
	uidMing = "04A1B2C3"
	uidHong = "04D5E6F7"
	uidLost = "0BADCAFE"
)

// alwaysOpen is a week of 00:00-24:00 windows.
func alwaysOpen() kiosk.Hours {
	var h kiosk.Hours
	h.Loc = time.FixedZone("CST", 8*3600)
	for d := time.Sunday; d <= time.Saturday; d++ {
		h.Windows = append(h.Windows, kiosk.Window{Day: d, Start: 0, End: 1440})
	}
	return h
}

type fixture struct {
	st      *kiosk.Station
	roster  *kiosktest.Roster
	journal *kiosktest.Journal
	dialer  *kiosktest.Dialer
	lights  map[string]*sim.Light
}

func newFixture(t *testing.T, p kiosk.Policy, opts kiosk.StationOpts) *fixture {
	t.Helper()
	roster := kiosktest.NewRoster(
		kiosk.RosterEntry{Child: kiosk.Child{Name: "王小明", Class: "三年级1班"}, Cards: []string{uidMing, uidLost},
			Contacts: []kiosk.Contact{
				{Slot: 1, Name: "王强", Relation: "父亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}},
				{Slot: 2, Name: "李梅", Relation: "母亲", Phone: "+8613987654321", Modes: []kiosk.Mode{kiosk.ModeVideo}},
			}},
		kiosk.RosterEntry{Child: kiosk.Child{Name: "张小红", Class: "四年级2班"}, Cards: []string{uidHong},
			Contacts: []kiosk.Contact{
				{Slot: 1, Name: "张伟", Relation: "父亲", Phone: "+8613711112222", Modes: []kiosk.Mode{kiosk.ModePhone}},
			}},
	)
	roster.DisableCard(uidLost)
	f := &fixture{roster: roster, journal: kiosktest.NewJournal(), dialer: kiosktest.NewDialer(),
		lights: map[string]*sim.Light{"b1": sim.NewLight("l1"), "b2": sim.NewLight("l2")}}
	if opts.Linger == 0 {
		opts.Linger = 50 * time.Millisecond
	}
	booths := []kiosk.Booth{{ID: "b1", Name: "一号", Extension: "101"}, {ID: "b2", Name: "二号", Extension: "102"}}
	f.st = kiosk.NewStation(p, booths, roster, f.journal,
		map[string]kiosk.Light{"b1": f.lights["b1"], "b2": f.lights["b2"]}, opts)
	f.st.Attach(f.dialer)
	return f
}

func defaultPolicy() kiosk.Policy {
	return kiosk.Policy{Hours: alwaysOpen(), Limit: 5 * time.Minute,
		Warnings: []time.Duration{120 * time.Second, 60 * time.Second},
		HelpCode: "0", HelpNumbers: []string{"+8613500000000", "12355"}}
}

// waitScreen reads screens from ch until one of kind k arrives.
func waitScreen(t *testing.T, ch <-chan kiosk.Screen, k kiosk.ScreenKind) kiosk.Screen {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case sc, ok := <-ch:
			require.True(t, ok, "subscription closed while waiting for %s", k)
			if sc.Kind == k {
				return sc
			}
		case <-deadline:
			t.Fatalf("no %s screen within 5 s", k)
		}
	}
}

func waitDial(t *testing.T, d *kiosktest.Dialer) kiosk.CallRequest {
	t.Helper()
	select {
	case req := <-d.Dialed:
		return req
	case <-time.After(5 * time.Second):
		t.Fatal("the station did not dial within 5 s")
	}
	return kiosk.CallRequest{}
}

func TestStationAnsweredCall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()
	assert.Equal(t, kiosk.ScreenIdle, (<-ch).Kind)

	require.NoError(t, f.st.Tap(ctx, "b1", "04:a1:b2:c3"))
	sc := waitScreen(t, ch, kiosk.ScreenIdentified)
	assert.Equal(t, "王小明", sc.Child)
	require.Len(t, sc.Tiles, 2)
	assert.Equal(t, "138****5678", sc.Tiles[0].Masked, "numbers are masked on the screen")
	assert.True(t, sc.Tiles[0].Phone)
	assert.False(t, sc.Tiles[1].Phone)
	assert.Equal(t, kiosk.LightIdentified, f.lights["b1"].State())

	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	req := waitDial(t, f.dialer)
	assert.Equal(t, "+8613812345678", req.Number)
	assert.Equal(t, 5*time.Minute, req.Limit)
	assert.Equal(t, []time.Duration{120 * time.Second, 60 * time.Second}, req.Warnings)
	waitScreen(t, ch, kiosk.ScreenCalling)

	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventRinging})
	assert.Equal(t, kiosk.LightRinging, f.lights["b1"].State())
	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventAnswered})
	sc = waitScreen(t, ch, kiosk.ScreenConnected)
	assert.Equal(t, int64(300000), sc.RemainingMS)
	assert.Equal(t, "父亲", sc.Contact)
	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventWarning, Remaining: time.Minute})
	sc = waitScreen(t, ch, kiosk.ScreenWarning)
	assert.Equal(t, int64(60000), sc.RemainingMS)
	assert.Equal(t, kiosk.LightWarning, f.lights["b1"].State())
	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered,
		Cause: kiosk.CauseLimit, SIPCode: 200, Billsec: 300 * time.Second})
	sc = waitScreen(t, ch, kiosk.ScreenEnded)
	assert.Equal(t, int64(300000), sc.DurationMS)
	waitScreen(t, ch, kiosk.ScreenIdle)
	assert.Equal(t, kiosk.LightIdle, f.lights["b1"].State())

	started, ended, denied := f.journal.Snapshot()
	require.Len(t, started, 1)
	require.Len(t, ended, 1)
	assert.Empty(t, denied)
	assert.Equal(t, started[0].CallID, ended[0].CallID)
	assert.Equal(t, kiosk.DispAnswered, ended[0].Disposition)
	assert.Equal(t, kiosk.CauseLimit, ended[0].Cause)
	assert.Equal(t, 300*time.Second, ended[0].Billsec)
	assert.False(t, ended[0].Answered.IsZero(), "answer time recorded")
	assert.Equal(t, "父亲", ended[0].Relation)
	assert.Equal(t, []kiosk.LightState{kiosk.LightIdle, kiosk.LightIdentified, kiosk.LightRinging,
		kiosk.LightConnected, kiosk.LightWarning, kiosk.LightIdle}, f.lights["b1"].History())
}

func TestStationRefusals(t *testing.T) {
	closed := defaultPolicy()
	closed.Hours.Windows = nil
	quota := defaultPolicy()
	quota.Quota.Calls = 1

	tests := []struct {
		name   string
		policy kiosk.Policy
		uid    string
		slot   int
		screen kiosk.ScreenKind
		reason kiosk.Reason
		// denied: the pick must be refused and journaled with reason.
		denied bool
	}{
		{name: "unknown card", policy: defaultPolicy(), uid: "DEADBEEF", screen: kiosk.ScreenUnknown, reason: kiosk.ReasonCardUnknown},
		{name: "lost card", policy: defaultPolicy(), uid: uidLost, screen: kiosk.ScreenDenied, reason: kiosk.ReasonCardDisabled},
		{name: "closed", policy: closed, uid: uidMing, screen: kiosk.ScreenClosed, reason: kiosk.ReasonClosed},
		{name: "slot not approved", policy: defaultPolicy(), uid: uidMing, slot: 4, screen: kiosk.ScreenDenied, reason: kiosk.ReasonNotApproved, denied: true},
		{name: "video-only contact", policy: defaultPolicy(), uid: uidMing, slot: 2, screen: kiosk.ScreenDenied, reason: kiosk.ReasonModeNotAllowed, denied: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, tc.policy, kiosk.StationOpts{Linger: time.Minute})
			ch, cancel, err := f.st.Subscribe("b1")
			require.NoError(t, err)
			defer cancel()
			require.NoError(t, f.st.Tap(ctx, "b1", tc.uid))
			if tc.slot != 0 {
				waitScreen(t, ch, kiosk.ScreenIdentified)
				err := f.st.Pick(ctx, "b1", tc.slot)
				require.Error(t, err)
				assert.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err))
			}
			sc := waitScreen(t, ch, tc.screen)
			assert.Equal(t, tc.reason, sc.Reason)
			require.NotNil(t, sc.Words, "the screen gets the reason in words")
			assert.NotEmpty(t, sc.Words.ZH)
			_, _, denied := f.journal.Snapshot()
			if tc.denied {
				require.Len(t, denied, 1)
				assert.Equal(t, tc.reason, denied[0].Reason)
				assert.Equal(t, kiosk.DispDenied, denied[0].Disposition)
			}
			assert.Equal(t, 0, f.dialer.Active(), "nothing dialled")
		})
	}
}

func TestStationQuotaUsedUp(t *testing.T) {
	ctx := context.Background()
	p := defaultPolicy()
	p.Quota.Calls = 1
	f := newFixture(t, p, kiosk.StationOpts{})
	require.NoError(t, f.journal.CallEnded(ctx, kiosk.CallRecord{ChildID: 1, Started: time.Now(),
		Disposition: kiosk.DispAnswered, Billsec: time.Minute}))
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	sc, err := f.st.Screen("b1")
	require.NoError(t, err)
	require.NotNil(t, sc.QuotaCallsLeft)
	assert.Equal(t, 0, *sc.QuotaCallsLeft)
	err = f.st.Pick(ctx, "b1", 1)
	var ke *kiosk.Error
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, kiosk.ReasonQuotaCalls, ke.Reason)
}

func TestStationHelpWhenClosed(t *testing.T) {
	ctx := context.Background()
	p := defaultPolicy()
	p.Hours.Windows = nil
	f := newFixture(t, p, kiosk.StationOpts{})
	require.NoError(t, f.st.Help(ctx, "b1"))
	req := waitDial(t, f.dialer)
	assert.True(t, req.Help)
	assert.Equal(t, "+8613500000000", req.Number)
	assert.Greater(t, req.Limit, time.Duration(0), "a help call still has a limit")

	// From the handset, with no card tapped: the help code is allowed.
	req2, err := f.st.AuthorizeHandset(ctx, "102", "0")
	require.NoError(t, err)
	assert.True(t, req2.Help)
	assert.Equal(t, "b2", req2.Booth.ID)
}

func TestStationHandset(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})

	_, err := f.st.AuthorizeHandset(ctx, "101", "1")
	var ke *kiosk.Error
	require.ErrorAs(t, err, &ke, "speed dial without a card tap is refused")
	assert.Equal(t, kiosk.ReasonNotIdentified, ke.Reason)

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	req, err := f.st.AuthorizeHandset(ctx, "101", "1")
	require.NoError(t, err)
	assert.Equal(t, "+8613812345678", req.Number)
	assert.NotNil(t, req.Observer)

	// A full approved number works too, once the first call is over.
	req.Observer.CallEvent(kiosk.CallEvent{Kind: kiosk.EventEnded, Disposition: kiosk.DispBusy, Cause: kiosk.CauseBusy, SIPCode: 486})
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	req, err = f.st.AuthorizeHandset(ctx, "101", "138 1234 5678")
	require.NoError(t, err)
	assert.Equal(t, "+8613812345678", req.Number)
	req.Observer.CallEvent(kiosk.CallEvent{Kind: kiosk.EventEnded, Disposition: kiosk.DispNoAnswer, Cause: kiosk.CauseNoAnswer})

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	_, err = f.st.AuthorizeHandset(ctx, "101", "13600000000")
	require.ErrorAs(t, err, &ke, "an unapproved number is refused")
	assert.Equal(t, kiosk.ReasonNotApproved, ke.Reason)

	_, ended, denied := f.journal.Snapshot()
	require.Len(t, ended, 2)
	assert.Equal(t, kiosk.DispBusy, ended[0].Disposition)
	assert.Equal(t, 486, ended[0].SIPCode)
	require.Len(t, denied, 2)
	assert.Equal(t, kiosk.ReasonNotIdentified, denied[0].Reason)
	assert.Equal(t, kiosk.ReasonNotApproved, denied[1].Reason)
	assert.Equal(t, "13600000000", denied[1].Number)
}

func TestStationQueue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Lines: 1})
	ch2, cancel, err := f.st.Subscribe("b2")
	require.NoError(t, err)
	defer cancel()

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	first := waitDial(t, f.dialer)

	require.NoError(t, f.st.Tap(ctx, "b2", uidHong))
	require.NoError(t, f.st.Pick(ctx, "b2", 1))
	sc := waitScreen(t, ch2, kiosk.ScreenQueued)
	assert.Equal(t, 1, sc.Position)
	assert.Equal(t, 0, len(f.dialer.Dialed), "the second call waits for the line")

	f.dialer.Event(kiosk.CallEvent{CallID: first.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup})
	second := waitDial(t, f.dialer)
	assert.Equal(t, "+8613711112222", second.Number, "the queued child is called when the line frees")
	waitScreen(t, ch2, kiosk.ScreenCalling)
}

func TestStationCloseEndsCalls(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	req := waitDial(t, f.dialer)
	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventAnswered})

	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.NoError(t, f.st.Close(cctx))
	_, ended, _ := f.journal.Snapshot()
	require.Len(t, ended, 1)
	assert.Equal(t, kiosk.CauseShutdown, ended[0].Cause)
	assert.Equal(t, kiosk.LightOff, f.lights["b1"].State())
	assert.Equal(t, kiosk.LightOff, f.lights["b2"].State())
	err := f.st.Pick(ctx, "b1", 1)
	assert.Error(t, err, "no calls after close")
}

func TestStationHeartbeat(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Heartbeat: 10 * time.Millisecond})
	go f.st.Run(ctx)
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	req := waitDial(t, f.dialer)
	require.Eventually(t, func() bool {
		return !f.journal.LastHeartbeat(req.CallID).IsZero()
	}, 5*time.Second, 10*time.Millisecond, "a heartbeat is written for the call in progress")
}

// presence is a fake kiosk.Presence.
type presence map[kiosk.ContactID]time.Time

func (p presence) Online(c kiosk.ContactID) (bool, time.Time) {
	until, ok := p[c]
	return ok, until
}

func TestStationVideo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Linger: time.Minute})
	video := kiosktest.NewDialer()
	online := presence{}
	f.st.AttachVideo(video, online)
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	sc := waitScreen(t, ch, kiosk.ScreenIdentified)
	assert.False(t, sc.Tiles[1].Online, "the mother's page is not open")

	// The mother (slot 2, video only) opens her page: her tile goes online.
	online[12] = time.Date(2026, 11, 29, 13, 0, 0, 0, time.UTC)
	f.st.PresenceChanged(12)
	sc = waitScreen(t, ch, kiosk.ScreenIdentified)
	assert.True(t, sc.Tiles[1].Online)
	assert.Equal(t, "21:00", sc.Tiles[1].Until, "shown in the station's time zone")

	err = f.st.PickMode(ctx, "b1", 1, kiosk.ModeVideo)
	var ke *kiosk.Error
	require.ErrorAs(t, err, &ke, "the father is approved for phone only")
	assert.Equal(t, kiosk.ReasonModeNotAllowed, ke.Reason)

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	require.NoError(t, f.st.PickMode(ctx, "b1", 2, kiosk.ModeVideo))
	req := waitDial(t, video)
	assert.Equal(t, kiosk.ModeVideo, req.Mode)
	assert.Equal(t, kiosk.ContactID(12), req.Contact)
	assert.Equal(t, "小明", req.ChildName, "the parent page shows the given name")
	sc = waitScreen(t, ch, kiosk.ScreenCalling)
	assert.Equal(t, kiosk.ModeVideo, sc.Mode)
	assert.Equal(t, req.CallID, sc.Call)
	assert.Equal(t, 0, f.dialer.Active(), "the phone dialer is not used")

	q := &kiosk.CallQuality{Parent: kiosk.LegQuality{FramesDecoded: 99}}
	video.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventAnswered, Setup: 300 * time.Millisecond})
	video.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered,
		Cause: kiosk.CausePeerLost, Quality: q})
	_, ended, denied := f.journal.Snapshot()
	require.Len(t, ended, 1)
	assert.Equal(t, kiosk.ModeVideo, ended[0].Mode)
	assert.Equal(t, "b1", ended[0].Screen)
	assert.Equal(t, 300*time.Millisecond, ended[0].Setup)
	assert.Equal(t, q, ended[0].Quality)
	assert.Equal(t, kiosk.CausePeerLost, ended[0].Cause)
	require.Len(t, denied, 1)

	// Offline now: a video pick is refused with a reason the child understands.
	delete(online, 12)
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	err = f.st.PickMode(ctx, "b1", 2, kiosk.ModeVideo)
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, kiosk.ReasonParentOffline, ke.Reason)
}

func TestOpeningWords(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 27, 19, 0, 0, 0, cst) // a Friday
	tests := []struct {
		at   time.Time
		want kiosk.Words
	}{
		{time.Date(2026, 11, 27, 20, 0, 0, 0, cst), kiosk.Words{ZH: "今天 20:00", EN: "today 20:00"}},
		{time.Date(2026, 11, 28, 9, 0, 0, 0, cst), kiosk.Words{ZH: "明天 09:00", EN: "tomorrow 09:00"}},
		{time.Date(2026, 11, 30, 16, 30, 0, 0, cst), kiosk.Words{ZH: "周一 16:30", EN: "Mon 16:30"}},
		{time.Date(2026, 12, 7, 16, 30, 0, 0, cst), kiosk.Words{ZH: "12月7日 16:30", EN: "Dec 7 16:30"}},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, kiosk.OpeningWords(now, tc.at))
	}
}

func TestStationBoothFault(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()
	waitScreen(t, ch, kiosk.ScreenIdle)
	require.NoError(t, f.st.SetBoothFault("b1", "reader: no answer on SPI"))
	sc := waitScreen(t, ch, kiosk.ScreenIdle)
	assert.Equal(t, kiosk.ReasonDeviceFault, sc.Reason, "please use another booth")
	assert.Equal(t, kiosk.LightFault, f.lights["b1"].State())
	require.NoError(t, f.st.Help(ctx, "b1"), "help still works at a faulty booth")
	req := waitDial(t, f.dialer)
	f.dialer.Event(kiosk.CallEvent{CallID: req.CallID, Kind: kiosk.EventEnded, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup})
	require.NoError(t, f.st.SetBoothFault("b1", ""))
	require.Eventually(t, func() bool { return f.lights["b1"].State() == kiosk.LightIdle }, 2*time.Second, 10*time.Millisecond)
	assert.Equal(t, kiosk.LightIdle, f.lights["b2"].State(), "the other booth is not affected")
}

// After Close the lights stay off, whatever is reported afterwards.
func TestStationLightsStayOffAfterClose(t *testing.T) {
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.NoError(t, f.st.Close(ctx))
	require.NoError(t, f.st.SetBoothFault("b1", "reader gone during shutdown"))
	assert.Equal(t, kiosk.LightOff, f.lights["b1"].State())
}
