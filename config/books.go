package config

import (
	"fmt"
	"slices"
	"time"

	"github.com/qinqing/station/kiosk/books"
)

// Books is the [books] section: the library's loan rules at the kiosk
// (借书/还书) and in the register 图书借阅登记表.
type Books struct {
	// Enabled offers borrowing and returning on the kiosk screen.
	// Default true.
	Enabled bool `toml:"enabled"`
	// MaxLoans is how many books a child may hold at once, 1 or more.
	// Default 2.
	MaxLoans int `toml:"max_loans"`
	// LoanDays is the loan period in days, counted from the day of the
	// loan, 1 or more. Default 7.
	LoanDays int `toml:"loan_days"`
	// Renewals is how many times a loan may be renewed, 0 or more.
	// Default 1.
	Renewals int `toml:"renewals"`
	// TermEnd is the last day of term, "YYYY-MM-DD" (a quoted string) in
	// the station's time zone: no book is due after it and none is lent
	// after it. Default "" (no hard date).
	TermEnd string `toml:"term_end"`
	// BlockAfterDays refuses borrowing while one of the child's books is
	// this many days overdue or more; 0 never blocks. Default 7.
	BlockAfterDays int `toml:"block_after_days"`
	// Reminders are the overdue days (ascending, each 1 or more) at which
	// each reminder level starts: the gentle word on the child's next tap,
	// the class teacher's printed list, the manager. Default [1, 3, 7];
	// [] for no reminders.
	Reminders []int `toml:"reminders"`
}

// Book defaults.
const (
	DefaultMaxLoans       = 2
	DefaultLoanDays       = 7
	DefaultRenewals       = 1
	DefaultBlockAfterDays = 7
)

// DefaultReminders returns the default [books] reminders, [1, 3, 7].
func DefaultReminders() []int { return []int{1, 3, 7} }

// DefaultBooks returns the [books] section with every default filled in.
func DefaultBooks() Books {
	return Books{
		Enabled:        true,
		MaxLoans:       DefaultMaxLoans,
		LoanDays:       DefaultLoanDays,
		Renewals:       DefaultRenewals,
		BlockAfterDays: DefaultBlockAfterDays,
		Reminders:      DefaultReminders(),
	}
}

// termEndLayout is the form of Books.TermEnd.
const termEndLayout = "2006-01-02"

// Rules returns the loan rules of the section, with days in loc (nil for
// time.Local). Renewals 0 becomes books.Rules.Renewals -1 (none),
// BlockAfterDays 0 becomes -1 (never), an empty Reminders an empty,
// non-nil slice (no reminders), a TermEnd that does not parse (Validate
// reports it) no hard date.
func (b Books) Rules(loc *time.Location) books.Rules {
	if loc == nil {
		loc = time.Local
	}
	r := books.Rules{
		MaxLoans:       b.MaxLoans,
		LoanDays:       b.LoanDays,
		Renewals:       b.Renewals,
		BlockAfterDays: b.BlockAfterDays,
		Reminders:      slices.Clone(b.Reminders),
		Location:       loc,
	}
	if r.Renewals == 0 {
		r.Renewals = -1
	}
	if r.BlockAfterDays == 0 {
		r.BlockAfterDays = -1
	}
	if r.Reminders == nil {
		r.Reminders = []int{}
	}
	if b.TermEnd != "" {
		if d, err := time.Parse(termEndLayout, b.TermEnd); err == nil {
			r.TermEnd = d // midnight UTC of the day: books.Date's form
		}
	}
	return r
}

// BookRules returns Books.Rules in the station's time zone (time.Local
// when it does not load; Validate reports that).
func (c *Config) BookRules() books.Rules {
	loc, err := time.LoadLocation(c.Station.Timezone)
	if err != nil {
		loc = time.Local
	}
	return c.Books.Rules(loc)
}

// books checks the [books] section: max_loans and loan_days 1 or more,
// renewals and block_after_days 0 or more, reminders ascending days of 1
// or more, term_end a date "YYYY-MM-DD".
func (v *validator) books() {
	b := v.c.Books
	if b.MaxLoans < 1 {
		v.add("books.max_loans", "%d: want 1 or more", b.MaxLoans)
	}
	if b.LoanDays < 1 {
		v.add("books.loan_days", "%d: want 1 or more days", b.LoanDays)
	}
	if b.Renewals < 0 {
		v.add("books.renewals", "%d: want 0 or more", b.Renewals)
	}
	if b.BlockAfterDays < 0 {
		v.add("books.block_after_days", "%d: want 0 (never) or more days", b.BlockAfterDays)
	}
	if !slices.IsSorted(b.Reminders) || slices.ContainsFunc(b.Reminders, func(d int) bool { return d < 1 }) {
		v.add("books.reminders", "%v: want ascending days of 1 or more, such as [1, 3, 7]", b.Reminders)
	}
	if b.TermEnd != "" {
		if _, err := time.Parse(termEndLayout, b.TermEnd); err != nil {
			v.add("books.term_end", "%q: want a date \"YYYY-MM-DD\"", fmt.Sprint(b.TermEnd))
		}
	}
}
