package kiosk

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Card UIDs follow ISO/IEC 14443-3: single, double and triple size UIDs are
// 4, 7 and 10 bytes. EM4100 (125 kHz) tags carry 5 bytes, of which readers
// such as the RDM6300 report the last 4 as the card number, so they also
// land here as 4-byte UIDs.

// CardFormat names how card numbers are written by a reader, printed on a
// card or typed into a roster file. The zero value means CardHex.
type CardFormat string

const (
	// CardHex is the UID bytes in hex, in the order the card sends them:
	// "04A1B2C3", "04:A1:B2:C3:D4:E5:F6".
	CardHex CardFormat = "hex"
	// Card8H10D is the 10-digit decimal printed on many Mifare and EM
	// cards: the 4 UID bytes read as a big-endian uint32, zero-padded to
	// 10 digits ("0077705923"). It exists for 4-byte UIDs only.
	Card8H10D CardFormat = "8h10d"
	// CardReversed is the UID bytes in reverse order, in hex, as some USB
	// keyboard-wedge readers print them ("C3B2A104" for UID 04A1B2C3).
	CardReversed CardFormat = "reversed"
)

// CardFormats lists every CardFormat, in the order a reader test prints
// them.
var CardFormats = []CardFormat{CardHex, Card8H10D, CardReversed}

// ParseCardFormat returns the CardFormat named s (case-insensitive,
// trimmed); "" means CardHex. Returns an *Error EINVALID for any other
// name.
func ParseCardFormat(s string) (CardFormat, error) {
	switch f := CardFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return CardHex, nil
	case CardHex, Card8H10D, CardReversed:
		return f, nil
	}
	return "", Errorf(EINVALID, "unknown card number format %q: want hex, 8h10d or reversed", s)
}

// uidSeparator reports whether r may separate the bytes of a hex UID.
func uidSeparator(r byte) bool { return r == ':' || r == '-' || r == ' ' }

// uidBytes decodes a hex UID with optional ':', '-' or ' ' separators and
// surrounding white space, and checks its length and value. Errors never
// quote the input: a UID is personal data once it is bound to a child.
func uidBytes(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case uidSeparator(c):
		case '0' <= c && c <= '9', 'A' <= c && c <= 'F':
			digits = append(digits, c)
		case 'a' <= c && c <= 'f':
			digits = append(digits, c-'a'+'A')
		default:
			return nil, Errorf(EINVALID, "card UID: invalid character at position %d: want hex digits 0-9 A-F, optionally separated by ':', '-' or ' '", i+1)
		}
	}
	switch len(digits) {
	case 8, 14, 20:
	case 0:
		return nil, Errorf(EINVALID, "card UID: empty")
	default:
		return nil, Errorf(EINVALID, "card UID: %d hex digits: want 8, 14 or 20 (a 4, 7 or 10 byte UID)", len(digits))
	}
	b := make([]byte, len(digits)/2)
	if _, err := hex.Decode(b, digits); err != nil {
		// Unreachable: every digit was checked above.
		return nil, Errorf(EINVALID, "card UID: %v", err)
	}
	zero, ff := true, true
	for _, x := range b {
		zero = zero && x == 0x00
		ff = ff && x == 0xFF
	}
	if zero {
		return nil, Errorf(EINVALID, "card UID: all zeros: a phantom read, not a card")
	}
	if ff {
		return nil, Errorf(EINVALID, "card UID: all FF: a phantom read, not a card")
	}
	return b, nil
}

// NormalizeUID returns the UID in s as uppercase hex without separators
// ("04A1B2C3"). s is hex in any case, optionally with ':', '-' or ' '
// between digits. A UID has 4, 7 or 10 bytes (8, 14 or 20 hex digits).
// All-zero and all-FF UIDs are what a reader reports on a bad read, and are
// rejected. Every error is an *Error with code EINVALID.
func NormalizeUID(s string) (string, error) {
	b, err := uidBytes(s)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// isDecimal reports whether s is non-empty and only ASCII digits.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseCardNumber returns the normalised UID (see NormalizeUID) of the card
// number s written in format f ("" means CardHex):
//
//   - CardHex: a hex UID (8, 14 or 20 digits, separators allowed).
//   - CardReversed: a hex UID whose bytes are reversed; they are put back in
//     card order.
//   - Card8H10D: exactly 10 decimal digits (at most 4294967295) are the
//     4-byte UID as a big-endian number. Hex UIDs are accepted as in CardHex,
//     except a bare run of 8 decimal digits: it could be a hex UID or a
//     10-digit number whose leading zeros a spreadsheet dropped, so it is
//     refused; write such a UID with separators ("12:34:56:78").
//
// A 10-digit decimal is refused in the hex and reversed formats rather than
// guessed: readers print decimals in either byte order, which is why the
// format is configured. Every error is an *Error with code EINVALID.
func ParseCardNumber(s string, f CardFormat) (string, error) {
	t := strings.TrimSpace(s)
	switch f {
	case "", CardHex:
		if len(t) == 10 && isDecimal(t) {
			return "", Errorf(EINVALID, "card number: 10 decimal digits look like an 8H10D number, but the card number format is hex: set it to 8h10d")
		}
		return NormalizeUID(t)
	case CardReversed:
		if len(t) == 10 && isDecimal(t) {
			return "", Errorf(EINVALID, "card number: 10 decimal digits look like an 8H10D number, but the card number format is reversed hex")
		}
		b, err := uidBytes(t)
		if err != nil {
			return "", err
		}
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return strings.ToUpper(hex.EncodeToString(b)), nil
	case Card8H10D:
		if !isDecimal(t) {
			return NormalizeUID(t)
		}
		switch len(t) {
		case 10:
			n, err := strconv.ParseUint(t, 10, 32)
			if err != nil {
				return "", Errorf(EINVALID, "card number: 8H10D number above 4294967295")
			}
			return NormalizeUID(fmt.Sprintf("%08X", n))
		case 8:
			return "", Errorf(EINVALID, "card number: 8 decimal digits are ambiguous in the 8h10d format: write all 10 digits (a spreadsheet may have dropped leading zeros) or a hex UID with separators (12:34:56:78)")
		case 14, 20:
			return NormalizeUID(t)
		default:
			return "", Errorf(EINVALID, "card number: %d decimal digits: want the 10 digits printed on the card (a spreadsheet may have dropped leading zeros) or a hex UID", len(t))
		}
	}
	return "", Errorf(EINVALID, "unknown card number format %q: want hex, 8h10d or reversed", string(f))
}

// FormatCardNumber writes uid (any form NormalizeUID accepts) in format f
// ("" means CardHex), such that ParseCardNumber(FormatCardNumber(uid, f), f)
// returns the normalised uid. It returns "" when uid is not a valid UID, f is
// unknown, or f is Card8H10D and the UID is not 4 bytes long.
func FormatCardNumber(uid string, f CardFormat) string {
	b, err := uidBytes(uid)
	if err != nil {
		return ""
	}
	switch f {
	case "", CardHex:
		return strings.ToUpper(hex.EncodeToString(b))
	case CardReversed:
		r := make([]byte, len(b))
		for i := range b {
			r[len(b)-1-i] = b[i]
		}
		return strings.ToUpper(hex.EncodeToString(r))
	case Card8H10D:
		if len(b) != 4 {
			return ""
		}
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return fmt.Sprintf("%010d", n)
	}
	return ""
}
