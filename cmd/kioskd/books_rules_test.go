package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
)

var overdueRowRE = regexp.MustCompile(`<tr data-test="overdue-row">(.*?)</tr>`)

// TestBooksRulesByClass: the demo daemon with a [[books.rules]] table for
// grade 1 (one book, no renewal, 3-day loans). At the kiosk a 一年级
// child borrows one book and the second is refused in words that say 1,
// while a 三年级 child borrows two; renewal follows the class; five days
// later the console's overdue page lists the 一年级 book (due after 3
// days) and not the 三年级 ones (7 days).
func TestBooksRulesByClass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole daemon")
	}
	ctx := context.Background()
	cst := time.FixedZone("CST", 8*3600)
	clock := &testClock{t: time.Date(2026, 10, 12, 10, 0, 0, 0, cst)}
	one, none, three := 1, 0, 3
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout, m.Logger = io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil))
	m.now = clock.Now
	m.Tweak = func(c *config.Config) {
		c.Station.Timezone = "Asia/Shanghai"
		c.Books.Overrides = []config.BookRule{{Grades: []int{1, 2}, MaxLoans: &one, Renewals: &none, LoanDays: &three}}
	}
	require.NoError(t, m.Run(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	require.NotNil(t, m.desk)
	_, err := m.db.ApplyRoster(ctx, []kiosk.RosterEntry{{
		Child:    kiosk.Child{ExternalID: "test-1", Name: "陈小一", Class: "一年级1班", Status: kiosk.ChildActive},
		Cards:    []string{"DE000009"},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "陈建", Relation: "父亲", Phone: "+8613800000901", Modes: []kiosk.Mode{kiosk.ModePhone}}},
	}}, false)
	require.NoError(t, err)
	cat := testCatalogue(t)
	_, err = m.db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	code := func(i int) string { return books.CopyBarcode(cat[i].ISBN, 1) }
	day := func(days int) string { return clock.Now().In(cst).AddDate(0, 0, days).Format(time.DateOnly) }

	s := dialScreen(t, m)
	s.until(kiosk.ScreenIdle)

	// 一年级: one book, due in 3 days; the second is refused.
	require.NoError(t, m.station.Tap(ctx, config.DemoBooth, "DE000009"))
	s.until(kiosk.ScreenIdentified)
	s.choose(kiosk.BookBorrow, code(0))
	sc := s.until(kiosk.ScreenBookLent)
	require.NotNil(t, sc.Book)
	assert.Equal(t, 1, sc.Book.Held)
	assert.Equal(t, day(3), sc.Book.Due, "3-day loans in grade 1")
	s.choose(kiosk.BookBorrow, code(1))
	sc = s.until(kiosk.ScreenDenied)
	assert.Equal(t, books.ReasonLimit, sc.Reason)
	require.NotNil(t, sc.Words)
	assert.Equal(t, "你已经借了1本书，先还一本再借吧", sc.Words.ZH, "the class's limit")

	// 三年级: the [books] rules, two books for 7 days.
	require.NoError(t, m.station.Tap(ctx, config.DemoBooth, "DE000001"))
	s.until(kiosk.ScreenIdentified)
	for i := 1; i <= 2; i++ {
		s.choose(kiosk.BookBorrow, code(i))
		sc := s.until(kiosk.ScreenBookLent)
		require.NotNil(t, sc.Book)
		assert.Equal(t, i, sc.Book.Held)
		assert.Equal(t, day(7), sc.Book.Due, "7-day loans in grade 3")
	}

	// Renewals by class: none in 一年级; in 三年级 one, though not on the
	// loan day.
	rules := m.Config.BookRulesByClass()
	_, err = m.db.RenewBook(ctx, code(0), rules, "")
	assert.Equal(t, books.ReasonRenewals, reasonOf(t, err), "no renewal in grade 1")
	_, err = m.db.RenewBook(ctx, code(1), rules, "")
	assert.Equal(t, books.ReasonTooEarly, reasonOf(t, err), "grade 3 may renew, nearer the due date")

	// Five days on: only the 一年级 book is overdue (2 days) on the
	// console's list.
	clock.Add(5 * 24 * time.Hour)
	const pw = "rules test password"
	_, err = m.db.AddUser(ctx, "test", sqlite.NewUser{Username: "librarian", DisplayName: "管理员", Role: sqlite.RoleManager, Password: pw})
	require.NoError(t, err)
	c, _ := enrolBrowser(t, m, "librarian", pw)
	res, err := c.Get(m.HTTPURL() + "/console/loans/overdue")
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	rows := overdueRowRE.FindAllString(string(body), -1)
	require.Len(t, rows, 1, "one overdue book:\n%s", body)
	assert.Contains(t, rows[0], "一年级1班")
	assert.Contains(t, rows[0], cat[0].Title)
	assert.Contains(t, rows[0], "<td>"+day(-2)+"</td><td>2</td>", "due 3 days after the loan, 2 days late")
}

// reasonOf returns the reason of an EDENIED refusal.
func reasonOf(t *testing.T, err error) kiosk.Reason {
	t.Helper()
	var e *kiosk.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kiosk.EDENIED, e.Code, "a refusal: %v", err)
	return e.Reason
}
