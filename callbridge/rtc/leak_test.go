package rtc

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// settle waits until the goroutine count is at most want (for a
// baseline, want < 0: half a second), and returns
// the count and the live heap after a GC.
func settle(want int) (goroutines int, heap uint64) {
	deadline := time.Now().Add(10 * time.Second)
	if want < 0 {
		deadline = time.Now().Add(500 * time.Millisecond) // baseline: let closes finish
	}
	for {
		runtime.GC()
		goroutines = runtime.NumGoroutine()
		if goroutines <= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return goroutines, ms.HeapAlloc
}

// round connects a screen and a parent page, rings, and drops the call in
// one of four ways.
func round(t *testing.T, b *Bridge, i int) {
	screen := newPage(t, "screen").attachScreen(b, booth)
	parent := newPage(t, "parent").attachParent(b, token)
	defer screen.shutdown()
	defer parent.shutdown()
	id := fmt.Sprintf("r%d", i)
	ev := dial(t, b, id, time.Minute)
	ring := parent.next(TypeRing, 2*time.Second)
	switch i % 4 {
	case 0: // answered, the parent hangs up
		parent.send(Message{Type: TypeAccept, Call: ring.Call})
		ev.wait(t, kiosk.EventAnswered, 10*time.Second)
		parent.send(Message{Type: TypeHangup, Call: id})
	case 1: // the child gives up while it rings
		screen.send(Message{Type: TypeHangup, Call: id})
	case 2: // the parent declines
		parent.send(Message{Type: TypeHangup, Call: id})
	case 3: // answered, the screen hangs up
		parent.send(Message{Type: TypeAccept, Call: ring.Call})
		ev.wait(t, kiosk.EventAnswered, 10*time.Second)
		screen.send(Message{Type: TypeHangup, Call: id})
	}
	ev.wait(t, kiosk.EventEnded, 5*time.Second)
}

// TestRoundsLeaveNoLeak runs 500 rounds (40 under -short) of connect,
// ring and drop, and checks that goroutines and heap come back to the
// level after the first rounds.
func TestRoundsLeaveNoLeak(t *testing.T) {
	rounds := 500
	if testing.Short() {
		rounds = 40
	}
	b, _ := newBridge(t, testConfig())
	for i := range 4 { // warm up: pools, interceptor factories, timers
		round(t, b, i)
	}
	g0, h0 := settle(-1)
	start := time.Now()
	for i := 4; i < rounds+4; i++ {
		round(t, b, i)
	}
	g1, h1 := settle(g0 + 2)
	t.Logf("%d rounds in %s: goroutines %d -> %d, heap %d KB -> %d KB", rounds, time.Since(start).Round(time.Millisecond),
		g0, g1, h0>>10, h1>>10)
	require.Equal(t, 0, b.ActiveCalls())
	if !assert.LessOrEqual(t, g1, g0+2, "goroutines back to baseline") {
		buf := make([]byte, 1<<20)
		t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
	assert.Less(t, int64(h1)-int64(h0), int64(4<<20), "heap back to baseline within 4 MB")
}
