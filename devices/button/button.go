// Package button reads a booth's help button on a GPIO input and gives
// exactly one Event per press, however much the contacts bounce and however
// long the button is held.
//
// The pin is set up with a pull resistor and edge detection on both edges
// (periph.io/x/conn/v3/gpio); every edge restarts a debounce timer, and a
// level counts only once it has held for Opts.Debounce (>= 20 ms). A press
// is the stable level going from released to pressed; holding or releasing
// gives nothing. A button held down when Run starts does not count until it
// has been released.
//
// Pins are found by name ("GPIO23"), never by number (the Raspberry Pi 5
// moved the chip numbers). A pin that stops accepting In (its file handle
// closed under the daemon) makes Health a fault; it is looked up again by
// name with backoff and the button works again when it comes back. This
// package never calls host.Init (cmd/kioskd does).
package button

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/qinqing/station/devices/gpiopin"
	"github.com/qinqing/station/kiosk"
)

// Errors returned by New and Run; test with errors.Is. ErrPinNotFound and
// ErrPinByNumber are gpiopin's errors (see gpiopin.Find), named here so
// callers need not import gpiopin.
var (
	ErrPinNotFound = gpiopin.ErrNotFound
	ErrPinByNumber = gpiopin.ErrByNumber
	ErrBadOpts     = errors.New("button: bad options")
	ErrRunning     = errors.New("button: already running")
	ErrHalted      = errors.New("button: halted")
)

// MinDebounce is the shortest debounce accepted: mechanical push buttons
// bounce for up to several milliseconds, cheap ones longer.
const MinDebounce = 20 * time.Millisecond

// Event is one press of the button.
type Event struct {
	// Name is Opts.Name, the config's device name.
	Name string
	// Pin is the pin's name ("GPIO23").
	Pin string
	// At is when the level last changed to pressed before holding there
	// for the debounce time: the moment of the press, give or take the
	// bounce. The event itself is delivered Debounce later.
	At time.Time
}

// Opts are optional settings; the zero value of each field means its
// default.
type Opts struct {
	// Pull is the pin's internal resistor. Default gpio.PullUp (button
	// between the pin and ground). Use gpio.Float for an external
	// resistor.
	Pull gpio.Pull
	// Press is the edge a press makes: gpio.FallingEdge (default, with a
	// pull-up) or gpio.RisingEdge (button to 3.3 V with a pull-down).
	Press gpio.Edge
	// Debounce is how long a level must hold to count. Default and minimum
	// 20 ms (MinDebounce).
	Debounce time.Duration
	// Poll bounds every single wait for an edge, so Halt and a cancelled
	// context are noticed within it. Default 100 ms.
	Poll time.Duration
	// Recheck is how often an idle button re-applies In to its pin, which
	// is how a dead pin is noticed (reads and edge waits cannot report
	// errors). Default 10 s.
	Recheck time.Duration
	// RetryMin is the first wait before a dead pin is looked up again by
	// name; each failure doubles it up to RetryMax. Defaults 1 s, 1 min.
	RetryMin, RetryMax time.Duration
	// Lookup finds a pin by name; it returns nil for an unknown name.
	// Default gpioreg.ByName.
	Lookup func(name string) gpio.PinIO
	// Clock times debounce and backoff. Default the real clock.
	Clock clockwork.Clock
	// Logger receives pin faults and recoveries. Default slog.Default().
	Logger *slog.Logger
	// Name identifies the button in events and logs. Default "button".
	Name string
}

// DefaultOpts returns the defaults described on Opts.
func DefaultOpts() Opts {
	return Opts{
		Pull:     gpio.PullUp,
		Press:    gpio.FallingEdge,
		Debounce: MinDebounce,
		Poll:     100 * time.Millisecond,
		Recheck:  10 * time.Second,
		RetryMin: time.Second,
		RetryMax: time.Minute,
		Lookup:   gpioreg.ByName,
		Clock:    clockwork.NewRealClock(),
		Logger:   slog.Default(),
		Name:     "button",
	}
}

