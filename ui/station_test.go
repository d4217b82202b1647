package ui

import (
	"context"
	"fmt"
	"sync"

	"github.com/qinqing/station/kiosk"
)

// call is one action the fake station received.
type call struct {
	Op    string // "tap", "pick", "help", "hangup"
	Booth string
	UID   string
	Slot  int
}

// fakeStation records actions and pushes screens to subscribers. Set err
// to make every action fail with it.
type fakeStation struct {
	booths []kiosk.Booth

	mu      sync.Mutex
	screens map[string]kiosk.Screen
	subs    map[string][]chan kiosk.Screen
	calls   []call
	err     error
	callCh  chan call
}

func newFakeStation(booths ...string) *fakeStation {
	f := &fakeStation{
		screens: map[string]kiosk.Screen{},
		subs:    map[string][]chan kiosk.Screen{},
		callCh:  make(chan call, 64),
	}
	for _, id := range booths {
		f.booths = append(f.booths, kiosk.Booth{ID: id, Name: "Booth " + id})
		f.screens[id] = kiosk.Screen{Booth: id, Kind: kiosk.ScreenIdle, Seq: 1, QuotaMinutesLeft: ptr(-1), QuotaCallsLeft: ptr(-1)}
	}
	return f
}

func (f *fakeStation) Booths() []kiosk.Booth { return f.booths }

func (f *fakeStation) Screen(booth string) (kiosk.Screen, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc, ok := f.screens[booth]
	if !ok {
		return kiosk.Screen{}, kiosk.Errorf(kiosk.ENOTFOUND, "unknown booth %q", booth)
	}
	return sc, nil
}

func (f *fakeStation) Subscribe(booth string) (<-chan kiosk.Screen, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc, ok := f.screens[booth]
	if !ok {
		return nil, nil, kiosk.Errorf(kiosk.ENOTFOUND, "unknown booth %q", booth)
	}
	ch := make(chan kiosk.Screen, 16)
	ch <- sc
	f.subs[booth] = append(f.subs[booth], ch)
	var once sync.Once
	cancel := func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.removeLocked(booth, ch, false)
		})
	}
	return ch, cancel, nil
}

// removeLocked removes ch from the subscribers; closing it tells the
// reader it was dropped.
func (f *fakeStation) removeLocked(booth string, ch chan kiosk.Screen, closeIt bool) {
	subs := f.subs[booth]
	for i, c := range subs {
		if c == ch {
			f.subs[booth] = append(subs[:i:i], subs[i+1:]...)
			if closeIt {
				close(c)
			}
			return
		}
	}
}

// push sets the booth's screen (Seq incremented) and sends it to every
// subscriber, dropping (closing) those whose channel is full, as the real
// station does.
func (f *fakeStation) push(sc kiosk.Screen) kiosk.Screen {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc.Seq = f.screens[sc.Booth].Seq + 1
	f.screens[sc.Booth] = sc
	for _, ch := range append([]chan kiosk.Screen(nil), f.subs[sc.Booth]...) {
		select {
		case ch <- sc:
		default:
			f.removeLocked(sc.Booth, ch, true)
		}
	}
	return sc
}

// dropAll closes every subscriber channel of booth.
func (f *fakeStation) dropAll(booth string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range append([]chan kiosk.Screen(nil), f.subs[booth]...) {
		f.removeLocked(booth, ch, true)
	}
}

func (f *fakeStation) subscribers(booth string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs[booth])
}

func (f *fakeStation) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeStation) record(c call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.screens[c.Booth]; !ok {
		return kiosk.Errorf(kiosk.ENOTFOUND, "unknown booth %q", c.Booth)
	}
	f.calls = append(f.calls, c)
	select {
	case f.callCh <- c:
	default:
		panic(fmt.Sprintf("fake station: call channel full at %+v", c))
	}
	return f.err
}

func (f *fakeStation) Tap(_ context.Context, booth, uid string) error {
	return f.record(call{Op: "tap", Booth: booth, UID: uid})
}

func (f *fakeStation) Pick(_ context.Context, booth string, slot int) error {
	return f.record(call{Op: "pick", Booth: booth, Slot: slot})
}

func (f *fakeStation) PickMode(_ context.Context, booth string, slot int, mode kiosk.Mode) error {
	return f.record(call{Op: "pick-" + string(mode), Booth: booth, Slot: slot})
}

func (f *fakeStation) Help(_ context.Context, booth string) error {
	return f.record(call{Op: "help", Booth: booth})
}

func (f *fakeStation) Hangup(_ context.Context, booth string) error {
	return f.record(call{Op: "hangup", Booth: booth})
}

var (
	_ Station      = (*fakeStation)(nil)
	_ VideoStation = (*fakeStation)(nil)
)

func ptr[T any](v T) *T { return &v }
