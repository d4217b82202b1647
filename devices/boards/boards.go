// Package boards loads board profiles: what a kind of computer offers the
// station's devices (which SPI bus and chip selects with which pins, which
// UART, which GPIOs are free for lights, buttons and relays). A booth's
// devices refer to a profile by name ("rpi4b"); the profiles are the files
// firmware-config/boards/<name>.toml, whose schema is documented in
// firmware-config/README.md and at the top of each file.
//
// Decoding is strict TOML (github.com/pelletier/go-toml/v2 with
// DisallowUnknownFields): an unknown key is an error naming file:line.
// Pins are named as periph's gpioreg knows them ("GPIO17"), never by
// number: the Raspberry Pi 5 moved the GPIO chip numbers.
//
// The files live outside this package's directory, so they cannot be
// embedded here: Load reads them from an fs.FS rooted at firmware-config
// (os.DirFS at run time, or an embed.FS made by the caller).
package boards

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// ErrNotFound is returned (wrapped) by Load for a profile with no file.
var ErrNotFound = errors.New("boards: no such board profile")

// Board is one board profile (boards/<name>.toml).
type Board struct {
	// Name is the profile's name, equal to the file's base name
	// ("rpi4b"): lower-case letters, digits and '-'.
	Name string `toml:"name"`
	// Model is the product name, for people ("Raspberry Pi 4 Model B").
	Model string `toml:"model"`
	// Arch is the GOARCH of the kioskd binary for it: "arm64", "arm"
	// (built with GOARM=7) or "amd64".
	Arch string `toml:"arch"`
	// GPIOLabel is the label of the GPIO chip carrying the header pins
	// (`gpioinfo` prints it), "" when the board has no GPIO header. It is
	// informational: pins are found by name.
	GPIOLabel string `toml:"gpio_label"`
	// SPI lists the SPI bus/chip-select pairs a reader may use; empty
	// when the board has none.
	SPI []SPI `toml:"spi"`
	// UART is the serial port on the header for UART readers; nil when the
	// board has none (USB-serial adapters still work).
	UART *UART `toml:"uart"`
	// GPIO says which header pins are free.
	GPIO GPIO `toml:"gpio"`
	// Notes are things a technician must know, one sentence each.
	Notes []string `toml:"notes"`
}

// SPI is one [[spi]] entry: a bus and chip select with its pins.
type SPI struct {
	// Bus is the SPI controller number (0 for SPI0).
	Bus int `toml:"bus"`
	// ChipSelect is the chip-select line (0 for CE0).
	ChipSelect int `toml:"chip_select"`
	// Device is the spidev node ("/dev/spidev0.0"); periph's spireg opens
	// it as "SPI<bus>.<chip_select>".
	Device string `toml:"device"`
	// SCLK, MOSI, MISO and CS are the pin names ("GPIO11", "GPIO10",
	// "GPIO9", "GPIO8").
	SCLK string `toml:"sclk"`
	MOSI string `toml:"mosi"`
	MISO string `toml:"miso"`
	CS   string `toml:"cs"`
}

// UART is the [uart] table.
type UART struct {
	// Device is the serial port ("/dev/serial0").
	Device string `toml:"device"`
	// TX and RX are the pin names ("GPIO14", "GPIO15").
	TX string `toml:"tx"`
	RX string `toml:"rx"`
}

// GPIO is the [gpio] table.
type GPIO struct {
	// Free lists the pins not used by SPI, UART, I2C or the ID EEPROM,
	// free for lights, buttons and relays.
	Free []string `toml:"free"`
}

// Problem is one thing wrong with a profile. Line is 1-based, 0 when the
// problem is about the file as a whole or a key whose line is not known.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Problems is every problem found in a profile; it is the error type of
// Parse and Load.
type Problems []Problem

func (ps *Problems) Error() string {
	lines := make([]string, len(*ps))
	for i, p := range *ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	pinRE  = regexp.MustCompile(`^GPIO[0-9]+$`)
)

