// Package books is the pure logic of the Children's Home library: ISBN
// validation and conversion (ISO 2108; ISBN-10 check digit mod 11, ISBN-13
// the EAN-13 check digit mod 10 with weights 1 and 3), copy barcodes
// (the school's accession numbers, or an ISBN plus a copy number), the
// catalogue CSV, the loan rules (how many books at once, loan days,
// renewals, a hard due date at the end of term, overdue days, blocking and
// the reminder ladder) and stock-taking. It does no I/O beyond the
// io.Reader it is given; kiosk/sqlite stores what it decides.
package books

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/width"
)

// ErrISBN is wrapped by every ISBN parse error; errors.Is(err, ErrISBN)
// tells an ISBN problem from others.
var ErrISBN = errors.New("books: bad ISBN")

// ISBN is a validated ISBN in its 13-digit form, without separators
// ("9787020002207").
type ISBN string

// normISBN folds full-width characters, drops hyphens and spaces (and an
// "ISBN" prefix) and upper-cases a final x.
func normISBN(s string) string {
	s = width.Fold.String(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(s), "ISBN"), ":")
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '-', ' ', '\u00a0', '\u2010', '\u2011', '\u2012', '\u2013':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseISBN validates s as an ISBN-13 or ISBN-10 (hyphens, spaces, an
// "ISBN" prefix and full-width digits are accepted; the ISBN-10 check
// digit may be X or x) and returns it as 13 digits: an ISBN-10 becomes
// 978 + its first nine digits + a new check digit. Errors wrap ErrISBN and
// say what is wrong: length, a non-digit, or the check digit (with the
// expected one).
func ParseISBN(s string) (ISBN, error) {
	n := normISBN(s)
	switch len(n) {
	case 13:
		for i := 0; i < 13; i++ {
			if n[i] < '0' || n[i] > '9' {
				return "", fmt.Errorf("%w %q: character %d is not a digit", ErrISBN, s, i+1)
			}
		}
		if !strings.HasPrefix(n, "978") && !strings.HasPrefix(n, "979") {
			return "", fmt.Errorf("%w %q: an ISBN-13 starts with 978 or 979", ErrISBN, s)
		}
		if c := check13(n[:12]); c != n[12] {
			return "", fmt.Errorf("%w %q: check digit is %c, want %c", ErrISBN, s, n[12], c)
		}
		return ISBN(n), nil
	case 10:
		for i := 0; i < 9; i++ {
			if n[i] < '0' || n[i] > '9' {
				return "", fmt.Errorf("%w %q: character %d is not a digit", ErrISBN, s, i+1)
			}
		}
		if (n[9] < '0' || n[9] > '9') && n[9] != 'X' {
			return "", fmt.Errorf("%w %q: the last character must be a digit or X", ErrISBN, s)
		}
		if c := check10(n[:9]); c != n[9] {
			return "", fmt.Errorf("%w %q: check digit is %c, want %c", ErrISBN, s, n[9], c)
		}
		return ISBN("978" + n[:9] + string(check13("978"+n[:9]))), nil
	}
	return "", fmt.Errorf("%w %q: %d digits, want 10 or 13", ErrISBN, s, len(n))
}

// check13 returns the EAN-13 check digit of 12 digits.
func check13(d string) byte {
	sum := 0
	for i := 0; i < 12; i++ {
		v := int(d[i] - '0')
		if i%2 == 1 {
			v *= 3
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}

// check10 returns the ISBN-10 check digit ('0'..'9' or 'X') of 9 digits.
func check10(d string) byte {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += (10 - i) * int(d[i]-'0')
	}
	c := (11 - sum%11) % 11
	if c == 10 {
		return 'X'
	}
	return byte('0' + c)
}

// ISBN10 returns the ISBN-10 form of i ("7020002207"), or false for a 979
// ISBN, which has none.
func (i ISBN) ISBN10() (string, bool) {
	if len(i) != 13 || !strings.HasPrefix(string(i), "978") {
		return "", false
	}
	return string(i[3:12]) + string(check10(string(i[3:12]))), true
}

// String returns the 13 digits.
func (i ISBN) String() string { return string(i) }
