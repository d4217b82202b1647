package mfrc522test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

func connect(t *testing.T) (*Chip, spi.Conn) {
	t.Helper()
	c := New(nil)
	conn, err := c.Connect(physic.MegaHertz, spi.Mode0, 8)
	require.NoError(t, err)
	return c, conn
}

func TestCalcCRC(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   byte // ModeReg: CRCPreset in bits 1..0
		in     []byte
		hi, lo byte
	}{
		{"hlta with preset 6363", 0x3D, []byte{0x50, 0x00}, 0xCD, 0x57},
		{"annex b with preset 6363", 0x3D, []byte{0x12, 0x34}, 0xCF, 0x26},
		{"preset 0000", 0x3C, nil, 0x00, 0x00},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, conn := connect(t)
			require.NoError(t, conn.Tx([]byte{rMode << 1, tc.mode}, nil))
			require.NoError(t, conn.Tx(append([]byte{rFIFOData << 1}, tc.in...), nil))
			require.NoError(t, conn.Tx([]byte{rCommand << 1, 0x03}, nil))
			r := make([]byte, 4)
			require.NoError(t, conn.Tx([]byte{0x80 | rCRCResultHi<<1, 0x80 | rCRCResultLo<<1, 0x80 | rDivIrq<<1, 0}, r))
			assert.Equal(t, []byte{tc.hi, tc.lo, 0x04}, r[1:], "crc result hi, lo, DivIrqReg CRCIRq")
			assert.Equal(t, 4, c.Transactions())
		})
	}
}

func TestMemAndFIFO(t *testing.T) {
	_, conn := connect(t)
	data := make([]byte, 25)
	for i := range data {
		data[i] = byte(i + 1)
	}
	require.NoError(t, conn.Tx(append([]byte{rFIFOData << 1}, data...), nil))
	require.NoError(t, conn.Tx([]byte{rCommand << 1, 0x01}, nil)) // Mem: FIFO -> buffer
	r := make([]byte, 2)
	require.NoError(t, conn.Tx([]byte{0x80 | rFIFOLevel<<1, 0}, r))
	assert.Equal(t, byte(0), r[1], "fifo drained into the buffer")
	require.NoError(t, conn.Tx([]byte{rCommand << 1, 0x01}, nil)) // Mem: buffer -> FIFO
	w := make([]byte, 26)
	for i := range 25 {
		w[i] = 0x80 | rFIFOData<<1
	}
	r = make([]byte, 26)
	require.NoError(t, conn.Tx(w, r))
	assert.Equal(t, data, r[1:])
}

func TestCardStateMachine(t *testing.T) {
	card := &Card{UID: []byte{1, 2, 3, 4, 5, 6, 7}}
	assert.Nil(t, card.handle([]byte{0x93, 0x20}, false), "IDLE ignores anticollision")
	assert.Equal(t, []byte{0x44, 0x00}, card.handle([]byte{0x26}, true), "REQA -> ATQA double size")
	assert.Equal(t, []byte{0x88, 1, 2, 3, 0x88 ^ 1 ^ 2 ^ 3}, card.handle([]byte{0x93, 0x20}, false))
	sak := card.handle(appendCRC([]byte{0x93, 0x70, 0x88, 1, 2, 3, 0x88 ^ 1 ^ 2 ^ 3}), false)
	assert.Equal(t, appendCRC([]byte{0x04}), sak, "SAK with cascade bit")
	assert.Equal(t, []byte{4, 5, 6, 7, 4 ^ 5 ^ 6 ^ 7}, card.handle([]byte{0x95, 0x20}, false))
	sak = card.handle(appendCRC([]byte{0x95, 0x70, 4, 5, 6, 7, 4 ^ 5 ^ 6 ^ 7}), false)
	assert.Equal(t, appendCRC([]byte{0x08}), sak)
	assert.Equal(t, "ACTIVE", card.State())
	assert.Nil(t, card.handle(appendCRC([]byte{0x50, 0x00}), false))
	assert.Equal(t, "HALT", card.State())
	assert.Nil(t, card.handle([]byte{0x26}, true), "REQA ignored in HALT")
	assert.NotNil(t, card.handle([]byte{0x52}, true), "WUPA wakes from HALT")
	card.powerOff()
	assert.Equal(t, "IDLE", card.State())
}
