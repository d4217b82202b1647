package kiosk_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		// Mobiles.
		{name: "mobile", in: "13812345678", want: "+8613812345678"},
		{name: "mobile 13 lowest prefix", in: "13012345678", want: "+8613012345678"},
		{name: "mobile 19 highest prefix", in: "19912345678", want: "+8619912345678"},
		{name: "mobile spaces", in: " 138 1234 5678 ", want: "+8613812345678"},
		{name: "mobile dashes", in: "138-1234-5678", want: "+8613812345678"},
		{name: "mobile +86", in: "+86 138 1234 5678", want: "+8613812345678"},
		{name: "mobile +86 dash", in: "+86-13812345678", want: "+8613812345678"},
		{name: "mobile 0086", in: "0086 13812345678", want: "+8613812345678"},
		{name: "mobile 86", in: "8613812345678", want: "+8613812345678"},
		{name: "mobile full width", in: "１３８１２３４５６７８", want: "+8613812345678"},
		{name: "mobile full width plus", in: "＋８６ １３８１２３４５６７８", want: "+8613812345678"},
		{name: "mobile 12 prefix", in: "12812345678", err: "start with 13 to 19"},
		{name: "mobile 11 prefix", in: "11812345678", err: "start with 13 to 19"},
		{name: "mobile +86 12 prefix", in: "+8612812345678", err: "start with 13 to 19"},
		{name: "mobile 10 digits", in: "1381234567", err: "10 digits: a mobile number has 11 digits"},
		{name: "mobile 12 digits", in: "138123456789", err: "12 digits"},
		{name: "mobile +86 10 digits", in: "+861381234567", err: "a mobile number has 11 digits"},
		// Landlines.
		{name: "beijing", in: "010-12345678", want: "+861012345678"},
		{name: "beijing no dash", in: "01062345678", want: "+861062345678"},
		{name: "beijing parens", in: "(010) 6234 5678", want: "+861062345678"},
		{name: "shanghai", in: "021-62345678", want: "+862162345678"},
		{name: "shenzhen 8", in: "0755-86345678", want: "+8675586345678"},
		{name: "county 7", in: "0937-8123456", want: "+869378123456"},
		{name: "landline +86", in: "+86 10 6234 5678", want: "+861062345678"},
		{name: "landline +86 (0)", in: "+86 (0)10 6234 5678", want: "+861062345678"},
		{name: "landline 0086", in: "0086 755 86345678", want: "+8675586345678"},
		{name: "beijing 7 digit subscriber", in: "010-6234567", err: "want a landline with area code"},
		{name: "beijing 9 digit subscriber", in: "010-623456789", err: "want a landline with area code"},
		{name: "3 digit area 6 digits", in: "0937-812345", err: "want a landline with area code"},
		{name: "3 digit area 9 digits", in: "0937-812345678", err: "want a landline with area code"},
		{name: "subscriber starts 0", in: "010-02345678", err: "want a landline with area code"},
		{name: "area 01x", in: "011-62345678", err: "want a landline with area code"},
		{name: "landline without area", in: "62345678", err: "without area code"},
		{name: "landline 7 without area", in: "6234567", err: "without area code"},
		{name: "landline lost 0", in: "2162345678", err: "without its leading 0"},
		{name: "beijing lost 0", in: "1062345678", err: "dropped its leading 0"},
		// International.
		{name: "uk", in: "+44 20 7946 0958", want: "+442079460958"},
		{name: "uk 00", in: "0044 20 7946 0958", want: "+442079460958"},
		{name: "8 digits min", in: "+12345678", want: "+12345678"},
		{name: "15 digits max", in: "+123456789012345", want: "+123456789012345"},
		{name: "7 digits", in: "+1234567", err: "7 digits in international form"},
		{name: "16 digits", in: "+1234567890123456", err: "16 digits in international form"},
		{name: "country code 0", in: "+0123456789", err: "country code"},
		{name: "plus only", in: "+", err: "no digits"},
		{name: "plus inside", in: "138+12345678", err: "invalid character"},
		{name: "double plus", in: "++8613812345678", err: "invalid character"},
		{name: "+86 short", in: "+86123", err: "3 digits: a mobile number has 11 digits"},
		{name: "+86 garbage", in: "+86 5555", err: "4 digits after +86"},
		// Not phones.
		{name: "empty", in: "", err: "empty"},
		{name: "blank", in: "  ", err: "empty"},
		{name: "letters", in: "138abc45678", err: "invalid character"},
		{name: "help number", in: "12355", err: "short service number"},
		{name: "police", in: "110", err: "short service number"},
		{name: "two digits", in: "12", err: "2 digits"},
		{name: "excel scientific", in: "1.38123E+10", err: "scientific notation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kiosk.ParsePhone(tc.in)
			if tc.err != "" {
				requireEINVALID(t, err, tc.err)
				assert.Empty(t, got)
				// Errors must not quote the number.
				digits := strings.Map(func(r rune) rune {
					if r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, tc.in)
				if len(digits) >= 7 {
					assert.NotContains(t, err.Error(), digits[len(digits)-4:], "error quotes the number")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestIsShortNumber(t *testing.T) {
	for in, want := range map[string]bool{
		"110": true, "120": true, "12355": true, " 12355 ": true, "10086": true,
		"11": false, "123456": false, "": false, "12a": false, "+110": false, "13812345678": false,
	} {
		assert.Equal(t, want, kiosk.IsShortNumber(in), "IsShortNumber(%q)", in)
	}
}

func TestMaskPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+8613812345678", "138****5678"},
		{"13812345678", "138****5678"},
		{"+861062345678", "010****5678"},
		{"+862162345678", "021****5678"},
		{"+8675586345678", "0755****5678"},
		{"+869378123456", "0937****3456"},
		{"+442079460958", "+442****0958"},
		{"+123456789012345", "+123****2345"},
		{"+12345678", "+****5678"},
		{"+123456789", "+1****6789"},
		{"12355", "12355"},
		{"110", "110"},
		// Not phones: still never in clear.
		{"", "****"},
		{"abc", "****"},
		{"62345678", "****5678"},
		{"1234567890123", "123****0123"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := kiosk.MaskPhone(tc.in)
			assert.Equal(t, tc.want, got)
			assert.LessOrEqual(t, maskedDigits(got), 7, "at most 7 digits shown")
		})
	}
}

// maskedDigits counts the digits of a masked number, not counting a trunk 0.
func maskedDigits(masked string) int {
	n := 0
	for i, r := range masked {
		if r >= '0' && r <= '9' && !(i == 0 && r == '0') {
			n++
		}
	}
	return n
}

func TestNationalNumber(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+8613812345678", "13812345678"},
		{"+861062345678", "01062345678"},
		{"+8675586345678", "075586345678"},
		{"+442079460958", "+442079460958"},
		{"not a phone", "not a phone"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := kiosk.NationalNumber(tc.in)
			assert.Equal(t, tc.want, got)
			if p, err := kiosk.ParsePhone(tc.in); err == nil {
				back, err := kiosk.ParsePhone(got)
				require.NoError(t, err, "the national form parses")
				assert.Equal(t, p, back, "the national form parses to the same number")
			}
		})
	}
}

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 138 1234 5678", "0086-13812345678", "010-62345678", "0755 8634 5678", "+44 20 7946 0958", "12355", "1.38E+10", "+", "00", "８６"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mask := kiosk.MaskPhone(s)
		require.LessOrEqual(t, maskedDigits(mask), 7, "MaskPhone(%q) = %q", s, mask)
		p, err := kiosk.ParsePhone(s)
		if err != nil {
			require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			return
		}
		require.True(t, strings.HasPrefix(p, "+"), "E.164 starts with +: %q", p)
		require.GreaterOrEqual(t, len(p), 9)
		require.LessOrEqual(t, len(p), 16)
		again, err := kiosk.ParsePhone(p)
		require.NoError(t, err, "E.164 output must parse: %q", p)
		require.Equal(t, p, again, "ParsePhone is idempotent")
		back, err := kiosk.ParsePhone(kiosk.NationalNumber(p))
		require.NoError(t, err, "national form of %q", p)
		require.Equal(t, p, back, "national form round trip")
		require.Equal(t, kiosk.MaskPhone(p), mask, "masking depends on the number, not its spelling")
	})
}

func TestParseHelpNumber(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "12355", want: "12355"},
		{in: " 110 ", want: "110"},
		{in: "１２０", want: "120"},
		{in: "138 1234 5678", want: "13812345678"},
		{in: "+86 138-1234-5678", want: "+8613812345678"},
		{in: "010-62345678", want: "01062345678"},
		{in: "+44 20 7946 0958", want: "+442079460958"},
		{in: "1380000000", err: "10 digits"},
		{in: "12", err: "phone"},
		{in: "123456", err: "phone"},
		{in: "call-me", err: "invalid character"},
		{in: "", err: "empty"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := kiosk.ParseHelpNumber(tc.in)
			if tc.err != "" {
				require.Error(t, err, "want %q refused", tc.in)
				assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
