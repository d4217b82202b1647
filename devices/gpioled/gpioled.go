// Package gpioled drives a booth's indicator light: up to three GPIO
// outputs (an RGB LED, or separate red, green and blue LEDs; yellow is red
// plus green), each wired active-high or active-low, showing each
// kiosk.LightState as a colour and a pattern (solid, blink, pulse).
//
// One goroutine per light owns the pins and the pattern timing; it runs on
// an injected clockwork.Clock so tests step it exactly. Pins are found by
// name ("GPIO17", as gpioreg knows them), never by number: the Raspberry Pi
// 5 moved the GPIO chip numbers. A pin whose Out starts failing (a file
// handle closed under the daemon after hours) marks the light as a fault,
// is looked up again by name with exponential backoff, and the other
// colours keep working meanwhile.
//
// The pins are programmed through periph.io/x/conn/v3/gpio; this package
// never calls host.Init (cmd/kioskd does).
package gpioled

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/qinqing/station/devices/gpiopin"
	"github.com/qinqing/station/kiosk"
)

// Errors returned by New and Set; test with errors.Is. ErrPinNotFound and
// ErrPinByNumber are gpiopin's errors (see gpiopin.Find), named here so
// callers need not import gpiopin.
var (
	ErrPinNotFound  = gpiopin.ErrNotFound
	ErrPinByNumber  = gpiopin.ErrByNumber
	ErrNoPins       = errors.New("gpioled: no pins configured")
	ErrUnknownState = errors.New("gpioled: unknown light state")
	ErrHalted       = errors.New("gpioled: halted")
)

// Color is a set of LED channels: a bit mask of Red, Green and Blue.
type Color uint8

// Colours. Dark (0) is all channels off.
const (
	Red    Color = 1 << iota
	Green        // 2
	Blue         // 4
	Dark   Color = 0
	Yellow       = Red | Green
)

// String returns "red", "green", "red+green" and so on, "dark" for none.
func (c Color) String() string {
	if c == Dark {
		return "dark"
	}
	var parts []string
	for _, ch := range channelOrder {
		if c&ch.color != 0 {
			parts = append(parts, ch.name)
		}
	}
	return strings.Join(parts, "+")
}

// Pattern is how a colour is shown over time.
type Pattern uint8

const (
	// Solid is on all the time.
	Solid Pattern = iota
	// Blink is on for half of Opts.BlinkPeriod, off for the other half,
	// starting on at the moment the state is set.
	Blink
	// Pulse is a short flash of Opts.PulseOn at the start of every
	// Opts.PulsePeriod.
	Pulse
)

// Look is what a light shows for one state.
type Look struct {
	Color   Color
	Pattern Pattern
}

// DefaultLooks returns the mapping of station states to looks (DESIGN.md
// "Devices"): idle green solid, identified blue solid, ringing blue blink,
// connected blue solid, warning yellow blink, denied red blink, fault red
// solid, off dark. The map is a fresh copy.
func DefaultLooks() map[kiosk.LightState]Look {
	return map[kiosk.LightState]Look{
		kiosk.LightOff:        {Dark, Solid},
		kiosk.LightIdle:       {Green, Solid},
		kiosk.LightIdentified: {Blue, Solid},
		kiosk.LightRinging:    {Blue, Blink},
		kiosk.LightConnected:  {Blue, Solid},
		kiosk.LightWarning:    {Yellow, Blink},
		kiosk.LightDenied:     {Red, Blink},
		kiosk.LightFault:      {Red, Solid},
	}
}

// Pin is one output channel: the name of the pin as gpiopin.Find takes it
// ("GPIO17"), or "" when that colour is not fitted, and whether the LED lights when the pin is
// low (active-low: LED between 3.3 V and the pin, or a common-anode RGB LED).
type Pin struct {
	Name      string
	ActiveLow bool
}

// Pins names the light's channels. At least one must be fitted; a state
// whose colour has no fitted channel shows nothing on the missing channel.
type Pins struct {
	Red, Green, Blue Pin
}

