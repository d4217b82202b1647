package button_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/devices/button"
	"github.com/qinqing/station/devices/gpiopin"
	"github.com/qinqing/station/kiosk"
)

var quiet = slog.New(slog.DiscardHandler)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

const ms = time.Millisecond

// edge is a level the button's contacts reach at a time after t0.
type edge struct {
	at    time.Duration
	level gpio.Level
}

// bench plays a script of edges in virtual time. Whenever the button waits
// for an edge, the bench moves the fake clock to the next edge (fed through
// the gpiotest pin's EdgesChan) or by the whole timeout if no edge comes
// sooner, so a run is exact and independent of the machine's speed. When
// the script is over and the clock has reached until, it reports drained
// and holds the button until released.
type bench struct {
	clk   *clockwork.FakeClock
	until time.Duration

	mu       sync.Mutex
	edges    []edge
	timeouts []time.Duration
	drained  chan struct{}
	over     bool
	release  chan struct{}
}

func newBench(until time.Duration, edges ...edge) *bench {
	return &bench{
		clk: clockwork.NewFakeClockAt(t0), until: until, edges: edges,
		drained: make(chan struct{}), release: make(chan struct{}),
	}
}

// scriptPin is a gpiotest pin driven by a bench. Its In fails from deadAt
// on (0: never), as a line whose file handle was closed.
type scriptPin struct {
	*gpiotest.Pin
	b      *bench
	deadAt time.Duration
}

func (b *bench) newPin(name string) *scriptPin {
	// The gpiotest clock is a separate fake that never moves: the bench
	// only uses the pin's EdgesChan path, which is taken at once.
	return &scriptPin{b: b, Pin: &gpiotest.Pin{N: name, Clock: clockwork.NewFakeClockAt(t0), EdgesChan: make(chan gpio.Level, 1)}}
}

func (p *scriptPin) In(pull gpio.Pull, e gpio.Edge) error {
	if p.deadAt > 0 && !p.b.clk.Now().Before(t0.Add(p.deadAt)) {
		return errors.New("bad file descriptor")
	}
	return p.Pin.In(pull, e)
}

func (p *scriptPin) WaitForEdge(timeout time.Duration) bool {
	b := p.b
	b.mu.Lock()
	b.timeouts = append(b.timeouts, timeout)
	now := b.clk.Now()
	if len(b.edges) == 0 && !now.Before(t0.Add(b.until)) {
		if !b.over {
			b.over = true
			close(b.drained)
		}
		b.mu.Unlock()
		<-b.release
		return false
	}
	var next *edge
	if len(b.edges) > 0 && t0.Add(b.edges[0].at).Sub(now) <= timeout {
		next = &b.edges[0]
		b.edges = b.edges[1:]
	}
	b.mu.Unlock()
	if next == nil {
		step := min(timeout, t0.Add(b.until).Sub(now))
		if len(b.edges) > 0 {
			step = timeout
		}
		b.clk.Advance(max(step, 0))
		return false
	}
	b.clk.Advance(t0.Add(next.at).Sub(now))
	p.EdgesChan <- next.level
	return p.Pin.WaitForEdge(timeout) // takes the queued level, sets L
}

// run runs the button until the script is over and returns its events.
func (b *bench) run(t *testing.T, d *button.Dev) []button.Event {
	t.Helper()
	var mu sync.Mutex
	var events []button.Event
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- d.Run(ctx, func(e button.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		})
	}()
	select {
	case <-b.drained:
	case err := <-errc:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("script never drained")
	}
	cancel()
	close(b.release)
	require.ErrorIs(t, <-errc, context.Canceled)
	mu.Lock()
	defer mu.Unlock()
	return events
}

