// Package relay switches a relay (a booth's TV power, a door strike) on a
// GPIO output, wired active-high or active-low (most opto-isolated relay
// boards close on a low input).
//
// The pin is found by name ("GPIO24"), never by number (the Raspberry Pi 5
// moved the chip numbers), and put in the safe state by New. An optional
// minimum switch interval protects loads that must not be toggled quickly.
// A pin whose Out fails (its file handle closed under the daemon) makes
// Health a fault; the next switch after a backoff looks it up again by
// name. This package never calls host.Init (cmd/kioskd does).
package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/qinqing/station/devices/gpiopin"
	"github.com/qinqing/station/kiosk"
)

// Errors returned by New and the switching methods; test with errors.Is.
// ErrPinNotFound and ErrPinByNumber are gpiopin's errors (see
// gpiopin.Find), named here so callers need not import gpiopin.
var (
	ErrPinNotFound = gpiopin.ErrNotFound
	ErrPinByNumber = gpiopin.ErrByNumber
	ErrTooSoon     = errors.New("relay: switched again before the minimum interval")
	ErrPinDead     = errors.New("relay: pin failed, waiting to reopen it")
	ErrHalted      = errors.New("relay: halted")
)

// Opts are optional settings; the zero value of each field means its
// default.
type Opts struct {
	// ActiveLow means the relay is energised (on) when the pin is low.
	// Default false (active-high).
	ActiveLow bool
	// MinInterval is the shortest time between two switches; a switch
	// sooner returns ErrTooSoon and changes nothing. Halt ignores it.
	// Default 0 (none).
	MinInterval time.Duration
	// SafeOn makes on the safe state, set by New and Halt (for a load that
	// must stay powered when the daemon stops). Default false: safe is off.
	SafeOn bool
	// RetryMin is the first wait before a failed pin is looked up again;
	// each failure doubles it up to RetryMax. Defaults 1 s and 1 min.
	RetryMin, RetryMax time.Duration
	// Lookup finds a pin by name; it returns nil for an unknown name.
	// Default gpioreg.ByName.
	Lookup func(name string) gpio.PinIO
	// Now is the clock for MinInterval and backoff. Default time.Now.
	Now func() time.Time
	// Logger receives pin faults and recoveries. Default slog.Default().
	Logger *slog.Logger
	// Name identifies the relay in logs and errors. Default "relay".
	Name string
}

// DefaultOpts returns the defaults described on Opts.
func DefaultOpts() Opts {
	return Opts{
		RetryMin: time.Second,
		RetryMax: time.Minute,
		Lookup:   gpioreg.ByName,
		Now:      time.Now,
		Logger:   slog.Default(),
		Name:     "relay",
	}
}

func (o *Opts) fill() {
	d := DefaultOpts()
	if o.RetryMin <= 0 {
		o.RetryMin = d.RetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(d.RetryMax, o.RetryMin)
	}
	if o.Lookup == nil {
		o.Lookup = d.Lookup
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Name == "" {
		o.Name = d.Name
	}
}

// Dev is one relay. It is safe for concurrent use.
type Dev struct {
	opts    Opts
	pinName string
	log     *slog.Logger

	mu       sync.Mutex
	pin      gpio.PinOut
	on       bool
	switched time.Time // last successful change; zero before the first
	dead     error
	retryAt  time.Time
	backoff  time.Duration
	halted   bool
}

// New finds the pin named pin ("GPIO24"; see gpiopin.Find) and drives it
// to the safe state (off unless opts.SafeOn). opts may be nil.
//
// It returns gpiopin.Find's error (wrapped, naming the pin: ErrPinByNumber
// for a name made only of digits, ErrPinNotFound for a name Lookup does
// not know, gpiopin.ErrNoName for ""), or Out's error.
func New(pin string, opts *Opts) (*Dev, error) {
	var o Opts
	if opts != nil {
		o = *opts
	}
	o.fill()
	p, err := gpiopin.Find(o.Lookup, pin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Name, err)
	}
	d := &Dev{opts: o, pinName: pin, pin: p, log: o.Logger.With("component", "relay", "relay", o.Name)}
	if err := p.Out(d.level(o.SafeOn)); err != nil {
		return nil, fmt.Errorf("%s pin %s: safe state: %w", o.Name, pin, err)
	}
	d.on = o.SafeOn
	return d, nil
}

