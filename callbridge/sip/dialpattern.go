package sip

import (
	"fmt"
	"strings"
)

// ExpandDialPattern turns a callee number into the user part of a trunk
// request-URI.
//
// The pattern is literal text with these placeholders:
//
//	{e164}     the E.164 digits without "+"        (+8613812345678 -> 8613812345678)
//	{+e164}    the E.164 number with "+"           (+8613812345678 -> +8613812345678)
//	{national} the national number: "+", then the country code cc, removed
//	           (+8613812345678, cc 86 -> 13812345678); for a number in
//	           another country it is "00" followed by the E.164 digits
//
// An empty pattern means "{e164}". A number without a leading "+" is a
// short code (a help line such as 12355) and is returned unchanged,
// whatever the pattern. Examples with cc 86: "0{national}" dials
// 013812345678; "{+e164}" dials +8613812345678.
//
// It returns an error for an unknown placeholder, an unclosed brace, or a
// number with characters other than digits after the "+".
func ExpandDialPattern(pattern, number, cc string) (string, error) {
	if number == "" {
		return "", fmt.Errorf("expand dial pattern: empty number")
	}
	if !strings.HasPrefix(number, "+") {
		if !isDigits(number) {
			// Not quoted: the error is logged, and a mistyped number is
			// still a phone number.
			return "", fmt.Errorf("expand dial pattern: a short code must be digits")
		}
		return number, nil
	}
	digits := number[1:]
	if !isDigits(digits) || digits == "" {
		return "", fmt.Errorf("expand dial pattern: number is not E.164")
	}
	if pattern == "" {
		pattern = "{e164}"
	}
	national := "00" + digits
	if cc != "" && strings.HasPrefix(digits, cc) {
		national = digits[len(cc):]
	}
	var b strings.Builder
	for rest := pattern; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("expand dial pattern %q: unclosed {", pattern)
		}
		switch name := rest[i+1 : i+j]; name {
		case "e164":
			b.WriteString(digits)
		case "+e164":
			b.WriteString("+" + digits)
		case "national":
			b.WriteString(national)
		default:
			return "", fmt.Errorf("expand dial pattern %q: unknown placeholder {%s}", pattern, name)
		}
		rest = rest[i+j+1:]
	}
	return b.String(), nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
