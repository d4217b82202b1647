package books

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/qinqing/station/kiosk"
)

// BarcodeKind says what a scanned barcode names.
type BarcodeKind int

const (
	// BarcodeAccession is the school's own accession number on a library
	// label ("A00123", "000456"): one copy.
	BarcodeAccession BarcodeKind = iota + 1
	// BarcodeISBNCopy is an ISBN plus a copy number ("9787020002207-2"):
	// one copy.
	BarcodeISBNCopy
	// BarcodeISBN is the EAN-13 on the book's cover: a title, not a copy.
	// It names a copy only when the title has exactly one that fits.
	BarcodeISBN
)

// MaxBarcodeLen is the longest barcode accepted, in characters.
const MaxBarcodeLen = 24

// MaxCopy is the highest copy number of an ISBN-plus-copy barcode.
const MaxCopy = 999

// Barcode is a parsed barcode.
type Barcode struct {
	// Code is the canonical form stored with a copy: an accession number
	// upper-cased; ISBN-13 + "-" + copy number without leading zeros; or
	// the 13 digits of an ISBN.
	Code string
	Kind BarcodeKind
	// ISBN and Copy are set for BarcodeISBNCopy (Copy 1..MaxCopy) and
	// BarcodeISBN (Copy 0).
	ISBN ISBN
	Copy int
}

// CopyBarcode returns the canonical barcode of copy n (1..MaxCopy) of isbn.
func CopyBarcode(isbn ISBN, n int) string {
	return string(isbn) + "-" + strconv.Itoa(n)
}

// ParseBarcode reads one scanned or typed barcode. Surrounding space and
// control characters (a scanner's prefix or suffix) are dropped and
// full-width characters folded. Then:
//
//   - 13 digits starting 978 or 979 with a valid check digit: BarcodeISBN;
//   - an ISBN-13 or ISBN-10, a separator ('-', '/', '.', '_' or a space)
//     and 1 to 3 digits (not 0): BarcodeISBNCopy;
//   - otherwise 1 to MaxBarcodeLen letters, digits and hyphens, not
//     starting with a hyphen: BarcodeAccession, upper-cased.
//
// A 10-digit accession number is never read as an ISBN-10: schools number
// labels with leading zeros, and one in eleven would pass the check.
// Anything else is an EINVALID *kiosk.Error.
func ParseBarcode(s string) (Barcode, error) {
	s = strings.TrimFunc(width.Fold.String(s), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	if s == "" {
		return Barcode{}, kiosk.Errorf(kiosk.EINVALID, "empty barcode")
	}
	if len(s) == 13 && allDigits(s) {
		if isbn, err := ParseISBN(s); err == nil {
			return Barcode{Code: string(isbn), Kind: BarcodeISBN, ISBN: isbn}, nil
		}
	}
	if i := strings.LastIndexAny(s, "-/._ "); i > 0 {
		head, tail := s[:i], s[i+1:]
		if n, err := strconv.Atoi(tail); err == nil && len(tail) <= 3 && allDigits(tail) && n >= 1 {
			if isbn, err := ParseISBN(head); err == nil {
				return Barcode{Code: CopyBarcode(isbn, n), Kind: BarcodeISBNCopy, ISBN: isbn, Copy: n}, nil
			}
		}
	}
	code := strings.ToUpper(s)
	if len(code) > MaxBarcodeLen {
		return Barcode{}, kiosk.Errorf(kiosk.EINVALID, "barcode %q: longer than %d characters", s, MaxBarcodeLen)
	}
	if code[0] == '-' {
		return Barcode{}, kiosk.Errorf(kiosk.EINVALID, "barcode %q: starts with a hyphen", s)
	}
	for _, r := range code {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == '-') {
			return Barcode{}, kiosk.Errorf(kiosk.EINVALID, "barcode %q: %q is not a letter, digit or hyphen", s, r)
		}
	}
	return Barcode{Code: code, Kind: BarcodeAccession}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String returns the canonical code.
func (b Barcode) String() string { return b.Code }

// GoString is for test failures.
func (b Barcode) GoString() string {
	return fmt.Sprintf("books.Barcode{Code: %q, Kind: %d, ISBN: %q, Copy: %d}", b.Code, b.Kind, b.ISBN, b.Copy)
}
