package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/devices/button"
	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/devices/evdev"
	"github.com/qinqing/station/devices/gpioled"
	"github.com/qinqing/station/devices/gpiopin"
	"github.com/qinqing/station/devices/mfrc522"
	"github.com/qinqing/station/devices/rdm6300"
	"github.com/qinqing/station/devices/relay"
	"github.com/qinqing/station/devices/sim"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui"
)

// devOpts are the device wiring's knobs; the zero value means the
// defaults. Tests set Main.devOpts.
type devOpts struct {
	// HealthEvery is how often device health is polled (booth faults,
	// equipment register). Default 1 s.
	HealthEvery time.Duration
	// LightStep is how long the lights test shows each state. Default 1 s.
	LightStep time.Duration
	// EvdevRoot and EvdevOpen replace evdev's /dev root and node opener.
	EvdevRoot    string
	EvdevOpen    evdev.Opener
	EvdevBackoff cardreader.Backoff
	// PinLookup finds a GPIO pin by name for the lights, buttons, relays
	// and the MFRC522's RST and IRQ; nil for unknown names. Default
	// gpioreg.ByName (tests hand out gpiotest pins).
	PinLookup func(name string) gpio.PinIO
}

// equipmentJournal is the equipment register (kiosk/sqlite).
type equipmentJournal interface {
	Equipment(ctx context.Context, e sqlite.EquipmentEvent) error
	LastDevicesHash(ctx context.Context) (string, error)
}

// Device types in the register, /healthz ("reader:NAME") and the admin API.
const (
	typeReader = "reader"
	typeLight  = "light"
	typeButton = "button"
	typeRelay  = "relay"
	// typeScanner is a barcode scanner at a booth (books, issue 6).
	typeScanner = "scanner"
)

// device is one configured device as wired.
type device struct {
	typ, name, kind, booth string
	where                  string // bus and pins, for people
	// broken is the reason the driver could not be made (hardware
	// missing); the device is then a fault until the daemon restarts.
	broken string
	// brokenStatus is the health status while broken: fault, or degraded
	// when a simulated device stands in (a light).
	brokenStatus string
	// health and halt are the driver's; nil when broken.
	health func() kiosk.Health
	halt   func() error
	// identity is the driver's Identity (the unit that answers: chip
	// version, USB id), nil when the driver has none; ident is the last
	// one seen while working ("" before), compared to tell a replaced unit.
	identity func() string
	ident    string
	// reader is set for working readers, btn for working buttons.
	reader cardreader.Reader
	btn    *button.Dev
	relay  *relay.Dev // working relays (a TV's power, tv.go)
	// last is the status last acted on ("" before the first look).
	last string
}

func (d *device) Health() kiosk.Health {
	if d.broken != "" {
		if d.brokenStatus != "" {
			return kiosk.Health{Status: d.brokenStatus, Reason: d.broken}
		}
		return kiosk.Health{Status: kiosk.HealthFault, Reason: d.broken}
	}
	return d.health()
}

// hwDevices owns the booths' devices: it builds the drivers from the
// [devices] config, runs them, watches their health (booth faults, the
// equipment register) and halts them at Close. Missing hardware is a
// degraded mode: the booth's simulated reader and a simulated light stand
// in, and the screen says which device is simulated.
type hwDevices struct {
	cfg     *config.Config
	log     *slog.Logger
	journal equipmentJournal
	opts    devOpts

	devs      []*device
	lights    map[string]kiosk.Light // booth -> the light the station drives
	simLights map[string]*sim.Light  // booth -> simulated light (sim kind or stand-in)
	simReader map[string]*sim.Reader // booth -> simulated reader (always)

	station *kiosk.Station
	// desk takes the scanners' barcodes; nil when [books] is off (scans
	// are then logged and ignored). Set before start.
	desk   *kiosk.BookDesk
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	simulated  map[string]map[string]bool // booth -> "reader", "light"
	readerWait map[string]chan string     // booth -> a test waiting for a UID
	buttonWait map[string]chan string     // booth -> a test waiting for a press
	closed     bool
}

