// Package evdev drives USB keyboard-wedge card readers and barcode
// scanners through the Linux input subsystem (evdev, see the kernel's
// Documentation/input/input.rst and linux/input.h).
//
// Such a device is a USB keyboard that types a card number or a barcode
// followed by Enter. The driver finds its node under /dev/input by path
// (a stable /dev/input/by-id/... link), by name (EVIOCGNAME) or by USB
// vendor:product (EVIOCGID); when the device shows up as several nodes
// (keyboard, mouse, consumer control) it takes the one that can type
// digits and Enter (EVIOCGBIT). It grabs the node (EVIOCGRAB) so that the
// typed digits never reach the kiosk browser, decodes struct input_event
// records (16 bytes on 32-bit processes, 24 on 64-bit), and turns key
// presses into lines: top-row and keypad digits, letters, Enter; repeats
// and releases ignored.
//
// Card readers (Run): each line is a card number in the configured
// kiosk.CardFormat (most 125 kHz and Mifare wedge readers type the 10-digit
// 8H10D decimal), converted to the UID and passed through a
// cardreader.Presenter. Barcode scanners (Scan): each line is passed as is
// (an ISBN, say).
//
// When the device is unplugged, Read fails with ENODEV: the driver reports
// a fault, rescans with backoff until a matching node returns (under any
// event number) and resumes without a restart.
package evdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/kiosk"
)

// Opts configures a Dev. At least one of Path, Name and Vendor must be set;
// when several are, a node must match them all. The zero value of every
// other field means its default.
type Opts struct {
	// Name is the device name from the config, used in events, health and
	// logs. Default "evdev".
	Name string
	// Path is an input node or a link to one, e.g.
	// "/dev/input/by-id/usb-Sycreader_RFID-event-kbd", resolved again on
	// every reopen. It is taken relative to Root.
	Path string
	// NameContains matches nodes whose EVIOCGNAME contains it,
	// case-insensitive.
	NameContains string
	// Vendor and Product match EVIOCGID's USB ids (see ParseID); Product 0
	// matches any product of Vendor.
	Vendor, Product uint16
	// Format is how a card reader types card numbers (kiosk.CardFormat);
	// default kiosk.CardHex. Unused by Scan.
	Format kiosk.CardFormat
	// Absence is the cardreader.Presenter absence time; default 500 ms.
	Absence time.Duration
	// KeyTimeout is the longest pause between key presses of one line;
	// default DefaultKeyTimeout (500 ms).
	KeyTimeout time.Duration
	// Root is the file system root under which /dev/input is found;
	// default "/". Tests point it at a temporary directory.
	Root string
	// Open opens a node; default OpenNode (the real device with ioctls).
	Open Opener
	// Layout is the struct input_event layout; default NativeLayout.
	Layout Layout
	// Backoff is the delay between attempts to find the device again;
	// default 100 ms doubling to 5 s.
	Backoff cardreader.Backoff
	// Now is the clock for event times; default time.Now.
	Now func() time.Time
	// Sleep waits between attempts, returning ctx.Err() if ctx ends first;
	// default cardreader.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives attach/fault/recover lines, never what was typed;
	// default: discard.
	Logger *slog.Logger
}

// Scan is one line typed by a barcode scanner.
type Scan struct {
	Device string    // Opts.Name
	Code   string    // the characters typed before Enter, e.g. "9787020002207"
	At     time.Time // from Opts.Now, when Enter was read
}

// Stats counts what a Dev read.
type Stats struct {
	cardreader.PresenterStats
	Lines      uint64 // lines typed (card numbers or barcodes)
	BadNumbers uint64 // card-reader lines that are no card number in Format
	Opens      uint64 // nodes opened and grabbed, the first one included
	Failures   uint64 // times the node failed while reading (unplug)
}

// Dev is one keyboard-wedge reader or scanner. It implements
// cardreader.Reader through Run; Scan reads a barcode scanner instead.
type Dev struct {
	opts Opts
	log  *slog.Logger
	pres *cardreader.Presenter

	haltCtx  context.Context
	haltStop context.CancelFunc

	mu      sync.Mutex
	node    Node
	path    string // node in use, for logs and Node()
	ident   string // Identity of the unit last attached
	health  kiosk.Health
	grabbed bool
	lastBad bool
	running bool
	stats   Stats
}

var _ cardreader.Reader = (*Dev)(nil)