func (o *Opts) fill() error {
	d := DefaultOpts()
	if o.Pull == gpio.PullNoChange {
		o.Pull = d.Pull
	}
	if o.Press == gpio.NoEdge {
		o.Press = d.Press
	}
	if o.Press != gpio.FallingEdge && o.Press != gpio.RisingEdge {
		return fmt.Errorf("%w: press edge %s: want falling or rising", ErrBadOpts, o.Press)
	}
	if o.Debounce == 0 {
		o.Debounce = d.Debounce
	}
	if o.Debounce < MinDebounce {
		return fmt.Errorf("%w: debounce %s: want at least %s", ErrBadOpts, o.Debounce, MinDebounce)
	}
	if o.Poll <= 0 {
		o.Poll = d.Poll
	}
	if o.Recheck <= 0 {
		o.Recheck = d.Recheck
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
	return nil
}

// Dev is one help button.
type Dev struct {
	opts    Opts
	pinName string
	pressed gpio.Level // the stable level of a pressed button
	log     *slog.Logger

	halt     chan struct{}
	haltOnce sync.Once

	mu      sync.Mutex
	pin     gpio.PinIO
	running bool
	runDone chan struct{} // closed when the current Run returns
	health  kiosk.Health
}

// New finds the pin named pin ("GPIO23"; see gpiopin.Find) and sets it up
// as an input with opts.Pull and edge detection on both edges. opts may be
// nil.
//
// It returns ErrBadOpts for a debounce under 20 ms or a press edge other
// than falling or rising, gpiopin.Find's error (wrapped, naming the pin:
// ErrPinByNumber for a name made only of digits, ErrPinNotFound for a name
// Lookup does not know, gpiopin.ErrNoName for ""), or In's error.
func New(pin string, opts *Opts) (*Dev, error) {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Name, err)
	}
	p, err := gpiopin.Find(o.Lookup, pin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Name, err)
	}
	if err := p.In(o.Pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("%s pin %s: in: %w", o.Name, pin, err)
	}
	d := &Dev{
		opts:    o,
		pinName: pin,
		pressed: gpio.Level(o.Press == gpio.RisingEdge),
		log:     o.Logger.With("component", "button", "button", o.Name),
		halt:    make(chan struct{}),
		pin:     p,
		health:  kiosk.Health{Status: kiosk.HealthOK},
	}
	return d, nil
}

// Health is ok, or fault with the reason while the pin is dead.
func (d *Dev) Health() kiosk.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.health
}

// Halt stops a running Run (waiting for it to return) and turns the pin's
// edge detection off. Later calls do nothing and return nil.
func (d *Dev) Halt() error {
	var err error
	d.haltOnce.Do(func() {
		close(d.halt)
		d.mu.Lock()
		done := d.runDone
		d.mu.Unlock()
		if done != nil {
			<-done
		}
		d.mu.Lock()
		p := d.pin
		d.mu.Unlock()
		if e := p.In(gpio.PullNoChange, gpio.NoEdge); e != nil {
			err = fmt.Errorf("%s pin %s: halt: %w", d.opts.Name, d.pinName, e)
		}
	})
	return err
}

// waitFor clamps an edge wait to (0, Poll].
//
// The trap this avoids: the meaning of WaitForEdge's timeout differs
// between drivers. periph's gpiotest.Pin treats -1 as "wait forever" and 0
// as "return at once", while host/v3's gpioioctl driver (the real pins)
// treats 0 as "no deadline", i.e. wait forever, and a negative value as a
// deadline already past. A computed wait that reaches 0 would then hang the
// real daemon while every test passes. So every wait is positive and
// bounded.
func (d *Dev) waitFor(w time.Duration) time.Duration {
	if w > d.opts.Poll {
		w = d.opts.Poll
	}
	if w < time.Millisecond {
		w = time.Millisecond
	}
	return w
}