// newDevices builds the lights (the station needs them first); readers,
// buttons and relays are built by start. host.Init runs once when any
// hardware is configured; its failure only degrades.
func newDevices(cfg *config.Config, log *slog.Logger, journal equipmentJournal, opts devOpts) *hwDevices {
	if opts.HealthEvery <= 0 {
		opts.HealthEvery = time.Second
	}
	if opts.LightStep <= 0 {
		opts.LightStep = time.Second
	}
	if opts.PinLookup == nil {
		opts.PinLookup = gpioreg.ByName
	}
	d := &hwDevices{cfg: cfg, log: log.With("component", "devices"), journal: journal, opts: opts,
		lights: map[string]kiosk.Light{}, simLights: map[string]*sim.Light{}, simReader: map[string]*sim.Reader{},
		simulated: map[string]map[string]bool{}, readerWait: map[string]chan string{}, buttonWait: map[string]chan string{}}
	if hasHardware(cfg.Devices) {
		if _, err := host.Init(); err != nil {
			d.log.Warn("periph host init failed: GPIO and SPI devices will be missing", "err", err)
		}
	}
	lightCfg := map[string]config.LightDevice{}
	for _, l := range cfg.Devices.Lights {
		lightCfg[l.Name] = l
	}
	for _, b := range cfg.Booths {
		d.simulated[b.ID] = map[string]bool{}
		if b.Light == "" {
			continue
		}
		lc := lightCfg[b.Light]
		dev := &device{typ: typeLight, name: lc.Name, kind: lc.Kind, booth: b.ID}
		d.devs = append(d.devs, dev)
		if lc.Kind == config.KindGPIO {
			dev.where = lightPins(lc)
			pins := gpioled.Pins{Red: gpioled.Pin{Name: lc.Red, ActiveLow: lc.ActiveLow},
				Green: gpioled.Pin{Name: lc.Green, ActiveLow: lc.ActiveLow}, Blue: gpioled.Pin{Name: lc.Blue, ActiveLow: lc.ActiveLow}}
			gl, err := gpioled.New(pins, &gpioled.Opts{Name: lc.Name, Logger: d.log, Lookup: opts.PinLookup})
			if err == nil {
				dev.health, dev.halt = gl.Health, gl.Halt
				d.lights[b.ID] = &heldLight{Light: gl}
				continue
			}
			dev.broken = fmt.Sprintf("gpio light missing (%v); simulated", err)
			dev.brokenStatus = kiosk.HealthDegraded
			d.log.Warn("light missing: using a simulated light", "light", lc.Name, "booth", b.ID, "err", err)
		}
		sl := sim.NewLight(lc.Name)
		if dev.broken == "" {
			dev.health, dev.halt = sl.Health, sl.Halt
		}
		d.simLights[b.ID] = sl
		d.lights[b.ID] = &heldLight{Light: sl}
		d.simulated[b.ID]["light"] = true
	}
	return d
}

func hasHardware(ds config.Devices) bool {
	for _, r := range ds.Readers {
		if r.Kind != config.KindSim {
			return true
		}
	}
	for _, l := range ds.Lights {
		if l.Kind != config.KindSim {
			return true
		}
	}
	return len(ds.Buttons) > 0 || len(ds.Relays) > 0
}

func lightPins(l config.LightDevice) string {
	var ps []string
	for _, p := range [][2]string{{"red", l.Red}, {"green", l.Green}, {"blue", l.Blue}} {
		if p[1] != "" {
			ps = append(ps, p[0]+" "+p[1])
		}
	}
	s := strings.Join(ps, ", ")
	if l.ActiveLow {
		s += " (active low)"
	}
	return s
}

