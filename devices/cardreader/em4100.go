package cardreader

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrEM4100 reports a malformed EM4100 ID.
var ErrEM4100 = errors.New("cardreader: bad EM4100 ID")

// EM4100 is the 5-byte ID of an EM4100/EM4102 125 kHz tag: byte 0 is the
// version (customer) byte, bytes 1..4 the card number, big-endian. See the
// package doc for how it maps to a UID.
type EM4100 [5]byte

// ParseEM4100 decodes the 10 hex digits (either case) an EM4100 reader
// sends, e.g. "000414CD7E". Returns an error wrapping ErrEM4100 for any
// other length or a non-hex digit; the error never quotes the input.
func ParseEM4100(s string) (EM4100, error) {
	var id EM4100
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("%w: %d characters, want 10 hex digits", ErrEM4100, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: not hex", ErrEM4100)
	}
	return id, nil
}

// Version returns the version (customer) byte, which the UID drops.
func (id EM4100) Version() byte { return id[0] }

// Number returns the 4 data bytes as a big-endian uint32: the number
// printed on the card in 10 decimal digits.
func (id EM4100) Number() uint32 {
	return uint32(id[1])<<24 | uint32(id[2])<<16 | uint32(id[3])<<8 | uint32(id[4])
}

// UID returns the card's UID: the 4 data bytes as 8 uppercase hex digits
// ("0414CD7E"), the form kiosk.NormalizeUID returns. An all-zero or all-FF
// number is returned as is; the Presenter rejects it as a phantom.
func (id EM4100) UID() string {
	return strings.ToUpper(hex.EncodeToString(id[1:]))
}

// Decimal returns the number printed on the card: Number in 10 decimal
// digits, zero-padded ("0068472190"), the 8H10D form.
func (id EM4100) Decimal() string { return fmt.Sprintf("%010d", id.Number()) }

// String returns all 5 bytes as 10 uppercase hex digits, as the reader
// sends them.
func (id EM4100) String() string { return strings.ToUpper(hex.EncodeToString(id[:])) }
