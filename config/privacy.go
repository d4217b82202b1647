package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Privacy is the [privacy] section (PIPL: children under 14).
type Privacy struct {
	// Retention is how long a child's personal fields are kept after the
	// child is marked left: then kioskd erases them (name replaced by a
	// pseudonym in the roster and every ledger, guardians' names and
	// numbers and cards removed; the registers keep their rows and
	// counts, and `ledger verify` stays true). "3y" (years), "180d"
	// (days), or "0" to never erase automatically. At least 30 days, at
	// most 30 years. Default "3y": the school years after leaving in
	// which a family or an inspector may still ask about a child's
	// calls, loans or help cases.
	Retention Retention `toml:"retention"`
}

// Retention bounds.
const (
	MinRetentionDays = 30
	MaxRetentionDays = 30 * 366
)

// DefaultRetention is the retention of a file that sets none: 3 years.
var DefaultRetention = Retention{Years: 3}

// Retention is a period of calendar years or days, written "3y" or
// "180d"; the zero value ("0") means never.
type Retention struct {
	Years, Days int
}

// ParseRetention parses "Ny" (years), "Nd" (days) or "0" (never), N a
// whole number; spaces around are ignored.
func ParseRetention(s string) (Retention, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return Retention{}, nil
	}
	if len(s) < 2 {
		return Retention{}, fmt.Errorf("bad retention %q: want years or days, such as \"3y\" or \"180d\", or \"0\" for never", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return Retention{}, fmt.Errorf("bad retention %q: want years or days, such as \"3y\" or \"180d\", or \"0\" for never", s)
	}
	switch s[len(s)-1] {
	case 'y':
		return Retention{Years: n}, nil
	case 'd':
		return Retention{Days: n}, nil
	}
	return Retention{}, fmt.Errorf("bad retention %q: the unit is y (years) or d (days), such as \"3y\" or \"180d\"", s)
}

// UnmarshalText parses the file's string with ParseRetention.
func (r *Retention) UnmarshalText(b []byte) error {
	x, err := ParseRetention(string(b))
	if err != nil {
		return err
	}
	*r = x
	return nil
}

// MarshalText writes the retention as the file does.
func (r Retention) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// String is "3y", "180d" or "0".
func (r Retention) String() string {
	switch {
	case r.Years != 0 && r.Days != 0:
		return fmt.Sprintf("%dy%dd", r.Years, r.Days)
	case r.Years != 0:
		return fmt.Sprintf("%dy", r.Years)
	case r.Days != 0:
		return fmt.Sprintf("%dd", r.Days)
	}
	return "0"
}

// Never reports whether automatic erasure is off ("0").
func (r Retention) Never() bool { return r.Years == 0 && r.Days == 0 }

// Cutoff returns the time before which a child must have left for its
// data to be due for erasure at now: now less the years, then the days
// (time.AddDate, in now's location). For Never it is the zero time
// (nothing is due).
func (r Retention) Cutoff(now time.Time) time.Time {
	if r.Never() {
		return time.Time{}
	}
	return now.AddDate(-r.Years, 0, -r.Days)
}

// approxDays is the period in days, a year as 365.
func (r Retention) approxDays() int { return r.Years*365 + r.Days }

// privacy checks the [privacy] section: a retention of 0 or from
// MinRetentionDays to MaxRetentionDays.
func (v *validator) privacy() {
	r := v.c.Privacy.Retention
	if !r.Never() && (r.approxDays() < MinRetentionDays || r.approxDays() > MaxRetentionDays) {
		v.add("privacy.retention", "%s: want \"0\" (never) or %d days to 30 years", r, MinRetentionDays)
	}
}
