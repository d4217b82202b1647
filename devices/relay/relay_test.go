package relay_test

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/devices/gpiopin"
	"github.com/qinqing/station/devices/relay"
	"github.com/qinqing/station/kiosk"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// flakyPin is a gpiotest pin whose Out fails while fail is set.
type flakyPin struct {
	*gpiotest.Pin
	fail bool
}

func (p *flakyPin) Out(l gpio.Level) error {
	if p.fail {
		return errors.New("bad file descriptor")
	}
	return p.Pin.Out(l)
}

type rig struct {
	now  time.Time
	pins map[string]gpio.PinIO
}

func newRig() *rig {
	return &rig{now: t0, pins: map[string]gpio.PinIO{"GPIO24": &flakyPin{Pin: &gpiotest.Pin{N: "GPIO24", L: gpio.High}}}}
}

func (r *rig) opts(o relay.Opts) *relay.Opts {
	o.Now = func() time.Time { return r.now }
	o.Logger = slog.New(slog.DiscardHandler)
	o.Lookup = func(name string) gpio.PinIO { return r.pins[name] }
	return &o
}

func (r *rig) level() gpio.Level { return r.pins["GPIO24"].Read() }

func TestSwitching(t *testing.T) {
	tests := []struct {
		name           string
		opts           relay.Opts
		safe, on, off  gpio.Level
		haltState      bool
		haltLevelAfter gpio.Level
	}{
		{"active-high", relay.Opts{}, gpio.Low, gpio.High, gpio.Low, false, gpio.Low},
		{"active-low", relay.Opts{ActiveLow: true}, gpio.High, gpio.Low, gpio.High, false, gpio.High},
		{"safe on", relay.Opts{SafeOn: true}, gpio.High, gpio.High, gpio.Low, true, gpio.High},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			d, err := relay.New("GPIO24", r.opts(tc.opts))
			require.NoError(t, err)
			assert.Equal(t, tc.safe, r.level(), "New drives the safe state")

			require.NoError(t, d.On())
			assert.Equal(t, tc.on, r.level(), "on")
			assert.True(t, d.State())
			require.NoError(t, d.Off())
			assert.Equal(t, tc.off, r.level(), "off")
			assert.False(t, d.State())
			require.NoError(t, d.Off(), "off again is a no-op")

			require.NoError(t, d.Halt())
			assert.Equal(t, tc.haltLevelAfter, r.level(), "Halt drives the safe state")
			assert.Equal(t, tc.haltState, d.State())
			require.NoError(t, d.Halt(), "second Halt")
			assert.ErrorIs(t, d.On(), relay.ErrHalted)
			assert.Equal(t, kiosk.HealthOK, d.Health().Status)
		})
	}
}

func TestMinInterval(t *testing.T) {
	r := newRig()
	d, err := relay.New("GPIO24", r.opts(relay.Opts{MinInterval: 5 * time.Second}))
	require.NoError(t, err)
	require.NoError(t, d.On(), "first switch is never too soon")

	r.now = r.now.Add(2 * time.Second)
	assert.ErrorIs(t, d.Off(), relay.ErrTooSoon)
	assert.True(t, d.State(), "a refused switch changes nothing")
	assert.Equal(t, gpio.High, r.level())
	require.NoError(t, d.On(), "asking for the current state is not a switch")

	r.now = r.now.Add(3 * time.Second)
	require.NoError(t, d.Off(), "5 s after the last switch")
	assert.Equal(t, gpio.Low, r.level())

	r.now = r.now.Add(5 * time.Second)
	require.NoError(t, d.On())
	r.now = r.now.Add(time.Second)
	require.NoError(t, d.Halt(), "Halt ignores the minimum interval")
	assert.Equal(t, gpio.Low, r.level())
}

func TestFailingPinReopens(t *testing.T) {
	r := newRig()
	d, err := relay.New("GPIO24", r.opts(relay.Opts{}))
	require.NoError(t, err)
	r.pins["GPIO24"].(*flakyPin).fail = true

	err = d.On()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GPIO24")
	assert.False(t, d.State(), "state is what reached the pin")
	h := d.Health()
	assert.Equal(t, kiosk.HealthFault, h.Status)
	assert.Contains(t, h.Reason, "GPIO24")

	r.now = r.now.Add(500 * time.Millisecond)
	assert.ErrorIs(t, d.On(), relay.ErrPinDead, "within the 1 s backoff")

	// The pin is looked up again by name after the backoff.
	fresh := &flakyPin{Pin: &gpiotest.Pin{N: "GPIO24"}}
	r.pins["GPIO24"] = fresh
	r.now = r.now.Add(time.Second)
	require.NoError(t, d.On())
	assert.Equal(t, gpio.High, fresh.Read())
	assert.True(t, d.State())
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)
}

func TestReopenPinGone(t *testing.T) {
	r := newRig()
	d, err := relay.New("GPIO24", r.opts(relay.Opts{}))
	require.NoError(t, err)
	r.pins["GPIO24"].(*flakyPin).fail = true
	require.Error(t, d.On())

	// The line is gone for good: the lookup after the backoff finds
	// nothing, and the next lookup waits twice as long.
	delete(r.pins, "GPIO24")
	r.now = r.now.Add(time.Second)
	err = d.On()
	require.ErrorIs(t, err, relay.ErrPinNotFound)
	assert.Contains(t, err.Error(), `pin "GPIO24"`, "error names the pin")
	h := d.Health()
	assert.Equal(t, kiosk.HealthFault, h.Status)
	assert.Contains(t, h.Reason, "reopen")

	r.now = r.now.Add(1500 * time.Millisecond)
	assert.ErrorIs(t, d.On(), relay.ErrPinDead, "within the doubled 2 s backoff")
	r.pins["GPIO24"] = &flakyPin{Pin: &gpiotest.Pin{N: "GPIO24"}}
	r.now = r.now.Add(time.Second)
	require.NoError(t, d.On(), "found again after the backoff")
	assert.Equal(t, gpio.High, r.level())
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name, pin string
		want      error
	}{
		{"missing", "GPIO5", relay.ErrPinNotFound},
		{"number", "24", relay.ErrPinByNumber},
		{"empty", "", gpiopin.ErrNoName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			_, err := relay.New(tc.pin, r.opts(relay.Opts{Name: "tv"}))
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), fmt.Sprintf("tv: pin %q", tc.pin), "error names the relay and the pin")
			assert.Equal(t, gpio.High, r.level(), "the pin it has is not touched")
		})
	}
}