func (d *Dev) level(on bool) gpio.Level { return gpio.Level(on != d.opts.ActiveLow) }

// On energises the relay. See Set.
func (d *Dev) On() error { return d.Set(true) }

// Off releases the relay. See Set.
func (d *Dev) Off() error { return d.Set(false) }

// Set switches the relay on or off. Asking for the state it is already in
// does nothing and returns nil. It returns ErrTooSoon (wrapped) within
// MinInterval of the last switch, ErrHalted after Halt, ErrPinDead
// (wrapped) while a failed pin waits for its backoff, or the pin's error
// (Health is then a fault until a later switch reopens the pin).
func (d *Dev) Set(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return ErrHalted
	}
	return d.set(on, false)
}

// set switches under d.mu; force skips MinInterval (for Halt).
func (d *Dev) set(on, force bool) error {
	now := d.opts.Now()
	if d.dead == nil && on == d.on {
		return nil
	}
	if !force && d.opts.MinInterval > 0 && !d.switched.IsZero() {
		if wait := d.switched.Add(d.opts.MinInterval).Sub(now); wait > 0 {
			return fmt.Errorf("%s: %w (wait %s)", d.opts.Name, ErrTooSoon, wait)
		}
	}
	if d.dead != nil {
		if now.Before(d.retryAt) {
			return fmt.Errorf("%s pin %s: %w: %v", d.opts.Name, d.pinName, ErrPinDead, d.dead)
		}
		p, err := gpiopin.Find(d.opts.Lookup, d.pinName)
		if err != nil {
			d.failed(now, fmt.Errorf("reopen: %w", err), min(2*d.backoff, d.opts.RetryMax))
			return fmt.Errorf("%s: %w", d.opts.Name, d.dead)
		}
		d.pin = p
	}
	if err := d.pin.Out(d.level(on)); err != nil {
		wait := d.opts.RetryMin
		if d.dead != nil {
			wait = min(2*d.backoff, d.opts.RetryMax)
		}
		d.failed(now, err, wait)
		return fmt.Errorf("%s pin %s: out: %w", d.opts.Name, d.pinName, err)
	}
	if d.dead != nil {
		d.log.Info("relay pin recovered", "pin", d.pinName)
	}
	d.dead = nil
	if on != d.on {
		d.switched = now
	}
	d.on = on
	return nil
}

func (d *Dev) failed(now time.Time, err error, wait time.Duration) {
	if d.dead == nil {
		d.log.Warn("relay pin failed", "pin", d.pinName, "err", err, "retry_in", wait)
	}
	d.dead = err
	d.backoff = wait
	d.retryAt = now.Add(wait)
}

// State reports whether the relay was last driven on (the last state that
// reached the pin).
func (d *Dev) State() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.on
}

// Health is ok, or fault with the reason while the pin fails.
func (d *Dev) Health() kiosk.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead != nil {
		return kiosk.Health{Status: kiosk.HealthFault, Reason: fmt.Sprintf("%s pin %s: %v", d.opts.Name, d.pinName, d.dead)}
	}
	return kiosk.Health{Status: kiosk.HealthOK}
}

// Halt drives the safe state (off unless Opts.SafeOn), ignoring
// MinInterval and trying the pin again even within its backoff, and makes
// later switches return ErrHalted. Later calls do nothing and return nil.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	d.halted = true
	d.retryAt = time.Time{}
	return d.set(d.opts.SafeOn, true)
}
