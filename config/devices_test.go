package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
)

// hardware is a configuration with one device of every hardware kind on a
// Raspberry Pi 4B; it validates.
const hardware = `
[hours]
windows = ["daily 00:00-24:00"]

[[sip.extension]]
user = "101"
password = "password-101"

[[sip.trunk]]
name = "t"
uri = "sip:127.0.0.1:5070"

[[booth]]
id = "b1"
reader = "nfc"
light = "led"
extension = "101"

[[booth]]
id = "b2"
reader = "em"
screen = true

[[booth]]
id = "b3"
reader = "usb"
screen = true

[devices]
board = "rpi4b"

[[devices.reader]]
name = "nfc"
kind = "mfrc522"
spi = "SPI0.0"
rst = "GPIO25"
irq = "GPIO24"
poll = "100ms"

[[devices.reader]]
name = "em"
kind = "rdm6300"
port = "/dev/serial0"
absence = "800ms"

[[devices.reader]]
name = "usb"
kind = "evdev"
path = "/dev/input/by-id/usb-reader-event-kbd"
input_name = "RFID"
id = "ffff:0035"
card_format = "8h10d"

[[devices.light]]
name = "led"
kind = "gpio"
red = "GPIO17"
green = "GPIO27"
blue = "GPIO22"
active_low = true

[[devices.button]]
name = "help1"
booth = "b1"
pin = "GPIO23"
pull = "down"
press = "rising"
debounce = "30ms"

[[devices.relay]]
name = "tv"
pin = "GPIO5"
active_low = true

[[devices.scanner]]
name = "scan1"
booth = "b3"
kind = "evdev"
input_name = "Barcode"
id = "0c2e:0b61"
`

func TestHardwareDevices(t *testing.T) {
	c, err := config.Parse("hw.toml", []byte(hardware))
	require.NoError(t, err)
	d := c.Devices
	assert.Equal(t, "rpi4b", d.Board)
	require.Len(t, d.Readers, 3)
	assert.Equal(t, config.ReaderDevice{Name: "nfc", Kind: "mfrc522", SPI: "SPI0.0", RST: "GPIO25", IRQ: "GPIO24",
		Poll: config.D(100 * time.Millisecond)}, d.Readers[0])
	assert.Equal(t, 100*time.Millisecond, d.Readers[0].PollPeriod())
	assert.Equal(t, config.DefaultAbsence, d.Readers[0].AbsenceTime(), "absence defaults to 500ms")
	assert.Equal(t, "hex", c.ReaderFormat(d.Readers[0]), "card format defaults to the station's")
	assert.Equal(t, 800*time.Millisecond, d.Readers[1].AbsenceTime())
	assert.Equal(t, config.DefaultPoll, d.Readers[1].PollPeriod())
	assert.Equal(t, "8h10d", c.ReaderFormat(d.Readers[2]))
	assert.Equal(t, "ffff:0035", d.Readers[2].ID)
	assert.Equal(t, "RFID", d.Readers[2].InputName)
	assert.Equal(t, config.LightDevice{Name: "led", Kind: "gpio", Red: "GPIO17", Green: "GPIO27", Blue: "GPIO22", ActiveLow: true}, d.Lights[0])
	assert.Equal(t, config.ButtonDevice{Name: "help1", Booth: "b1", Pin: "GPIO23", Pull: "down", Press: "rising",
		Debounce: config.D(30 * time.Millisecond)}, d.Buttons[0])
	assert.Equal(t, config.RelayDevice{Name: "tv", Pin: "GPIO5", ActiveLow: true}, d.Relays[0])
	require.Len(t, d.Scanners, 1)
	assert.Equal(t, config.ScannerDevice{Name: "scan1", Booth: "b3", Kind: "evdev", InputName: "Barcode", ID: "0c2e:0b61"}, d.Scanners[0])
	assert.Equal(t, "b2", c.BoothOfReader("em"))
	assert.Equal(t, config.DefaultDebounce, config.ButtonDevice{}.DebounceTime())
}