// New returns a Dev for opts; it opens nothing until Run or Scan. Returns
// an error if opts matches no device at all (no Path, NameContains or
// Vendor), Format is unknown or Layout is not 16 or 24.
func New(opts *Opts) (*Dev, error) {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.Path == "" && o.NameContains == "" && o.Vendor == 0 {
		return nil, errors.New("evdev: set a path, a name or a vendor:product id to find the device")
	}
	f, err := kiosk.ParseCardFormat(string(o.Format))
	if err != nil {
		return nil, fmt.Errorf("evdev: %w", err)
	}
	o.Format = f
	switch o.Layout {
	case 0:
		o.Layout = NativeLayout
	case Layout32, Layout64:
	default:
		return nil, fmt.Errorf("evdev: input_event layout of %d bytes: want 16 or 24", int(o.Layout))
	}
	if o.Name == "" {
		o.Name = "evdev"
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Open == nil {
		o.Open = OpenNode
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = cardreader.Sleep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dev{
		opts:   o,
		log:    o.Logger.With("component", "evdev", "device", o.Name),
		pres:   cardreader.NewPresenter(&cardreader.PresenterOpts{Absence: o.Absence}),
		health: kiosk.Health{Status: kiosk.HealthFault, Reason: "not opened yet"},
	}
	d.haltCtx, d.haltStop = context.WithCancel(context.Background())
	return d, nil
}

// Name returns the device name.
func (d *Dev) Name() string { return d.opts.Name }

// Node returns the path of the node in use ("" while none is open).
func (d *Dev) Node() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.path
}

// Identity names the unit last attached, from its EVIOCGID and
// EVIOCGNAME: the USB vendor:product id in hex as lsusb prints it and the
// device name quoted, e.g. `ffff:0035 "USB RFID reader"`. A reader
// replaced by another model shows a different identity once the new one
// is attached; while unplugged it keeps the last one. It is "" until a
// node has been attached. Two units of the same model have the same
// identity (the serial number is not read: it is no business of the
// equipment register).
func (d *Dev) Identity() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ident
}

// identity formats Identity for info.
func identity(info *Info) string {
	return fmt.Sprintf("%04x:%04x %q", info.ID.Vendor, info.ID.Product, info.Name)
}

// Health reports fault while the device is missing or unplugged, degraded
// when the grab failed (typed digits may reach the browser) or the last
// line was no card number, ok otherwise.
func (d *Dev) Health() kiosk.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.health.Status != kiosk.HealthOK {
		return d.health
	}
	if !d.grabbed {
		return kiosk.Health{Status: kiosk.HealthDegraded, Reason: "not grabbed: typed digits may reach the browser"}
	}
	if d.lastBad {
		return kiosk.Health{Status: kiosk.HealthDegraded, Reason: fmt.Sprintf("unreadable card number (%d since start)", d.stats.BadNumbers)}
	}
	return d.health
}

// Stats returns the counters since the Dev was made.
func (d *Dev) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.PresenterStats = d.pres.Stats()
	return s
}

// Halt stops Run or Scan and closes the node, which releases the grab.
// Safe to call more than once.
func (d *Dev) Halt() error {
	d.haltStop()
	return d.closeNode()
}

func (d *Dev) closeNode() error {
	d.mu.Lock()
	n := d.node
	d.node, d.path = nil, ""
	d.mu.Unlock()
	if n == nil {
		return nil
	}
	if err := n.Close(); err != nil {
		return fmt.Errorf("evdev: close node: %w", err)
	}
	return nil
}

// Run reads a card reader until ctx ends or Halt, calling emit once per
// card presentation from this goroutine. Each typed line is converted with
// Opts.Format (kiosk.ParseCardNumber); lines that are no card number are
// counted and make Health degraded. Returns ctx.Err(), cardreader.ErrHalted
// or an error if Run or Scan is already running.
func (d *Dev) Run(ctx context.Context, emit func(cardreader.Event)) error {
	return d.loop(ctx, func(line string, at time.Time) {
		uid, err := kiosk.ParseCardNumber(line, d.opts.Format)
		d.mu.Lock()
		d.lastBad = err != nil
		if err != nil {
			d.stats.BadNumbers++
		}
		d.mu.Unlock()
		if err != nil {
			d.log.Debug("unreadable card number", "format", d.opts.Format, "err", err)
			return
		}
		if uid, ok := d.pres.Observe(uid, at); ok {
			emit(cardreader.Event{Reader: d.opts.Name, UID: uid, At: at})
		}
	})
}

// Scan reads a barcode scanner until ctx ends or Halt, calling fn with
// every line typed, unchanged, from this goroutine. Returns as Run.
func (d *Dev) Scan(ctx context.Context, fn func(Scan)) error {
	return d.loop(ctx, func(line string, at time.Time) {
		fn(Scan{Device: d.opts.Name, Code: line, At: at})
	})
}

func (d *Dev) loop(ctx context.Context, onLine func(line string, at time.Time)) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("evdev: already running")
	}
	d.running = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
		_ = d.closeNode()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopHalt := context.AfterFunc(d.haltCtx, cancel)
	defer stopHalt()
	// Closing the node is what unblocks a Read in progress.
	stopClose := context.AfterFunc(ctx, func() { _ = d.closeNode() })
	defer stopClose()
	stopped := func() bool { return ctx.Err() != nil || d.haltCtx.Err() != nil }
	done := func() error {
		if d.haltCtx.Err() != nil {
			return cardreader.ErrHalted
		}
		return ctx.Err()
	}

	keys := KeyDecoder{Timeout: d.opts.KeyTimeout}
	for {
		if stopped() {
			return done()
		}
		node, err := d.attach(ctx, stopped)
		if err != nil {
			return done()
		}
		err = d.read(node, &keys, onLine)
		if stopped() {
			return done()
		}
		reason := "read error: " + err.Error()
		if errors.Is(err, syscall.ENODEV) || errors.Is(err, io.EOF) {
			reason = "unplugged"
		}
		d.mu.Lock()
		d.stats.Failures++
		d.health = kiosk.Health{Status: kiosk.HealthFault, Reason: reason}
		d.mu.Unlock()
		d.log.Warn("reader fault", "reason", reason)
		_ = d.closeNode()
		keys = KeyDecoder{Timeout: d.opts.KeyTimeout}
	}
}