// start builds and runs the readers, buttons, relays and scanners, journals a
// changed [devices] config, tells the station which booths are degraded,
// and starts the health watch. It returns once everything is started;
// missing hardware never makes it fail.
func (d *hwDevices) start(ctx context.Context, st *kiosk.Station) {
	d.station = st
	ctx, d.cancel = context.WithCancel(ctx)
	d.journalConfig(ctx)

	readerCfg := map[string]config.ReaderDevice{}
	for _, r := range d.cfg.Devices.Readers {
		readerCfg[r.Name] = r
	}
	for _, b := range d.cfg.Booths {
		d.simReader[b.ID] = sim.NewReader(b.Reader, b.ID, d.deliver)
		rc, ok := readerCfg[b.Reader]
		if !ok {
			continue
		}
		dev := &device{typ: typeReader, name: rc.Name, kind: rc.Kind, booth: b.ID}
		d.devs = append(d.devs, dev)
		if rc.Kind == config.KindSim {
			sr := d.simReader[b.ID]
			dev.health, dev.halt = sr.Health, sr.Halt
			d.simulated[b.ID]["reader"] = true
			continue
		}
		r, where, err := d.newReader(rc)
		dev.where = where
		if err != nil {
			dev.broken = err.Error()
			d.log.Warn("card reader missing: booth degraded, its simulated reader still works", "reader", rc.Name, "booth", b.ID, "err", err)
			continue
		}
		dev.reader, dev.health, dev.halt = r, r.Health, r.Halt
		if id, ok := r.(interface{ Identity() string }); ok {
			dev.identity = id.Identity
		}
		booth := b.ID
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			err := r.Run(ctx, func(ev cardreader.Event) {
				if err := d.deliver(ctx, booth, ev.UID); err != nil {
					d.log.Debug("tap refused", "booth", booth, "err", err)
				}
			})
			if err != nil && ctx.Err() == nil && !errors.Is(err, cardreader.ErrHalted) {
				d.log.Error("card reader stopped", "reader", r.Name(), "err", err)
			}
		}()
	}
	for _, r := range d.cfg.Devices.Readers {
		if d.cfg.BoothOfReader(r.Name) == "" {
			d.log.Info("card reader used by no booth: not started", "reader", r.Name)
		}
	}
	for _, bc := range d.cfg.Devices.Buttons {
		d.startButton(ctx, bc)
	}
	for _, rc := range d.cfg.Devices.Relays {
		dev := &device{typ: typeRelay, name: rc.Name, kind: "gpio", where: rc.Pin}
		if rc.ActiveLow {
			dev.where += " (active low)"
		}
		d.devs = append(d.devs, dev)
		rl, err := relay.New(rc.Pin, &relay.Opts{ActiveLow: rc.ActiveLow, Name: rc.Name, Logger: d.log, Lookup: d.opts.PinLookup})
		if err != nil {
			dev.broken = fmt.Sprintf("relay missing: %v", err)
			d.log.Warn("relay missing", "relay", rc.Name, "err", err)
			continue
		}
		dev.health, dev.halt = rl.Health, rl.Halt
		dev.relay = rl
	}
	for _, sc := range d.cfg.Devices.Scanners {
		d.startScanner(ctx, sc)
	}

	// Missing hardware shows at once; working drivers get a first
	// look after one period (an evdev reader is "not opened yet" until its
	// Run has looked for the node).
	d.check(ctx, true)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(d.opts.HealthEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.check(ctx, false)
			}
		}
	}()
}

// newReader builds the driver of a hardware reader; an error means the
// hardware is missing (no SPI port, no pin).
func (d *hwDevices) newReader(rc config.ReaderDevice) (cardreader.Reader, string, error) {
	format, err := kiosk.ParseCardFormat(d.cfg.ReaderFormat(rc))
	if err != nil {
		return nil, "", err
	}
	switch rc.Kind {
	case config.KindMFRC522:
		where := rc.SPI
		if rc.RST != "" {
			where += " rst " + rc.RST
		}
		if rc.IRQ != "" {
			where += " irq " + rc.IRQ
		}
		r, err := newMFRC522(rc, d.log, d.opts.PinLookup)
		return r, where, err
	case config.KindRDM6300:
		r, err := rdm6300.NewUART(rc.Port, &rdm6300.Opts{Name: rc.Name, Absence: rc.AbsenceTime(), Logger: d.log})
		return r, rc.Port, err
	case config.KindEvdev:
		o := &evdev.Opts{Name: rc.Name, Path: rc.Path, NameContains: rc.InputName, Format: format,
			Absence: rc.AbsenceTime(), Root: d.opts.EvdevRoot, Open: d.opts.EvdevOpen, Backoff: d.opts.EvdevBackoff, Logger: d.log}
		var where []string
		for _, w := range []string{rc.Path, rc.InputName, rc.ID} {
			if w != "" {
				where = append(where, w)
			}
		}
		if rc.ID != "" {
			if o.Vendor, o.Product, err = evdev.ParseID(rc.ID); err != nil {
				return nil, "", err
			}
		}
		r, err := evdev.New(o)
		return r, strings.Join(where, " "), err
	}
	return nil, "", fmt.Errorf("unknown reader kind %q", rc.Kind)
}

// mfrcReader is an MFRC522 with its Presenter, as a cardreader.Reader.
type mfrcReader struct {
	name string
	dev  *mfrc522.Dev
	port spi.PortCloser
	pres *cardreader.Presenter
}

