package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

// rulesSpy is the real store with LoanRegister recording the rules the
// console asks with.
type rulesSpy struct {
	*sqlite.DB
	got []books.RulesByClass
}

func (s *rulesSpy) LoanRegister(ctx context.Context, from, to time.Time, rules books.RulesByClass) ([]register.BookLoan, error) {
	s.got = append(s.got, rules)
	return s.DB.LoanRegister(ctx, from, to, rules)
}

// TestMonthlyUsesBookRules checks that the monthly report counts books
// overdue by Opts.BookRules, as the loans register does: a book due on
// 11-12 is one day overdue at 04:00 on 11-13 in Shanghai (the console's
// zone, the default rules) but not yet in UTC, where it is still 11-12,
// when the station's rules say days are in UTC.
func TestMonthlyUsesBookRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,册数,条码\n9791090636071,小王子,圣埃克苏佩里,12.50,,A001\n"))
	require.NoError(t, err)
	_, err = e.db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	e.clk.Set(time.Date(2026, 11, 5, 1, 0, 0, 0, time.UTC))
	l, err := e.db.Lend(ctx, sqlite.LendRequest{Child: e.ids["王小明"], Barcode: "A001", Rules: books.Same(books.Rules{Location: e.con.loc})})
	require.NoError(t, err)
	require.Equal(t, "2026-11-12", l.Due.Format(time.DateOnly), "7 days from 11-05")
	now := time.Date(2026, 11, 12, 20, 0, 0, 0, time.UTC) // 11-13 04:00 in Shanghai
	e.clk.Set(now)
	from, to, err := monthRange("2026-11", now, e.con.loc)
	require.NoError(t, err)

	d, err := e.con.monthly(ctx, from, to, now, kiosk.RoleManager)
	require.NoError(t, err)
	assert.Equal(t, 1, d.StillOverdue, "without Opts.BookRules: days in the console's zone, one day late")

	spy := &rulesSpy{DB: e.db}
	station := books.Rules{LoanDays: 21, Location: time.UTC}
	var asked []string
	con, err := New(Opts{Store: spy, Loc: e.con.loc, Now: e.clk.Now, BookRules: func(class string) books.Rules {
		asked = append(asked, class)
		return station
	}})
	require.NoError(t, err)
	d, err = con.monthly(ctx, from, to, now, kiosk.RoleManager)
	require.NoError(t, err)
	require.True(t, d.HasBooks)
	assert.Equal(t, 1, d.Lent)
	assert.Equal(t, 0, d.StillOverdue, "the station's rules count days in UTC: still the due date")
	require.Len(t, spy.got, 1, "one loans query")
	assert.Equal(t, []string{l.Class}, asked, "the register asks for the rules of the loan's class")
	assert.Equal(t, 21, spy.got[0](l.Class).LoanDays, "Opts.BookRules reached the register")
	assert.Equal(t, time.UTC, spy.got[0](l.Class).Location)
}
