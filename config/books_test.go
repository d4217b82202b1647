package config_test

import (
	"os"
	"strings"
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

// TestBooksConfigOverrides: [[books.rules]] tables by class and by grade,
// each inheriting what it leaves out from [books]; a class named in a
// table beats its grade's table.
func TestBooksConfigOverrides(t *testing.T) {
	c, err := config.Parse("books.toml", []byte(hardware+`
[books]
max_loans = 2
loan_days = 7
renewals = 1
term_end = "2027-01-15"

[[books.rules]]
grades = [1, 2]
max_loans = 1
renewals = 0

[[books.rules]]
classes = ["二年级3班", " 三年级1班 "]
loan_days = 14

[[books.rules]]
grades = [9]
term_end = "2026-12-31"
block_after_days = 0
`))
	require.NoError(t, err)
	require.Len(t, c.Books.Overrides, 3)

	def := c.BookRules()
	for _, tc := range []struct {
		class                      string
		max, days, renewals, block int
		termEnd                    time.Time
	}{
		{"", 2, 7, 1, 7, day(2027, 1, 15)},
		{"一年级1班", 1, 7, -1, 7, day(2027, 1, 15)},
		{"二年级1班", 1, 7, -1, 7, day(2027, 1, 15)},
		{"二年级3班", 2, 14, 1, 7, day(2027, 1, 15)}, // by name: not grade 2's table
		{"三年级1班", 2, 14, 1, 7, day(2027, 1, 15)},
		{"三年级2班", 2, 7, 1, 7, day(2027, 1, 15)},
		{"初三1班", 2, 7, 1, -1, day(2026, 12, 31)},
		{"九年级", 2, 7, 1, -1, day(2026, 12, 31)},
		{"住宿生", 2, 7, 1, 7, day(2027, 1, 15)},
	} {
		t.Run(tc.class, func(t *testing.T) {
			r := c.BookRulesFor(tc.class)
			require.NoError(t, r.Validate())
			assert.Equal(t, tc.max, r.MaxLoans, "max_loans")
			assert.Equal(t, tc.days, r.LoanDays, "loan_days")
			assert.Equal(t, tc.renewals, r.Renewals, "renewals (-1: none)")
			assert.Equal(t, tc.block, r.BlockAfterDays, "block_after_days (-1: never)")
			assert.Equal(t, tc.termEnd, r.TermEnd, "term_end")
			assert.Equal(t, def.Reminders, r.Reminders, "reminders from [books]")
			assert.Equal(t, def.Location, r.Location, "the station's zone")
			assert.Equal(t, r, c.BookRulesByClass()(tc.class), "BookRulesByClass gives the same")
		})
	}
	assert.Equal(t, def, c.BookRulesFor(""))

	// No tables: every class gets [books].
	c, err = config.Parse("hw.toml", []byte(hardware))
	require.NoError(t, err)
	assert.Equal(t, c.BookRules(), c.BookRulesFor("一年级1班"))
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// TestBooksConfigOverrideProblems: every problem of the tables is listed
// at once, each on its key's line.
func TestBooksConfigOverrideProblems(t *testing.T) {
	base := strings.Count(hardware, "\n") + 1 // [books] is on base+1
	doc := hardware + `
[books]
max_loans = 2

[[books.rules]]
classes = ["一年级1班", "一年级1班"]
grades = [1, 13]
max_loans = 0
term_end = "2027/01/15"

[[books.rules]]
classes = ["一年级2班", " 一年级1班"]
grades = [2, 1]
loan_days = 0
renewals = -1
block_after_days = -2

[[books.rules]]
classes = [""]
max_loans = 1

[[books.rules]]
max_loans = 1

[[books.rules]]
grades = [3]
`
	_, err := config.Parse("books.toml", []byte(doc))
	require.Error(t, err)
	var ps *config.Problems
	require.ErrorAs(t, err, &ps)
	got := map[string]int{}
	for _, p := range *ps {
		got[p.Message] = p.Line
	}
	for _, want := range []struct {
		line int
		text string
	}{
		{base + 5, `books.rules[0].classes[1]: "一年级1班" is already in books.rules[0].classes[0]`},
		{base + 6, "books.rules[0].grades[1]: 13: want a grade 1..12"},
		{base + 7, "books.rules[0].max_loans: 0: want 1 or more"},
		{base + 8, `books.rules[0].term_end: "2027/01/15": want a date`},
		{base + 11, `books.rules[1].classes[1]: "一年级1班" is already in books.rules[0].classes[0]`},
		{base + 12, "books.rules[1].grades[1]: grade 1 is already in books.rules[0].grades[0]"},
		{base + 13, "books.rules[1].loan_days: 0: want 1 or more days"},
		{base + 14, "books.rules[1].renewals: -1: want 0 or more"},
		{base + 15, "books.rules[1].block_after_days: -2: want 0 (never) or more days"},
		{base + 18, "books.rules[2].classes[0]: empty"},
		{base + 21, "books.rules[3]: names no class and no grade"},
		{base + 24, "books.rules[4]: sets no rule"},
	} {
		found := false
		for msg, line := range got {
			if strings.HasPrefix(msg, want.text) {
				found = true
				assert.Equal(t, want.line, line, "line of %q", want.text)
			}
		}
		assert.True(t, found, "want a problem %q in:\n%s", want.text, err)
	}
	assert.Len(t, *ps, 12, "one problem each, nothing else:\n%s", err)

	_, err = config.Parse("books.toml", []byte(hardware+"\n[[books.rules]]\ngrades = [1]\nmax_books = 1\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown key books.rules[0].max_books")
	_, err = config.Parse("books.toml", []byte(hardware+"\n[[books.rules]]\ngrades = [\"一年级\"]\nmax_loans = 1\n"))
	require.Error(t, err, "grades are numbers")
}

// TestBooksExampleOverrides: the example's commented [[books.rules]]
// tables, uncommented, parse and do what their comments say.
func TestBooksExampleOverrides(t *testing.T) {
	data, err := os.ReadFile("../firmware-config/kiosk.example.toml")
	require.NoError(t, err)
	var tables []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#[[books.rules]]") || (len(tables) > 0 && strings.HasPrefix(line, "#")) {
			tables = append(tables, strings.TrimPrefix(line, "#"))
		} else if len(tables) > 0 {
			break
		}
	}
	require.NotEmpty(t, tables, "the example documents [[books.rules]]")
	c, err := config.Parse("example.toml", []byte(hardware+"\n[books]\nterm_end = \"2027-01-15\"\n"+strings.Join(tables, "\n")+"\n"))
	require.NoError(t, err)
	require.Len(t, c.Books.Overrides, 2)
	assert.Equal(t, 1, c.BookRulesFor("一年级1班").MaxLoans)
	assert.Equal(t, -1, c.BookRulesFor("二年级2班").Renewals)
	assert.Equal(t, day(2027, 1, 8), c.BookRulesFor("六年级2班").TermEnd)
	assert.Equal(t, day(2027, 1, 15), c.BookRulesFor("六年级3班").TermEnd)
}