func TestHardwareProblems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string // replace in hardware
		at       string // the problem is on the first line containing it ("" for no problem)
		text     string
	}{
		{"unknown board", `board = "rpi4b"`, `board = "rpi9"`, "rpi9", `no board profile "rpi9"; want one of rpi3bplus, rpi4b`},
		{"unknown key in a button", `debounce = "30ms"`, "debounce = \"30ms\"\nhold = \"2s\"", "hold", "unknown key devices.button[0].hold"},
		{"evdev name key is input_name", `input_name = "RFID"`, `match = "RFID"`, "match", "unknown key devices.reader[2].match"},
		{"reader key on a light", "active_low = true\n\n[[devices.button]]", "spi = \"SPI0.0\"\n\n[[devices.button]]", `spi = "SPI0.0"` + "\n\n", "unknown key devices.light[0].spi"},
		{"pin used by a light and a relay", `pin = "GPIO5"`, `pin = "GPIO22"`, `pin = "GPIO22"`, `pin "GPIO22" is already used by devices.light[0].blue`},
		{"pin not on the x86 board", `board = "rpi4b"`, `board = "x86-minipc"`, `rst = "GPIO25"`, `not a free GPIO of board "x86-minipc"`},
		{"uart pins are not free", `pin = "GPIO5"`, `pin = "GPIO15"`, `pin = "GPIO15"`, `not a free GPIO`},
		{"scanner at an unknown booth", `booth = "b3"`, `booth = "b9"`, `booth = "b9"`, `no [[booth]] with id "b9"`},
		{"scanner without a booth", `booth = "b3"`, `booth = ""`, `booth = ""`, "devices.scanner[0].booth: missing"},
		{"scanner of an unknown kind", "kind = \"evdev\"\ninput_name = \"Barcode\"", "kind = \"hid\"\ninput_name = \"Barcode\"", `kind = "hid"`, `unknown kind "hid"; want "evdev"`},
		{"scanner without a node", "input_name = \"Barcode\"\nid = \"0c2e:0b61\"", "", `kind = "evdev"` + "\n\n", "an evdev scanner needs path, input_name or id"},
		{"scanner with a bad id", `id = "0c2e:0b61"`, `id = "0c2e"`, `id = "0c2e"`, `want USB vendor:product`},
		{"scanner path outside /dev/input", `id = "0c2e:0b61"`, `path = "/tmp/scan"`, `path = "/tmp/scan"`, `want a node under /dev/input/`},
		{"unknown key in a scanner", `id = "0c2e:0b61"`, "id = \"0c2e:0b61\"\nprefix = \"X\"", "prefix", "unknown key devices.scanner[0].prefix"},
		{"reader key on a scanner", `id = "0c2e:0b61"`, "id = \"0c2e:0b61\"\ncard_format = \"hex\"", "card_format = \"hex\"", "unknown key devices.scanner[0].card_format"},
		{"scanner names are unique", "name = \"scan1\"", "name = \"scan1\"\nbooth = \"b3\"\nkind = \"evdev\"\nid = \"0c2e:0b61\"\n\n[[devices.scanner]]\nname = \"scan1\"", "scan1\"\nbooth = \"b3\"\nkind = \"evdev\"\ninput_name", `"scan1" is defined twice`},
		{"without a board any pin name goes", "[devices]\nboard = \"rpi4b\"", "[devices]", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(hardware, tc.from, tc.to, 1)
			require.NotEqual(t, hardware, doc, "replacement must apply")
			_, err := config.Parse("hw.toml", []byte(doc))
			if tc.text == "" {
				assert.NoError(t, err)
				return
			}
			i := strings.Index(doc, tc.at)
			require.GreaterOrEqual(t, i, 0)
			line := 1 + strings.Count(doc[:i], "\n")
			ps := problemsOf(t, err)
			var found bool
			for _, p := range ps {
				if p.Line == line && strings.Contains(p.Message, tc.text) {
					found = true
				}
			}
			assert.True(t, found, "want hw.toml:%d: ...%s..., got:\n%s", line, tc.text, err)
		})
	}
}

func TestDevicesHash(t *testing.T) {
	c, err := config.Parse("hw.toml", []byte(hardware))
	require.NoError(t, err)
	h := c.Devices.Hash()
	assert.Len(t, h, 64)
	assert.Equal(t, h, c.Devices.Hash(), "same section, same hash")
	c.Devices.Relays[0].ActiveLow = false
	assert.NotEqual(t, h, c.Devices.Hash(), "a changed key changes the hash")
}
