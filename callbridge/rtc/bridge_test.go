package rtc

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

const (
	booth   = "b1"
	token   = "tok-1"
	contact = kiosk.ContactID(7)
)

// testConfig is a loopback config with short timeouts.
func testConfig() Config {
	return Config{
		AllowLoopback:          true,
		RingTimeout:            3 * time.Second,
		ReconnectWindow:        time.Second,
		Heartbeat:              100 * time.Millisecond,
		SetupTimeout:           5 * time.Second,
		ICEDisconnectedTimeout: 500 * time.Millisecond,
		ICEFailedTimeout:       time.Second,
		ICEKeepalive:           100 * time.Millisecond,
	}
}

func newBridge(t testing.TB, cfg Config) (*Bridge, *fakeLinks) {
	t.Helper()
	links := newFakeLinks()
	links.add(token, contact, "王小明", false)
	links.add("gone", 8, "李华", true)
	b, err := New(cfg, links, Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, links
}

func dial(t testing.TB, b *Bridge, id string, limit time.Duration, warnings ...time.Duration) *events {
	t.Helper()
	ev := newEvents()
	err := b.Dial(context.Background(), kiosk.CallRequest{CallID: id, Mode: kiosk.ModeVideo, Booth: kiosk.Booth{ID: booth},
		Contact: contact, ChildName: "小明", Limit: limit, Warnings: warnings, Observer: ev})
	require.NoError(t, err, "dial")
	return ev
}

// connect sets up an answered call between a new screen and parent page.
func connect(t testing.TB, b *Bridge, id string, limit time.Duration, warnings ...time.Duration) (*events, *page, *page) {
	t.Helper()
	screen := newPage(t, "screen").attachScreen(b, booth)
	parent := newPage(t, "parent").attachParent(b, token)
	t.Cleanup(screen.shutdown)
	t.Cleanup(parent.shutdown)
	ev := dial(t, b, id, limit, warnings...)
	ev.wait(t, kiosk.EventRinging, 2*time.Second)
	ring := parent.next(TypeRing, 2*time.Second)
	require.Equal(t, "小明", ring.Child, "the parent page shows the child's given name")
	parent.send(Message{Type: TypeAccept, Call: ring.Call})
	return ev, screen, parent
}

func TestAnsweredCallMediaBothWays(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	ev, screen, parent := connect(t, b, "c1", time.Minute)
	ans := ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	assert.Greater(t, ans.Setup, time.Duration(0), "setup time is measured")
	screen.next(TypeConnected, 2*time.Second)
	parent.next(TypeConnected, 2*time.Second)
	require.Eventually(t, func() bool { return screen.gotRTP.Load() > 20 && parent.gotRTP.Load() > 20 },
		5*time.Second, 20*time.Millisecond, "media flows both ways through the daemon")
	// Forwarding bypasses pion's interceptors once a stream is bound
	// (relaybuf.go); the receiver reports' statistics still count it.
	b.mu.Lock()
	c := b.calls["c1"]
	b.mu.Unlock()
	require.NotNil(t, c)
	for _, l := range []*leg{c.screenLeg.Load(), c.parentLeg.Load()} {
		rs := b.reports.remoteStream(l.pc.ID(), l.videoSSRC.Load())
		require.NotNil(t, rs, "%s leg: receive statistics of the page's video", l.kind)
		counted := func() uint32 {
			rs.p.mu.Lock()
			defer rs.p.mu.Unlock()
			return rs.s.received
		}
		require.Eventually(t, func() bool { return counted() > 20 }, 5*time.Second, 20*time.Millisecond,
			"%s leg: the page's video packets counted for the receiver reports", l.kind)
		assert.Greater(t, l.received.Load(), uint64(20), "%s leg: packets from the page", l.kind)
	}
	pkts, bytes := b.Relayed()
	assert.Greater(t, pkts, uint64(40), "the bridge counts what it forwards")
	assert.Greater(t, bytes, 12*pkts, "bytes include the RTP header")
	parent.send(Message{Type: TypeStats, Call: "c1", Stats: &PageStats{FramesDecoded: 42, FreezeCount: 1}})
	screen.send(Message{Type: TypeStats, Call: "c1", Stats: &PageStats{FramesDecoded: 40}})
	time.Sleep(50 * time.Millisecond)
	screen.send(Message{Type: TypeHangup, Call: "c1"})
	end := ev.wait(t, kiosk.EventEnded, 5*time.Second)
	assert.Equal(t, kiosk.DispAnswered, end.Disposition)
	assert.Equal(t, kiosk.CauseCallerHangup, end.Cause)
	assert.Greater(t, end.Billsec, time.Duration(0))
	assert.GreaterOrEqual(t, end.Duration, end.Billsec)
	require.NotNil(t, end.Quality)
	assert.Equal(t, int64(42), end.Quality.Parent.FramesDecoded)
	assert.Equal(t, int64(1), end.Quality.Parent.Freezes)
	assert.Equal(t, int64(40), end.Quality.Screen.FramesDecoded)
	assert.Equal(t, string(kiosk.CauseCallerHangup), parent.next(TypeEnd, 2*time.Second).Cause, "the parent page is told why")
	assert.Equal(t, 0, b.ActiveCalls())
}

func TestLimitCutsBothLegs(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	ev, screen, parent := connect(t, b, "c2", 1500*time.Millisecond, time.Second)
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	w := ev.wait(t, kiosk.EventWarning, 3*time.Second)
	assert.Equal(t, time.Second, w.Remaining)
	assert.Equal(t, int64(1000), screen.next(TypeWarning, time.Second).RemainingMS, "the kiosk shows the banner")
	parent.next(TypeWarning, time.Second)
	end := ev.wait(t, kiosk.EventEnded, 3*time.Second)
	assert.Equal(t, kiosk.CauseLimit, end.Cause)
	assert.Equal(t, kiosk.DispAnswered, end.Disposition)
	assert.Equal(t, string(kiosk.CauseLimit), screen.next(TypeEnd, time.Second).Cause)
	assert.Equal(t, string(kiosk.CauseLimit), parent.next(TypeEnd, time.Second).Cause)
}

func TestPeerLost(t *testing.T) {
	tests := []struct {
		name string
		gone func(screen, parent *page)
	}{
		{"parent closes the tab", func(_, parent *page) { parent.closeTab() }},
		{"parent's signaling drops for good, media flows", func(_, parent *page) { parent.drop() }},
		{"screen closes", func(screen, _ *page) { screen.closeTab() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newBridge(t, testConfig())
			ev, screen, parent := connect(t, b, "c3", time.Minute)
			ev.wait(t, kiosk.EventAnswered, 10*time.Second)
			tc.gone(screen, parent)
			end := ev.wait(t, kiosk.EventEnded, 3*time.Second) // window is 1 s in tests
			assert.Equal(t, kiosk.CausePeerLost, end.Cause)
			assert.Equal(t, kiosk.DispAnswered, end.Disposition)
		})
	}
}

func TestReconnectWithinWindowKeepsCall(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	ev, _, parent := connect(t, b, "c4", time.Minute)
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	online, _ := b.Online(contact)
	require.True(t, online)
	parent.drop()
	time.Sleep(400 * time.Millisecond) // less than the 1 s window
	parent.attachParent(b, token)
	m := parent.next(TypeConnected, time.Second)
	assert.Greater(t, m.RemainingMS, int64(50_000), "the resumed page gets the countdown")
	before := parent.gotRTP.Load()
	time.Sleep(1500 * time.Millisecond) // past the window
	assert.Greater(t, parent.gotRTP.Load(), before, "media still flows")
	select {
	case e := <-ev.ch:
		t.Fatalf("call must go on, got %+v", e)
	default:
	}
	parent.send(Message{Type: TypeHangup, Call: "c4"})
	end := ev.wait(t, kiosk.EventEnded, 3*time.Second)
	assert.Equal(t, kiosk.CauseCalleeHangup, end.Cause)
}

func TestNoAnswer(t *testing.T) {
	cfg := testConfig()
	cfg.RingTimeout = 300 * time.Millisecond
	b, _ := newBridge(t, cfg)
	screen := newPage(t, "screen").attachScreen(b, booth)
	parent := newPage(t, "parent").attachParent(b, token)
	defer screen.shutdown()
	defer parent.shutdown()
	ev := dial(t, b, "c5", time.Minute)
	ev.wait(t, kiosk.EventRinging, time.Second)
	end := ev.wait(t, kiosk.EventEnded, 3*time.Second)
	assert.Equal(t, kiosk.DispNoAnswer, end.Disposition)
	assert.Equal(t, kiosk.CauseNoAnswer, end.Cause)
	assert.Zero(t, end.Billsec)
	assert.Equal(t, string(kiosk.CauseNoAnswer), parent.next(TypeEnd, time.Second).Cause, "the ringing stops")
}

func TestSecondDeviceAlreadyInCall(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	screen := newPage(t, "screen").attachScreen(b, booth)
	phone := newPage(t, "phone").attachParent(b, token)
	tablet := newPage(t, "tablet").attachParent(b, token)
	defer screen.shutdown()
	defer phone.shutdown()
	defer tablet.shutdown()
	ev := dial(t, b, "c6", time.Minute)
	r1 := phone.next(TypeRing, time.Second)
	tablet.next(TypeRing, time.Second)
	phone.send(Message{Type: TypeAccept, Call: r1.Call})
	assert.Equal(t, CauseAnsweredElsewhere, tablet.next(TypeEnd, time.Second).Cause)
	tablet.send(Message{Type: TypeAccept, Call: r1.Call})
	assert.Equal(t, CauseInCall, tablet.next(TypeBusy, time.Second).Cause, "the second device is told: already in a call")
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	// A third device opening the link during the call is told too.
	third := newPage(t, "third").attachParent(b, token)
	defer third.shutdown()
	assert.Equal(t, CauseInCall, third.next(TypeBusy, time.Second).Cause)
	require.NoError(t, b.Hangup("c6", kiosk.CauseShutdown))
	assert.Equal(t, kiosk.CauseShutdown, ev.wait(t, kiosk.EventEnded, 3*time.Second).Cause)
}

func TestCandidatesBeforeAnswer(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	screen := newPage(t, "screen")
	screen.candidatesFirst = true
	screen.attachScreen(b, booth)
	parent := newPage(t, "parent")
	parent.candidatesFirst = true
	parent.attachParent(b, token)
	defer screen.shutdown()
	defer parent.shutdown()
	ev := dial(t, b, "c7", time.Minute)
	parent.send(Message{Type: TypeAccept, Call: parent.next(TypeRing, time.Second).Call})
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	require.NoError(t, b.Hangup("c7", kiosk.CauseCallerHangup))
	ev.wait(t, kiosk.EventEnded, 3*time.Second)
}

func TestDialFailures(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	t.Run("no screen", func(t *testing.T) {
		parent := newPage(t, "parent").attachParent(b, token)
		defer parent.shutdown()
		end := dial(t, b, "f1", time.Minute).wait(t, kiosk.EventEnded, time.Second)
		assert.Equal(t, kiosk.DispFailed, end.Disposition)
	})
	t.Run("parent offline", func(t *testing.T) {
		screen := newPage(t, "screen").attachScreen(b, booth)
		defer screen.shutdown()
		end := dial(t, b, "f2", time.Minute).wait(t, kiosk.EventEnded, time.Second)
		assert.Equal(t, kiosk.DispFailed, end.Disposition)
	})
	t.Run("phone mode refused", func(t *testing.T) {
		err := b.Dial(context.Background(), kiosk.CallRequest{CallID: "f3", Mode: kiosk.ModePhone, Observer: newEvents()})
		assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	})
	t.Run("hangup unknown", func(t *testing.T) {
		assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(b.Hangup("nope", kiosk.CauseCallerHangup)))
	})
	t.Run("revoked link", func(t *testing.T) {
		_, _, err := b.Parent(context.Background(), "gone", nil)
		assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err))
		_, _, err = b.Parent(context.Background(), "guess", nil)
		assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	})
}

