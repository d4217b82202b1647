package mfrc522

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCRCA(t *testing.T) {
	// Vectors from ISO/IEC 14443-3 Annex B and the HLTA frame every
	// reader sends.
	for _, tc := range []struct {
		name string
		in   []byte
		want [2]byte
	}{
		{"annex b 00 00", []byte{0x00, 0x00}, [2]byte{0xA0, 0x1E}},
		{"annex b 12 34", []byte{0x12, 0x34}, [2]byte{0x26, 0xCF}},
		{"hlta", []byte{0x50, 0x00}, [2]byte{0x57, 0xCD}},
		{"empty is the preset", nil, [2]byte{0x63, 0x63}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, crcA(tc.in))
		})
	}
}

func TestCardErrorIs(t *testing.T) {
	err := &cardError{reg: errColl | errParity}
	assert.ErrorIs(t, err, ErrCollision)
	assert.ErrorIs(t, err, ErrParity)
	assert.NotErrorIs(t, err, ErrCRC)
	assert.Contains(t, err.Error(), "0x0a")
}