func newMFRC522(rc config.ReaderDevice, log *slog.Logger, lookup func(string) gpio.PinIO) (*mfrcReader, error) {
	if len(spireg.All()) == 0 {
		return nil, fmt.Errorf("mfrc522 %s: no SPI port %s: this machine has no SPI ports (on a Pi: dtparam=spi=on, see firmware-config/pi/config.txt)", rc.Name, rc.SPI)
	}
	port, err := spireg.Open(rc.SPI)
	if err != nil {
		return nil, fmt.Errorf("mfrc522 %s: open SPI port %s: %w", rc.Name, rc.SPI, err)
	}
	var rst gpio.PinOut
	var irq gpio.PinIn
	for _, p := range []struct {
		name string
		set  func(gpio.PinIO)
	}{{rc.RST, func(p gpio.PinIO) { rst = p }}, {rc.IRQ, func(p gpio.PinIO) { irq = p }}} {
		if p.name == "" {
			continue
		}
		pin, err := gpiopin.Find(lookup, p.name)
		if err != nil {
			port.Close()
			return nil, fmt.Errorf("mfrc522 %s: %w", rc.Name, err)
		}
		p.set(pin)
	}
	dev, err := mfrc522.NewSPI(port, rst, irq, &mfrc522.Opts{PollPeriod: rc.PollPeriod(), Logger: log})
	if dev == nil {
		port.Close()
		return nil, fmt.Errorf("mfrc522 %s: %w", rc.Name, err)
	}
	if err != nil { // the chip did not answer: Run re-initialises it
		log.Warn("mfrc522 did not initialise; retrying", "reader", rc.Name, "err", err)
	}
	return &mfrcReader{name: rc.Name, dev: dev, port: port,
		pres: cardreader.NewPresenter(&cardreader.PresenterOpts{Absence: rc.AbsenceTime()})}, nil
}

func (r *mfrcReader) Name() string         { return r.name }
func (r *mfrcReader) Health() kiosk.Health { return r.dev.Health() }
func (r *mfrcReader) Identity() string     { return r.dev.Identity() }

func (r *mfrcReader) Run(ctx context.Context, emit func(cardreader.Event)) error {
	err := r.dev.Run(ctx, func(uid []byte) {
		now := time.Now()
		if u, ok := r.pres.FeedBytes(uid, now); ok {
			emit(cardreader.Event{Reader: r.name, UID: u, At: now})
		}
	})
	if errors.Is(err, mfrc522.ErrHalted) {
		return cardreader.ErrHalted
	}
	return err
}

func (r *mfrcReader) Halt() error {
	return errors.Join(r.dev.Halt(), r.port.Close())
}

func (d *hwDevices) startButton(ctx context.Context, bc config.ButtonDevice) {
	dev := &device{typ: typeButton, name: bc.Name, kind: "gpio", booth: bc.Booth, where: bc.Pin}
	d.devs = append(d.devs, dev)
	o := &button.Opts{Name: bc.Name, Debounce: bc.DebounceTime(), Logger: d.log, Pull: gpio.PullUp, Press: gpio.FallingEdge,
		Lookup: d.opts.PinLookup}
	if bc.Pull == config.PullDown {
		o.Pull = gpio.PullDown
	}
	if bc.Press == config.PressRising {
		o.Press = gpio.RisingEdge
	}
	btn, err := button.New(bc.Pin, o)
	if err != nil {
		dev.broken = fmt.Sprintf("button missing: %v", err)
		d.log.Warn("help button missing", "button", bc.Name, "booth", bc.Booth, "err", err)
		return
	}
	dev.btn, dev.health, dev.halt = btn, btn.Health, btn.Halt
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := btn.Run(ctx, func(ev button.Event) { d.press(ctx, bc.Booth, ev.Name) })
		if err != nil && ctx.Err() == nil {
			d.log.Error("help button stopped", "button", bc.Name, "err", err)
		}
	}()
}