// read decodes events from node until Read fails, and returns the error.
func (d *Dev) read(node Node, keys *KeyDecoder, onLine func(string, time.Time)) error {
	size := d.opts.Layout.Size()
	buf := make([]byte, 64*size)
	have := 0 // bytes of an incomplete event kept from the last read
	idle := 0
	for {
		n, err := node.Read(buf[have:])
		have += n
		off := 0
		for ; have-off >= size; off += size {
			if line, ok := keys.Event(d.opts.Layout.Decode(buf[off:])); ok {
				d.mu.Lock()
				d.stats.Lines++
				d.mu.Unlock()
				onLine(line, d.opts.Now())
			}
		}
		have = copy(buf, buf[off:have])
		if err != nil {
			return err
		}
		if n == 0 {
			if idle++; idle >= 100 {
				return io.ErrNoProgress
			}
		} else {
			idle = 0
		}
	}
}

// attach finds, opens and grabs the device, retrying with backoff until it
// works or the loop is stopped.
func (d *Dev) attach(ctx context.Context, stopped func() bool) (Node, error) {
	for attempt := 0; ; attempt++ {
		node, path, info, err := d.find()
		if err == nil {
			gerr := node.Grab()
			d.mu.Lock()
			if stopped() {
				d.mu.Unlock()
				_ = node.Close()
				return nil, context.Canceled
			}
			d.node, d.path, d.ident = node, path, identity(&info)
			d.grabbed = gerr == nil
			d.stats.Opens++
			recovered := d.stats.Opens > 1
			d.health = kiosk.Health{Status: kiosk.HealthOK}
			d.mu.Unlock()
			if gerr != nil {
				d.log.Warn("grab failed: typed digits may reach the browser", "node", path, "err", gerr)
			}
			if recovered {
				d.log.Info("reader recovered", "node", path, "attempts", attempt+1)
			} else {
				d.log.Info("reader attached", "node", path)
			}
			return node, nil
		}
		d.mu.Lock()
		reason := err.Error()
		if d.stats.Failures > 0 {
			reason = "unplugged, not back yet: " + reason
		}
		d.health = kiosk.Health{Status: kiosk.HealthFault, Reason: reason}
		d.mu.Unlock()
		if attempt == 0 {
			d.log.Warn("reader not available", "err", err)
		}
		if err := d.opts.Sleep(ctx, d.opts.Backoff.Delay(attempt)); err != nil {
			return nil, err
		}
		if stopped() {
			return nil, context.Canceled
		}
	}
}

// find returns the open node to read: the node at Opts.Path, or the first
// keyboard-capable node under /dev/input that matches the name and ids.
// Nodes it does not return are closed. The Info is the returned node's.
func (d *Dev) find() (Node, string, Info, error) {
	var paths []string
	if d.opts.Path != "" {
		p, err := filepath.EvalSymlinks(filepath.Join(d.opts.Root, d.opts.Path))
		if err != nil {
			return nil, "", Info{}, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		paths = []string{p}
	} else {
		var err error
		if paths, err = eventNodes(filepath.Join(d.opts.Root, "dev", "input")); err != nil {
			return nil, "", Info{}, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
	}
	matched := false
	var lastErr error
	for _, p := range paths {
		node, err := d.opts.Open(p)
		if err != nil {
			lastErr = err
			continue
		}
		info, err := node.Info()
		if err != nil {
			lastErr = err
			_ = node.Close()
			continue
		}
		if !d.matches(&info) {
			_ = node.Close()
			continue
		}
		matched = true
		if !info.IsKeyboard() {
			_ = node.Close()
			continue
		}
		return node, p, info, nil
	}
	switch {
	case matched:
		return nil, "", Info{}, ErrNotKeyboard
	case lastErr != nil:
		return nil, "", Info{}, fmt.Errorf("%w: %w", ErrNotFound, lastErr)
	}
	return nil, "", Info{}, ErrNotFound
}

func (d *Dev) matches(info *Info) bool {
	o := &d.opts
	if o.NameContains != "" && !strings.Contains(strings.ToLower(info.Name), strings.ToLower(o.NameContains)) {
		return false
	}
	if o.Vendor != 0 && (info.ID.Vendor != o.Vendor || (o.Product != 0 && info.ID.Product != o.Product)) {
		return false
	}
	return true
}

// eventNodes lists dir/event<N> in increasing N.
func eventNodes(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type node struct {
		n    int
		path string
	}
	var nodes []node
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "event")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		nodes = append(nodes, node{n, filepath.Join(dir, e.Name())})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].n < nodes[j].n })
	paths := make([]string, len(nodes))
	for i, n := range nodes {
		paths[i] = n.path
	}
	return paths, nil
}
