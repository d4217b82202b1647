package kiosk

import (
	"strings"
)

// Phone numbers are stored in E.164 (ITU-T E.164: "+", country code,
// national significant number, at most 15 digits). Mainland China (+86)
// follows the national numbering plan: mobiles are 11 digits starting
// 13-19; fixed lines are a trunk prefix 0, an area code (10 and 20-29 are
// two digits, the others three digits starting 3-9) and a 7 or 8 digit
// subscriber number (8 digits after a two-digit area code).

// phoneDigits maps full-width digits, plus and hyphen (typed with a Chinese
// input method) to ASCII, and drops the separators people write inside
// numbers: spaces, '-', '.', '(' and ')'. It reports false if anything else
// remains besides ASCII digits and a leading '+'.
func phoneDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '０' && r <= '９':
			r = r - '０' + '0'
		case r == '＋':
			r = '+'
		}
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' ||
			r == '\u3000' || r == '－' || r == '（' || r == '）' || r == '\t':
		default:
			return "", false
		}
	}
	return b.String(), true
}

// looksScientific reports whether s is a number a spreadsheet turned into
// scientific notation, such as "1.38123E+10".
func looksScientific(s string) bool {
	s = strings.ToUpper(strings.TrimSpace(s))
	i := strings.Index(s, "E+")
	return i > 0 && strings.Contains(s[:i], ".") && isDecimal(s[i+2:])
}

// IsShortNumber reports whether s (trimmed) is a 3 to 5 digit service
// number such as 110, 120 or 12355. Such numbers are not phones: help and
// emergency numbers are configured separately and never masked.
func IsShortNumber(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 3 && len(s) <= 5 && isDecimal(s)
}

// isMobileNSN reports whether n is a mainland mobile number: 11 digits
// starting 13-19.
func isMobileNSN(n string) bool {
	return len(n) == 11 && n[0] == '1' && n[1] >= '3' && n[1] <= '9'
}

// landlineArea returns the length of the area code (without the trunk 0)
// of the mainland fixed-line national significant number n, or 0 if n is
// not one. Subscriber numbers never start with 0.
func landlineArea(n string) int {
	if len(n) < 9 || n[0] == '0' {
		return 0
	}
	area := 3
	if n[0] == '1' && n[1] == '0' || n[0] == '2' {
		area = 2
	} else if n[0] == '1' {
		return 0
	}
	sub := len(n) - area
	if sub != 8 && !(area == 3 && sub == 7) {
		return 0
	}
	if n[area] == '0' {
		return 0
	}
	return area
}

// chinaNSN validates n as a +86 national significant number (without the
// trunk 0) and returns the E.164 form.
func chinaNSN(n string) (string, error) {
	switch {
	case isMobileNSN(n), landlineArea(n) > 0:
		return "+86" + n, nil
	case len(n) == 11 && n[0] == '1':
		return "", Errorf(EINVALID, "phone: mobile numbers start with 13 to 19")
	case len(n) > 1 && n[0] == '1' && n[1] != '0':
		return "", Errorf(EINVALID, "phone: %d digits: a mobile number has 11 digits", len(n))
	}
	return "", Errorf(EINVALID, "phone: %d digits after +86: not a mobile (11 digits starting 13-19) or a landline with area code", len(n))
}

