// Package mfrc522 drives an NXP MFRC522 13.56 MHz contactless reader
// (MIFARE Classic, Ultralight, NTAG and other ISO/IEC 14443 type A cards)
// over SPI, and reports the UID of each card it reads.
//
// It follows the NXP MFRC522 datasheet rev 3.9 (SPI framing 8.1.2, registers
// 9, commands 10, timer 8.5) and ISO/IEC 14443-3 type A (REQA/WUPA, the
// anticollision and select loop over cascade levels 1 to 3, BCC, CRC_A of
// Annex B, HLTA). UIDs of 4, 7 and 10 bytes are returned without cascade
// tags or BCC bytes. Debouncing (one "card presented" event per
// presentation) and card-number formats belong to devices/cardreader.
//
// # Why our own driver
//
// This is written on periph.io/x/conn/v3/spi rather than wrapping
// periph.io/x/devices/v3 v3.7.4's mfrc522, whose faults sit in the paths a
// kiosk depends on: it returns no error when the card reports one (a card
// pulled mid-read can yield a wrong UID), it panics on a second Halt, it
// cannot read 10-byte UIDs, and it never pulses RST, so a warm restart with
// the antenna already on and a command still running is left to chance.
// Covering each of these from outside would need its register access
// anyway; writing the ISO 14443-3 loop directly is less code than the
// workarounds, keeps one mutex around the bus, and lets every transceive be
// checked against ErrorReg.
//
// # Behaviour
//
//   - NewSPI pulses RST, waits (bounded) for the oscillator, checks
//     VersionReg (0x91, 0x92 or the FM17522 clone's 0x88), soft-resets,
//     programs the timer, 100 % ASK, the CRC preset 0x6363, the receiver gain
//     and turns the antenna on.
//   - Every transceive is followed by a read of ErrorReg; any of BufferOvfl,
//     CollErr, CRCErr, ParityErr, ProtocolErr or TempErr is an error, never
//     a UID.
//   - With an IRQ pin the driver waits for its falling edge (always with a
//     bounded positive timeout); after three transceives that completed
//     without an edge it polls ComIrqReg instead and Health reports
//     "irq degraded".
//   - Run polls at Opts.PollPeriod, probes VersionReg every
//     Opts.ProbePeriod (and at once after bus errors or repeated card
//     errors), and re-initialises a dead reader with exponential backoff.
//   - After a read the card is sent HLTA, so a card left on the antenna is
//     reported once until it leaves the field (REQA does not wake a halted
//     card); set Opts.WakeHalted to use WUPA and report it at every poll.
//   - Two cards on the antenna at once give ErrCollision (bit-level
//     anticollision is not implemented: a kiosk reads one child's card).
package mfrc522

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// Errors. Card-level errors (a card answered, then something went wrong)
// are ErrTimeout, ErrCollision, ErrParity, ErrProtocol, ErrCRC, ErrBCC,
// ErrBufferOverflow, ErrTemperature and ErrFrame; the reader-level ones
// are ErrChipTimeout, ErrVersion, ErrNotReady and ErrHalted. Errors are
// wrapped with the step that failed; test them with errors.Is.
var (
	// ErrNoCard: no card answered REQA/WUPA within Opts.TransceiveTimeout.
	ErrNoCard = errors.New("mfrc522: no card")
	// ErrTimeout: a card that had answered REQA/WUPA stopped answering
	// (typically pulled away mid-read).
	ErrTimeout = errors.New("mfrc522: card stopped answering")
	// ErrChipTimeout: the chip did not signal the end of a command within
	// Opts.TransceiveTimeout plus 20 ms, or did not leave power-down after
	// a reset within Opts.ResetWait.
	ErrChipTimeout = errors.New("mfrc522: chip did not complete the command")
	// ErrCollision: ErrorReg CollErr, two cards answered or a garbled frame.
	ErrCollision = errors.New("mfrc522: bit collision")
	// ErrParity: ErrorReg ParityErr.
	ErrParity = errors.New("mfrc522: parity error")
	// ErrProtocol: ErrorReg ProtocolErr, or a card breaking ISO 14443-3
	// (cascade bit without cascade tag, cascade bit at level 3).
	ErrProtocol = errors.New("mfrc522: protocol error")
	// ErrCRC: ErrorReg CRCErr, or a SAK whose CRC_A does not match.
	ErrCRC = errors.New("mfrc522: crc error")
	// ErrBCC: the anticollision answer's BCC is not the XOR of its 4 bytes.
	ErrBCC = errors.New("mfrc522: bcc mismatch")
	// ErrBufferOverflow: ErrorReg BufferOvfl.
	ErrBufferOverflow = errors.New("mfrc522: fifo overflow")
	// ErrTemperature: ErrorReg TempErr, the antenna drivers overheated and
	// were switched off.
	ErrTemperature = errors.New("mfrc522: overheated")
	// ErrFrame: an answer of the wrong length.
	ErrFrame = errors.New("mfrc522: unexpected frame length")
	// ErrVersion: VersionReg holds a value other than 0x91, 0x92 or 0x88;
	// the error text names the value (0x00 or 0xFF: nothing on the bus).
	ErrVersion = errors.New("mfrc522: unknown version")
	// ErrNotReady: the last initialisation failed; Run retries it.
	ErrNotReady = errors.New("mfrc522: reader not initialised")
	// ErrHalted: Halt was called; Init makes the Dev usable again.
	ErrHalted = errors.New("mfrc522: halted")
)

