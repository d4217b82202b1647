package boards_test

import (
	"errors"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/boards"
)

const firmwareDir = "../../firmware-config"

func TestShippedProfiles(t *testing.T) {
	fsys := os.DirFS(firmwareDir)
	names, err := boards.Names(fsys)
	require.NoError(t, err)
	assert.Equal(t, []string{"rpi3bplus", "rpi4b", "rpi5", "rpizero2w", "x86-minipc"}, names)

	tests := []struct {
		name     string
		spi      int
		uart     string
		freeWant string // a pin that must be free
	}{
		{"rpi3bplus", 2, "/dev/serial0", "GPIO17"},
		{"rpi4b", 2, "/dev/serial0", "GPIO17"},
		{"rpi5", 2, "/dev/ttyAMA0", "GPIO17"},
		{"rpizero2w", 2, "/dev/serial0", "GPIO17"},
		{"x86-minipc", 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := boards.Load(fsys, tc.name)
			require.NoError(t, err)
			assert.Equal(t, tc.name, b.Name)
			require.Len(t, b.SPI, tc.spi)
			if tc.spi > 0 {
				assert.Equal(t, boards.SPI{Bus: 0, ChipSelect: 0, Device: "/dev/spidev0.0",
					SCLK: "GPIO11", MOSI: "GPIO10", MISO: "GPIO9", CS: "GPIO8"}, b.SPI[0], "SPI0 CE0")
			}
			if tc.uart == "" {
				assert.Nil(t, b.UART)
				assert.Empty(t, b.GPIO.Free)
				return
			}
			require.NotNil(t, b.UART)
			assert.Equal(t, boards.UART{Device: tc.uart, TX: "GPIO14", RX: "GPIO15"}, *b.UART)
			assert.Contains(t, b.GPIO.Free, tc.freeWant)
			assert.NotEmpty(t, b.Notes)
		})
	}
}

func problems(t *testing.T, err error) boards.Problems {
	t.Helper()
	var ps *boards.Problems
	require.True(t, errors.As(err, &ps), "error %v is %T, want *boards.Problems", err, err)
	return *ps
}

func TestParseProblems(t *testing.T) {
	const good = "name = \"b\"\nmodel = \"B\"\narch = \"arm64\"\n"
	tests := []struct {
		name string
		doc  string
		line int
		msg  string
	}{
		{"unknown top key", good + "colour = \"red\"\n", 4, "unknown key colour"},
		{"unknown spi key", good + "[[spi]]\nbus = 0\nspeed = 1\n", 6, "unknown key spi.speed"},
		{"unknown table", good + "[i2c]\nbus = 1\n", 4, "unknown key i2c"},
		{"bad type", good + "[gpio]\nfree = \"GPIO4\"\n", 5, ""},
		{"pin by number", good + "[gpio]\nfree = [\"17\"]\n", 0, `gpio.free[0] "17": want a pin name`},
		{"pin twice", good + "[uart]\ndevice = \"/dev/serial0\"\ntx = \"GPIO14\"\nrx = \"GPIO15\"\n[gpio]\nfree = [\"GPIO15\"]\n", 0, "gpio.free[0] GPIO15: already used as UART RX"},
		{"bad arch", "name = \"b\"\nmodel = \"B\"\narch = \"riscv\"\n", 0, `arch "riscv"`},
		{"bad device", good + "[uart]\ndevice = \"serial0\"\ntx = \"GPIO14\"\nrx = \"GPIO15\"\n", 0, "uart.device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := boards.Parse("b.toml", []byte(tc.doc))
			ps := problems(t, err)
			require.NotEmpty(t, ps)
			assert.Equal(t, "b.toml", ps[0].File)
			assert.Equal(t, tc.line, ps[0].Line, "line of %v", ps[0])
			assert.Contains(t, ps[0].Message, tc.msg)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"boards/pi.toml": {Data: []byte("name = \"other\"\nmodel = \"P\"\narch = \"arm\"\n")},
	}
	_, err := boards.Load(fsys, "nope")
	assert.ErrorIs(t, err, boards.ErrNotFound)
	_, err = boards.Load(fsys, "../etc/passwd")
	assert.ErrorIs(t, err, boards.ErrNotFound, "names cannot leave boards/")
	_, err = boards.Load(fsys, "pi")
	ps := problems(t, err)
	assert.Contains(t, ps[0].String(), `boards/pi.toml: name "other": want "pi"`)
}
