package gpiopin_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/devices/gpiopin"
)

// registry registers a gpiotest pin GPIO17 and its Raspberry Pi header
// alias P1_11 in gpioreg, as host/rpi does, for the length of the test.
func registry(t *testing.T) *gpiotest.Pin {
	t.Helper()
	p := &gpiotest.Pin{N: "GPIO17", Num: 17}
	require.NoError(t, gpioreg.Register(p))
	require.NoError(t, gpioreg.RegisterAlias("P1_11", "GPIO17"))
	t.Cleanup(func() {
		assert.NoError(t, gpioreg.Unregister("P1_11"))
		assert.NoError(t, gpioreg.Unregister("GPIO17"))
	})
	return p
}

func TestFind(t *testing.T) {
	gpio17 := registry(t)
	// board is a lookup over fake pins; it also knows "17" and "" so that
	// a lookup of a number or of nothing would succeed if Find made one.
	board := map[string]gpio.PinIO{
		"GPIO23": &gpiotest.Pin{N: "GPIO23", Num: 23},
		"LED0":   &gpiotest.Pin{N: "LED0"},
		"17":     &gpiotest.Pin{N: "GPIO17", Num: 17},
		"":       &gpiotest.Pin{N: "GPIO0"},
	}
	tests := []struct {
		name   string
		lookup bool // use board; false means nil, i.e. gpioreg.ByName
		pin    string
		want   string // Name of the pin found
		err    error
		msg    []string // parts of the error message
		asked  bool     // whether the lookup is consulted
	}{
		{name: "soc name", lookup: true, pin: "GPIO23", want: "GPIO23", asked: true},
		{name: "other name", lookup: true, pin: "LED0", want: "LED0", asked: true},
		{name: "gpioreg name", pin: "GPIO17", want: "GPIO17"},
		{name: "gpioreg header alias", pin: "P1_11", want: "P1_11"},
		{name: "number", lookup: true, pin: "17", err: gpiopin.ErrByNumber,
			msg: []string{`pin "17"`, "not looked up", `"GPIO17"`}},
		{name: "zero", lookup: true, pin: "0", err: gpiopin.ErrByNumber, msg: []string{`pin "0"`, `"GPIO0"`}},
		{name: "number through gpioreg", pin: "17", err: gpiopin.ErrByNumber, msg: []string{`pin "17"`}},
		{name: "empty", lookup: true, pin: "", err: gpiopin.ErrNoName, msg: []string{`pin ""`, `"GPIO17"`}},
		{name: "unknown", lookup: true, pin: "GPIO99", err: gpiopin.ErrNotFound, asked: true,
			msg: []string{`pin "GPIO99"`, "looked up by name"}},
		{name: "unknown to gpioreg", pin: "GPIO99", err: gpiopin.ErrNotFound, msg: []string{`pin "GPIO99"`}},
		{name: "case kept", pin: "gpio17", err: gpiopin.ErrNotFound, msg: []string{`pin "gpio17"`}},
		{name: "signed number looked up", lookup: true, pin: "+17", err: gpiopin.ErrNotFound, asked: true,
			msg: []string{`pin "+17"`}},
		{name: "space kept", lookup: true, pin: " GPIO23", err: gpiopin.ErrNotFound, asked: true,
			msg: []string{`pin " GPIO23"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			var lookup func(string) gpio.PinIO
			if tc.lookup {
				lookup = func(name string) gpio.PinIO {
					asked = append(asked, name)
					return board[name]
				}
			}
			p, err := gpiopin.Find(lookup, tc.pin)
			if tc.lookup {
				if tc.asked {
					assert.Equal(t, []string{tc.pin}, asked, "the name is looked up once, unchanged")
				} else {
					assert.Empty(t, asked, "the lookup is not consulted")
				}
			}
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Nil(t, p)
				for _, m := range tc.msg {
					assert.Contains(t, err.Error(), m)
				}
				return
			}
			require.NoError(t, err)
			require.NotNil(t, p)
			assert.Equal(t, tc.want, p.Name())
		})
	}

	t.Run("alias drives the real pin", func(t *testing.T) {
		p, err := gpiopin.Find(nil, "P1_11")
		require.NoError(t, err)
		require.NoError(t, p.Out(gpio.High))
		assert.Equal(t, gpio.High, gpio17.Read(), "P1_11 is GPIO17")
		r, ok := p.(gpio.RealPin)
		require.True(t, ok, "gpioreg returns an alias pin")
		assert.Same(t, gpio17, r.Real())
	})
}