// Opts configures a Dev. A zero field means its default in DefaultOpts.
type Opts struct {
	// SPISpeed is the SCK frequency; default 1 MHz (the chip allows 10 MHz,
	// long jumper wires do not). SPI mode 0, 8 bits, MSB first (datasheet 8.1.2).
	SPISpeed physic.Frequency
	// PollPeriod is the period of Run's REQA polls; default 50 ms.
	PollPeriod time.Duration
	// AntennaGain is the receiver gain in dB (RFCfgReg RxGain): 18, 23, 33,
	// 38, 43 or 48; default 33 (the chip's reset value).
	AntennaGain int
	// ResetPulse is how long RST is held low; default 1 µs (datasheet: >= 100 ns).
	ResetPulse time.Duration
	// ResetWait bounds the wait for the oscillator after RST or a soft reset
	// (CommandReg PowerDown polled until clear); default 50 ms (the
	// datasheet's start-up is 37.74 µs plus the crystal's own start).
	ResetWait time.Duration
	// TransceiveTimeout is the chip timer: how long to wait for a card to
	// start answering a frame; default 5 ms (ISO 14443-3 cards answer
	// REQA, anticollision and select within about 0.1 ms). It also sets how
	// long HLTA waits, since a halted card does not answer.
	TransceiveTimeout time.Duration
	// ProbePeriod is how often Run reads VersionReg to notice a dead reader;
	// default 5 s.
	ProbePeriod time.Duration
	// ProbeAfterErrors makes Run probe at once after this many consecutive
	// failed reads other than ErrNoCard; default 3.
	ProbeAfterErrors int
	// RecoverBackoff is the first delay between re-initialisations of a
	// dead reader, doubled up to MaxRecoverBackoff; defaults 500 ms and 30 s.
	RecoverBackoff    time.Duration
	MaxRecoverBackoff time.Duration
	// WakeHalted sends WUPA instead of REQA, so a card left on the antenna
	// is read again at every poll. Default false (REQA).
	WakeHalted bool
	// Logger receives debug and warning lines (never UIDs); default discards.
	Logger *slog.Logger
	// Now and Sleep are the clock; defaults time.Now and time.Sleep. Tests
	// inject mfrc522test.Clock.
	Now   func() time.Time
	Sleep func(time.Duration)
}

// DefaultOpts holds the defaults used for zero fields of Opts.
var DefaultOpts = Opts{
	SPISpeed:          physic.MegaHertz,
	PollPeriod:        50 * time.Millisecond,
	AntennaGain:       33,
	ResetPulse:        time.Microsecond,
	ResetWait:         50 * time.Millisecond,
	TransceiveTimeout: 5 * time.Millisecond,
	ProbePeriod:       5 * time.Second,
	ProbeAfterErrors:  3,
	RecoverBackoff:    500 * time.Millisecond,
	MaxRecoverBackoff: 30 * time.Second,
}

// pollStep is the interval between ComIrqReg reads while polling, after
// a first read at the expected end of the frame (frameTime).
const pollStep = time.Millisecond

// irqMissLimit is how many transceives may complete without an IRQ edge
// before the driver stops waiting for edges.
const irqMissLimit = 3

// HealthIRQDegraded is the Health reason while the IRQ pin is ignored.
const HealthIRQDegraded = "irq degraded"

var gainCodes = map[int]byte{18: 0, 23: 2, 33: 4, 38: 5, 43: 6, 48: 7}