// Opts are optional settings; the zero value of each field means its
// default.
type Opts struct {
	// BlinkPeriod is one on+off cycle of Blink. Default 500 ms (2 Hz).
	BlinkPeriod time.Duration
	// PulseOn is the flash length of Pulse. Default 100 ms.
	PulseOn time.Duration
	// PulsePeriod is the time from one Pulse flash to the next.
	// Default 1.5 s.
	PulsePeriod time.Duration
	// Refresh is how often a steady light writes its levels again, so that
	// a pin that has died is noticed even when nothing changes.
	// Default 10 s.
	Refresh time.Duration
	// RetryMin is the first wait before a failed pin is looked up again by
	// name; each failure doubles it up to RetryMax. Defaults 1 s and 1 min.
	RetryMin, RetryMax time.Duration
	// Looks overrides entries of DefaultLooks (e.g. for a single-colour
	// LED). States missing from it keep their default look.
	Looks map[kiosk.LightState]Look
	// Lookup finds a pin by name. Default gpioreg.ByName. It returns nil
	// for an unknown name.
	Lookup func(name string) gpio.PinIO
	// Clock drives patterns and backoff. Default the real clock.
	Clock clockwork.Clock
	// Logger receives pin faults and recoveries. Default slog.Default().
	Logger *slog.Logger
	// Name identifies the light in logs and errors (the config's device
	// name). Default "light".
	Name string
}

// DefaultOpts returns the defaults described on Opts.
func DefaultOpts() Opts {
	return Opts{
		BlinkPeriod: 500 * time.Millisecond,
		PulseOn:     100 * time.Millisecond,
		PulsePeriod: 1500 * time.Millisecond,
		Refresh:     10 * time.Second,
		RetryMin:    time.Second,
		RetryMax:    time.Minute,
		Lookup:      gpioreg.ByName,
		Clock:       clockwork.NewRealClock(),
		Logger:      slog.Default(),
		Name:        "light",
	}
}

func (o *Opts) fill() {
	d := DefaultOpts()
	if o.BlinkPeriod <= 0 {
		o.BlinkPeriod = d.BlinkPeriod
	}
	if o.PulseOn <= 0 {
		o.PulseOn = d.PulseOn
	}
	if o.PulsePeriod <= 0 {
		o.PulsePeriod = d.PulsePeriod
	}
	if o.PulseOn >= o.PulsePeriod {
		o.PulseOn = o.PulsePeriod / 2
	}
	if o.Refresh <= 0 {
		o.Refresh = d.Refresh
	}
	if o.RetryMin <= 0 {
		o.RetryMin = d.RetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(d.RetryMax, o.RetryMin)
	}
	if o.Lookup == nil {
		o.Lookup = d.Lookup
	}
	if o.Clock == nil {
		o.Clock = d.Clock
	}
	if o.Logger == nil {
		o.Logger = d.Logger
	}
	if o.Name == "" {
		o.Name = d.Name
	}
}

var channelOrder = []struct {
	color Color
	name  string
}{{Red, "red"}, {Green, "green"}, {Blue, "blue"}}

// channel is one fitted output; only the light's goroutine touches it
// after New returns.
type channel struct {
	color     Color
	role      string
	name      string
	activeLow bool
	pin       gpio.PinOut

	written bool // last is meaningful
	last    gpio.Level

	err     error // non-nil while the pin is failing
	retryAt time.Time
	backoff time.Duration
}

type setReq struct {
	state kiosk.LightState
	reply chan error
}

// Dev is one booth's indicator light. It is safe for concurrent use.
type Dev struct {
	opts  Opts
	looks map[kiosk.LightState]Look
	chans []*channel
	log   *slog.Logger

	reqs chan setReq
	stop chan struct{}
	done chan struct{}

	haltOnce sync.Once
	haltErr  error

	mu     sync.Mutex
	state  kiosk.LightState
	health kiosk.Health
}

var _ kiosk.Light = (*Dev)(nil)

