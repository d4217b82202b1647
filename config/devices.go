package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/devices/boards"
	firmwareconfig "github.com/qinqing/station/firmware-config"
)

// Device kinds.
const (
	// KindSim is the simulated device kind: taps from kioskctl tap, light
	// states in /healthz.
	KindSim = "sim"
	// KindMFRC522 is an NXP MFRC522 13.56 MHz reader on SPI.
	KindMFRC522 = "mfrc522"
	// KindRDM6300 is an RDM6300 (EM4100 125 kHz) reader on a UART.
	KindRDM6300 = "rdm6300"
	// KindEvdev is a USB keyboard-wedge reader (Linux evdev).
	KindEvdev = "evdev"
	// KindGPIO is a light on GPIO outputs.
	KindGPIO = "gpio"
)

// Device defaults.
const (
	DefaultPoll     = 50 * time.Millisecond
	DefaultAbsence  = 500 * time.Millisecond
	DefaultDebounce = 20 * time.Millisecond
	// MinDebounce is the shortest button debounce accepted.
	MinDebounce = 20 * time.Millisecond
)

// Button pull and press values.
const (
	PullUp       = "up"
	PullDown     = "down"
	PressFalling = "falling"
	PressRising  = "rising"
)

// Devices is the [devices] section: the named card readers and lights that
// booths refer to, the booths' help buttons, and relays.
//
// Validate checks: names unique per kind of device (1 to 32 letters,
// digits, - or _); kinds known; each kind's required keys present and no
// key of another kind set; pins named (GPIO17), never bare numbers, and no
// pin given two jobs; durations in range; with Board set, the profile exists
// (firmware-config/boards/<board>.toml) and every pin is one of its free
// GPIOs, every SPI port one of its buses, and a UART reader on the header's
// port takes its TX/RX pins.
type Devices struct {
	// Board names a board profile (firmware-config/boards/<name>.toml:
	// "rpi3bplus", "rpi4b", "rpi5", "rpizero2w", "x86-minipc"). Default ""
	// (pins are not checked against a board).
	Board string `toml:"board"`
	// Readers are the card readers ([[devices.reader]]).
	Readers []ReaderDevice `toml:"reader"`
	// Lights are the indicator lights ([[devices.light]]).
	Lights []LightDevice `toml:"light"`
	// Buttons are help buttons ([[devices.button]]); a press places a help
	// call from the button's booth.
	Buttons []ButtonDevice `toml:"button"`
	// Relays are switched outputs ([[devices.relay]]), e.g. a TV's power.
	Relays []RelayDevice `toml:"relay"`
	// Scanners are barcode scanners ([[devices.scanner]]); a scan at a
	// booth lends or returns a book there (issue 6).
	Scanners []ScannerDevice `toml:"scanner"`
}

// ReaderDevice is a [[devices.reader]]. The keys after Kind belong to one
// kind each (mfrc522: spi, rst, irq, poll; rdm6300: port; evdev: path,
// input_name, id); setting one on another kind is a problem.
type ReaderDevice struct {
	// Name is how booths refer to the reader; unique among readers.
	Name string `toml:"name"`
	// Kind is the driver: "sim", "mfrc522", "rdm6300" or "evdev".
	Kind string `toml:"kind"`
	// SPI is the MFRC522's SPI port, "SPI0.0" (periph's name) or
	// "/dev/spidev0.0". Required for mfrc522.
	SPI string `toml:"spi"`
	// RST is the MFRC522's NRSTPD pin ("GPIO25"). Default "" (not wired:
	// only a soft reset at start).
	RST string `toml:"rst"`
	// IRQ is the MFRC522's IRQ pin. Default "" (completion is polled).
	IRQ string `toml:"irq"`
	// Poll is the MFRC522's polling period, 10ms to 1s. Default 50ms.
	Poll Duration `toml:"poll"`
	// Port is the RDM6300's serial port ("/dev/serial0",
	// "/dev/kiosk-reader-1"). Required for rdm6300.
	Port string `toml:"port"`
	// Path is the evdev node, usually a stable link
	// ("/dev/input/by-id/usb-...-event-kbd"). Default "".
	Path string `toml:"path"`
	// InputName matches evdev nodes whose device name contains it
	// (case-insensitive). Default "".
	InputName string `toml:"input_name"`
	// ID matches evdev nodes by USB vendor:product as lsusb prints it
	// ("ffff:0035"; "ffff:0000" matches any product). Default "". An evdev
	// reader needs at least one of Path, InputName and ID; with several, a
	// node must match all.
	ID string `toml:"id"`
	// CardFormat is how a number-typing reader (evdev) types card
	// numbers: "hex", "8h10d" or "reversed". Default: station.card_format.
	CardFormat string `toml:"card_format"`
	// Absence is how long a card must go unread before the same card counts
	// again, 100ms to 10s. Default 500ms.
	Absence Duration `toml:"absence"`
}

