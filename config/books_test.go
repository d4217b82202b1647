package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk/books"
)

func TestBooksConfigDefaults(t *testing.T) {
	c, err := config.Parse("hw.toml", []byte(hardware))
	require.NoError(t, err)
	assert.Equal(t, config.DefaultBooks(), c.Books)
	assert.True(t, c.Books.Enabled)

	r := c.BookRules()
	require.NoError(t, r.Validate())
	assert.Equal(t, 2, r.MaxLoans)
	assert.Equal(t, 7, r.LoanDays)
	assert.Equal(t, 1, r.Renewals)
	assert.Equal(t, 7, r.BlockAfterDays)
	assert.Equal(t, []int{1, 3, 7}, r.Reminders)
	assert.True(t, r.TermEnd.IsZero())
	assert.Equal(t, c.Station.Timezone, r.Location.String())
}

func TestBooksConfigRules(t *testing.T) {
	c, err := config.Parse("books.toml", []byte(hardware+`
[books]
enabled = false
max_loans = 3
loan_days = 14
renewals = 0
term_end = "2027-01-15"
block_after_days = 0
reminders = []
`))
	require.NoError(t, err)
	assert.False(t, c.Books.Enabled)
	r := c.BookRules()
	require.NoError(t, r.Validate())
	assert.Equal(t, 3, r.MaxLoans)
	assert.Equal(t, 14, r.LoanDays)
	assert.Equal(t, -1, r.Renewals, "0 renewals: none")
	assert.Equal(t, -1, r.BlockAfterDays, "0: never blocks")
	assert.Equal(t, []int{}, r.Reminders, "[]: no reminders, not the default")
	assert.Equal(t, time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), r.TermEnd)

	// The term end caps the due date: a loan on 2027-01-12 is due on the
	// 15th, not 14 days later.
	lent := time.Date(2027, 1, 12, 10, 0, 0, 0, r.Location)
	assert.Equal(t, books.Date(time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), time.UTC), r.DueDate(lent))
}

func TestBooksConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, section, text string
	}{
		{"max loans", "max_loans = 0", "books.max_loans: 0: want 1 or more"},
		{"loan days", "loan_days = -1", "books.loan_days: -1: want 1 or more days"},
		{"renewals", "renewals = -2", "books.renewals: -2: want 0 or more"},
		{"block", "block_after_days = -1", "books.block_after_days: -1"},
		{"reminders order", "reminders = [3, 1]", "books.reminders: [3 1]: want ascending"},
		{"reminders zero", "reminders = [0, 3]", "books.reminders"},
		{"term end", `term_end = "15/01/2027"`, `books.term_end: "15/01/2027": want a date`},
		{"unknown key", "fines = 1", "unknown key books.fines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("books.toml", []byte(hardware+"\n[books]\n"+tc.section+"\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.text)
		})
	}
}