// Parse decodes the profile in data, named file in problems, strictly and
// checks it: every unknown key, and then every bad value, is reported in a
// *Problems. Checks: name and model present, arch known, pins named
// GPIO<n>, device paths under /dev/, and no pin given two jobs (SPI pins
// may be shared by the chip selects of one bus).
func Parse(file string, data []byte) (Board, error) {
	var b Board
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		var sm *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &sm):
			var ps Problems
			for i := range sm.Errors {
				e := &sm.Errors[i]
				line, _ := e.Position()
				ps = append(ps, Problem{File: file, Line: line, Message: "unknown key " + strings.Join(e.Key(), ".")})
			}
			return Board{}, &ps
		case errors.As(err, &de):
			line, _ := de.Position()
			return Board{}, &Problems{{File: file, Line: line, Message: de.Error()}}
		default:
			return Board{}, &Problems{{File: file, Message: err.Error()}}
		}
	}
	if ps := b.check(file); len(ps) > 0 {
		return b, &ps
	}
	return b, nil
}

func (b *Board) check(file string) Problems {
	var ps Problems
	bad := func(format string, args ...any) {
		ps = append(ps, Problem{File: file, Message: fmt.Sprintf(format, args...)})
	}
	if !nameRE.MatchString(b.Name) {
		bad("name %q: want lower-case letters, digits and '-'", b.Name)
	}
	if b.Model == "" {
		bad("model: missing")
	}
	if !slices.Contains([]string{"arm64", "arm", "amd64"}, b.Arch) {
		bad("arch %q: want arm64, arm or amd64", b.Arch)
	}
	owner := map[string]string{} // pin -> job
	use := func(key, pin, job string) {
		if !pinRE.MatchString(pin) {
			bad("%s %q: want a pin name like GPIO17", key, pin)
			return
		}
		if prev, ok := owner[pin]; ok && prev != job {
			bad("%s %s: already used as %s", key, pin, prev)
			return
		}
		owner[pin] = job
	}
	dev := func(key, p string) {
		if !strings.HasPrefix(p, "/dev/") {
			bad("%s %q: want a path under /dev/", key, p)
		}
	}
	for i, s := range b.SPI {
		k := fmt.Sprintf("spi[%d].", i)
		if s.Bus < 0 || s.ChipSelect < 0 || s.ChipSelect > 2 {
			bad("%sbus/chip_select %d/%d: out of range", k, s.Bus, s.ChipSelect)
		}
		dev(k+"device", s.Device)
		bus := fmt.Sprintf("SPI%d", s.Bus)
		use(k+"sclk", s.SCLK, bus+" SCLK")
		use(k+"mosi", s.MOSI, bus+" MOSI")
		use(k+"miso", s.MISO, bus+" MISO")
		use(k+"cs", s.CS, fmt.Sprintf("%s CE%d", bus, s.ChipSelect))
	}
	if b.UART != nil {
		dev("uart.device", b.UART.Device)
		use("uart.tx", b.UART.TX, "UART TX")
		use("uart.rx", b.UART.RX, "UART RX")
	}
	for i, p := range b.GPIO.Free {
		use(fmt.Sprintf("gpio.free[%d]", i), p, fmt.Sprintf("free (gpio.free[%d])", i))
	}
	return ps
}

// Load reads and parses boards/<name>.toml from fsys (rooted at
// firmware-config) and checks that the profile's name matches the file.
// It returns ErrNotFound (wrapped) when there is no such file, or Parse's
// *Problems.
func Load(fsys fs.FS, name string) (Board, error) {
	if !nameRE.MatchString(name) {
		return Board{}, fmt.Errorf("board %q: %w", name, ErrNotFound)
	}
	file := path.Join("boards", name+".toml")
	data, err := fs.ReadFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return Board{}, fmt.Errorf("board %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Board{}, fmt.Errorf("read board %s: %w", file, err)
	}
	b, err := Parse(file, data)
	if err != nil {
		return b, err
	}
	if b.Name != name {
		return b, &Problems{{File: file, Message: fmt.Sprintf("name %q: want %q, the file's name", b.Name, name)}}
	}
	return b, nil
}

// Names returns the names of the profiles in fsys's boards directory,
// sorted.
func Names(fsys fs.FS) ([]string, error) {
	files, err := fs.Glob(fsys, "boards/*.toml")
	if err != nil {
		return nil, fmt.Errorf("list boards: %w", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".toml"))
	}
	slices.Sort(names)
	return names, nil
}