// Run watches the button and calls fn once per press, in Run's goroutine
// (fn should return quickly: edges are not timed while it runs), until ctx
// ends (it returns ctx.Err()) or Halt is called (it returns nil). It
// returns ErrRunning if another Run is active and ErrHalted after Halt.
func (d *Dev) Run(ctx context.Context, fn func(Event)) error {
	d.mu.Lock()
	select {
	case <-d.halt:
		d.mu.Unlock()
		return ErrHalted
	default:
	}
	if d.running {
		d.mu.Unlock()
		return ErrRunning
	}
	d.running = true
	d.runDone = make(chan struct{})
	done := d.runDone
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
		close(done)
	}()
	return d.loop(ctx, fn)
}

func (d *Dev) loop(ctx context.Context, fn func(Event)) error {
	clk := d.opts.Clock
	d.mu.Lock()
	pin := d.pin
	d.mu.Unlock()

	cur := pin.Read()  // last level read
	since := clk.Now() // when cur was read after an edge
	stable := cur      // debounced level
	nextCheck := since.Add(d.opts.Recheck)
	var dead error        // non-nil while the pin is dead
	var retryAt time.Time // next reopen while dead
	var backoff time.Duration

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.halt:
			return nil
		default:
		}
		now := clk.Now()

		if dead != nil {
			if !now.Before(retryAt) {
				p, err := d.reopen()
				if err != nil {
					backoff = min(2*backoff, d.opts.RetryMax)
					retryAt = now.Add(backoff)
					dead = err
					d.setHealth(kiosk.Health{Status: kiosk.HealthFault, Reason: err.Error()})
					continue
				}
				pin, dead = p, nil
				cur, since, stable = pin.Read(), now, pin.Read()
				nextCheck = now.Add(d.opts.Recheck)
				d.setHealth(kiosk.Health{Status: kiosk.HealthOK})
				d.log.Info("button pin recovered", "pin", d.pinName)
				continue
			}
			// Nothing to wait on but time: the pin cannot give edges.
			select {
			case <-clk.After(d.waitFor(retryAt.Sub(now))):
			case <-ctx.Done():
			case <-d.halt:
			}
			continue
		}

		wait := d.opts.Poll
		if cur != stable {
			left := since.Add(d.opts.Debounce).Sub(now)
			if left <= 0 {
				stable = cur
				if stable == d.pressed {
					fn(Event{Name: d.opts.Name, Pin: d.pinName, At: since})
				}
				continue
			}
			wait = left
		} else if !now.Before(nextCheck) {
			// Idle: re-applying In is the only way to learn that the
			// line's handle is gone. It may drop an edge in flight, which
			// while idle costs at most a bounce.
			nextCheck = now.Add(d.opts.Recheck)
			if err := pin.In(d.opts.Pull, gpio.BothEdges); err != nil {
				dead = fmt.Errorf("%s pin %s: in: %w", d.opts.Name, d.pinName, err)
				backoff = d.opts.RetryMin
				retryAt = now.Add(backoff)
				d.setHealth(kiosk.Health{Status: kiosk.HealthFault, Reason: dead.Error()})
				d.log.Warn("button pin failed", "pin", d.pinName, "err", dead, "retry_in", backoff)
				continue
			}
			cur = pin.Read()
			stable = cur
			continue
		}
		if pin.WaitForEdge(d.waitFor(wait)) {
			cur, since = pin.Read(), clk.Now()
		}
	}
}

// reopen looks the pin up by name again and sets it up as on New.
func (d *Dev) reopen() (gpio.PinIO, error) {
	p, err := gpiopin.Find(d.opts.Lookup, d.pinName)
	if err != nil {
		return nil, fmt.Errorf("%s: reopen: %w", d.opts.Name, err)
	}
	if err := p.In(d.opts.Pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("%s pin %s: reopen: in: %w", d.opts.Name, d.pinName, err)
	}
	d.mu.Lock()
	d.pin = p
	d.mu.Unlock()
	return p, nil
}

func (d *Dev) setHealth(h kiosk.Health) {
	d.mu.Lock()
	d.health = h
	d.mu.Unlock()
}