func (o *Opts) fill() error {
	d := DefaultOpts
	if o.SPISpeed == 0 {
		o.SPISpeed = d.SPISpeed
	}
	if o.PollPeriod == 0 {
		o.PollPeriod = d.PollPeriod
	}
	if o.AntennaGain == 0 {
		o.AntennaGain = d.AntennaGain
	}
	if o.ResetPulse == 0 {
		o.ResetPulse = d.ResetPulse
	}
	if o.ResetWait == 0 {
		o.ResetWait = d.ResetWait
	}
	if o.TransceiveTimeout == 0 {
		o.TransceiveTimeout = d.TransceiveTimeout
	}
	if o.ProbePeriod == 0 {
		o.ProbePeriod = d.ProbePeriod
	}
	if o.ProbeAfterErrors == 0 {
		o.ProbeAfterErrors = d.ProbeAfterErrors
	}
	if o.RecoverBackoff == 0 {
		o.RecoverBackoff = d.RecoverBackoff
	}
	if o.MaxRecoverBackoff == 0 {
		o.MaxRecoverBackoff = d.MaxRecoverBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	var errs []error
	if _, ok := gainCodes[o.AntennaGain]; !ok {
		errs = append(errs, fmt.Errorf("antenna gain %d dB: want 18, 23, 33, 38, 43 or 48", o.AntennaGain))
	}
	if o.SPISpeed < 0 || o.SPISpeed > 10*physic.MegaHertz {
		errs = append(errs, fmt.Errorf("spi speed %s: want at most 10MHz", o.SPISpeed))
	}
	if o.TransceiveTimeout < 0 || o.TransceiveTimeout > 0xFFFF*timerTick {
		errs = append(errs, fmt.Errorf("transceive timeout %s: want at most %s", o.TransceiveTimeout, time.Duration(0xFFFF*timerTick)))
	}
	for name, v := range map[string]time.Duration{"poll period": o.PollPeriod, "reset pulse": o.ResetPulse,
		"reset wait": o.ResetWait, "probe period": o.ProbePeriod, "recover backoff": o.RecoverBackoff,
		"max recover backoff": o.MaxRecoverBackoff} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", name, v))
		}
	}
	return errors.Join(errs...)
}

// Dev is one MFRC522 on an SPI port. Its methods are safe for concurrent
// use; bus access is serialised.
type Dev struct {
	opts Opts
	c    spi.Conn
	rst  gpio.PinOut // nil if not wired
	irq  gpio.PinIn  // nil if not wired

	mu        sync.Mutex // guards the bus and the fields below
	ready     bool       // last Init succeeded
	halted    bool
	irqMode   bool // waiting for IRQ edges
	irqMisses int  // consecutive transceives completed without an edge
	wbuf      [2]byte
	rbuf      [2]byte

	hmu     sync.Mutex // guards health and version
	health  kiosk.Health
	irqBad  bool
	version byte // last good VersionReg value; 0 before the first
}

// NewSPI connects to the chip on p (mode 0, opts.SPISpeed) and
// initialises it (see Init). rst is the chip's NRSTPD pin and irq its IRQ
// pin; either may be nil or gpio.INVALID when not wired (without rst a
// warm restart relies on the soft reset alone; without irq completion is
// polled). opts may be nil for DefaultOpts.
//
// It returns (nil, err) for invalid opts or a port that cannot be
// connected. If the chip itself fails to initialise (nothing on the bus,
// wrong VersionReg) it returns the *Dev together with the error: an SPI
// port can be connected only once, so the caller keeps the Dev, whose
// Health says "fault" and whose Run re-initialises it with backoff.
func NewSPI(p spi.Port, rst gpio.PinOut, irq gpio.PinIn, opts *Opts) (*Dev, error) {
	o := DefaultOpts
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return nil, fmt.Errorf("mfrc522: options: %w", err)
	}
	c, err := p.Connect(o.SPISpeed, spi.Mode0, 8)
	if err != nil {
		return nil, fmt.Errorf("mfrc522: connect spi %s: %w", p, err)
	}
	d := &Dev{opts: o, c: c, health: kiosk.Health{Status: kiosk.HealthOK}}
	if rst != nil && rst != gpio.INVALID {
		d.rst = rst
	}
	if irq != nil && irq != gpio.INVALID {
		d.irq = irq
	}
	if err := d.Init(); err != nil {
		return d, err
	}
	return d, nil
}

// String names the device and its bus.
func (d *Dev) String() string { return fmt.Sprintf("mfrc522{%s}", d.c) }

