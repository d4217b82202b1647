package books_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
)

func TestParseISBN(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want books.ISBN // "" means an error
	}{
		{"ISBN-13", "9787020002207", "9787020002207"},
		{"ISBN-13 with hyphens", "978-7-02-000220-7", "9787020002207"},
		{"ISBN prefix and spaces", "ISBN 978 0 306 40615 7", "9780306406157"},
		{"full-width digits", "９７８７０２０００２２０７", "9787020002207"},
		{"979 prefix", "979-10-90636-07-1", "9791090636071"},
		{"ISBN-10 converted", "0-306-40615-2", "9780306406157"},
		{"ISBN-10 with X", "0-8044-2957-X", "9780804429573"},
		{"ISBN-10 with lower-case x", "702000220x", "9787020002207"},
		{"ISBN-13 wrong check digit", "9787020002208", ""},
		{"ISBN-10 wrong check digit", "0306406153", ""},
		{"ISBN-10 X where a digit is due", "030640615X", ""},
		{"X inside an ISBN-10", "03064X6152", ""},
		{"X in an ISBN-13", "978702000220X", ""},
		{"977 prefix (ISSN) refused", "9770306406156", ""},
		{"too short", "97870200022", ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := books.ParseISBN(tc.in)
			if tc.want == "" {
				require.Error(t, err, "want %q refused", tc.in)
				assert.True(t, errors.Is(err, books.ErrISBN), "error wraps ErrISBN: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestISBN10(t *testing.T) {
	got, ok := books.ISBN("9780804429573").ISBN10()
	assert.True(t, ok)
	assert.Equal(t, "080442957X", got, "X check digit comes back")
	got, ok = books.ISBN("9787020002207").ISBN10()
	assert.True(t, ok)
	assert.Equal(t, "702000220X", got)
	_, ok = books.ISBN("9791090636071").ISBN10()
	assert.False(t, ok, "a 979 ISBN has no ISBN-10")
}

func TestParseBarcode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want books.Barcode // zero means an error
	}{
		{"accession", "a00123", books.Barcode{Code: "A00123", Kind: books.BarcodeAccession}},
		{"scanner suffix and prefix", "\x02 A00123\r\n", books.Barcode{Code: "A00123", Kind: books.BarcodeAccession}},
		{"10 digits stay an accession number", "0306406152", books.Barcode{Code: "0306406152", Kind: books.BarcodeAccession}},
		{"cover EAN", "9787020002207", books.Barcode{Code: "9787020002207", Kind: books.BarcodeISBN, ISBN: "9787020002207"}},
		{"ISBN plus copy", "9787020002207-2", books.Barcode{Code: "9787020002207-2", Kind: books.BarcodeISBNCopy, ISBN: "9787020002207", Copy: 2}},
		{"ISBN plus copy, slash, leading zeros", "9787020002207/002", books.Barcode{Code: "9787020002207-2", Kind: books.BarcodeISBNCopy, ISBN: "9787020002207", Copy: 2}},
		{"ISBN-10 plus copy", "702000220X.3", books.Barcode{Code: "9787020002207-3", Kind: books.BarcodeISBNCopy, ISBN: "9787020002207", Copy: 3}},
		{"13 digits, bad check: accession", "9787020002208", books.Barcode{Code: "9787020002208", Kind: books.BarcodeAccession}},
		{"copy 0 is not a copy number", "9787020002207-0", books.Barcode{Code: "9787020002207-0", Kind: books.BarcodeAccession}},
		{"empty", " \r\n", books.Barcode{}},
		{"punctuation", "A001#", books.Barcode{}},
		{"Chinese", "图书1", books.Barcode{}},
		{"leading hyphen", "-12", books.Barcode{}},
		{"too long", "1234567890123456789012345", books.Barcode{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := books.ParseBarcode(tc.in)
			if tc.want == (books.Barcode{}) {
				require.Error(t, err)
				assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