// ParsePhone returns the phone number s in E.164 form ("+8613812345678").
// It accepts, with spaces, dashes, dots or parentheses anywhere and
// full-width digits:
//
//   - a mainland mobile: 11 digits starting 13-19, optionally after +86, 0086
//     or 86 ("138 1234 5678", "+86 138-1234-5678");
//   - a mainland landline with its area code: 010-12345678, 021-12345678,
//     0755-1234567(8); the trunk 0 is dropped: "+861012345678";
//   - any number in international form, "+" or "00" then 8 to 15 digits
//     ("+44 20 7946 0958"); +86 numbers are checked as above.
//
// Short service numbers (see IsShortNumber), landlines without an area
// code and numbers a spreadsheet turned into scientific notation are
// refused. Every error is an *Error with code EINVALID whose message says
// what is wrong without quoting the number.
func ParsePhone(s string) (string, error) {
	if looksScientific(s) {
		return "", Errorf(EINVALID, "phone: in scientific notation (a spreadsheet turned it into a number): format the column as text and type the number again")
	}
	d, ok := phoneDigits(s)
	if !ok {
		return "", Errorf(EINVALID, "phone: invalid character: want digits, optionally with +, spaces or dashes")
	}
	intl := false
	switch {
	case d == "":
		return "", Errorf(EINVALID, "phone: empty")
	case d == "+":
		return "", Errorf(EINVALID, "phone: no digits after +")
	case d[0] == '+':
		d, intl = d[1:], true
	case strings.HasPrefix(d, "00"):
		d, intl = d[2:], true
	case strings.HasPrefix(d, "86") && len(d) == 13 && isMobileNSN(d[2:]):
		return "+" + d, nil
	}
	if intl {
		if strings.HasPrefix(d, "86") {
			n := d[2:]
			// "+86 (0)10 1234 5678": people often keep the trunk 0.
			if strings.HasPrefix(n, "0") && !strings.HasPrefix(n, "00") {
				n = n[1:]
			}
			return chinaNSN(n)
		}
		if d == "" || d[0] == '0' {
			return "", Errorf(EINVALID, "phone: a country code cannot start with 0")
		}
		if len(d) < 8 || len(d) > 15 {
			return "", Errorf(EINVALID, "phone: %d digits in international form: want 8 to 15", len(d))
		}
		return "+" + d, nil
	}
	switch {
	case IsShortNumber(d):
		return "", Errorf(EINVALID, "phone: %d digits: a short service number, not a phone", len(d))
	case d[0] == '0':
		if landlineArea(d[1:]) == 0 {
			return "", Errorf(EINVALID, "phone: %d digits starting 0: want a landline with area code (0xx-xxxxxxxx or 0xxx-xxxxxxx)", len(d))
		}
		return "+86" + d[1:], nil
	case d[0] == '1':
		if len(d) != 11 {
			hint := ""
			if len(d) == 10 && d[1] == '0' {
				hint = " (if it is a Beijing landline, a spreadsheet may have dropped its leading 0)"
			}
			return "", Errorf(EINVALID, "phone: %d digits: a mobile number has 11 digits%s", len(d), hint)
		}
		if !isMobileNSN(d) {
			return "", Errorf(EINVALID, "phone: mobile numbers start with 13 to 19")
		}
		return "+86" + d, nil
	case len(d) == 7 || len(d) == 8:
		return "", Errorf(EINVALID, "phone: landline without area code: write it as 0xx-xxxxxxxx")
	case len(d) >= 9 && len(d) <= 11 && landlineArea(d) > 0:
		return "", Errorf(EINVALID, "phone: landline without its leading 0 (a spreadsheet may have dropped it): write it as 0xx-xxxxxxxx")
	}
	return "", Errorf(EINVALID, "phone: %d digits: not a mobile (11 digits starting 13-19), a landline with area code or an international number starting +", len(d))
}

// NationalNumber returns the number as dialled inside mainland China: for
// +86 mobiles the 11 digits ("13812345678"), for +86 landlines the trunk 0,
// area code and subscriber number ("01012345678"). Other countries' numbers
// are returned in E.164, and anything ParsePhone refuses is returned
// unchanged.
func NationalNumber(e164 string) string {
	p, err := ParsePhone(e164)
	if err != nil {
		return e164
	}
	if !strings.HasPrefix(p, "+86") {
		return p
	}
	n := p[3:]
	if isMobileNSN(n) {
		return n
	}
	return "0" + n
}

// MaskPhone returns the number for display with its middle hidden, so that
// screens, prints and logs never show a number in clear:
//
//   - +86 mobiles: national form, middle four hidden: "138****5678";
//   - +86 landlines: trunk 0 and area code, then the last 4: "010****5678",
//     "0755****5678";
//   - other numbers: "+", the first 3 and the last 4 digits: "+442****0958",
//     keeping fewer so that at least 4 digits stay hidden;
//   - short service numbers (12355) are returned as they are.
//
// It never shows more than 7 digits of a number (the trunk 0 is not part of
// it). Input that is not a phone is masked the same way from its digits.
func MaskPhone(e164 string) string {
	if IsShortNumber(e164) {
		return strings.TrimSpace(e164)
	}
	p, err := ParsePhone(e164)
	if err == nil && strings.HasPrefix(p, "+86") {
		n := p[3:]
		if isMobileNSN(n) {
			return n[:3] + "****" + n[7:]
		}
		return "0" + n[:landlineArea(n)] + "****" + n[len(n)-4:]
	}
	plus := ""
	if err == nil {
		plus = "+"
		p = p[1:]
	} else {
		var b strings.Builder
		for _, r := range e164 {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		p = b.String()
	}
	head, tail := 3, 4
	for len(p)-head-tail < 4 && head > 0 {
		head--
	}
	for len(p)-head-tail < 4 && tail > 0 {
		tail--
	}
	return plus + p[:head] + "****" + p[len(p)-tail:]
}

// ParseHelpNumber checks a help or emergency number (the duty teacher, a
// hotline) and returns it as it is dialled: a short service number
// (IsShortNumber: 12355, 110, 120) as it is, or a phone ParsePhone accepts
// with its separators dropped and full-width digits made ASCII
// ("138 1234 5678" -> "13812345678", "+86 138-1234-5678" ->
// "+8613812345678"; the trunk's dial pattern handles the "+" form). So the
// config file, the console's settings and the roster import refuse the
// same numbers ("1380000000", 10 digits). Errors are ParsePhone's, code
// EINVALID, without the number.
func ParseHelpNumber(s string) (string, error) {
	d, ok := phoneDigits(s)
	if ok && IsShortNumber(d) {
		return d, nil
	}
	if _, err := ParsePhone(s); err != nil {
		return "", err
	}
	return d, nil
}
