// Package sim provides simulated devices: a card reader whose taps arrive
// through the daemon's admin API (kioskctl tap) and lights whose state is
// visible in /healthz and kioskctl status. kioskd -demo uses them, and so
// do tests; they behave like the real drivers behind the same interfaces.
package sim

import (
	"context"
	"sync"

	"github.com/qinqing/station/kiosk"
)

// Light is a simulated indicator light. It remembers its state and every
// change, so tests can assert the sequence a booth went through.
type Light struct {
	name string

	mu      sync.Mutex
	state   kiosk.LightState
	history []kiosk.LightState
}

var _ kiosk.Light = (*Light)(nil)

// NewLight returns a light that starts off.
func NewLight(name string) *Light {
	return &Light{name: name, state: kiosk.LightOff}
}

// Name returns the device name from the config.
func (l *Light) Name() string { return l.name }

// Set shows s. It never fails.
func (l *Light) Set(s kiosk.LightState) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s != l.state {
		l.history = append(l.history, s)
	}
	l.state = s
	return nil
}

// State returns what the light shows now.
func (l *Light) State() kiosk.LightState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// History returns every state change since the light was made, oldest
// first.
func (l *Light) History() []kiosk.LightState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]kiosk.LightState(nil), l.history...)
}

// Health reports the light as degraded: it is simulated.
func (l *Light) Health() kiosk.Health {
	return kiosk.Health{Status: kiosk.HealthOK, Reason: "simulated"}
}

// Halt turns the light off.
func (l *Light) Halt() error { return l.Set(kiosk.LightOff) }

// TapFunc receives a card presented at a booth's reader (the station's Tap).
type TapFunc func(ctx context.Context, booth, uid string) error

// Reader is a simulated card reader. Present is what a real reader's
// polling loop does when a card comes into the field.
type Reader struct {
	name  string
	booth string
	tap   TapFunc

	mu    sync.Mutex
	count int
}

// NewReader returns a reader attached to booth that reports taps to tap.
func NewReader(name, booth string, tap TapFunc) *Reader {
	return &Reader{name: name, booth: booth, tap: tap}
}

// Name returns the device name from the config.
func (r *Reader) Name() string { return r.name }

// Booth returns the booth the reader belongs to.
func (r *Reader) Booth() string { return r.booth }

// Present reports a card with the given UID (any form
// kiosk.NormalizeUID accepts) and returns the station's answer.
func (r *Reader) Present(ctx context.Context, uid string) error {
	r.mu.Lock()
	r.count++
	r.mu.Unlock()
	return r.tap(ctx, r.booth, uid)
}

// Reads returns how many cards were presented.
func (r *Reader) Reads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// Health reports the reader as ok and simulated.
func (r *Reader) Health() kiosk.Health {
	return kiosk.Health{Status: kiosk.HealthOK, Reason: "simulated"}
}

// Halt does nothing: a simulated reader holds no hardware.
func (r *Reader) Halt() error { return nil }