// New resolves the named pins, drives them all off and starts the light's
// goroutine, showing kiosk.LightOff. opts may be nil.
//
// It returns ErrNoPins when no channel is named, gpiopin.Find's error
// (wrapped, naming the channel: ErrPinByNumber for a name made only of
// digits, ErrPinNotFound for a name Lookup does not know), or the error of
// the first Out. Call Halt to stop it.
func New(pins Pins, opts *Opts) (*Dev, error) {
	var o Opts
	if opts != nil {
		o = *opts
	}
	o.fill()
	looks := DefaultLooks()
	for s, l := range o.Looks {
		looks[s] = l
	}
	d := &Dev{
		opts:   o,
		looks:  looks,
		log:    o.Logger.With("component", "gpioled", "light", o.Name),
		reqs:   make(chan setReq),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		state:  kiosk.LightOff,
		health: kiosk.Health{Status: kiosk.HealthOK},
	}
	for _, c := range []struct {
		color Color
		role  string
		pin   Pin
	}{{Red, "red", pins.Red}, {Green, "green", pins.Green}, {Blue, "blue", pins.Blue}} {
		if c.pin.Name == "" {
			continue
		}
		p, err := gpiopin.Find(o.Lookup, c.pin.Name)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.Name, c.role, err)
		}
		ch := &channel{color: c.color, role: c.role, name: c.pin.Name, activeLow: c.pin.ActiveLow, pin: p}
		if err := ch.write(false); err != nil {
			return nil, fmt.Errorf("%s %s pin %s: turn off: %w", o.Name, c.role, c.pin.Name, err)
		}
		d.chans = append(d.chans, ch)
	}
	if len(d.chans) == 0 {
		return nil, fmt.Errorf("%s: %w", o.Name, ErrNoPins)
	}
	go d.run()
	return d, nil
}

// Set shows s until the next Set, starting the pattern at once (a blink
// starts on). It returns ErrUnknownState for a state with no look (the light
// keeps its last state), ErrHalted after Halt, or the error of a pin that
// could not be driven: the light then shows s on its other channels and the
// failed pin is retried in the background (see Health).
func (d *Dev) Set(s kiosk.LightState) error {
	if _, ok := d.looks[s]; !ok {
		return fmt.Errorf("%s: %q: %w", d.opts.Name, s, ErrUnknownState)
	}
	r := setReq{state: s, reply: make(chan error, 1)}
	select {
	case d.reqs <- r:
	case <-d.done:
		return ErrHalted
	}
	return <-r.reply
}

// State returns the state last Set (kiosk.LightOff at first).
func (d *Dev) State() kiosk.LightState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// Health is ok, or fault with the failing pins named while any pin fails.
func (d *Dev) Health() kiosk.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.health
}

// Halt stops the goroutine and turns every channel off. It returns the
// errors of pins that could not be turned off; later calls return nil and
// do nothing.
func (d *Dev) Halt() error {
	err := ErrHalted
	d.haltOnce.Do(func() {
		close(d.stop)
		<-d.done
		err = d.haltErr
	})
	if errors.Is(err, ErrHalted) {
		return nil
	}
	return err
}

// run is the light's goroutine: it owns the channels and a single timer,
// armed for the next pattern edge, refresh or retry, whichever is first.
func (d *Dev) run() {
	defer close(d.done)
	clk := d.opts.Clock
	since := clk.Now()
	look := d.looks[kiosk.LightOff]
	lastRefresh := since
	arm := func(now time.Time) clockwork.Timer {
		next := lastRefresh.Add(d.opts.Refresh)
		if t, ok := d.nextEdge(look, now.Sub(since)); ok && now.Add(t).Before(next) {
			next = now.Add(t)
		}
		for _, ch := range d.chans {
			if ch.err != nil && ch.retryAt.Before(next) {
				next = ch.retryAt
			}
		}
		return clk.NewTimer(next.Sub(now))
	}
	timer := arm(since)
	for {
		select {
		case <-d.stop:
			timer.Stop()
			var errs []error
			for _, ch := range d.chans {
				if ch.err == nil {
					if err := ch.write(false); err != nil {
						errs = append(errs, fmt.Errorf("%s %s pin %s: turn off: %w", d.opts.Name, ch.role, ch.name, err))
					}
				}
			}
			d.haltErr = errors.Join(errs...)
			d.mu.Lock()
			d.state = kiosk.LightOff
			d.mu.Unlock()
			return
		case r := <-d.reqs:
			timer.Stop()
			now := clk.Now()
			since, look = now, d.looks[r.state]
			d.mu.Lock()
			d.state = r.state
			d.mu.Unlock()
			err := d.drive(now, d.color(look, 0), true) // every Set writes every pin: a cheap liveness check
			timer = arm(now)
			r.reply <- err
		case <-timer.Chan():
			now := clk.Now()
			refresh := !now.Before(lastRefresh.Add(d.opts.Refresh))
			if refresh {
				lastRefresh = now
			}
			_ = d.drive(now, d.color(look, now.Sub(since)), refresh) // reported through Health
			timer = arm(now)
		}
	}
}