func TestCallerCancelsWhileRinging(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	screen := newPage(t, "screen").attachScreen(b, booth)
	parent := newPage(t, "parent").attachParent(b, token)
	defer screen.shutdown()
	defer parent.shutdown()
	ev := dial(t, b, "c8", time.Minute)
	parent.next(TypeRing, time.Second)
	require.NoError(t, b.Hangup("c8", kiosk.CauseCallerHangup))
	end := ev.wait(t, kiosk.EventEnded, 3*time.Second)
	assert.Equal(t, kiosk.DispCancelled, end.Disposition)
	assert.Equal(t, kiosk.CauseCancelled, end.Cause)
}

// TestCloseWhileGathering closes calls whose legs are still gathering
// and negotiating: no panic, and the goroutines go away.
func TestCloseWhileGathering(t *testing.T) {
	base := runtime.NumGoroutine()
	b, _ := newBridge(t, testConfig())
	screen := newPage(t, "screen")
	screen.noAnswer = true
	screen.attachScreen(b, booth)
	parent := newPage(t, "parent").attachParent(b, token)
	for i := range 5 {
		ev := dial(t, b, "g"+string(rune('0'+i)), time.Minute)
		screen.next(TypeOffer, time.Second) // the leg exists and is gathering
		require.NoError(t, b.Hangup("g"+string(rune('0'+i)), kiosk.CauseCallerHangup))
		ev.wait(t, kiosk.EventEnded, 3*time.Second)
	}
	screen.shutdown()
	parent.shutdown()
	require.NoError(t, b.Close())
	settled := assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+2 }, 5*time.Second, 50*time.Millisecond,
		"goroutines back to baseline (%d)", base)
	if !settled {
		buf := make([]byte, 1<<20)
		t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func TestPresence(t *testing.T) {
	changes := make(chan kiosk.ContactID, 16)
	links := newFakeLinks()
	links.add(token, contact, "王小明", false)
	cfg := testConfig()
	b, err := New(cfg, links, Opts{OnPresence: func(c kiosk.ContactID) { changes <- c }})
	require.NoError(t, err)
	defer b.Close()
	on, _ := b.Online(contact)
	assert.False(t, on)
	p := newPage(t, "parent").attachParent(b, token)
	defer p.shutdown()
	assert.Equal(t, contact, <-changes)
	on, _ = b.Online(contact)
	assert.True(t, on, "an open parent page is online")
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	p.send(Message{Type: TypeAvailable, Until: until.Format(time.RFC3339)})
	assert.Equal(t, contact, <-changes)
	_, got := b.Online(contact)
	assert.True(t, until.Equal(got), "available until is kept: %v", got)
	assert.True(t, until.Equal(links.avail[contact]), "and stored")
	p.drop()
	assert.Equal(t, contact, <-changes)
	on, _ = b.Online(contact)
	assert.False(t, on, "a closed page is offline")
}

func TestGivenName(t *testing.T) {
	for in, want := range map[string]string{"王小明": "小明", "欧阳娜娜": "娜娜", "王明": "王明", "Li Lei": "Li", "": ""} {
		assert.Equal(t, want, GivenName(in), in)
	}
}

func TestTURNCredentials(t *testing.T) {
	// coturn's REST API example: secret "north", user "kiosk".
	u, c := TURNCredentials("north", "kiosk", time.Unix(1700000000, 0))
	assert.Equal(t, "1700000000:kiosk", u)
	assert.Len(t, c, 28, "base64 of a 20-byte HMAC-SHA1")
	cfg := Config{TURNSecret: "north", ICEServers: []ICEServer{{URLs: []string{"stun:s:3478"}}, {URLs: []string{"turn:t:3478"}}}}
	cfg.defaults()
	s := cfg.iceServers(time.Unix(1700000000, 0))
	assert.Empty(t, s[0].Username, "STUN gets no credentials")
	assert.Equal(t, "1700043200:kiosk", s[1].Username, "12 h lifetime")
}

func TestCloseEndsCallsWithShutdown(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	ev, screen, parent := connect(t, b, "s1", time.Minute)
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	require.NoError(t, b.Close())
	end := ev.wait(t, kiosk.EventEnded, time.Second) // Close waits for it
	assert.Equal(t, kiosk.CauseShutdown, end.Cause)
	assert.Equal(t, string(kiosk.CauseShutdown), screen.next(TypeEnd, time.Second).Cause)
	assert.Equal(t, string(kiosk.CauseShutdown), parent.next(TypeEnd, time.Second).Cause)
	assert.ErrorIs(t, b.Dial(context.Background(), kiosk.CallRequest{CallID: "s2", Mode: kiosk.ModeVideo, Observer: newEvents()}), ErrClosed)
	assert.Equal(t, kiosk.HealthFault, b.Health().Status)
}

// A link revoked while its page is open: the page is told and dropped,
// it no longer counts as online, a call in progress ends (cause revoked),
// and a new call does not ring it.
func TestRevokedLinkDropsOpenPage(t *testing.T) {
	cfg := testConfig()
	cfg.LinkCheck = 100 * time.Millisecond
	b, links := newBridge(t, cfg)
	ev, _, parent := connect(t, b, "r1", time.Minute)
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)

	links.add(token, contact, "王小明", true) // revoked in the database
	end := ev.wait(t, kiosk.EventEnded, 3*time.Second)
	assert.Equal(t, kiosk.CauseRevoked, end.Cause)
	gone := parent.next(TypeError, 3*time.Second)
	assert.Equal(t, kiosk.EGONE, gone.Code, "the page is told its link is gone")
	require.Eventually(t, func() bool { online, _ := b.Online(contact); return !online },
		2*time.Second, 20*time.Millisecond, "no longer online")

	// Before the periodic check: a ring re-checks the link first.
	b2, links2 := newBridge(t, testConfig()) // LinkCheck 5 s: only the ring-time check can catch it
	screen := newPage(t, "screen").attachScreen(b2, booth)
	p2 := newPage(t, "parent").attachParent(b2, token)
	t.Cleanup(screen.shutdown)
	t.Cleanup(p2.shutdown)
	links2.add(token, contact, "王小明", true)
	ev2 := dial(t, b2, "r2", time.Minute)
	end2 := ev2.wait(t, kiosk.EventEnded, 3*time.Second)
	assert.Equal(t, kiosk.DispFailed, end2.Disposition, "no open page of a valid link: nobody to ring")
}
