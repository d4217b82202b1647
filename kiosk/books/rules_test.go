package books_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
)

var shanghai = time.FixedZone("CST", 8*3600)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// at is a wall-clock instant in Shanghai.
func at(m time.Month, d, hour int) time.Time { return time.Date(2026, m, d, hour, 0, 0, 0, shanghai) }

func TestDueDate(t *testing.T) {
	r := books.Rules{Location: shanghai, TermEnd: day(2026, 1, 16)}
	tests := []struct {
		name string
		lent time.Time
		want time.Time
	}{
		{"seven days from the loan day", at(1, 2, 10), day(2026, 1, 9)},
		{"late evening counts as that day (UTC is the day before)", at(1, 2, 7), day(2026, 1, 9)},
		{"capped at the term's end", at(1, 12, 10), day(2026, 1, 16)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, r.DueDate(tc.lent))
		})
	}
	assert.Equal(t, day(2026, 1, 12), books.Rules{Location: shanghai, LoanDays: 10}.DueDate(at(1, 2, 10)), "LoanDays")
}

func TestOverdueAndReminders(t *testing.T) {
	r := books.Rules{Location: shanghai}
	due := day(2026, 3, 9)
	tests := []struct {
		now      time.Time
		overdue  int
		reminder int
	}{
		{at(3, 8, 20), 0, 0},
		{at(3, 9, 23), 0, 0},
		{at(3, 10, 0), 1, 1},
		{at(3, 11, 12), 2, 1},
		{at(3, 12, 12), 3, 2},
		{at(3, 16, 12), 7, 3},
		{at(4, 30, 12), 52, 3},
	}
	for _, tc := range tests {
		t.Run(tc.now.Format(time.DateTime), func(t *testing.T) {
			d := r.OverdueDays(due, tc.now)
			assert.Equal(t, tc.overdue, d, "overdue days")
			assert.Equal(t, tc.reminder, r.Reminder(d), "reminder level")
		})
	}
}

func reason(t *testing.T, err error) kiosk.Reason {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err), "want a policy refusal: %v", err)
	var e *kiosk.Error
	require.ErrorAs(t, err, &e)
	return e.Reason
}

func TestCheckBorrow(t *testing.T) {
	r := books.Rules{Location: shanghai, TermEnd: day(2026, 1, 16)}
	now := at(1, 5, 10)
	onTime := books.Loan{Barcode: "A1", Due: day(2026, 1, 9)}
	late3 := books.Loan{Barcode: "A2", Due: day(2026, 1, 2)}
	late7 := books.Loan{Barcode: "A3", Due: day(2025, 12, 29)}
	tests := []struct {
		name string
		r    books.Rules
		now  time.Time
		open []books.Loan
		want kiosk.Reason // "" means allowed
	}{
		{"first book", r, now, nil, ""},
		{"second book", r, now, []books.Loan{onTime}, ""},
		{"third book refused", r, now, []books.Loan{onTime, onTime}, books.ReasonLimit},
		{"a few days overdue still borrows", r, now, []books.Loan{late3}, ""},
		{"blocked at 7 days overdue", r, now, []books.Loan{late7}, books.ReasonOverdue},
		{"block before limit", r, now, []books.Loan{late7, onTime}, books.ReasonOverdue},
		{"never block", books.Rules{Location: shanghai, BlockAfterDays: -1}, now, []books.Loan{late7}, ""},
		{"limit 3", books.Rules{Location: shanghai, MaxLoans: 3}, now, []books.Loan{onTime, onTime}, ""},
		{"last day of term", r, at(1, 16, 17), nil, ""},
		{"after the term", r, at(1, 17, 9), nil, books.ReasonTermEnded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.CheckBorrow(tc.now, tc.open)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.Equal(t, tc.want, reason(t, err))
		})
	}
}

