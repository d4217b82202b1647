package mfrc522_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/qinqing/station/devices/mfrc522"
)

// TestInitPlayback checks Init's exact bus traffic against a recorded
// transaction list, one transaction per line.
func TestInitPlayback(t *testing.T) {
	p := &spitest.Playback{Playback: conntest.Playback{DontPanic: true, Ops: []conntest.IO{
		{W: []byte{0x82, 0x00}, R: []byte{0x00, 0x20}}, // read CommandReg after RST: PowerDown clear
		{W: []byte{0xEE, 0x00}, R: []byte{0x00, 0x92}}, // read VersionReg: MFRC522 2.0
		{W: []byte{0x02, 0x0F}},                        // CommandReg = SoftReset
		{W: []byte{0x82, 0x00}, R: []byte{0x00, 0x20}}, // read CommandReg: PowerDown clear
		{W: []byte{0x54, 0x80}},                        // TModeReg: TAuto, prescaler hi 0
		{W: []byte{0x56, 0xA9}},                        // TPrescalerReg: 25 µs ticks
		{W: []byte{0x58, 0x00}},                        // TReloadReg hi
		{W: []byte{0x5A, 0xC8}},                        // TReloadReg lo: 200 ticks = 5 ms
		{W: []byte{0x2A, 0x40}},                        // TxASKReg: Force100ASK
		{W: []byte{0x22, 0x3D}},                        // ModeReg: CRC preset 0x6363
		{W: []byte{0x4C, 0x40}},                        // RFCfgReg: RxGain 33 dB
		{W: []byte{0xA8, 0x00}, R: []byte{0x00, 0x80}}, // read TxControlReg: antenna off
		{W: []byte{0x28, 0x83}},                        // TxControlReg: Tx1RFEn | Tx2RFEn
	}}}
	rst := &gpiotest.Pin{N: "RST", L: gpio.High}
	var sleeps []time.Duration
	o := mfrc522.Opts{Sleep: func(d time.Duration) { sleeps = append(sleeps, d) }}
	d, err := mfrc522.NewSPI(p, rst, nil, &o)
	require.NoError(t, err)
	require.NotNil(t, d)
	assert.NoError(t, p.Close(), "every recorded transaction used")
	assert.Equal(t, gpio.High, rst.Read(), "RST released")
	assert.Equal(t, []time.Duration{time.Microsecond}, sleeps, "RST held low for ResetPulse")
}