// color returns the colour look shows at elapsed time e into its pattern.
func (d *Dev) color(look Look, e time.Duration) Color {
	switch look.Pattern {
	case Blink:
		if e%d.opts.BlinkPeriod >= d.opts.BlinkPeriod/2 {
			return Dark
		}
	case Pulse:
		if e%d.opts.PulsePeriod >= d.opts.PulseOn {
			return Dark
		}
	}
	return look.Color
}

// nextEdge returns how long after elapsed time e the pattern changes, and
// false for a pattern that never changes.
func (d *Dev) nextEdge(look Look, e time.Duration) (time.Duration, bool) {
	if look.Color == Dark {
		return 0, false
	}
	switch look.Pattern {
	case Blink:
		half := d.opts.BlinkPeriod / 2
		pos := e % d.opts.BlinkPeriod
		if pos < half {
			return half - pos, true
		}
		return d.opts.BlinkPeriod - pos, true
	case Pulse:
		pos := e % d.opts.PulsePeriod
		if pos < d.opts.PulseOn {
			return d.opts.PulseOn - pos, true
		}
		return d.opts.PulsePeriod - pos, true
	}
	return 0, false
}

// drive sets every channel for colour c, writing pins whose level changed
// (all of them when force), retrying failed pins whose backoff is over. It
// returns the errors of pins that failed now, and updates Health.
func (d *Dev) drive(now time.Time, c Color, force bool) error {
	var errs []error
	for _, ch := range d.chans {
		on := c&ch.color != 0
		if ch.err != nil {
			if now.Before(ch.retryAt) {
				continue
			}
			if err := d.reopen(ch, on); err != nil {
				ch.fail(now, err, min(2*ch.backoff, d.opts.RetryMax))
				continue
			}
			d.log.Info("light pin recovered", "pin", ch.name, "channel", ch.role)
			continue
		}
		if !force && ch.written && ch.last == ch.level(on) {
			continue
		}
		if err := ch.write(on); err != nil {
			err = fmt.Errorf("%s %s pin %s: out: %w", d.opts.Name, ch.role, ch.name, err)
			ch.fail(now, err, d.opts.RetryMin)
			d.log.Warn("light pin failed", "pin", ch.name, "channel", ch.role, "err", err, "retry_in", ch.backoff)
			errs = append(errs, err)
		}
	}
	d.updateHealth()
	return errors.Join(errs...)
}

// reopen looks the failed channel's pin up by name again and writes level
// on to it; on success the channel uses the new pin.
func (d *Dev) reopen(ch *channel, on bool) error {
	p, err := gpiopin.Find(d.opts.Lookup, ch.name)
	if err != nil {
		return fmt.Errorf("%s %s: reopen: %w", d.opts.Name, ch.role, err)
	}
	old := ch.pin
	ch.pin = p
	if err := ch.write(on); err != nil {
		ch.pin = old
		return fmt.Errorf("%s %s pin %s: reopen: out: %w", d.opts.Name, ch.role, ch.name, err)
	}
	ch.err = nil
	ch.backoff = 0
	return nil
}

// fail records err and schedules the next reopen after wait.
func (ch *channel) fail(now time.Time, err error, wait time.Duration) {
	ch.err = err
	ch.written = false
	ch.backoff = wait
	ch.retryAt = now.Add(wait)
}

func (ch *channel) level(on bool) gpio.Level {
	return gpio.Level(on != ch.activeLow)
}

func (ch *channel) write(on bool) error {
	l := ch.level(on)
	if err := ch.pin.Out(l); err != nil {
		return err
	}
	ch.written, ch.last = true, l
	return nil
}

func (d *Dev) updateHealth() {
	h := kiosk.Health{Status: kiosk.HealthOK}
	var reasons []string
	for _, ch := range d.chans {
		if ch.err != nil {
			reasons = append(reasons, ch.err.Error())
		}
	}
	if len(reasons) > 0 {
		h = kiosk.Health{Status: kiosk.HealthFault, Reason: strings.Join(reasons, "; ")}
	}
	d.mu.Lock()
	d.health = h
	d.mu.Unlock()
}