// LightDevice is a [[devices.light]].
type LightDevice struct {
	// Name is how booths refer to the light; unique among lights.
	Name string `toml:"name"`
	// Kind is "sim" or "gpio".
	Kind string `toml:"kind"`
	// Red, Green and Blue are the pins of each colour ("GPIO17"); "" when
	// the colour is not fitted. A gpio light needs at least one.
	Red   string `toml:"red"`
	Green string `toml:"green"`
	Blue  string `toml:"blue"`
	// ActiveLow means the LEDs light when their pin is low (common-anode
	// RGB LED, or LED between 3.3 V and the pin). Default false.
	ActiveLow bool `toml:"active_low"`
}

// ButtonDevice is a [[devices.button]]: a help button on a GPIO input.
type ButtonDevice struct {
	// Name identifies the button in health and the equipment register;
	// unique among buttons.
	Name string `toml:"name"`
	// Booth is the id of the [[booth]] whose help call a press places.
	Booth string `toml:"booth"`
	// Pin is the input pin ("GPIO23"). Required.
	Pin string `toml:"pin"`
	// Pull is the internal resistor: "up" (button to ground) or "down"
	// (button to 3.3 V). Default "up".
	Pull string `toml:"pull"`
	// Press is the edge a press makes: "falling" (with pull "up") or
	// "rising" (with pull "down"). Default "falling".
	Press string `toml:"press"`
	// Debounce is how long a level must hold to count, 20ms to 1s.
	// Default 20ms.
	Debounce Duration `toml:"debounce"`
}

// RelayDevice is a [[devices.relay]]: a switched output, off (safe) at
// start and at stop.
type RelayDevice struct {
	// Name identifies the relay; unique among relays.
	Name string `toml:"name"`
	// Pin is the output pin ("GPIO24"). Required.
	Pin string `toml:"pin"`
	// ActiveLow means the relay closes when the pin is low (most
	// opto-isolated relay boards). Default false.
	ActiveLow bool `toml:"active_low"`
}

// ScannerDevice is a [[devices.scanner]]: a USB keyboard-wedge barcode
// scanner (Linux evdev) at a booth. Every line it types (digits, letters,
// ending with Enter) is a barcode scanned at that booth.
type ScannerDevice struct {
	// Name identifies the scanner in health ("scanner:NAME") and the
	// equipment register; unique among scanners.
	Name string `toml:"name"`
	// Booth is the id of the [[booth]] where its scans lend or return
	// books. Required.
	Booth string `toml:"booth"`
	// Kind is the driver: "evdev" (the only one). Required.
	Kind string `toml:"kind"`
	// Path, InputName and ID choose the evdev node as for an evdev
	// [[devices.reader]]: a node under /dev/input/, a substring of the
	// device name (case-insensitive), USB vendor:product ("ffff:0035").
	// At least one is required; with several, a node must match all.
	Path      string `toml:"path"`
	InputName string `toml:"input_name"`
	ID        string `toml:"id"`
}

// PollPeriod returns Poll, or DefaultPoll when unset.
func (r ReaderDevice) PollPeriod() time.Duration {
	if r.Poll.Duration == 0 {
		return DefaultPoll
	}
	return r.Poll.Duration
}

