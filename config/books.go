package config

import (
	"fmt"
	"slices"
	"strings"
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
	// Overrides are the [[books.rules]] tables: other rules for some
	// classes or grades, each key it leaves out taken from [books]. A
	// child's class listed by name in a table takes that table; else its
	// grade's table (books.Grade: "一年级1班" is grade 1, "初一" grade 7);
	// else [books]. Default none.
	Overrides []BookRule `toml:"rules"`
}

// BookRule is one [[books.rules]] table: loan rules for the classes and
// grades it names. A nil field inherits the [books] key of the same name
// (the same units and bounds).
type BookRule struct {
	// Classes are roster class names, exact (such as "一年级1班"); a class
	// the roster does not have yet is fine. Each class in one table only.
	Classes []string `toml:"classes"`
	// Grades are grades 1..12 (books.Grade): every class of the grade
	// not listed by name in a table. Each grade in one table only.
	Grades         []int   `toml:"grades"`
	MaxLoans       *int    `toml:"max_loans"`
	LoanDays       *int    `toml:"loan_days"`
	Renewals       *int    `toml:"renewals"`
	BlockAfterDays *int    `toml:"block_after_days"`
	TermEnd        *string `toml:"term_end"`
}

// apply returns b with the keys r sets.
func (r BookRule) apply(b Books) Books {
	for _, f := range []struct {
		to   *int
		from *int
	}{{&b.MaxLoans, r.MaxLoans}, {&b.LoanDays, r.LoanDays}, {&b.Renewals, r.Renewals}, {&b.BlockAfterDays, r.BlockAfterDays}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if r.TermEnd != nil {
		b.TermEnd = *r.TermEnd
	}
	return b
}

// For returns the section as it applies to class: with the keys of the
// [[books.rules]] table listing the class by name, else of the one
// listing its grade, else unchanged. Class names compare after trimming
// spaces; "" is the default.
func (b Books) For(class string) Books {
	class = strings.TrimSpace(class)
	if class == "" {
		return b
	}
	for _, r := range b.Overrides {
		if slices.ContainsFunc(r.Classes, func(c string) bool { return strings.TrimSpace(c) == class }) {
			return r.apply(b)
		}
	}
	if g, ok := books.Grade(class); ok {
		for _, r := range b.Overrides {
			if slices.Contains(r.Grades, g) {
				return r.apply(b)
			}
		}
	}
	return b
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

// BookRules returns the [books] rules (the default, for a class no
// [[books.rules]] table names) in the station's time zone (time.Local
// when it does not load; Validate reports that).
func (c *Config) BookRules() books.Rules {
	return c.Books.Rules(c.bookLocation())
}

// BookRulesFor returns the loan rules of a child's class, such as
// "一年级1班": [books] with the keys of the class's [[books.rules]] table
// (see Books.For), days in the station's time zone. "" or a class no
// table names gets BookRules. Its method value is a books.RulesByClass.
func (c *Config) BookRulesFor(class string) books.Rules {
	return c.Books.For(class).Rules(c.bookLocation())
}

// BookRulesByClass returns BookRulesFor as a function that loads the time
// zone once, over a copy of the [books] section as it is now: for the
// kiosk's library and the console, which ask per loan.
func (c *Config) BookRulesByClass() books.RulesByClass {
	b, loc := c.Books, c.bookLocation()
	b.Overrides = slices.Clone(b.Overrides)
	return func(class string) books.Rules { return b.For(class).Rules(loc) }
}

func (c *Config) bookLocation() *time.Location {
	loc, err := time.LoadLocation(c.Station.Timezone)
	if err != nil {
		loc = time.Local
	}
	return loc
}

// books checks the [books] section: max_loans and loan_days 1 or more,
// renewals and block_after_days 0 or more, reminders ascending days of 1
// or more, term_end a date "YYYY-MM-DD"; and each [[books.rules]] table:
// the same bounds for the keys it sets, at least one of them, at least
// one class or grade, classes not empty, grades 1..12, and no class or
// grade in two tables (or twice in one).
func (v *validator) books() {
	b := v.c.Books
	v.bookKeys("books", b.MaxLoans, b.LoanDays, b.Renewals, b.BlockAfterDays, b.TermEnd)
	if !slices.IsSorted(b.Reminders) || slices.ContainsFunc(b.Reminders, func(d int) bool { return d < 1 }) {
		v.add("books.reminders", "%v: want ascending days of 1 or more, such as [1, 3, 7]", b.Reminders)
	}
	classes := map[string]string{} // class -> the key that names it first
	grades := map[int]string{}
	for i, r := range b.Overrides {
		k := fmt.Sprintf("books.rules[%d]", i)
		if r.MaxLoans == nil && r.LoanDays == nil && r.Renewals == nil && r.BlockAfterDays == nil && r.TermEnd == nil {
			v.add(k, "sets no rule: want one or more of max_loans, loan_days, renewals, block_after_days, term_end")
		}
		// A key left out passes: [books] is checked above.
		v.bookKeys(k, deref(r.MaxLoans, 1), deref(r.LoanDays, 1), deref(r.Renewals, 0), deref(r.BlockAfterDays, 0), deref(r.TermEnd, ""))
		if len(r.Classes) == 0 && len(r.Grades) == 0 {
			v.add(k, "names no class and no grade: want classes = [\"一年级1班\"] or grades = [1, 2]")
		}
		for j, c := range r.Classes {
			ck := fmt.Sprintf("%s.classes[%d]", k, j)
			c = strings.TrimSpace(c)
			switch {
			case c == "":
				v.add(ck, "empty; want a class name as the roster has it, such as \"一年级1班\"")
			case classes[c] != "":
				v.add(ck, "%q is already in %s: a class takes one table", c, classes[c])
			default:
				classes[c] = ck
			}
		}
		for j, g := range r.Grades {
			gk := fmt.Sprintf("%s.grades[%d]", k, j)
			switch {
			case g < 1 || g > books.MaxGrade:
				v.add(gk, "%d: want a grade 1..%d (初一 is 7, 高一 10)", g, books.MaxGrade)
			case grades[g] != "":
				v.add(gk, "grade %d is already in %s: a grade takes one table", g, grades[g])
			default:
				grades[g] = gk
			}
		}
	}
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// bookKeys checks the rule keys of the table at key ("books" or
// "books.rules[N]").
func (v *validator) bookKeys(key string, maxLoans, loanDays, renewals, blockAfterDays int, termEnd string) {
	if maxLoans < 1 {
		v.add(key+".max_loans", "%d: want 1 or more", maxLoans)
	}
	if loanDays < 1 {
		v.add(key+".loan_days", "%d: want 1 or more days", loanDays)
	}
	if renewals < 0 {
		v.add(key+".renewals", "%d: want 0 or more", renewals)
	}
	if blockAfterDays < 0 {
		v.add(key+".block_after_days", "%d: want 0 (never) or more days", blockAfterDays)
	}
	if termEnd != "" {
		if _, err := time.Parse(termEndLayout, termEnd); err != nil {
			v.add(key+".term_end", "%q: want a date \"YYYY-MM-DD\"", termEnd)
		}
	}
}