func TestOneEventPerPress(t *testing.T) {
	L, H := gpio.Low, gpio.High
	tests := []struct {
		name  string
		opts  button.Opts
		until time.Duration
		edges []edge
		want  []time.Duration // At of each event, after t0
	}{
		{
			name:  "bounces within 20 ms",
			until: time.Second,
			edges: []edge{{0, L}, {3 * ms, H}, {6 * ms, L}, {9 * ms, H}, {12 * ms, L},
				{500 * ms, H}, {502 * ms, L}, {505 * ms, H}},
			want: []time.Duration{12 * ms},
		},
		{
			name:  "two presses 100 ms apart",
			until: time.Second,
			edges: []edge{{0, L}, {50 * ms, H}, {100 * ms, L}, {150 * ms, H}},
			want:  []time.Duration{0, 100 * ms},
		},
		{
			name:  "long press",
			until: 4 * time.Second,
			edges: []edge{{0, L}, {3 * time.Second, H}},
			want:  []time.Duration{0},
		},
		{
			name:  "glitch shorter than debounce",
			until: time.Second,
			edges: []edge{{100 * ms, L}, {115 * ms, H}},
			want:  nil,
		},
		{
			name:  "longer debounce swallows a 30 ms press",
			opts:  button.Opts{Debounce: 50 * ms},
			until: time.Second,
			edges: []edge{{0, L}, {30 * ms, H}, {200 * ms, L}, {400 * ms, H}},
			want:  []time.Duration{200 * ms},
		},
		{
			name:  "rising edge with pull-down",
			opts:  button.Opts{Pull: gpio.PullDown, Press: gpio.RisingEdge},
			until: time.Second,
			edges: []edge{{10 * ms, H}, {12 * ms, L}, {14 * ms, H}, {300 * ms, L}},
			want:  []time.Duration{14 * ms},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(tc.until, tc.edges...)
			pin := b.newPin("GPIO23")
			opts := tc.opts
			opts.Clock = b.clk
			opts.Logger = quiet
			opts.Name = "help1"
			opts.Lookup = func(name string) gpio.PinIO {
				if name == "GPIO23" {
					return pin
				}
				return nil
			}
			d, err := button.New("GPIO23", &opts)
			require.NoError(t, err)
			events := b.run(t, d)
			var got []time.Duration
			for _, e := range events {
				got = append(got, e.At.Sub(t0))
				assert.Equal(t, "help1", e.Name)
				assert.Equal(t, "GPIO23", e.Pin)
			}
			assert.Equal(t, tc.want, got, "press times")
			// The trap: every edge wait must be positive and bounded.
			for _, w := range b.timeouts {
				require.Greater(t, w, time.Duration(0), "WaitForEdge timeout must be positive")
				require.LessOrEqual(t, w, 100*ms, "WaitForEdge timeout must be bounded by Poll")
			}
			assert.Equal(t, kiosk.HealthOK, d.Health().Status)
			require.NoError(t, d.Halt())
			require.NoError(t, d.Halt(), "second Halt")
			assert.ErrorIs(t, d.Run(context.Background(), func(button.Event) {}), button.ErrHalted)
		})
	}
}

func TestDeadPinRecovers(t *testing.T) {
	b := newBench(1500*ms, edge{1200 * ms, gpio.Low}, edge{1300 * ms, gpio.High})
	old := b.newPin("GPIO23")
	old.deadAt = 300 * ms
	fresh := b.newPin("GPIO23")
	var mu sync.Mutex
	comeBack := false
	lookup := func(name string) gpio.PinIO {
		mu.Lock()
		defer mu.Unlock()
		if comeBack {
			return fresh
		}
		return old
	}
	d, err := button.New("GPIO23", &button.Opts{
		Clock: b.clk, Lookup: lookup, Logger: quiet, Recheck: 200 * ms, RetryMin: 100 * ms,
	})
	require.NoError(t, err)

	// While the pin is dead the button sleeps on the clock, not in
	// WaitForEdge: move the clock for it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var hmu sync.Mutex
	var during []kiosk.Health
	go func() {
		for ctx.Err() == nil {
			if b.clk.BlockUntilContext(ctx, 1) != nil {
				return
			}
			hmu.Lock()
			during = append(during, d.Health())
			hmu.Unlock()
			if b.clk.Now().After(t0.Add(700 * ms)) {
				mu.Lock()
				comeBack = true
				mu.Unlock()
			}
			b.clk.Advance(10 * ms)
		}
	}()
	events := b.run(t, d)
	require.Len(t, events, 1, "the press after recovery counts")
	assert.Equal(t, t0.Add(1200*ms), events[0].At)
	hmu.Lock()
	require.NotEmpty(t, during, "the button slept while its pin was dead")
	assert.Equal(t, kiosk.HealthFault, during[0].Status)
	assert.Contains(t, during[0].Reason, "GPIO23")
	hmu.Unlock()
	assert.Equal(t, kiosk.HealthOK, d.Health().Status, "recovered: %s", d.Health().Reason)
	assert.True(t, comeBack)
}

func TestNewErrors(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO23", EdgesChan: make(chan gpio.Level, 1)}
	lookup := func(name string) gpio.PinIO {
		if name == "GPIO23" {
			return pin
		}
		return nil
	}
	tests := []struct {
		name string
		pin  string
		opts button.Opts
		want error
	}{
		{"missing", "GPIO99", button.Opts{}, button.ErrPinNotFound},
		{"number", "23", button.Opts{}, button.ErrPinByNumber},
		{"empty", "", button.Opts{}, gpiopin.ErrNoName},
		{"short debounce", "GPIO23", button.Opts{Debounce: 5 * ms}, button.ErrBadOpts},
		{"both edges", "GPIO23", button.Opts{Press: gpio.BothEdges}, button.ErrBadOpts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Lookup = lookup
			_, err := button.New(tc.pin, &tc.opts)
			require.ErrorIs(t, err, tc.want)
			if tc.want != button.ErrBadOpts {
				assert.Contains(t, err.Error(), fmt.Sprintf("pin %q", tc.pin), "error names the pin")
			}
		})
	}
}
