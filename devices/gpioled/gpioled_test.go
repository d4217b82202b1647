package gpioled_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/devices/gpioled"
	"github.com/qinqing/station/kiosk"
)

var quiet = slog.New(slog.DiscardHandler)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// flakyPin is a gpiotest pin whose Out fails while fail is set, as a pin
// whose file handle was closed under the daemon.
type flakyPin struct {
	*gpiotest.Pin
	mu   sync.Mutex
	fail bool
}

func (p *flakyPin) Out(l gpio.Level) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("bad file descriptor")
	}
	return p.Pin.Out(l)
}

func (p *flakyPin) setFail(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = v
}

// board is a set of named fake pins and a lookup over them that tests can
// change while the light runs.
type board struct {
	mu   sync.Mutex
	pins map[string]gpio.PinIO
}

func newBoard(names ...string) *board {
	b := &board{pins: map[string]gpio.PinIO{}}
	for _, n := range names {
		b.pins[n] = &flakyPin{Pin: &gpiotest.Pin{N: n}}
	}
	return b
}

func (b *board) lookup(name string) gpio.PinIO {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pins[name]
}

func (b *board) set(name string, p gpio.PinIO) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pins[name] = p
}

func (b *board) pin(name string) *flakyPin {
	return b.lookup(name).(*flakyPin)
}

// rig is a light on fake pins with a fake clock.
type rig struct {
	t     *testing.T
	clk   *clockwork.FakeClock
	board *board
	dev   *gpioled.Dev
}

var rgb = gpioled.Pins{
	Red:   gpioled.Pin{Name: "GPIO17"},
	Green: gpioled.Pin{Name: "GPIO27"},
	Blue:  gpioled.Pin{Name: "GPIO22"},
}

func newRig(t *testing.T, pins gpioled.Pins) *rig {
	t.Helper()
	r := &rig{t: t, clk: clockwork.NewFakeClockAt(t0), board: newBoard("GPIO17", "GPIO27", "GPIO22")}
	dev, err := gpioled.New(pins, &gpioled.Opts{Lookup: r.board.lookup, Clock: r.clk, Logger: quiet})
	require.NoError(t, err)
	r.dev = dev
	t.Cleanup(func() { _ = dev.Halt() })
	r.settle()
	return r
}

// settle waits until the light's goroutine has armed its timer again, so
// that the levels read next are the ones it wrote for the current time.
func (r *rig) settle() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(r.t, r.clk.BlockUntilContext(ctx, 1), "light goroutine did not arm its timer")
}