// Init (re)initialises the chip: RST pulse, bounded wait for the
// oscillator, VersionReg check, soft reset, timer (TAuto, 25 µs ticks,
// Opts.TransceiveTimeout), Force100ASK, CRC preset 0x6363, receiver gain,
// IRQ routing if an IRQ pin is wired, antenna on. It clears a previous
// Halt. A warm restart (antenna already on, a command still running) is
// handled by the RST pulse and the soft reset. Errors: ErrChipTimeout,
// ErrVersion (naming the value), or the bus error, wrapped with the step.
func (d *Dev) Init() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.initLocked()
	d.ready = err == nil
	if err == nil {
		d.halted = false
		d.setHealth(kiosk.HealthOK, "")
	} else {
		d.setHealth(kiosk.HealthFault, err.Error())
	}
	return err
}

func (d *Dev) initLocked() error {
	if d.rst != nil {
		// Hard reset (datasheet 8.8.1): low for >= 100 ns, then the
		// oscillator starts; the chip answers once PowerDown reads clear.
		if err := d.rst.Out(gpio.Low); err != nil {
			return fmt.Errorf("mfrc522: init: rst low: %w", err)
		}
		d.opts.Sleep(d.opts.ResetPulse)
		if err := d.rst.Out(gpio.High); err != nil {
			return fmt.Errorf("mfrc522: init: rst high: %w", err)
		}
		if err := d.waitPowerUp(); err != nil {
			return fmt.Errorf("mfrc522: init: after rst: %w", err)
		}
	}
	v, err := d.readReg(regVersion)
	if err != nil {
		return fmt.Errorf("mfrc522: init: read version: %w", err)
	}
	if err := checkVersion(v); err != nil {
		return fmt.Errorf("mfrc522: init: %w", err)
	}
	d.setVersion(v)
	if err := d.writeReg(regCommand, cmdSoftReset); err != nil {
		return fmt.Errorf("mfrc522: init: soft reset: %w", err)
	}
	if err := d.waitPowerUp(); err != nil {
		return fmt.Errorf("mfrc522: init: after soft reset: %w", err)
	}
	reload := (d.opts.TransceiveTimeout + timerTick - 1) / timerTick
	if reload < 1 {
		reload = 1
	}
	steps := []struct {
		name     string
		reg, val byte
	}{
		{"timer mode", regTMode, tModeAuto | tPrescaler>>8},
		{"timer prescaler", regTPrescaler, tPrescaler & 0xFF},
		{"timer reload hi", regTReloadHi, byte(reload >> 8)},
		{"timer reload lo", regTReloadLo, byte(reload)},
		{"100% ask", regTxASK, txASK100},
		{"crc preset", regMode, modeCRC6363},
		{"antenna gain", regRFCfg, gainCodes[d.opts.AntennaGain] << 4},
	}
	useIRQ := d.irq != nil && !d.irqBadLocked()
	if useIRQ {
		steps = append(steps,
			struct {
				name     string
				reg, val byte
			}{"irq enable", regComIEn, irqInv | irqRx | irqIdle | irqErr | irqTimer},
			struct {
				name     string
				reg, val byte
			}{"irq push-pull", regDivIEn, divIEnPushPull})
	}
	for _, s := range steps {
		if err := d.writeReg(s.reg, s.val); err != nil {
			return fmt.Errorf("mfrc522: init: %s: %w", s.name, err)
		}
	}
	tx, err := d.readReg(regTxControl)
	if err != nil {
		return fmt.Errorf("mfrc522: init: read tx control: %w", err)
	}
	if tx&txControlRF != txControlRF {
		if err := d.writeReg(regTxControl, tx|txControlRF); err != nil {
			return fmt.Errorf("mfrc522: init: antenna on: %w", err)
		}
	}
	d.irqMode = false
	if useIRQ {
		// In flushes edges left over from before the reset.
		if err := d.irq.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			d.opts.Logger.Warn("irq pin unusable, polling", "err", err)
			d.markIRQBad()
		} else {
			d.irqMode = true
			d.irqMisses = 0
		}
	}
	return nil
}

