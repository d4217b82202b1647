package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
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
		ws, err := ParseWindow(s)
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
// (if set), then Numbers, without duplicates or separators.
func (h Help) All() []string {
	var out []string
	for _, n := range append([]string{h.DutyTeacher}, h.Numbers...) {
		n = stripPhone(n)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// ParseWindow parses an opening window "DAYS HH:MM-HH:MM" (see
// Hours.Windows) into one kiosk.Window per day, in week order from Monday.
// An end not after the start crosses midnight; "24:00" is allowed as an
// end only. A start equal to the end is refused (use 00:00-24:00).
func ParseWindow(s string) ([]kiosk.Window, error) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) != 2 {
		return nil, fmt.Errorf("window %q: want \"DAYS HH:MM-HH:MM\", such as \"mon-fri 16:30-18:00\"", s)
	}
	days, err := parseDays(f[0])
	if err != nil {
		return nil, fmt.Errorf("window %q: %w", s, err)
	}
	a, b, ok := strings.Cut(f[1], "-")
	if !ok {
		return nil, fmt.Errorf("window %q: want a time range HH:MM-HH:MM", s)
	}
	start, err := parseClock(a, false)
	if err != nil {
		return nil, fmt.Errorf("window %q: start: %w", s, err)
	}
	end, err := parseClock(b, true)
	if err != nil {
		return nil, fmt.Errorf("window %q: end: %w", s, err)
	}
	if start == end {
		return nil, fmt.Errorf("window %q: starts and ends at the same time (a whole day is 00:00-24:00)", s)
	}
	var out []kiosk.Window
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if days[d] {
			out = append(out, kiosk.Window{Day: d, Start: kiosk.Minute(start), End: kiosk.Minute(end)})
		}
	}
	return out, nil
}

func parseDays(s string) (map[time.Weekday]bool, error) {
	days := map[time.Weekday]bool{}
	if s == "daily" || s == "*" {
		for d := time.Sunday; d <= time.Saturday; d++ {
			days[d] = true
		}
		return days, nil
	}
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		da, ok := dayNames[a]
		if !ok {
			return nil, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat, sun)", a)
		}
		if !isRange {
			days[da] = true
			continue
		}
		db, ok := dayNames[b]
		if !ok {
			return nil, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat, sun)", b)
		}
		for d := da; ; d = (d + 1) % 7 {
			days[d] = true
			if d == db {
				break
			}
		}
	}
	return days, nil
}

// parseClock parses "HH:MM" into minutes after midnight; "24:00" only if
// end.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q: want HH:MM", s)
	}
	v := hh*60 + mm
	switch {
	case end && v == 24*60:
		return v, nil
	case hh > 23:
		return 0, fmt.Errorf("%q: hour must be 00..23 (24:00 only as an end)", s)
	}
	return v, nil
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