// AbsenceTime returns Absence, or DefaultAbsence when unset.
func (r ReaderDevice) AbsenceTime() time.Duration {
	if r.Absence.Duration == 0 {
		return DefaultAbsence
	}
	return r.Absence.Duration
}

// ReaderFormat returns the card format of reader r: its own, else the
// station's.
func (c *Config) ReaderFormat(r ReaderDevice) string {
	if r.CardFormat != "" {
		return r.CardFormat
	}
	return c.Station.CardFormat
}

// DebounceTime returns Debounce, or DefaultDebounce when unset.
func (b ButtonDevice) DebounceTime() time.Duration {
	if b.Debounce.Duration == 0 {
		return DefaultDebounce
	}
	return b.Debounce.Duration
}

// Hash returns the hex SHA-256 of the section's JSON encoding: the daemon
// compares it with the last one it journaled to log a configuration change
// in the equipment register.
func (d Devices) Hash() string {
	b, err := json.Marshal(d)
	if err != nil { // plain strings, bools and durations: cannot fail
		panic(fmt.Sprintf("config: hash devices: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BoothOfReader returns the id of the booth whose reader is name, or "".
func (c *Config) BoothOfReader(name string) string {
	for _, b := range c.Booths {
		if b.Reader == name {
			return b.ID
		}
	}
	return ""
}

var (
	pinRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	spiRE   = regexp.MustCompile(`^(?:SPI(\d+)\.(\d+)|/dev/spidev(\d+)\.(\d+))$`)
	usbIDRE = regexp.MustCompile(`^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$`)
)

// ParseSPI returns the bus and chip select of an SPI port name, "SPI0.1"
// or "/dev/spidev0.1".
func ParseSPI(s string) (bus, cs int, err error) {
	m := spiRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("bad SPI port %q: want \"SPI0.0\" or \"/dev/spidev0.0\"", s)
	}
	b, c := m[1], m[2]
	if b == "" {
		b, c = m[3], m[4]
	}
	bus, _ = strconv.Atoi(b)
	cs, _ = strconv.Atoi(c)
	return bus, cs, nil
}

// pinUse is a pin's first job, to report a second one.
type pinUse struct {
	key, job string
}

func (v *validator) devices() {
	d := v.c.Devices
	var board *boards.Board
	if d.Board != "" {
		b, err := boards.Load(firmwareconfig.FS, d.Board)
		switch {
		case errors.Is(err, boards.ErrNotFound):
			names, _ := boards.Names(firmwareconfig.FS)
			v.add("devices.board", "no board profile %q; want one of %s", d.Board, strings.Join(names, ", "))
		case err != nil:
			v.add("devices.board", "board profile %q: %v", d.Board, err)
		default:
			board = &b
		}
	}
	pins := map[string]pinUse{}
	// usePin records pin's job; header pins with a fixed job (UART)
	// skip the free-list check.
	// usePin records pin's job; reserved header pins (a UART's TX/RX)
	// skip the free-list check.
	usePin := func(key, pin, job string, reserved bool) {
		switch {
		case pin == "":
			return
		case isNumber(pin):
			v.add(key, "pin %q given by number: use its name, such as \"GPIO%s\"", pin, pin)
			return
		case !pinRE.MatchString(pin):
			v.add(key, "bad pin name %q: want a name such as \"GPIO17\"", pin)
			return
		case board != nil && !reserved && !slices.Contains(board.GPIO.Free, pin):
			v.add(key, "pin %q is not a free GPIO of board %q (free: %s)", pin, board.Name, strings.Join(board.GPIO.Free, ", "))
			return
		}
		if u, ok := pins[pin]; ok {
			v.add(key, "pin %q is already used by %s (%s)", pin, u.key, u.job)
			return
		}
		pins[pin] = pinUse{key, job}
	}
	checkName := func(k, name string, seen map[string]bool) {
		switch {
		case name == "":
			v.add(k+".name", "missing")
		case !idRE.MatchString(name):
			v.add(k+".name", "%q: want 1 to 32 letters, digits, - or _", name)
		case seen[name]:
			v.add(k+".name", "%q is defined twice", name)
		}
		seen[name] = true
	}
	durIn := func(key string, d Duration, lo, hi time.Duration) {
		if d.Duration != 0 && (d.Duration < lo || d.Duration > hi) {
			v.add(key, "%v out of range: want %v to %v", d.Duration, lo, hi)
		}
	}

	seen := map[string]bool{}
	spiPorts := map[[2]int]string{}
	for i, r := range d.Readers {
		k := fmt.Sprintf("devices.reader[%d]", i)
		checkName(k, r.Name, seen)
		own := map[string][]string{
			KindMFRC522: {"spi", "rst", "irq", "poll"},
			KindRDM6300: {"port"},
			KindEvdev:   {"path", "input_name", "id"},
		}
		set := map[string]bool{"spi": r.SPI != "", "rst": r.RST != "", "irq": r.IRQ != "", "poll": r.Poll.Duration != 0,
			"port": r.Port != "", "path": r.Path != "", "input_name": r.InputName != "", "id": r.ID != ""}
		switch r.Kind {
		case KindSim, KindMFRC522, KindRDM6300, KindEvdev:
			for kind, keys := range own {
				if kind == r.Kind {
					continue
				}
				for _, key := range keys {
					if set[key] {
						v.add(k+"."+key, "only for kind %q, this reader is %q", kind, r.Kind)
					}
				}
			}
		case "":
			v.add(k+".kind", "missing; want %q, %q, %q or %q", KindSim, KindMFRC522, KindRDM6300, KindEvdev)
		default:
			v.add(k+".kind", "unknown kind %q; want %q, %q, %q or %q", r.Kind, KindSim, KindMFRC522, KindRDM6300, KindEvdev)
		}
		switch r.Kind {
		case KindMFRC522:
			if r.SPI == "" {
				v.add(k+".spi", "missing; want the reader's SPI port, such as \"SPI0.0\"")
			} else if bus, cs, err := ParseSPI(r.SPI); err != nil {
				v.add(k+".spi", "%v", err)
			} else {
				if prev, ok := spiPorts[[2]int{bus, cs}]; ok {
					v.add(k+".spi", "SPI%d.%d is already used by reader %q", bus, cs, prev)
				}
				spiPorts[[2]int{bus, cs}] = r.Name
				if board != nil && !slices.ContainsFunc(board.SPI, func(s boards.SPI) bool { return s.Bus == bus && s.ChipSelect == cs }) {
					v.add(k+".spi", "board %q has no SPI%d.%d", board.Name, bus, cs)
				}
			}
			usePin(k+".rst", r.RST, "reset of reader "+r.Name, false)
			usePin(k+".irq", r.IRQ, "irq of reader "+r.Name, false)
			durIn(k+".poll", r.Poll, 10*time.Millisecond, time.Second)
		case KindRDM6300:
			switch {
			case r.Port == "":
				v.add(k+".port", "missing; want the serial port, such as \"/dev/serial0\"")
			case !strings.HasPrefix(r.Port, "/dev/"):
				v.add(k+".port", "%q: want a device path under /dev/", r.Port)
			case board != nil && board.UART != nil && r.Port == board.UART.Device:
				usePin(k+".port", board.UART.TX, "UART TX of reader "+r.Name, true)
				usePin(k+".port", board.UART.RX, "UART RX of reader "+r.Name, true)
			}
		case KindEvdev:
			v.evdevNode(k, "reader", r.Path, r.InputName, r.ID)
		}
		switch r.CardFormat {
		case "", CardHex, Card8H10D, CardReversed:
		default:
			v.add(k+".card_format", "unknown card format %q; want %q, %q or %q", r.CardFormat, CardHex, Card8H10D, CardReversed)
		}
		durIn(k+".absence", r.Absence, 100*time.Millisecond, 10*time.Second)
	}
	seen = map[string]bool{}
	for i, l := range d.Lights {
		k := fmt.Sprintf("devices.light[%d]", i)
		checkName(k, l.Name, seen)
		switch l.Kind {
		case KindSim:
			for key, p := range map[string]string{"red": l.Red, "green": l.Green, "blue": l.Blue} {
				if p != "" {
					v.add(k+"."+key, "only for kind %q, this light is %q", KindGPIO, l.Kind)
				}
			}
		case KindGPIO:
			if l.Red == "" && l.Green == "" && l.Blue == "" {
				v.add(k+".kind", "a gpio light needs at least one of red, green and blue")
			}
			usePin(k+".red", l.Red, "red of light "+l.Name, false)
			usePin(k+".green", l.Green, "green of light "+l.Name, false)
			usePin(k+".blue", l.Blue, "blue of light "+l.Name, false)
		case "":
			v.add(k+".kind", "missing; want %q or %q", KindSim, KindGPIO)
		default:
			v.add(k+".kind", "unknown kind %q; want %q or %q", l.Kind, KindSim, KindGPIO)
		}
	}

	seen = map[string]bool{}
	for i, b := range d.Buttons {
		k := fmt.Sprintf("devices.button[%d]", i)
		checkName(k, b.Name, seen)
		if b.Booth == "" {
			v.add(k+".booth", "missing; want the id of the [[booth]] whose help call it places")
		} else if !slices.ContainsFunc(v.c.Booths, func(x Booth) bool { return x.ID == b.Booth }) {
			v.add(k+".booth", "no [[booth]] with id %q", b.Booth)
		}
		if b.Pin == "" {
			v.add(k+".pin", "missing; want the input pin, such as \"GPIO23\"")
		}
		usePin(k+".pin", b.Pin, "help button "+b.Name, false)
		switch b.Pull {
		case "", PullUp, PullDown:
		default:
			v.add(k+".pull", "unknown pull %q; want %q or %q", b.Pull, PullUp, PullDown)
		}
		switch b.Press {
		case "", PressFalling, PressRising:
		default:
			v.add(k+".press", "unknown press %q; want %q or %q", b.Press, PressFalling, PressRising)
		}
		if b.Debounce.Duration != 0 && b.Debounce.Duration < MinDebounce {
			v.add(k+".debounce", "%v is too short: contacts bounce, want at least %v", b.Debounce.Duration, MinDebounce)
		}
		if b.Debounce.Duration > time.Second {
			v.add(k+".debounce", "%v is too long: want at most 1s", b.Debounce.Duration)
		}
	}

	seen = map[string]bool{}
	for i, r := range d.Relays {
		k := fmt.Sprintf("devices.relay[%d]", i)
		checkName(k, r.Name, seen)
		if r.Pin == "" {
			v.add(k+".pin", "missing; want the output pin, such as \"GPIO24\"")
		}
		usePin(k+".pin", r.Pin, "relay "+r.Name, false)
	}

	seen = map[string]bool{}
	for i, sc := range d.Scanners {
		k := fmt.Sprintf("devices.scanner[%d]", i)
		checkName(k, sc.Name, seen)
		if sc.Booth == "" {
			v.add(k+".booth", "missing; want the id of the [[booth]] where it scans books")
		} else if !slices.ContainsFunc(v.c.Booths, func(x Booth) bool { return x.ID == sc.Booth }) {
			v.add(k+".booth", "no [[booth]] with id %q", sc.Booth)
		}
		switch sc.Kind {
		case KindEvdev:
			v.evdevNode(k, "scanner", sc.Path, sc.InputName, sc.ID)
		case "":
			v.add(k+".kind", "missing; want %q", KindEvdev)
		default:
			v.add(k+".kind", "unknown kind %q; want %q (a USB keyboard-wedge scanner)", sc.Kind, KindEvdev)
		}
	}
}

// evdevNode checks how an evdev device at key k (a "reader" or
// "scanner") names its input node.
func (v *validator) evdevNode(k, what, path, inputName, id string) {
	if path == "" && inputName == "" && id == "" {
		v.add(k+".kind", "an evdev %s needs path, input_name or id", what)
	}
	if path != "" && !strings.HasPrefix(path, "/dev/input/") {
		v.add(k+".path", "%q: want a node under /dev/input/, such as /dev/input/by-id/...-event-kbd", path)
	}
	if id != "" && !usbIDRE.MatchString(id) {
		v.add(k+".id", "%q: want USB vendor:product in hex, such as \"ffff:0035\"", id)
	}
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