// startScanner builds and runs a barcode scanner: every line it types
// is a book scanned at its booth (BookDesk.Scan: a loan when a child is
// identified there, else a return). A scanner that cannot be built is a
// fault until the daemon restarts; an unplugged one is a fault until it
// is found again (evdev retries).
func (d *hwDevices) startScanner(ctx context.Context, sc config.ScannerDevice) {
	dev := &device{typ: typeScanner, name: sc.Name, kind: sc.Kind, booth: sc.Booth}
	d.devs = append(d.devs, dev)
	var where []string
	for _, w := range []string{sc.Path, sc.InputName, sc.ID} {
		if w != "" {
			where = append(where, w)
		}
	}
	dev.where = strings.Join(where, " ")
	o := &evdev.Opts{Name: sc.Name, Path: sc.Path, NameContains: sc.InputName, Root: d.opts.EvdevRoot,
		Open: d.opts.EvdevOpen, Backoff: d.opts.EvdevBackoff, Logger: d.log}
	var err error
	if sc.ID != "" {
		o.Vendor, o.Product, err = evdev.ParseID(sc.ID)
	}
	var s *evdev.Dev
	if err == nil {
		s, err = evdev.New(o)
	}
	if err != nil {
		dev.broken = fmt.Sprintf("scanner missing: %v", err)
		d.log.Warn("barcode scanner missing", "scanner", sc.Name, "booth", sc.Booth, "err", err)
		return
	}
	dev.health, dev.halt, dev.identity = s.Health, s.Halt, s.Identity
	booth := sc.Booth
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := s.Scan(ctx, func(sn evdev.Scan) { d.scan(ctx, booth, sn) })
		if err != nil && ctx.Err() == nil && !errors.Is(err, cardreader.ErrHalted) {
			d.log.Error("barcode scanner stopped", "scanner", sc.Name, "err", err)
		}
	}()
}

// scan hands a barcode scanned at booth to the book desk; without one
// ([books] off) it is logged and ignored. Refusals are shown on the
// booth's screen by the desk; only failures are logged here.
func (d *hwDevices) scan(ctx context.Context, booth string, sn evdev.Scan) {
	if d.desk == nil {
		d.log.Info("barcode scanned but the library is off ([books] enabled = false): ignored", "booth", booth, "scanner", sn.Device)
		return
	}
	if err := d.desk.Scan(ctx, booth, sn.Code); err != nil {
		d.log.Warn("book scan failed", "booth", booth, "scanner", sn.Device, "err", err)
	}
}

// deliver hands a card read at booth's reader (real or simulated) to a
// reader test waiting there, else to the station.
func (d *hwDevices) deliver(ctx context.Context, booth, uid string) error {
	d.mu.Lock()
	w := d.readerWait[booth]
	delete(d.readerWait, booth)
	d.mu.Unlock()
	if w != nil {
		u, err := kiosk.NormalizeUID(uid)
		if err != nil {
			return kiosk.Errorf(kiosk.EINVALID, "not a card UID")
		}
		w <- u
		return nil
	}
	return d.station.Tap(ctx, booth, uid)
}

// press hands a help button press to a button test, else places the
// help call without blocking the button's loop.
func (d *hwDevices) press(ctx context.Context, booth, name string) {
	d.mu.Lock()
	w := d.buttonWait[booth]
	delete(d.buttonWait, booth)
	closed := d.closed
	if w == nil && !closed {
		d.wg.Add(1)
	}
	d.mu.Unlock()
	if w != nil {
		w <- name
		return
	}
	if closed {
		return
	}
	go func() {
		defer d.wg.Done()
		d.log.Info("help button pressed", "booth", booth, "button", name)
		if err := d.station.Help(ctx, booth); err != nil {
			d.log.Warn("help call from the button failed", "booth", booth, "err", err)
		}
	}()
}

