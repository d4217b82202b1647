package rtc

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

var iceUfrag = regexp.MustCompile(`a=ice-ufrag:(\S+)`)

// connectDroppable is connect with a parent page whose media network the
// test can take down; it returns the parent's first offer too.
func connectDroppable(t *testing.T, b *Bridge, id string) (*events, *page, *page, Message) {
	t.Helper()
	screen := newPage(t, "screen")
	screen.attachScreen(b, booth)
	parent := newPage(t, "parent")
	parent.net = newDropConn(t)
	parent.attachParent(b, token)
	t.Cleanup(screen.shutdown)
	t.Cleanup(parent.shutdown)
	ev := dial(t, b, id, time.Minute)
	ring := parent.next(TypeRing, 2*time.Second)
	parent.send(Message{Type: TypeAccept, Call: ring.Call})
	offer := parent.next(TypeOffer, 5*time.Second)
	ev.wait(t, kiosk.EventAnswered, 10*time.Second)
	return ev, screen, parent, offer
}

// TestICERestartAfterMediaPathLoss: the parent's media path goes down
// while its signaling stays (a phone moving from Wi-Fi to mobile data);
// the daemon notices (ICE disconnected), offers the parent page an ICE
// restart on the same PeerConnection, the page answers it, and media
// flows again: the call goes on and ends as it normally would.
func TestICERestartAfterMediaPathLoss(t *testing.T) {
	cfg := testConfig()
	cfg.ReconnectWindow = 5 * time.Second // how long a restart may take
	b, _ := newBridge(t, cfg)
	ev, screen, parent, first := connectDroppable(t, b, "c1")
	require.Eventually(t, func() bool { return screen.gotRTP.Load() > 20 && parent.gotRTP.Load() > 20 },
		5*time.Second, 20*time.Millisecond, "media flows both ways")

	parent.net.down.Store(true)
	restart := parent.next(TypeOffer, 5*time.Second)
	require.True(t, restart.Restart, "the second offer is an ICE restart")
	assert.Equal(t, "c1", restart.Call)
	f, r := iceUfrag.FindStringSubmatch(first.SDP), iceUfrag.FindStringSubmatch(restart.SDP)
	require.NotNil(t, f)
	require.NotNil(t, r)
	assert.NotEqual(t, f[1], r[1], "new ICE credentials")
	parent.net.down.Store(false) // back, on the "new network"

	b.mu.Lock()
	c := b.calls["c1"]
	b.mu.Unlock()
	require.NotNil(t, c, "the call goes on")
	pl := c.parentLeg.Load()
	fromParent, toParent := pl.received.Load(), parent.gotRTP.Load()
	require.Eventually(t, func() bool {
		return pl.received.Load() > fromParent+20 && parent.gotRTP.Load() > toParent+20
	}, 10*time.Second, 20*time.Millisecond, "media flows again both ways after the restart")
	assert.False(t, pl.isRestarting())

	screen.send(Message{Type: TypeHangup, Call: "c1"})
	end := ev.wait(t, kiosk.EventEnded, 5*time.Second)
	assert.Equal(t, kiosk.DispAnswered, end.Disposition)
	assert.Equal(t, kiosk.CauseCallerHangup, end.Cause, "the call was not lost")
}

// TestICERestartGivesUp: the media path stays down; the restart cannot
// bring it back, and after ReconnectWindow the call ends as peer_lost.
func TestICERestartGivesUp(t *testing.T) {
	b, _ := newBridge(t, testConfig())
	ev, _, parent, _ := connectDroppable(t, b, "c1")
	parent.net.down.Store(true)
	require.True(t, parent.next(TypeOffer, 5*time.Second).Restart)
	end := ev.wait(t, kiosk.EventEnded, 10*time.Second)
	assert.Equal(t, kiosk.DispAnswered, end.Disposition)
	assert.Equal(t, kiosk.CausePeerLost, end.Cause)
	assert.Equal(t, string(kiosk.CausePeerLost), parent.next(TypeEnd, 2*time.Second).Cause)
}

// TestICERestartOfferSentAgainAfterReconnect: a phone leaving Wi-Fi
// leaves a half-open websocket behind, and the daemon's restart offer
// goes down it, lost. When the page comes back on a new channel, the
// daemon offers the same restart again (it is still unanswered), the page
// answers, and the call goes on.
func TestICERestartOfferSentAgainAfterReconnect(t *testing.T) {
	cfg := testConfig()
	cfg.ReconnectWindow = 5 * time.Second
	b, _ := newBridge(t, cfg)
	ev, screen, parent, _ := connectDroppable(t, b, "c1")

	// The daemon's side of the channel now leads nowhere.
	dead, _, err := b.Parent(context.Background(), token, func(json.RawMessage) {})
	require.NoError(t, err)
	parent.mu.Lock()
	parent.recv = dead
	parent.mu.Unlock()
	parent.send(Message{Type: TypeHello, Session: parent.session})

	b.mu.Lock()
	pl := b.calls["c1"].parentLeg.Load()
	b.mu.Unlock()
	parent.net.down.Store(true)
	require.Eventually(t, pl.isRestarting, 5*time.Second, 10*time.Millisecond, "the daemon restarts ICE")

	parent.attachParent(b, token) // back, on a new channel and a new network
	parent.net.down.Store(false)
	restart := parent.next(TypeOffer, 3*time.Second)
	require.True(t, restart.Restart, "the unanswered restart offer is sent again")
	got := parent.gotRTP.Load()
	require.Eventually(t, func() bool { return parent.gotRTP.Load() > got+20 && !pl.isRestarting() },
		10*time.Second, 20*time.Millisecond, "media flows again")

	screen.send(Message{Type: TypeHangup, Call: "c1"})
	end := ev.wait(t, kiosk.EventEnded, 5*time.Second)
	assert.Equal(t, kiosk.CauseCallerHangup, end.Cause, "the call was not lost")
}
