// Package rdm6300 drives RDM6300 and compatible 125 kHz EM4100/EM4102
// card readers on a UART at 9600 baud, 8N1 (no flow control; the reader
// only transmits).
//
// While a card is in the field the reader repeats a 14-byte frame: STX
// (0x02), 10 ASCII hex digits of data (the EM4100 version byte and 4 data
// bytes), 2 ASCII hex digits of checksum, ETX (0x03). The checksum is the
// XOR of the five data bytes, version byte included (RDM6300 datasheet,
// "Output format"). The card's UID is the 4 data bytes (see package
// cardreader); repeated frames of a card that stays in the field are one
// presentation (cardreader.Presenter).
//
// The port is go.bug.st/serial; the driver reads an io.ReadCloser, so
// tests feed byte streams. When the port fails (a USB-serial adapter
// unplugged: read error or EOF) the device reports a fault and Run reopens
// it with backoff until it comes back.
package rdm6300

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/kiosk"
)

// Opts configures a Dev. The zero value of every field means its default.
type Opts struct {
	// Name is the device name from the config, used in events, health and
	// logs. Default "rdm6300".
	Name string
	// Absence is how long a card must go unread before it counts again
	// (cardreader.PresenterOpts.Absence). Default 500 ms; the reader
	// repeats frames about every 65 ms while a card stays.
	Absence time.Duration
	// Open reopens the port after it failed. NewUART sets it to open the
	// named port; with New and no Open, Run returns the read error.
	Open func() (io.ReadCloser, error)
	// Backoff is the delay between reopen attempts. Default 100 ms doubling
	// to 5 s.
	Backoff cardreader.Backoff
	// Now is the clock for event times. Default time.Now.
	Now func() time.Time
	// Sleep waits between reopen attempts, returning ctx.Err() if ctx ends
	// first. Default cardreader.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives attach/fault/recover lines (never card numbers).
	// Default: discard.
	Logger *slog.Logger
}

// DefaultOpts returns the defaults spelled out.
func DefaultOpts() Opts {
	return Opts{
		Name:    "rdm6300",
		Absence: cardreader.DefaultAbsence,
		Backoff: cardreader.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second},
		Now:     time.Now,
		Sleep:   cardreader.Sleep,
		Logger:  slog.New(slog.DiscardHandler),
	}
}

// Mode is the UART setting the reader uses: 9600 baud, 8N1.
var Mode = serial.Mode{BaudRate: 9600, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}

// OpenUART opens portName ("/dev/serial0", "/dev/ttyUSB0", a udev name)
// at 9600 8N1. kioskctl uses it to check a port exists.
func OpenUART(portName string) (io.ReadCloser, error) {
	m := Mode
	p, err := serial.Open(portName, &m)
	if err != nil {
		return nil, fmt.Errorf("rdm6300: open %s: %w", portName, err)
	}
	return p, nil
}

// Stats counts what a Dev read.
type Stats struct {
	DecoderStats
	cardreader.PresenterStats
	Opens    uint64 // successful (re)opens, the first one included
	Failures uint64 // times the port failed while reading
}

// Dev is one RDM6300 reader. It implements cardreader.Reader.
type Dev struct {
	opts Opts
	log  *slog.Logger
	pres *cardreader.Presenter

	haltCtx  context.Context
	haltStop context.CancelFunc

	mu      sync.Mutex
	port    io.ReadCloser // nil while closed
	dec     Decoder
	health  kiosk.Health
	running bool
	opens   uint64
	fails   uint64
}

var _ cardreader.Reader = (*Dev)(nil)

// NewUART returns a reader on the serial port portName. The port is opened
// by Run, and reopened whenever it fails, so a reader plugged in after the
// start is picked up; until then Health reports a fault. Returns an error
// only for an empty portName.
func NewUART(portName string, opts *Opts) (*Dev, error) {
	if portName == "" {
		return nil, errors.New("rdm6300: empty serial port name")
	}
	o := withDefaults(opts)
	o.Open = func() (io.ReadCloser, error) { return OpenUART(portName) }
	d := newDev(o, nil)
	d.health = kiosk.Health{Status: kiosk.HealthFault, Reason: "port not opened yet"}
	return d, nil
}

// New returns a reader that reads r (a port already open, or a test byte
// stream). When r fails, Run reopens with opts.Open if set. Returns an
// error if r is nil.
func New(r io.ReadCloser, opts *Opts) (*Dev, error) {
	if r == nil {
		return nil, errors.New("rdm6300: nil reader")
	}
	d := newDev(withDefaults(opts), r)
	d.opens = 1
	return d, nil
}

func withDefaults(opts *Opts) Opts {
	o := DefaultOpts()
	if opts == nil {
		return o
	}
	if opts.Name != "" {
		o.Name = opts.Name
	}
	if opts.Absence > 0 {
		o.Absence = opts.Absence
	}
	o.Open = opts.Open
	if opts.Backoff != (cardreader.Backoff{}) {
		o.Backoff = opts.Backoff
	}
	if opts.Now != nil {
		o.Now = opts.Now
	}
	if opts.Sleep != nil {
		o.Sleep = opts.Sleep
	}
	if opts.Logger != nil {
		o.Logger = opts.Logger
	}
	return o
}

func newDev(o Opts, r io.ReadCloser) *Dev {
	d := &Dev{
		opts:   o,
		log:    o.Logger.With("component", "rdm6300", "device", o.Name),
		pres:   cardreader.NewPresenter(&cardreader.PresenterOpts{Absence: o.Absence}),
		port:   r,
		health: kiosk.Health{Status: kiosk.HealthOK},
	}
	d.haltCtx, d.haltStop = context.WithCancel(context.Background())
	return d
}