// check looks at every device's health and acts on changes: the
// equipment register, and for readers the booth's fault and simulated
// notice. With initial, only broken and simulated devices are looked at.
//
// A device with an identity (chip version, USB id) that works again, or
// keeps working, as a different unit than the one last seen working is
// journaled "replaced" (detail "OLD -> NEW") instead of "recovered"; the
// first identity seen is added to the "attached" or "recovered" detail.
// Identities live in memory: a unit swapped while the daemon was stopped
// is not noticed.
func (d *hwDevices) check(ctx context.Context, initial bool) {
	for _, dev := range d.devs {
		if initial && dev.broken == "" && dev.kind != config.KindSim {
			continue
		}
		h := dev.Health()
		faulty := h.Status == kiosk.HealthFault || dev.broken != ""
		was := dev.last
		now := "working"
		if faulty {
			now = "fault"
		}
		id := ""
		if dev.identity != nil && !faulty {
			id = dev.identity()
		}
		old := dev.ident
		replaced := id != "" && old != "" && id != old
		if id != "" {
			dev.ident = id
		}
		if was == now && !replaced {
			continue
		}
		dev.last = now
		ev := sqlite.EquipmentEvent{Device: dev.name, Kind: dev.typ + "/" + dev.kind, Booth: dev.booth, Detail: h.Reason}
		switch {
		case faulty:
			ev.Event = sqlite.EquipFault
		case replaced:
			ev.Event, ev.Detail = sqlite.EquipReplaced, old+" -> "+id
			d.log.Info("device replaced", "type", dev.typ, "device", dev.name, "booth", dev.booth, "old", old, "new", id)
		case was == "":
			ev.Event, ev.Detail = sqlite.EquipAttached, strings.TrimSpace(dev.where+" "+h.Reason+" "+id)
		default:
			ev.Event = sqlite.EquipRecovered
			if old == "" {
				ev.Detail = strings.TrimSpace(h.Reason + " " + id)
			}
		}
		d.record(ctx, ev)
		if was == now {
			continue // replaced while working: the booth's state is unchanged
		}
		if dev.typ == typeReader && dev.kind != config.KindSim {
			reason := ""
			if faulty {
				reason = "reader " + dev.name + ": " + h.Reason
				d.log.Warn("card reader fault", "reader", dev.name, "booth", dev.booth, "reason", h.Reason)
			} else if was != "" {
				d.log.Info("card reader recovered", "reader", dev.name, "booth", dev.booth)
			}
			if err := d.station.SetBoothFault(dev.booth, reason); err != nil {
				d.log.Error("set booth fault", "booth", dev.booth, "err", err)
			}
			d.setSimulated(dev.booth, "reader", faulty)
		}
	}
	if initial {
		for booth := range d.simulated {
			d.setSimulated(booth, "", false)
		}
	}
}

// setSimulated marks (or clears) what on booth is simulated and tells the
// station; what "" only resends the list.
func (d *hwDevices) setSimulated(booth, what string, on bool) {
	d.mu.Lock()
	set := d.simulated[booth]
	if set == nil {
		d.mu.Unlock()
		return
	}
	if what != "" {
		if on {
			set[what] = true
		} else {
			delete(set, what)
		}
	}
	list := make([]string, 0, len(set))
	for k := range set {
		list = append(list, k)
	}
	d.mu.Unlock()
	sort.Strings(list)
	if err := d.station.SetSimulated(booth, list); err != nil {
		d.log.Error("set simulated devices", "booth", booth, "err", err)
	}
}

func (d *hwDevices) record(ctx context.Context, ev sqlite.EquipmentEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.journal.Equipment(ctx, ev); err != nil {
		d.log.Error("equipment register", "device", ev.Device, "event", ev.Event, "err", err)
	}
}

// journalConfig records a [devices] section that differs from the last
// one journaled (the first start included).
func (d *hwDevices) journalConfig(ctx context.Context) {
	h := d.cfg.Devices.Hash()
	last, err := d.journal.LastDevicesHash(ctx)
	if err != nil {
		d.log.Error("equipment register", "err", err)
		return
	}
	if last == h {
		return
	}
	ds := d.cfg.Devices
	detail := fmt.Sprintf("%d readers, %d lights, %d buttons, %d relays", len(ds.Readers), len(ds.Lights), len(ds.Buttons), len(ds.Relays))
	if len(ds.Scanners) > 0 {
		detail += fmt.Sprintf(", %d scanners", len(ds.Scanners))
	}
	if ds.Board != "" {
		detail = "board " + ds.Board + ": " + detail
	}
	d.record(ctx, sqlite.EquipmentEvent{Device: "devices", Kind: "config", Event: sqlite.EquipConfigChanged, Detail: detail, Hash: h})
}

// health adds every device's health to comps ("reader:NAME", ...).
func (d *hwDevices) health(comps map[string]kiosk.Health) {
	for _, dev := range d.devs {
		comps[dev.typ+":"+dev.name] = dev.Health()
	}
}

// close stops the goroutines and halts every device (lights off, relays
// in their safe state) within ctx.
func (d *hwDevices) close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	if d.cancel != nil {
		d.cancel()
	}
	var errs []error
	for _, dev := range d.devs {
		if dev.halt != nil {
			if err := dev.halt(); err != nil {
				errs = append(errs, fmt.Errorf("halt %s %s: %w", dev.typ, dev.name, err))
			}
		}
	}
	for _, sl := range d.simLights {
		errs = append(errs, sl.Halt())
	}
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("devices still running at the shutdown deadline"))
	}
	return errors.Join(errs...)
}