// waitPowerUp polls CommandReg until PowerDown reads clear, bounded by
// Opts.ResetWait.
func (d *Dev) waitPowerUp() error {
	deadline := d.opts.Now().Add(d.opts.ResetWait)
	for {
		v, err := d.readReg(regCommand)
		if err != nil {
			return fmt.Errorf("read command: %w", err)
		}
		if v&commandPowerDown == 0 {
			return nil
		}
		if d.opts.Now().After(deadline) {
			return fmt.Errorf("power-down still set after %s (command register 0x%02x): %w", d.opts.ResetWait, v, ErrChipTimeout)
		}
		d.opts.Sleep(pollStep)
	}
}

// Identity names the chip that last answered: its VersionReg value and
// what it means, e.g. "VersionReg 0x92 (MFRC522 2.0)", "VersionReg 0x91
// (MFRC522 1.0)" or "VersionReg 0x88 (FM17522)". The value is read at
// every successful Init and probe, so a reader swapped for a different
// chip version shows a different identity once it answers; a dead reader
// keeps the identity of the chip that last answered. It is "" until a chip
// has answered with a known version. The MFRC522 has no serial number:
// two chips of the same version have the same identity.
func (d *Dev) Identity() string {
	d.hmu.Lock()
	v := d.version
	d.hmu.Unlock()
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("VersionReg 0x%02x (%s)", v, versionNames[v])
}

// versionNames are the VersionReg values checkVersion accepts.
var versionNames = map[byte]string{0x91: "MFRC522 1.0", 0x92: "MFRC522 2.0", 0x88: "FM17522"}

func (d *Dev) setVersion(v byte) {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	d.version = v
}

func checkVersion(v byte) error {
	if _, ok := versionNames[v]; ok {
		return nil
	}
	return fmt.Errorf("version register 0x%02x: %w", v, ErrVersion)
}

// Halt switches the antenna off and puts the chip in soft power-down, so
// cards lose power and the chip draws little. It is idempotent: a second
// call returns nil without touching the bus. ReadUID then returns
// ErrHalted and Run returns; Init wakes the chip.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.halted {
		return nil
	}
	d.halted = true
	var errs []error
	if tx, err := d.readReg(regTxControl); err != nil {
		errs = append(errs, fmt.Errorf("read tx control: %w", err))
	} else if err := d.writeReg(regTxControl, tx&^txControlRF); err != nil {
		errs = append(errs, fmt.Errorf("antenna off: %w", err))
	}
	if err := d.writeReg(regCommand, commandPowerDown|cmdIdle); err != nil {
		errs = append(errs, fmt.Errorf("power down: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mfrc522: halt: %w", err)
	}
	return nil
}

// Health reports "ok"; "degraded" with reason "irq degraded" while the IRQ
// pin is ignored; "fault" with the reason while the reader is dead or
// not initialised.
func (d *Dev) Health() kiosk.Health {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	if d.health.Status == kiosk.HealthOK && d.irqBad {
		return kiosk.Health{Status: kiosk.HealthDegraded, Reason: HealthIRQDegraded}
	}
	return d.health
}

func (d *Dev) setHealth(status, reason string) {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	d.health = kiosk.Health{Status: status, Reason: reason}
}

func (d *Dev) markIRQBad() {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	d.irqBad = true
}

func (d *Dev) irqBadLocked() bool {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	return d.irqBad
}

// Bus access, datasheet 8.1.2: the address byte is (addr << 1), with bit 7
// set for a read; bit 0 is 0. A write sends data bytes after the address
// (all to that address); a read sends one address byte per value wanted
// and a final 0x00, each value arriving one byte late.

func (d *Dev) writeReg(addr, v byte) error {
	d.wbuf = [2]byte{addr << 1, v}
	return d.c.Tx(d.wbuf[:], nil)
}

func (d *Dev) writeFIFO(data []byte) error {
	w := make([]byte, 1+len(data))
	w[0] = regFIFOData << 1
	copy(w[1:], data)
	return d.c.Tx(w, nil)
}

func (d *Dev) readReg(addr byte) (byte, error) {
	d.wbuf = [2]byte{0x80 | addr<<1, 0}
	if err := d.c.Tx(d.wbuf[:], d.rbuf[:]); err != nil {
		return 0, err
	}
	return d.rbuf[1], nil
}

// readRegs reads the registers addrs in one SPI transaction into out
// (len(out) >= len(addrs)).
func (d *Dev) readRegs(out []byte, addrs ...byte) error {
	w := make([]byte, len(addrs)+1)
	r := make([]byte, len(addrs)+1)
	for i, a := range addrs {
		w[i] = 0x80 | a<<1
	}
	if err := d.c.Tx(w, r); err != nil {
		return err
	}
	copy(out, r[1:])
	return nil
}