func TestRenew(t *testing.T) {
	r := books.Rules{Location: shanghai, TermEnd: day(2026, 1, 16)}
	loan := books.Loan{Barcode: "A1", Lent: at(1, 2, 10), Due: day(2026, 1, 9)}

	due, err := r.Renew(at(1, 8, 10), loan)
	require.NoError(t, err)
	assert.Equal(t, day(2026, 1, 15), due, "seven days from the renewal day")

	loan.Renewals = 1
	assert.Equal(t, books.ReasonRenewals, reason(t, func() error { _, err := r.Renew(at(1, 8, 10), loan); return err }()), "one renewal only")

	loan.Renewals = 0
	due, err = r.Renew(at(1, 12, 10), loan)
	require.NoError(t, err)
	assert.Equal(t, day(2026, 1, 16), due, "capped at the term's end")

	loan.Due = day(2026, 1, 16)
	_, err = r.Renew(at(1, 14, 10), loan)
	assert.Equal(t, books.ReasonTermEnded, reason(t, err), "nothing to gain at the term's end")

	loan.Due = day(2026, 1, 1)
	_, err = r.Renew(at(1, 9, 10), loan)
	assert.Equal(t, books.ReasonOverdue, reason(t, err), "long overdue comes back first")

	_, err = r.Renew(at(1, 2, 18), books.Loan{Barcode: "A1", Lent: at(1, 2, 10), Due: day(2026, 1, 9)})
	assert.Equal(t, books.ReasonTooEarly, reason(t, err), "renewing on the loan day gains nothing")

	_, err = books.Rules{Renewals: -1}.Renew(at(1, 2, 10), books.Loan{Due: day(2026, 1, 9)})
	assert.Equal(t, books.ReasonRenewals, reason(t, err), "-1 means no renewals")
}

func TestRulesValidate(t *testing.T) {
	assert.NoError(t, books.DefaultRules().Validate())
	err := books.Rules{MaxLoans: -1, Reminders: []int{3, 1}}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max loans")
	assert.Contains(t, err.Error(), "reminders")
}

func TestWords(t *testing.T) {
	assert.Equal(t, "你已经借了2本书，先还一本再借吧", books.Words(books.ReasonLimit, 2).ZH)
	assert.Equal(t, kiosk.ReasonClosed.Words(), books.Words(kiosk.ReasonClosed, 0), "other reasons use kiosk's words")
}

func TestTakeStock(t *testing.T) {
	copies := []books.Copy{
		{Barcode: "A001", ISBN: "9787020002207", Status: books.StatusShelf},
		{Barcode: "A002", ISBN: "9787020002207", Status: books.StatusShelf},
		{Barcode: "A003", ISBN: "9787020002207", Status: books.StatusLent},
		{Barcode: "9780306406157-1", ISBN: "9780306406157", Status: books.StatusShelf},
		{Barcode: "9780306406157-2", ISBN: "9780306406157", Status: books.StatusShelf},
		{Barcode: "9791090636071-1", ISBN: "9791090636071", Status: books.StatusShelf},
		{Barcode: "B9", ISBN: "9787532136377", Status: books.StatusWrittenOff},
	}
	res := books.TakeStock(copies, []string{
		"A001", "a001", // twice counts once
		"A003",             // recorded as lent
		"9780306406157/01", // label, other spelling
		"9791090636071",    // cover of a one-copy title
		"9787020002207",    // cover of a title with one uncounted copy left (A002)
		"9787532136377",    // cover of a title with only a written-off copy
		"Z999", "#",        // unknown
	})
	codes := func(cs []books.Copy) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Barcode)
		}
		return out
	}
	assert.Equal(t, []string{"9780306406157-2"}, codes(res.Missing), "missing")
	assert.Equal(t, []string{"A003"}, codes(res.Misplaced), "misplaced")
	assert.Equal(t, []string{"#", "9787532136377", "Z999"}, res.Unknown, "unknown")
	assert.Empty(t, res.Ambiguous)
	assert.Equal(t, 5, res.Counted, "A001 A002 A003 9780306406157-1 9791090636071-1")

	res = books.TakeStock(copies, []string{"9787020002207"})
	assert.Equal(t, []string{"9787020002207"}, res.Ambiguous, "two uncounted copies: label needed")
	assert.Len(t, res.Missing, 5)
}
