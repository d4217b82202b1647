package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a Go duration string
// ("5m", "45s", "1m30s"). A bare TOML integer is refused (it would be
// nanoseconds), so is a negative duration.
type Duration struct {
	time.Duration
}

// D makes a Duration from a time.Duration.
func D(d time.Duration) Duration { return Duration{d} }

// UnmarshalText parses a Go duration string such as "5m" or "45s".
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Errorf("bad duration %s: a number needs a unit and quotes, such as \"%ss\"", s, s)
	}
	x, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q: want a number with a unit, such as \"45s\" or \"5m\"", s)
	}
	if x < 0 {
		return fmt.Errorf("bad duration %q: must not be negative", s)
	}
	d.Duration = x
	return nil
}

// MarshalText writes the duration in Go's form ("5m0s").
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// PortRange is an inclusive range of UDP ports, written "10000-10999".
type PortRange struct {
	Min, Max int
}

// UnmarshalText parses "LO-HI" with 1024 <= LO < HI <= 65535.
func (r *PortRange) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return fmt.Errorf("bad port range %q: want \"LOW-HIGH\", such as \"10000-10999\"", s)
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	z, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad port range %q: want \"LOW-HIGH\", such as \"10000-10999\"", s)
	}
	if a < 1024 || z > 65535 || a >= z {
		return fmt.Errorf("bad port range %q: want 1024 <= LOW < HIGH <= 65535", s)
	}
	r.Min, r.Max = a, z
	return nil
}

// MarshalText writes "LO-HI".
func (r PortRange) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

// String returns "LO-HI".
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }

// Date is a calendar date without a time zone, written as a quoted
// "YYYY-MM-DD".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "YYYY-MM-DD"; it rejects dates that do not exist.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("bad date %q: want YYYY-MM-DD, such as \"2025-10-01\"", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// UnmarshalText parses a quoted "YYYY-MM-DD". (A bare TOML date is
// refused with a message asking for quotes: go-toml gives text unmarshalers
// strings only.)
func (d *Date) UnmarshalText(b []byte) error {
	x, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// MarshalText writes "YYYY-MM-DD".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == Date{} }

// String returns "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// In returns midnight at the start of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool {
	return d.In(time.UTC).Before(e.In(time.UTC))
}
