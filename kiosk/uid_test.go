package kiosk_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// requireEINVALID checks that err is an *kiosk.Error with code EINVALID
// whose message contains want.
func requireEINVALID(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	var e *kiosk.Error
	require.True(t, errors.As(err, &e), "want a *kiosk.Error, got %T", err)
	assert.Equal(t, kiosk.EINVALID, e.Code)
	assert.Contains(t, e.Message, want)
}

func TestNormalizeUID(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "4 bytes upper", in: "04A1B2C3", want: "04A1B2C3"},
		{name: "4 bytes lower", in: "04a1b2c3", want: "04A1B2C3"},
		{name: "colons", in: "04:a1:B2:c3", want: "04A1B2C3"},
		{name: "dashes", in: "04-A1-B2-C3", want: "04A1B2C3"},
		{name: "spaces and trim", in: "  04 A1 B2 C3\n", want: "04A1B2C3"},
		{name: "7 bytes", in: "04:A1:B2:C3:D4:E5:F6", want: "04A1B2C3D4E5F6"},
		{name: "10 bytes", in: "0102030405060708090A", want: "0102030405060708090A"},
		{name: "all decimal digits", in: "12345678", want: "12345678"},
		{name: "one byte nonzero", in: "00000001", want: "00000001"},
		{name: "almost FF", in: "FFFFFFFE", want: "FFFFFFFE"},
		{name: "empty", in: "", err: "empty"},
		{name: "separators only", in: " :-: ", err: "empty"},
		{name: "7 digits", in: "04A1B2C", err: "7 hex digits"},
		{name: "9 digits", in: "04A1B2C3D", err: "9 hex digits"},
		{name: "5 bytes EM4100 raw", in: "0102030405", err: "10 hex digits"},
		{name: "16 digits", in: "0102030405060708", err: "16 hex digits"},
		{name: "22 digits", in: "0102030405060708090A0B", err: "22 hex digits"},
		{name: "non hex", in: "04A1B2CG", err: "position 8"},
		{name: "0x prefix", in: "0x04A1B2C3", err: "position 2"},
		{name: "unicode", in: "04A1B2C３", err: "invalid character"},
		{name: "all zero", in: "00000000", err: "all zeros"},
		{name: "all zero 7", in: "00:00:00:00:00:00:00", err: "all zeros"},
		{name: "all FF", in: "ffffffff", err: "all FF"},
		{name: "all FF 10", in: "FFFFFFFFFFFFFFFFFFFF", err: "all FF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kiosk.NormalizeUID(tc.in)
			if tc.err != "" {
				requireEINVALID(t, err, tc.err)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseCardNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		f    kiosk.CardFormat
		want string
		err  string
	}{
		{name: "hex", in: "04a1b2c3", f: kiosk.CardHex, want: "04A1B2C3"},
		{name: "zero format is hex", in: "04:A1:B2:C3", f: "", want: "04A1B2C3"},
		{name: "hex 7 bytes", in: "04A1B2C3D4E5F6", f: kiosk.CardHex, want: "04A1B2C3D4E5F6"},
		{name: "hex refuses 10 decimal digits", in: "0077705923", f: kiosk.CardHex, err: "set it to 8h10d"},
		{name: "8h10d decimal", in: "0077705923", f: kiosk.Card8H10D, want: "04A1B2C3"},
		{name: "8h10d max", in: "4294967294", f: kiosk.Card8H10D, want: "FFFFFFFE"},
		{name: "8h10d min", in: "0000000001", f: kiosk.Card8H10D, want: "00000001"},
		{name: "8h10d trimmed", in: " 0077705923 ", f: kiosk.Card8H10D, want: "04A1B2C3"},
		{name: "8h10d above uint32", in: "4294967296", f: kiosk.Card8H10D, err: "above 4294967295"},
		{name: "8h10d all FF", in: "4294967295", f: kiosk.Card8H10D, err: "all FF"},
		{name: "8h10d zero", in: "0000000000", f: kiosk.Card8H10D, err: "all zeros"},
		{name: "8h10d lost zeros", in: "77705923", f: kiosk.Card8H10D, err: "ambiguous"},
		{name: "8h10d 9 digits", in: "077705923", f: kiosk.Card8H10D, err: "9 decimal digits"},
		{name: "8h10d 11 digits", in: "00777059231", f: kiosk.Card8H10D, err: "11 decimal digits"},
		{name: "8h10d hex with letters", in: "04A1B2C3", f: kiosk.Card8H10D, want: "04A1B2C3"},
		{name: "8h10d hex with separators", in: "12:34:56:78", f: kiosk.Card8H10D, want: "12345678"},
		{name: "8h10d 14 decimal digits are hex", in: "04112233445566", f: kiosk.Card8H10D, want: "04112233445566"},
		{name: "reversed", in: "C3B2A104", f: kiosk.CardReversed, want: "04A1B2C3"},
		{name: "reversed 7", in: "f6:e5:d4:c3:b2:a1:04", f: kiosk.CardReversed, want: "04A1B2C3D4E5F6"},
		{name: "reversed refuses decimal", in: "0077705923", f: kiosk.CardReversed, err: "reversed"},
		{name: "reversed bad length", in: "C3B2A1", f: kiosk.CardReversed, err: "6 hex digits"},
		{name: "unknown format", in: "04A1B2C3", f: "wiegand", err: "unknown card number format"},
		{name: "empty", in: "", f: kiosk.Card8H10D, err: "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kiosk.ParseCardNumber(tc.in, tc.f)
			if tc.err != "" {
				requireEINVALID(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFormatCardNumber(t *testing.T) {
	for _, tc := range []struct {
		uid                     string
		hex, dec, reversed      string
		decEmptyBecauseTooLarge bool
	}{
		{uid: "04a1b2c3", hex: "04A1B2C3", dec: "0077705923", reversed: "C3B2A104"},
		{uid: "00000001", hex: "00000001", dec: "0000000001", reversed: "01000000"},
		{uid: "FFFFFFFE", hex: "FFFFFFFE", dec: "4294967294", reversed: "FEFFFFFF"},
		{uid: "04:A1:B2:C3:D4:E5:F6", hex: "04A1B2C3D4E5F6", dec: "", reversed: "F6E5D4C3B2A104"},
		{uid: "not a uid", hex: "", dec: "", reversed: ""},
	} {
		t.Run(tc.uid, func(t *testing.T) {
			assert.Equal(t, tc.hex, kiosk.FormatCardNumber(tc.uid, kiosk.CardHex))
			assert.Equal(t, tc.hex, kiosk.FormatCardNumber(tc.uid, ""))
			assert.Equal(t, tc.dec, kiosk.FormatCardNumber(tc.uid, kiosk.Card8H10D))
			assert.Equal(t, tc.reversed, kiosk.FormatCardNumber(tc.uid, kiosk.CardReversed))
			assert.Empty(t, kiosk.FormatCardNumber(tc.uid, "wiegand"))
		})
	}
}

func TestParseCardFormat(t *testing.T) {
	for in, want := range map[string]kiosk.CardFormat{
		"": kiosk.CardHex, "hex": kiosk.CardHex, " 8H10D ": kiosk.Card8H10D, "Reversed": kiosk.CardReversed,
	} {
		got, err := kiosk.ParseCardFormat(in)
		require.NoError(t, err, "format %q", in)
		assert.Equal(t, want, got, "format %q", in)
	}
	_, err := kiosk.ParseCardFormat("decimal")
	requireEINVALID(t, err, "want hex, 8h10d or reversed")
	assert.Len(t, kiosk.CardFormats, 3)
}

// checkUIDRoundTrip checks the properties every accepted UID must have.
func checkUIDRoundTrip(t *testing.T, uid string) {
	t.Helper()
	again, err := kiosk.NormalizeUID(uid)
	require.NoError(t, err, "a normalised UID must normalise again")
	require.Equal(t, uid, again, "NormalizeUID must be idempotent")
	require.Contains(t, []int{8, 14, 20}, len(uid))
	require.Equal(t, strings.ToUpper(uid), uid)
	for _, f := range kiosk.CardFormats {
		s := kiosk.FormatCardNumber(uid, f)
		if s == "" {
			require.True(t, f == kiosk.Card8H10D && len(uid) != 8, "only 8h10d of a long UID may be unformattable; format %s of %s", f, uid)
			continue
		}
		back, err := kiosk.ParseCardNumber(s, f)
		require.NoError(t, err, "format %s: %q", f, s)
		require.Equal(t, uid, back, "round trip through %s (%q)", f, s)
	}
}

func FuzzNormalizeUID(f *testing.F) {
	for _, s := range []string{"04A1B2C3", "04:a1:b2:c3", "04-A1-B2-C3-D4-E5-F6", "0102030405060708090A", "", "00000000", "ffffffff", "zz", "0 4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		uid, err := kiosk.NormalizeUID(s)
		if err != nil {
			require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			require.Empty(t, uid)
			return
		}
		checkUIDRoundTrip(t, uid)
	})
}

func FuzzParseCardNumber(f *testing.F) {
	for _, s := range []string{"04A1B2C3", "0077705923", "C3B2A104", "4294967295", "12345678", "0000000001", "077705923", "04:A1"} {
		for _, format := range []string{"hex", "8h10d", "reversed", ""} {
			f.Add(s, format)
		}
	}
	f.Fuzz(func(t *testing.T, s, format string) {
		uid, err := kiosk.ParseCardNumber(s, kiosk.CardFormat(format))
		if err != nil {
			require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			return
		}
		checkUIDRoundTrip(t, uid)
		// Formatting in the same format and parsing again is stable.
		s = kiosk.FormatCardNumber(uid, kiosk.CardFormat(format))
		if s == "" {
			return // 8h10d of a 7 or 10 byte UID
		}
		again, err := kiosk.ParseCardNumber(s, kiosk.CardFormat(format))
		require.NoError(t, err)
		require.Equal(t, uid, again)
	})
}
