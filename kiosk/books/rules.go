package books

import (
	"fmt"
	"slices"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Reasons for refusing a loan or a renewal (kiosk.Error.Reason with code
// EDENIED). Words gives the child-facing text.
const (
	ReasonLimit      kiosk.Reason = "book_limit"     // already holds Rules.MaxLoans books
	ReasonOverdue    kiosk.Reason = "book_overdue"   // a book is Rules.BlockAfterDays or more overdue
	ReasonTermEnded  kiosk.Reason = "book_term_end"  // the term's last loan day has passed
	ReasonRenewals   kiosk.Reason = "book_renewals"  // no renewals left
	ReasonNotLent    kiosk.Reason = "book_not_lent"  // returning a book that is not lent
	ReasonNotOnShelf kiosk.Reason = "book_not_shelf" // lending a copy lent, lost or written off
	ReasonTooEarly   kiosk.Reason = "book_too_early" // renewing would not move the due date yet
)

var words = map[kiosk.Reason]kiosk.Words{
	ReasonLimit:      {ZH: "你已经借了%d本书，先还一本再借吧", EN: "You already have %d books. Return one first"},
	ReasonOverdue:    {ZH: "有一本书该还了，还了以后就能再借", EN: "A book is due back. Return it and you can borrow again"},
	ReasonTermEnded:  {ZH: "这学期的借书已经结束了", EN: "Borrowing has ended for this term"},
	ReasonRenewals:   {ZH: "这本书不能再续借了", EN: "This book cannot be renewed again"},
	ReasonNotLent:    {ZH: "这本书已经在书架上了", EN: "This book is already on the shelf"},
	ReasonNotOnShelf: {ZH: "这本书现在不能借，请找老师", EN: "This book cannot be borrowed now. Please see your teacher"},
	ReasonTooEarly:   {ZH: "这本书还没到还书的时候，不用续借", EN: "This book is not due yet, no need to renew"},
}

// Words returns the child-facing words for a book reason; %d in
// ReasonLimit's words is filled with max (the default when max <= 0).
// Other reasons use r.Words().
func Words(r kiosk.Reason, max int) kiosk.Words {
	if max <= 0 {
		max = DefaultRules().MaxLoans
	}
	w, ok := words[r]
	if !ok {
		return r.Words()
	}
	if r == ReasonLimit {
		w.ZH, w.EN = fmt.Sprintf(w.ZH, max), fmt.Sprintf(w.EN, max)
	}
	return w
}

// Rules are the loan rules. The zero value of a field means its default;
// use -1 for "none" where said.
type Rules struct {
	// MaxLoans is how many books a child may hold at once; default 2.
	MaxLoans int
	// LoanDays is the loan period in days, counted from the day of the
	// loan; default 7.
	LoanDays int
	// Renewals is how many times a loan may be renewed; default 1, -1
	// for none.
	Renewals int
	// TermEnd is the last day of term (a civil date, see Date): no book is
	// due after it, and nothing is lent after it. Zero means no hard date.
	TermEnd time.Time
	// BlockAfterDays refuses borrowing while any of the child's books is
	// this many days overdue or more; default 7, -1 never blocks.
	BlockAfterDays int
	// Reminders are the overdue days at which each reminder level starts,
	// ascending: level 1 from Reminders[0] days, and so on. Default
	// {1, 3, 7}: a gentle word on the next tap, then the class teacher's
	// printed list, then the manager.
	Reminders []int
	// Location is where days begin and end; default time.Local.
	Location *time.Location
}

// DefaultRules returns the rules with every default filled in.
func DefaultRules() Rules { return Rules{}.withDefaults() }

// RulesByClass returns the loan rules of a child's class (the roster's
// class name, such as "三年级1班"; "" for the station's default rules):
// a school may lend fewer books to its youngest (see Grade), or set an
// earlier hard due date for a graduating grade.
type RulesByClass func(class string) Rules

// Same returns a RulesByClass that gives r to every class.
func Same(r Rules) RulesByClass { return func(string) Rules { return r } }

func (r Rules) withDefaults() Rules {
	if r.MaxLoans == 0 {
		r.MaxLoans = 2
	}
	if r.LoanDays == 0 {
		r.LoanDays = 7
	}
	if r.Renewals == 0 {
		r.Renewals = 1
	} else if r.Renewals < 0 {
		r.Renewals = 0
	}
	if r.BlockAfterDays == 0 {
		r.BlockAfterDays = 7
	}
	if r.Reminders == nil {
		r.Reminders = []int{1, 3, 7}
	}
	if r.Location == nil {
		r.Location = time.Local
	}
	return r
}

// Validate reports every problem with r at once, or nil.
func (r Rules) Validate() error {
	var probs []string
	if r.MaxLoans < 0 {
		probs = append(probs, "max loans must be positive")
	}
	if r.LoanDays < 0 {
		probs = append(probs, "loan days must be positive")
	}
	if r.Renewals < -1 {
		probs = append(probs, "renewals must be -1 (none) or more")
	}
	if r.BlockAfterDays < -1 {
		probs = append(probs, "block after days must be -1 (never) or more")
	}
	if !slices.IsSorted(r.Reminders) || slices.ContainsFunc(r.Reminders, func(d int) bool { return d < 1 }) {
		probs = append(probs, "reminders must be ascending days of 1 or more")
	}
	if len(probs) > 0 {
		return kiosk.Errorf(kiosk.EINVALID, "loan rules: %v", probs)
	}
	return nil
}

// Date returns the civil date of t in loc as midnight UTC of that day:
// the form of every due date here, so that dates compare and subtract
// exactly whatever the time zone.
func Date(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.Local
	}
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Days returns the number of days from civil date a to civil date b
// (both as returned by Date; negative when b is before a).
func Days(a, b time.Time) int {
	return int(b.Sub(a) / (24 * time.Hour))
}

// Loan is one book a child holds, as the rules see it.
type Loan struct {
	Barcode string
	Title   string
	// Lent is when it was lent; Due the civil date (see Date) it is due
	// back by the end of.
	Lent     time.Time
	Due      time.Time
	Renewals int
}

// DueDate returns the due date of a loan made at lent: LoanDays after the
// day of the loan, or the term's end if that comes first.
func (r Rules) DueDate(lent time.Time) time.Time {
	r = r.withDefaults()
	due := Date(lent, r.Location).AddDate(0, 0, r.LoanDays)
	if !r.TermEnd.IsZero() && due.After(Date(r.TermEnd, time.UTC)) {
		due = Date(r.TermEnd, time.UTC)
	}
	return due
}

// OverdueDays returns how many days past due a loan is at now: 0 on the
// due date itself and before.
func (r Rules) OverdueDays(due, now time.Time) int {
	r = r.withDefaults()
	if d := Days(due, Date(now, r.Location)); d > 0 {
		return d
	}
	return 0
}

// Reminder returns the reminder level (0 none, 1..len(Reminders)) for a
// loan overdueDays past due.
func (r Rules) Reminder(overdueDays int) int {
	r = r.withDefaults()
	level := 0
	for i, d := range r.Reminders {
		if overdueDays >= d {
			level = i + 1
		}
	}
	return level
}

func denied(reason kiosk.Reason, format string, args ...any) error {
	e := kiosk.Errorf(kiosk.EDENIED, format, args...)
	e.Reason = reason
	return e
}

// CheckBorrow decides whether a child holding open may borrow one more
// book at now. It returns nil or an EDENIED *kiosk.Error whose Reason is
// ReasonTermEnded (now is after TermEnd), ReasonOverdue (a book is
// BlockAfterDays or more overdue) or ReasonLimit (MaxLoans held), checked
// in that order.
func (r Rules) CheckBorrow(now time.Time, open []Loan) error {
	r = r.withDefaults()
	today := Date(now, r.Location)
	if !r.TermEnd.IsZero() && today.After(Date(r.TermEnd, time.UTC)) {
		return denied(ReasonTermEnded, "the term ended on %s", Date(r.TermEnd, time.UTC).Format(time.DateOnly))
	}
	if r.BlockAfterDays > 0 {
		for _, l := range open {
			if d := r.OverdueDays(l.Due, now); d >= r.BlockAfterDays {
				return denied(ReasonOverdue, "book %s is %d days overdue (borrowing stops at %d)", l.Barcode, d, r.BlockAfterDays)
			}
		}
	}
	if len(open) >= r.MaxLoans {
		return denied(ReasonLimit, "already holds %d books (at most %d)", len(open), r.MaxLoans)
	}
	return nil
}

// Renew returns the new due date of l renewed at now: LoanDays from
// today, capped at TermEnd, never earlier than the current due date. It
// returns an EDENIED *kiosk.Error with ReasonRenewals when l has used its
// renewals, ReasonOverdue when l is BlockAfterDays or more overdue (it
// must come back first), ReasonTermEnded when the renewal would not move
// the due date because the term ends, and ReasonTooEarly when it would not
// move it because the loan is still young (renew nearer the due date).
func (r Rules) Renew(now time.Time, l Loan) (time.Time, error) {
	r = r.withDefaults()
	if l.Renewals >= r.Renewals {
		return time.Time{}, denied(ReasonRenewals, "book %s was renewed %d times (at most %d)", l.Barcode, l.Renewals, r.Renewals)
	}
	if d := r.OverdueDays(l.Due, now); r.BlockAfterDays > 0 && d >= r.BlockAfterDays {
		return time.Time{}, denied(ReasonOverdue, "book %s is %d days overdue", l.Barcode, d)
	}
	due := r.DueDate(now)
	if !due.After(l.Due) {
		if !r.TermEnd.IsZero() && !l.Due.Before(Date(r.TermEnd, time.UTC)) {
			return time.Time{}, denied(ReasonTermEnded, "book %s is already due at the term's end", l.Barcode)
		}
		return time.Time{}, denied(ReasonTooEarly, "book %s is due %s: renewing today would not move that", l.Barcode, l.Due.Format(time.DateOnly))
	}
	return due, nil
}