// record samples the physical level of each named pin every step, n times
// (the first sample at the current time), as strings of '1' and '0'.
func (r *rig) record(step time.Duration, n int, names ...string) []string {
	out := make([]strings.Builder, len(names))
	for i := 0; i < n; i++ {
		if i > 0 {
			r.clk.Advance(step)
			r.settle()
		}
		for j, name := range names {
			if r.board.lookup(name).Read() == gpio.High {
				out[j].WriteByte('1')
			} else {
				out[j].WriteByte('0')
			}
		}
	}
	res := make([]string, len(names))
	for j := range out {
		res[j] = out[j].String()
	}
	return res
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

func TestPatterns(t *testing.T) {
	// 40 samples 50 ms apart = 2 s. Blink: 250 ms on, 250 ms off.
	// Pulse: 100 ms on every 1.5 s.
	dark := rep("0", 40)
	solid := rep("1", 40)
	blink := rep(rep("1", 5)+rep("0", 5), 4)
	tests := []struct {
		state            kiosk.LightState
		red, green, blue string
	}{
		{kiosk.LightOff, dark, dark, dark},
		{kiosk.LightIdle, dark, solid, dark},
		{kiosk.LightIdentified, dark, dark, solid},
		{kiosk.LightRinging, dark, dark, blink},
		{kiosk.LightConnected, dark, dark, solid},
		{kiosk.LightWarning, blink, blink, dark},
		{kiosk.LightDenied, blink, dark, dark},
		{kiosk.LightFault, solid, dark, dark},
	}
	for _, tc := range tests {
		t.Run(string(tc.state), func(t *testing.T) {
			r := newRig(t, rgb)
			r.clk.Advance(37 * time.Millisecond) // patterns start at Set, not at New
			require.NoError(t, r.dev.Set(tc.state))
			r.settle()
			got := r.record(50*time.Millisecond, 40, "GPIO17", "GPIO27", "GPIO22")
			assert.Equal(t, tc.red, got[0], "red")
			assert.Equal(t, tc.green, got[1], "green")
			assert.Equal(t, tc.blue, got[2], "blue")
			assert.Equal(t, tc.state, r.dev.State())
			assert.Equal(t, kiosk.HealthOK, r.dev.Health().Status)
		})
	}
}

func TestPulse(t *testing.T) {
	r := newRig(t, rgb)
	require.NoError(t, r.dev.Halt())
	dev, err := gpioled.New(rgb, &gpioled.Opts{
		Lookup: r.board.lookup, Clock: r.clk, Logger: quiet,
		Looks: map[kiosk.LightState]gpioled.Look{kiosk.LightIdle: {Color: gpioled.Green, Pattern: gpioled.Pulse}},
	})
	require.NoError(t, err)
	r.dev = dev
	t.Cleanup(func() { _ = dev.Halt() })
	r.settle()
	require.NoError(t, dev.Set(kiosk.LightIdle))
	r.settle()
	got := r.record(50*time.Millisecond, 60, "GPIO27")
	assert.Equal(t, rep("11"+rep("0", 28), 2), got[0], "100 ms flash every 1.5 s")
}

func TestActiveLow(t *testing.T) {
	pins := rgb
	pins.Red.ActiveLow = true
	r := newRig(t, pins)
	assert.Equal(t, gpio.High, r.board.lookup("GPIO17").Read(), "active-low red off after New is high")

	require.NoError(t, r.dev.Set(kiosk.LightDenied))
	r.settle()
	got := r.record(50*time.Millisecond, 20, "GPIO17", "GPIO27")
	assert.Equal(t, rep(rep("0", 5)+rep("1", 5), 2), got[0], "active-low red blinks inverted")
	assert.Equal(t, rep("0", 20), got[1], "active-high green stays low")

	require.NoError(t, r.dev.Halt())
	assert.Equal(t, gpio.High, r.board.lookup("GPIO17").Read(), "Halt leaves active-low red off (high)")
	assert.NoError(t, r.dev.Halt(), "second Halt")
	assert.ErrorIs(t, r.dev.Set(kiosk.LightIdle), gpioled.ErrHalted)
}

func TestFailingPinRecovers(t *testing.T) {
	r := newRig(t, rgb)
	require.NoError(t, r.dev.Set(kiosk.LightIdle))
	old := r.board.pin("GPIO27")
	require.Equal(t, gpio.High, old.Read())

	// The green pin's handle dies; the lookup finds nothing for a while.
	old.setFail(true)
	r.board.set("GPIO27", nil)
	err := r.dev.Set(kiosk.LightWarning)
	require.Error(t, err, "Set reports the dead green pin")
	assert.Contains(t, err.Error(), "GPIO27")
	h := r.dev.Health()
	assert.Equal(t, kiosk.HealthFault, h.Status)
	assert.Contains(t, h.Reason, "GPIO27")
	r.settle()

	// Red keeps blinking while green is dead (first retry at 1 s fails).
	got := r.record(50*time.Millisecond, 30, "GPIO17")
	assert.Equal(t, rep(rep("1", 5)+rep("0", 5), 3), got[0], "red keeps blinking")
	assert.Equal(t, kiosk.HealthFault, r.dev.Health().Status, "still fault: lookup finds nothing")

	// The pin comes back under its name; the next retry (2 s later) uses it.
	fresh := &flakyPin{Pin: &gpiotest.Pin{N: "GPIO27"}}
	r.board.set("GPIO27", fresh)
	r.record(50*time.Millisecond, 41, "GPIO17")
	assert.Equal(t, kiosk.HealthOK, r.dev.Health().Status, "recovered: %s", r.dev.Health().Reason)
	got = r.record(50*time.Millisecond, 10, "GPIO17", "GPIO27")
	assert.Equal(t, got[0], got[1], "green blinks with red again on the new pin")
	assert.Contains(t, got[1], "1")
}

func TestNewErrors(t *testing.T) {
	b := newBoard("GPIO17")
	tests := []struct {
		name string
		pins gpioled.Pins
		want error
		in   string
	}{
		{"none", gpioled.Pins{}, gpioled.ErrNoPins, ""},
		{"missing", gpioled.Pins{Red: gpioled.Pin{Name: "GPIO17"}, Blue: gpioled.Pin{Name: "GPIO99"}}, gpioled.ErrPinNotFound, "GPIO99"},
		{"number", gpioled.Pins{Red: gpioled.Pin{Name: "17"}}, gpioled.ErrPinByNumber, "17"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gpioled.New(tc.pins, &gpioled.Opts{Lookup: b.lookup, Clock: clockwork.NewFakeClock()})
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.in, "error names the pin")
		})
	}
}

func TestSetUnknownState(t *testing.T) {
	r := newRig(t, rgb)
	require.NoError(t, r.dev.Set(kiosk.LightIdle))
	assert.ErrorIs(t, r.dev.Set("disco"), gpioled.ErrUnknownState)
	assert.Equal(t, kiosk.LightIdle, r.dev.State(), "keeps the last state")
}

func TestColorString(t *testing.T) {
	assert.Equal(t, "red+green", gpioled.Yellow.String())
	assert.Equal(t, "dark", gpioled.Dark.String())
	assert.Equal(t, "blue", gpioled.Blue.String())
}
