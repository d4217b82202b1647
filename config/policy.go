package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Policy converts the hours, limits, quota and help settings into a
// kiosk.Policy, with the station's time zone loaded. Windows given for
// several days become one kiosk.Window per day; a closure's inclusive end
// date becomes an exclusive end at the next midnight; warnings are sorted
// longest first. It returns an error if any of those settings is invalid
// (Validate reports the same with lines).
func (c Config) Policy() (kiosk.Policy, error) {
	loc, err := time.LoadLocation(c.Station.Timezone)
	if err != nil || c.Station.Timezone == "" {
		return kiosk.Policy{}, fmt.Errorf("policy: load time zone %q: %w", c.Station.Timezone, errOr(err, "empty name"))
	}
	var p kiosk.Policy
	p.Hours.Loc = loc
	for _, s := range c.Hours.Windows {
		ws, err := kiosk.ParseWindow(s)
		if err != nil {
			return kiosk.Policy{}, fmt.Errorf("policy: %w", err)
		}
		p.Hours.Windows = append(p.Hours.Windows, ws...)
	}
	for _, cl := range c.Hours.Closures {
		if cl.From.IsZero() || cl.To.IsZero() || cl.To.Before(cl.From) {
			return kiosk.Policy{}, fmt.Errorf("policy: closure %s..%s: bad dates", cl.From, cl.To)
		}
		p.Hours.Closures = append(p.Hours.Closures, kiosk.Closure{
			From: cl.From.In(loc),
			To:   cl.To.In(loc).AddDate(0, 0, 1),
			Note: cl.Note,
		})
	}
	p.Limit = c.Limits.Call.Duration
	if p.Limit <= 0 {
		return kiosk.Policy{}, errors.New("policy: call limit must be positive")
	}
	for _, w := range c.Limits.Warnings {
		p.Warnings = append(p.Warnings, w.Duration)
	}
	slices.SortFunc(p.Warnings, func(a, b time.Duration) int { return int(b - a) })
	if c.Limits.QuotaMinutes < 0 || c.Limits.QuotaCalls < 0 {
		return kiosk.Policy{}, errors.New("policy: quotas must not be negative")
	}
	p.Quota = kiosk.Quota{Minutes: c.Limits.QuotaMinutes, Calls: c.Limits.QuotaCalls}
	p.HelpLimit = c.Help.Limit.Duration
	p.HelpCode = c.Help.Code
	p.HelpNumbers = c.Help.All()
	return p, nil
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// All returns the help numbers in dialling order: the duty teacher first
// (if set), then Numbers, without duplicates or separators, in
// kiosk.ParseHelpNumber's form when they are valid.
func (h Help) All() []string {
	var out []string
	for _, n := range append([]string{h.DutyTeacher}, h.Numbers...) {
		if p, err := kiosk.ParseHelpNumber(n); err == nil {
			n = p
		} else {
			n = stripPhone(n)
		}
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// stripPhone removes spaces, dashes and parentheses from a number.
func stripPhone(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// checkHelpNumber checks a help number as the roster import checks a
// contact's phone (kiosk.ParseHelpNumber): a short service number (12355,
// 110) or a mobile, landline with area code or international number. The
// message drops the "phone: " that kiosk.ParsePhone's start with: the
// problem already names the key and the number.
func checkHelpNumber(s string) error {
	if _, err := kiosk.ParseHelpNumber(s); err != nil {
		return fmt.Errorf("number %q: %s", s, strings.TrimPrefix(kiosk.ErrorMessage(err), "phone: "))
	}
	return nil
}

// checkPhone accepts "+" and 7..15 digits (E.164), or 3..20 digits (a short
// number such as 12355 or a national one such as 13812345678), separators
// allowed.
func checkPhone(s string) error {
	n := stripPhone(s)
	digits := strings.TrimPrefix(n, "+")
	for _, r := range digits {
		if r < '0' || r > '9' {
			return fmt.Errorf("number %q: only digits, a leading +, spaces and dashes are allowed", s)
		}
	}
	switch {
	case strings.HasPrefix(n, "+") && (len(digits) < 7 || len(digits) > 15 || digits[0] == '0'):
		return fmt.Errorf("number %q: an E.164 number has 7 to 15 digits after +, not starting with 0", s)
	case !strings.HasPrefix(n, "+") && (len(digits) < 3 || len(digits) > 20):
		return fmt.Errorf("number %q: want +E.164, or 3 to 20 digits", s)
	}
	return nil
}

// Dial-pattern placeholders (see Trunk.DialPattern).
const (
	PlaceE164       = "{e164}"
	PlaceE164Digits = "{e164digits}"
	PlaceNational   = "{national}"
)

// checkDialPattern reports whether pattern has exactly one known
// placeholder and otherwise only digits, "+", "*" and "#".
func checkDialPattern(pattern string) error {
	if pattern == "" {
		return errors.New("dial pattern is empty (want e.g. \"{national}\", \"0{national}\", \"{e164}\" or \"+{e164digits}\")")
	}
	n := 0
	rest := pattern
	for rest != "" {
		if rest[0] == '{' {
			j := strings.IndexByte(rest, '}')
			if j < 0 {
				return fmt.Errorf("dial pattern %q: unclosed {", pattern)
			}
			switch ph := rest[:j+1]; ph {
			case PlaceE164, PlaceE164Digits, PlaceNational:
				n++
			default:
				return fmt.Errorf("dial pattern %q: unknown placeholder %s (want {e164}, {e164digits} or {national})", pattern, ph)
			}
			rest = rest[j+1:]
			continue
		}
		if c := rest[0]; !(c >= '0' && c <= '9') && c != '+' && c != '*' && c != '#' {
			return fmt.Errorf("dial pattern %q: character %q is not allowed (digits, +, *, # and one placeholder)", pattern, c)
		}
		rest = rest[1:]
	}
	if n != 1 {
		return fmt.Errorf("dial pattern %q: want exactly one placeholder, found %d", pattern, n)
	}
	return nil
}

// DialUser expands the trunk's DialPattern for number, an E.164 number
// ("+8613812345678") or a short number ("12355", sent as it is), and
// returns the request-URI user part. It returns an error for a bad pattern
// or number.
func (t Trunk) DialUser(number string) (string, error) {
	if err := checkDialPattern(t.DialPattern); err != nil {
		return "", err
	}
	if err := checkPhone(number); err != nil {
		return "", err
	}
	n := stripPhone(number)
	if !strings.HasPrefix(n, "+") {
		return n, nil
	}
	digits := n[1:]
	national := "00" + digits
	if rest, ok := strings.CutPrefix(digits, "86"); ok {
		national = rest
	}
	r := strings.NewReplacer(PlaceE164, n, PlaceE164Digits, digits, PlaceNational, national)
	return r.Replace(t.DialPattern), nil
}