// Name returns the device name.
func (d *Dev) Name() string { return d.opts.Name }

// Health reports fault while the port is closed or failing, degraded when
// the last complete frame had a bad checksum (a noisy line or a failing
// reader), ok otherwise.
func (d *Dev) Health() kiosk.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.health.Status == kiosk.HealthOK && d.dec.lastBad {
		return kiosk.Health{Status: kiosk.HealthDegraded, Reason: fmt.Sprintf("bad checksum (%d since start)", d.dec.stats.BadChecksum)}
	}
	return d.health
}

// Stats returns the counters since the Dev was made.
func (d *Dev) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Stats{DecoderStats: d.dec.stats, PresenterStats: d.pres.Stats(), Opens: d.opens, Failures: d.fails}
}

// Halt stops Run and closes the port. The reader has no outputs to make
// inert. Safe to call more than once.
func (d *Dev) Halt() error {
	d.haltStop()
	return d.closePort()
}

func (d *Dev) closePort() error {
	d.mu.Lock()
	p := d.port
	d.port = nil
	d.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := p.Close(); err != nil {
		return fmt.Errorf("rdm6300: close port: %w", err)
	}
	return nil
}

// maxIdleReads is how many (0, nil) reads in a row count as a dead port
// (io.ErrNoProgress) rather than a read timeout.
const maxIdleReads = 100

// Run reads frames until ctx ends or Halt, calling emit once per card
// presentation, from this goroutine. A failing port is closed, Health
// turns to fault and the port is reopened with Backoff. Returns ctx.Err(),
// cardreader.ErrHalted, an error if Run is already running, or the read
// error when the port fails and there is no Open to reopen it.
func (d *Dev) Run(ctx context.Context, emit func(cardreader.Event)) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("rdm6300: Run already running")
	}
	d.running = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopHalt := context.AfterFunc(d.haltCtx, cancel)
	defer stopHalt()
	// Closing the port is what unblocks a Read in progress.
	stopClose := context.AfterFunc(ctx, func() { _ = d.closePort() })
	defer stopClose()

	done := func() error {
		if d.haltCtx.Err() != nil {
			return cardreader.ErrHalted
		}
		return ctx.Err()
	}
	stopped := func() bool { return ctx.Err() != nil || d.haltCtx.Err() != nil }
	onFrame := func(id cardreader.EM4100) {
		at := d.opts.Now()
		if uid, ok := d.pres.Observe(id.UID(), at); ok {
			emit(cardreader.Event{Reader: d.opts.Name, UID: uid, At: at})
		}
	}

	buf := make([]byte, 64)
	for {
		if stopped() {
			return done()
		}
		d.mu.Lock()
		port := d.port
		d.mu.Unlock()
		if port == nil {
			if d.opts.Open == nil {
				return errors.New("rdm6300: port closed and no way to reopen it")
			}
			if err := d.reopen(ctx); err != nil {
				return done()
			}
			continue
		}
		err := d.readPort(port, buf, onFrame)
		if stopped() {
			return done()
		}
		d.mu.Lock()
		d.fails++
		d.health = kiosk.Health{Status: kiosk.HealthFault, Reason: "serial port lost: " + err.Error()}
		d.mu.Unlock()
		d.log.Warn("reader fault", "err", err)
		_ = d.closePort()
		if d.opts.Open == nil {
			return fmt.Errorf("rdm6300: read: %w", err)
		}
	}
}

// readPort reads port until it fails and returns the error (io.EOF for an
// end of stream).
func (d *Dev) readPort(port io.Reader, buf []byte, onFrame func(cardreader.EM4100)) error {
	idle := 0
	for {
		n, err := port.Read(buf)
		if n > 0 {
			idle = 0
			d.mu.Lock()
			var ids []cardreader.EM4100
			d.dec.Write(buf[:n], func(id cardreader.EM4100) { ids = append(ids, id) })
			d.mu.Unlock()
			// emit runs outside the lock so it may call Health or Stats.
			for _, id := range ids {
				onFrame(id)
			}
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if idle++; idle >= maxIdleReads {
				return io.ErrNoProgress
			}
		}
	}
}

// reopen opens the port with backoff until it works or ctx ends.
func (d *Dev) reopen(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		p, err := d.opts.Open()
		if err == nil {
			d.mu.Lock()
			if ctx.Err() != nil {
				d.mu.Unlock()
				_ = p.Close()
				return ctx.Err()
			}
			d.port = p
			// A frame cut by the failure must not be glued to the new
			// port's first bytes.
			d.dec.in, d.dec.n = false, 0
			d.opens++
			recovered := d.opens > 1
			d.health = kiosk.Health{Status: kiosk.HealthOK}
			d.mu.Unlock()
			if recovered {
				d.log.Info("reader recovered", "attempts", attempt+1)
			} else {
				d.log.Info("reader attached")
			}
			return nil
		}
		d.mu.Lock()
		d.health = kiosk.Health{Status: kiosk.HealthFault, Reason: "serial port not open: " + err.Error()}
		d.mu.Unlock()
		if attempt == 0 {
			d.log.Warn("reader not available", "err", err)
		}
		if err := d.opts.Sleep(ctx, d.opts.Backoff.Delay(attempt)); err != nil {
			return err
		}
	}
}