// Devices implements ui.DeviceAdmin: every configured device in config
// order of booths, then buttons, relays and scanners.
func (d *hwDevices) Devices() []ui.DeviceInfo {
	out := make([]ui.DeviceInfo, 0, len(d.devs))
	for _, dev := range d.devs {
		info := ui.DeviceInfo{Name: dev.name, Type: dev.typ, Kind: dev.kind, Booth: dev.booth, Where: dev.where, Health: dev.Health()}
		d.mu.Lock()
		switch dev.typ {
		case typeReader, typeLight:
			info.Simulated = d.simulated[dev.booth][dev.typ]
		}
		d.mu.Unlock()
		out = append(out, info)
	}
	return out
}

// lightTestStates is the order the lights test shows.
var lightTestStates = []kiosk.LightState{kiosk.LightOff, kiosk.LightIdle, kiosk.LightIdentified, kiosk.LightRinging,
	kiosk.LightConnected, kiosk.LightWarning, kiosk.LightDenied, kiosk.LightFault}

// TestLights implements ui.DeviceAdmin: it shows every state on booth's
// light for LightStep each, then puts back what the station shows.
func (d *hwDevices) TestLights(ctx context.Context, booth string) ([]kiosk.LightState, error) {
	hl, ok := d.lights[booth].(*heldLight)
	if !ok {
		return nil, kiosk.Errorf(kiosk.ENOTFOUND, "booth %q has no light", booth)
	}
	// The test owns the light while it runs: the station's changes (a
	// reader going faulty, a tap) wait and the booth's state is shown
	// again at the end.
	hl.hold()
	var shown []kiosk.LightState
	defer func() {
		st := d.station.Lights()[booth]
		_ = hl.release(st)
	}()
	for _, s := range lightTestStates {
		if err := hl.Light.Set(s); err != nil {
			return shown, fmt.Errorf("light %s: %w", s, err)
		}
		shown = append(shown, s)
		select {
		case <-ctx.Done():
			return shown, ctx.Err()
		case <-time.After(d.opts.LightStep):
		}
	}
	return shown, nil
}

// TestReader implements ui.DeviceAdmin: the next card read at booth's
// reader (real or simulated), which does not tap.
func (d *hwDevices) TestReader(ctx context.Context, booth string) (string, error) {
	if _, ok := d.simReader[booth]; !ok {
		return "", kiosk.Errorf(kiosk.ENOTFOUND, "booth %q has no card reader", booth)
	}
	return d.wait(ctx, d.readerWait, booth, "no card was read")
}

// TestButton implements ui.DeviceAdmin: the name of the next help button
// pressed at booth, which places no help call.
func (d *hwDevices) TestButton(ctx context.Context, booth string) (string, error) {
	if !slices.ContainsFunc(d.cfg.Devices.Buttons, func(b config.ButtonDevice) bool { return b.Booth == booth }) {
		return "", kiosk.Errorf(kiosk.ENOTFOUND, "booth %q has no help button", booth)
	}
	return d.wait(ctx, d.buttonWait, booth, "no button was pressed")
}

func (d *hwDevices) wait(ctx context.Context, waits map[string]chan string, booth, none string) (string, error) {
	ch := make(chan string, 1)
	d.mu.Lock()
	if waits[booth] != nil {
		d.mu.Unlock()
		return "", kiosk.Errorf(kiosk.ECONFLICT, "a test is already waiting at booth %q", booth)
	}
	waits[booth] = ch
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if waits[booth] == ch {
			delete(waits, booth)
		}
		d.mu.Unlock()
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return "", kiosk.Errorf(kiosk.ENOTFOUND, "%s at booth %q in time", none, booth)
	}
}

// heldLight is a booth's light as the station drives it, which a
// technician's light test can take over: while held, the station's Set
// calls are not shown (the station keeps track of its own state, which
// release shows again).
type heldLight struct {
	kiosk.Light
	mu   sync.Mutex
	held bool
}

// Set shows s unless a light test holds the light.
func (h *heldLight) Set(s kiosk.LightState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		return nil
	}
	return h.Light.Set(s)
}

func (h *heldLight) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = true
}

// release ends the hold and shows s, the booth's state now.
func (h *heldLight) release(s kiosk.LightState) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = false
	return h.Light.Set(s)
}
