package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
)

var cst = time.FixedZone("CST", 8*3600)

// library returns a database with two children (ids 1 and 2) and a
// catalogue: 红楼梦 with two copies (ISBN labels), 小王子 with one
// accession-numbered copy, 三国演义 with two accession copies.
func library(t *testing.T) (*sqlite.DB, *clock, books.Rules) {
	t.Helper()
	ctx := context.Background()
	db, clk := newDB(t)
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, cst))
	_, err := db.ApplyRoster(ctx, []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "王小明", Class: "三年级1班"}, Contacts: []kiosk.Contact{{Slot: 1, Name: "李芳", Relation: "母亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}}}, Cards: []string{"04A1B2C3"}},
		{Line: 3, Child: kiosk.Child{Name: "张丽", Class: "五年级2班"}, Contacts: []kiosk.Contact{{Slot: 1, Name: "张伟", Relation: "父亲", Phone: "+8613912345678", Modes: []kiosk.Mode{kiosk.ModePhone}}}},
	}, false)
	require.NoError(t, err)
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,册数,条码\n" +
		"9787020002207,红楼梦,曹雪芹,59.70,2,\n" +
		"9791090636071,小王子,圣埃克苏佩里,12.50,,A001\n" +
		"9787532136377,三国演义,罗贯中,45,,A002;A003\n"))
	require.NoError(t, err)
	ch, err := db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	require.Equal(t, sqlite.CatalogueChanges{Titles: sqlite.Counts{Added: 3}, Copies: sqlite.Counts{Added: 5}}, ch)
	return db, clk, books.Rules{Location: cst, TermEnd: time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC)}
}

func deniedReason(t *testing.T, err error) kiosk.Reason {
	t.Helper()
	require.Error(t, err)
	var e *kiosk.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kiosk.EDENIED, e.Code, "a refusal: %v", err)
	return e.Reason
}

func TestApplyCatalogue(t *testing.T) {
	ctx := context.Background()
	db, _, _ := library(t)
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,条码\n" +
		"9787020002207,红楼梦（新版）,曹雪芹,59.70,9787020002207-1;9787020002207-3\n" +
		"9791090636071,小王子,圣埃克苏佩里,12.50,A001\n"))
	require.NoError(t, err)
	ch, err := db.ApplyCatalogue(ctx, cat, true)
	require.NoError(t, err)
	assert.Equal(t, sqlite.CatalogueChanges{Titles: sqlite.Counts{Updated: 1, Unchanged: 1}, Copies: sqlite.Counts{Added: 1, Unchanged: 2}}, ch)
	cs, err := db.BookCopies(ctx)
	require.NoError(t, err)
	assert.Len(t, cs, 5, "dry run wrote nothing")

	_, err = db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	c, err := db.BookCopy(ctx, "9787020002207/3")
	require.NoError(t, err)
	assert.Equal(t, "红楼梦（新版）", c.Title.Title)
	assert.Equal(t, int64(5970), c.PriceCents)
	assert.Equal(t, books.StatusShelf, c.Status)

	// A barcode of another title refuses the whole file.
	bad, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,条码\n9780306406157,Measurement,A001\n9780804429573,Lamb,\n"))
	require.NoError(t, err)
	_, err = db.ApplyCatalogue(ctx, bad, false)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	assert.Contains(t, kiosk.ErrorMessage(err), "line 2: barcode A001 already belongs to ISBN 9791090636071")
	_, err = db.BookCopy(ctx, "9780804429573-1")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "all or nothing: the good row was not applied")
}

func TestLendAndReturn(t *testing.T) {
	ctx := context.Background()
	db, clk, rules := library(t)

	l, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: books.Same(rules), Booth: "b1"})
	require.NoError(t, err)
	assert.Equal(t, "小王子", l.Copy.Title.Title)
	assert.Equal(t, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), l.Due, "seven days")
	assert.Equal(t, books.StatusLent, l.Copy.Status)

	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "a001", Rules: books.Same(rules)})
	assert.Equal(t, books.ReasonNotOnShelf, deniedReason(t, err), "a lent copy cannot be lent again")

	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "9787020002207", Rules: books.Same(rules)})
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "cover ISBN of two shelf copies: scan the label")

	l2, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "9787020002207-2", Rules: books.Same(rules)})
	require.NoError(t, err)
	assert.Equal(t, "9787020002207-2", l2.Copy.Barcode)

	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002", Rules: books.Same(rules)})
	assert.Equal(t, books.ReasonLimit, deniedReason(t, err), "third book refused")

	l3, err := db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "9787020002207", Rules: books.Same(rules)})
	require.NoError(t, err)
	assert.Equal(t, "9787020002207-1", l3.Copy.Barcode, "cover ISBN with one copy left on the shelf")

	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "Z9", Rules: books.Same(rules)})
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 99, Barcode: "A002", Rules: books.Same(rules)})
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))

	// Returned on time, without a card.
	clk.Set(time.Date(2026, 3, 9, 20, 0, 0, 0, cst))
	r, err := db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)
	assert.Equal(t, 0, r.OverdueDays)
	assert.Equal(t, "王小明", r.ChildName)
	_, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: books.Same(rules)})
	assert.Equal(t, books.ReasonNotLent, deniedReason(t, err), "returned twice")

	// Now 王小明 holds one book and may borrow again.
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002", Rules: books.Same(rules)})
	require.NoError(t, err)

	// Three days late.
	clk.Set(time.Date(2026, 3, 12, 10, 0, 0, 0, cst))
	over, err := db.OverdueLoans(ctx, books.Same(rules))
	require.NoError(t, err)
	require.Len(t, over, 2, "both books lent on 3-02")
	assert.Equal(t, 3, over[0].OverdueDays)
	assert.Equal(t, 2, over[0].Reminder, "second rung of the ladder")

	r, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "9787020002207-2", Rules: books.Same(rules), Condition: books.ConditionDamaged, Handler: "李老师", Note: "封面撕破"})
	require.NoError(t, err)
	assert.Equal(t, 3, r.OverdueDays, "the screen says so kindly")
	c, err := db.BookCopy(ctx, "9787020002207-2")
	require.NoError(t, err)
	assert.Equal(t, books.ConditionDamaged, c.Condition)
	assert.Equal(t, books.StatusShelf, c.Status)

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "loan entries are in the hash chain: %+v", res)
}

func TestLendBlockedWhenOverdue(t *testing.T) {
	ctx := context.Background()
	db, clk, rules := library(t)
	_, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)

	clk.Set(time.Date(2026, 3, 15, 9, 0, 0, 0, cst)) // 6 days overdue
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002", Rules: books.Same(rules)})
	require.NoError(t, err, "not yet blocked")
	_, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A002", Rules: books.Same(rules)})
	require.NoError(t, err)

	clk.Set(time.Date(2026, 3, 16, 9, 0, 0, 0, cst)) // 7 days overdue
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002", Rules: books.Same(rules)})
	assert.Equal(t, books.ReasonOverdue, deniedReason(t, err))
	_, err = db.RenewBook(ctx, "A001", books.Same(rules), "")
	assert.Equal(t, books.ReasonOverdue, deniedReason(t, err), "renewing does not get round the block")

	_, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002", Rules: books.Same(rules)})
	assert.NoError(t, err, "unblocked once returned")
}

func TestRenewAndTermEnd(t *testing.T) {
	ctx := context.Background()
	db, clk, rules := library(t)
	clk.Set(time.Date(2026, 7, 1, 9, 0, 0, 0, cst))
	l, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 7, 8, 0, 0, 0, 0, time.UTC), l.Due)

	clk.Set(time.Date(2026, 7, 7, 9, 0, 0, 0, cst))
	l, err = db.RenewBook(ctx, "A001", books.Same(rules), "")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 7, 10, 0, 0, 0, 0, time.UTC), l.Due, "hard due date at the term's end")
	assert.Equal(t, 1, l.Renewals)
	_, err = db.RenewBook(ctx, "A001", books.Same(rules), "")
	assert.Equal(t, books.ReasonRenewals, deniedReason(t, err), "one renewal")

	clk.Set(time.Date(2026, 7, 11, 9, 0, 0, 0, cst))
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "A002", Rules: books.Same(rules)})
	assert.Equal(t, books.ReasonTermEnded, deniedReason(t, err))
	open, err := db.OpenLoans(ctx, 1, books.Same(rules))
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, 1, open[0].OverdueDays)
}

func TestCopyEventsAndRegister(t *testing.T) {
	ctx := context.Background()
	db, clk, rules := library(t)
	_, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "A002", Rules: books.Same(rules)})
	require.NoError(t, err)
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "A003", Rules: books.Same(rules), Handler: "李老师"})
	require.NoError(t, err)

	clk.Set(time.Date(2026, 3, 5, 9, 0, 0, 0, cst))
	_, err = db.RenewBook(ctx, "A001", books.Same(rules), "")
	require.NoError(t, err)
	clk.Set(time.Date(2026, 3, 13, 16, 0, 0, 0, cst))
	_, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: books.Same(rules), Condition: books.ConditionWorn})
	require.NoError(t, err)

	_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: "A002", Event: sqlite.LoanLost})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "a manager must be named")
	c, err := db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: "A002", Event: sqlite.LoanLost, Handler: "陈主任", Note: "家长已赔"})
	require.NoError(t, err)
	assert.Equal(t, books.StatusLost, c.Status)
	_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: "A003", Event: sqlite.LoanWriteOff, Handler: "陈主任"})
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "a lent copy is not written off")
	c, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: "9787020002207-1", Event: sqlite.LoanWriteOff, Handler: "陈主任"})
	require.NoError(t, err)
	assert.Equal(t, books.StatusWrittenOff, c.Status)
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "9787020002207-1", Rules: books.Same(rules)})
	assert.Equal(t, books.ReasonNotOnShelf, deniedReason(t, err))

	open, err := db.OpenLoans(ctx, 2, books.Same(rules))
	require.NoError(t, err)
	require.Len(t, open, 1, "the lost book no longer counts against the child")

	rows, err := db.LoanRegister(ctx, time.Time{}, time.Time{}, books.Same(rules))
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, "王小明", rows[0].ChildName)
	assert.Equal(t, time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC), rows[0].Due, "due after the renewal")
	assert.Equal(t, 1, rows[0].Renewals)
	assert.Equal(t, 1, rows[0].OverdueDays)
	assert.Equal(t, "有磨损", rows[0].ConditionIn)
	assert.Equal(t, "完好", rows[0].ConditionOut)
	assert.True(t, rows[1].Lost)
	assert.Equal(t, int64(4500), rows[1].PriceCents)
	assert.Equal(t, "自助 / 陈主任", rows[1].Handler)
	assert.Equal(t, "家长已赔", rows[1].Note)
	assert.Equal(t, "李老师", rows[2].Handler)
	assert.Equal(t, 4, rows[2].OverdueDays, "still out: days as at now")
	assert.True(t, rows[2].Returned.IsZero())

	rows, err = db.LoanRegister(ctx, time.Date(2026, 3, 3, 0, 0, 0, 0, cst), time.Time{}, books.Same(rules))
	require.NoError(t, err)
	assert.Empty(t, rows, "all lent before from")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
}

func TestStockTake(t *testing.T) {
	ctx := context.Background()
	db, _, rules := library(t)
	_, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)
	res, err := db.StockTake(ctx, []string{"9787020002207-1", "9787020002207-2", "A002", "A999"})
	require.NoError(t, err)
	require.Len(t, res.Missing, 1)
	assert.Equal(t, "A003", res.Missing[0].Barcode, "A001 is lent, not missing")
	assert.Equal(t, []string{"A999"}, res.Unknown)
	assert.Equal(t, 3, res.Counted)
}

// TestBooksMigrationKeepsJournal runs migration 0005 again over a
// populated journal: rows, chain and triggers survive, and the new kind
// is accepted.
func TestBooksMigrationKeepsJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	require.NoError(t, db.Audit(ctx, "test", "one", ""))
	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "r1", Event: sqlite.EquipAttached}))
	require.NoError(t, db.Close())

	mig, err := os.ReadFile(filepath.Join("migrations", "0005_books.sql"))
	require.NoError(t, err)
	// Only the journal rebuild: the tables exist already.
	rebuild, _, ok := strings.Cut(string(mig), "-- isbn is the 13 digits")
	require.True(t, ok)
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = raw.Exec(rebuild)
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	db = openDB(t, path, clk)
	_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: "A1", Event: sqlite.LoanLost, Handler: "x"})
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assert.Equal(t, 2, res.Entries)

	raw, err = sql.Open("sqlite", path)
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`INSERT INTO journal (seq, id, kind, at, clock_synced, body, prev_hash, hash) VALUES (99, 'x', 'loan', '', 1, '{}', '', '')`)
	assert.NoError(t, err, "kind loan passes the CHECK")
	_, err = raw.Exec(`DELETE FROM journal WHERE kind = 'audit'`)
	assert.ErrorContains(t, err, "append-only", "the triggers are back after the rebuild")
}

func TestKioskLibrary(t *testing.T) {
	ctx := context.Background()
	db, clk, rules := library(t)
	lib := db.Library(books.Same(rules))
	l, err := lib.Borrow(ctx, 1, "b1", "A001")
	require.NoError(t, err)
	assert.Equal(t, kiosk.BookLoan{Barcode: "A001", Title: "小王子", Due: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), Held: 1}, l)
	_, err = lib.Borrow(ctx, 1, "b1", "A002")
	require.NoError(t, err)
	_, err = lib.Borrow(ctx, 1, "b1", "A003")
	r := deniedReason(t, err)
	assert.Equal(t, "你已经借了2本书，先还一本再借吧", lib.BookWords(ctx, 1, r).ZH)

	clk.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, cst))
	l, err = lib.Return(ctx, "b2", "A001")
	require.NoError(t, err)
	assert.Equal(t, 2, l.OverdueDays)
}

func TestKioskLibraryOverdue(t *testing.T) {
	ctx := context.Background()
	db, clk, rules := library(t)
	rules.Reminders = []int{2, 5}
	lib := db.Library(books.Same(rules))
	_, err := lib.Borrow(ctx, 1, "b1", "A001") // due 3-09
	require.NoError(t, err)
	clk.Set(time.Date(2026, 3, 4, 9, 0, 0, 0, cst))
	_, err = lib.Borrow(ctx, 1, "b1", "A002") // due 3-11
	require.NoError(t, err)
	_, err = lib.Borrow(ctx, 2, "b1", "A003")
	require.NoError(t, err)

	mar9 := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	mar11 := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		now   time.Time
		child kiosk.ChildID
		want  []kiosk.BookLoan
	}{
		{name: "due date itself", now: time.Date(2026, 3, 9, 20, 0, 0, 0, cst), child: 1},
		{name: "one day late, below the first rung", now: time.Date(2026, 3, 10, 9, 0, 0, 0, cst), child: 1},
		{name: "first rung", now: time.Date(2026, 3, 11, 9, 0, 0, 0, cst), child: 1,
			want: []kiosk.BookLoan{{Barcode: "A001", Title: "小王子", Due: mar9, OverdueDays: 2}}},
		{name: "both late, most overdue first", now: time.Date(2026, 3, 14, 9, 0, 0, 0, cst), child: 1,
			want: []kiosk.BookLoan{{Barcode: "A001", Title: "小王子", Due: mar9, OverdueDays: 5},
				{Barcode: "A002", Title: "三国演义", Due: mar11, OverdueDays: 3}}},
		{name: "other child's own books only", now: time.Date(2026, 3, 14, 9, 0, 0, 0, cst), child: 2,
			want: []kiosk.BookLoan{{Barcode: "A003", Title: "三国演义", Due: mar11, OverdueDays: 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.Set(tc.now)
			got, err := lib.Overdue(ctx, tc.child)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	_, err = lib.Return(ctx, "b2", "A001")
	require.NoError(t, err)
	got, err := lib.Overdue(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []kiosk.BookLoan{{Barcode: "A002", Title: "三国演义", Due: mar11, OverdueDays: 3}}, got, "returned: off the list")
}

// TestKioskLibraryByClass: the kiosk lends, renews and blocks by the
// rules of the child's class: 王小明 (三年级1班) may hold one book, never
// renews, and is blocked 2 days overdue; 张丽 (五年级2班) has the
// default two books, and two renewals.
func TestKioskLibraryByClass(t *testing.T) {
	ctx := context.Background()
	db, clk, def := library(t)
	def.Renewals = 2
	third := def
	third.MaxLoans, third.Renewals, third.BlockAfterDays = 1, -1, 2
	var asked []string
	rulesFor := func(class string) books.Rules {
		asked = append(asked, class)
		if g, _ := books.Grade(class); g == 3 {
			return third
		}
		return def
	}
	lib := db.Library(rulesFor)

	l, err := lib.Borrow(ctx, 1, "b1", "A001") // due 3-09
	require.NoError(t, err)
	assert.Equal(t, 1, l.Held)
	assert.Contains(t, asked, "三年级1班", "the rules were asked for the child's class")
	_, err = lib.Borrow(ctx, 1, "b1", "A002")
	r := deniedReason(t, err)
	assert.Equal(t, books.ReasonLimit, r, "one book in 三年级")
	assert.Equal(t, "你已经借了1本书，先还一本再借吧", lib.BookWords(ctx, 1, r).ZH, "the class's limit in the words")
	assert.Equal(t, "你已经借了2本书，先还一本再借吧", lib.BookWords(ctx, 2, r).ZH)
	assert.Equal(t, "你已经借了2本书，先还一本再借吧", lib.BookWords(ctx, 0, r).ZH, "no child: the default")

	for _, code := range []string{"A002", "A003"} {
		_, err = lib.Borrow(ctx, 2, "b1", code)
		require.NoError(t, err, "two books in 五年级")
	}
	_, err = lib.Borrow(ctx, 2, "b1", "9787020002207-1")
	assert.Equal(t, books.ReasonLimit, deniedReason(t, err), "but not three")

	// Renewals by class: none in 三年级, two in 五年级.
	clk.Set(time.Date(2026, 3, 8, 9, 0, 0, 0, cst))
	_, err = db.RenewBook(ctx, "A001", rulesFor, "")
	assert.Equal(t, books.ReasonRenewals, deniedReason(t, err), "no renewal in 三年级")
	for i, day := range []int{8, 14} {
		clk.Set(time.Date(2026, 3, day, 9, 0, 0, 0, cst))
		l, err := db.RenewBook(ctx, "A002", rulesFor, "")
		require.NoError(t, err, "renewal %d in 五年级", i+1)
		assert.Equal(t, i+1, l.Renewals)
		assert.Equal(t, time.Date(2026, 3, day+7, 0, 0, 0, 0, time.UTC), l.Due)
	}
	clk.Set(time.Date(2026, 3, 20, 9, 0, 0, 0, cst))
	_, err = db.RenewBook(ctx, "A002", rulesFor, "")
	assert.Equal(t, books.ReasonRenewals, deniedReason(t, err), "a third is refused")

	// The block by class: 王小明's book 2 days overdue stops borrowing
	// (before the limit is looked at); 张丽's A003, as late, does not.
	clk.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, cst))
	_, err = lib.Borrow(ctx, 1, "b1", "9787020002207-1")
	assert.Equal(t, books.ReasonLimit, deniedReason(t, err), "1 day overdue: not blocked yet")
	clk.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, cst))
	_, err = lib.Borrow(ctx, 1, "b1", "9787020002207-1")
	assert.Equal(t, books.ReasonOverdue, deniedReason(t, err), "2 days overdue: blocked in 三年级")
	_, err = lib.Borrow(ctx, 2, "b1", "9787020002207-1")
	assert.Equal(t, books.ReasonLimit, deniedReason(t, err), "2 days overdue is no block in 五年级 (7): only the limit refuses")
	back, err := lib.Return(ctx, "b1", "A003")
	require.NoError(t, err)
	assert.Equal(t, 2, back.OverdueDays)
	_, err = lib.Borrow(ctx, 2, "b1", "9787020002207-1")
	require.NoError(t, err)

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
}

// byGrade returns the rules of a class's grade (see books.Grade) in
// grades, else def.
func byGrade(def books.Rules, grades map[int]books.Rules) books.RulesByClass {
	return func(class string) books.Rules {
		if g, ok := books.Grade(class); ok {
			if r, ok := grades[g]; ok {
				return r
			}
		}
		return def
	}
}

// TestRequestRulesByClass: Lend, ReturnBook and RenewBook ask Rules for
// the class of the child concerned (at a return, the child who has the
// book), and nil Rules are books' defaults. 三年级 lends for 3 days
// with reminders from 1 day late; 五年级 for 10 days, reminders from 5.
func TestRequestRulesByClass(t *testing.T) {
	ctx := context.Background()
	db, clk, def := library(t)
	third, fifth := def, def
	third.LoanDays, third.Reminders = 3, []int{1}
	fifth.LoanDays, fifth.Reminders = 10, []int{5}
	var asked []string
	byClass := byGrade(def, map[int]books.Rules{3: third, 5: fifth})
	rules := func(class string) books.Rules {
		asked = append(asked, class)
		return byClass(class)
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }

	l, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: rules})
	require.NoError(t, err)
	assert.Equal(t, day(5), l.Due, "三年级: 3 days from 3-02")
	l, err = db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "A002", Rules: rules})
	require.NoError(t, err)
	assert.Equal(t, day(12), l.Due, "五年级: 10 days from 3-02")
	assert.Equal(t, []string{"三年级1班", "五年级2班"}, asked, "asked once per lend, for the child's class")

	// 2 days late for 三年级 (due 3-05): reminder 1 by its rules.
	clk.Set(time.Date(2026, 3, 7, 9, 0, 0, 0, cst))
	asked = nil
	back, err := db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: rules})
	require.NoError(t, err)
	assert.Equal(t, 2, back.OverdueDays)
	assert.Equal(t, 1, back.Reminder, "三年级 reminds from 1 day late")
	assert.Equal(t, []string{"三年级1班"}, asked, "the return asks for the class of the child who had the book")

	// 五年级 renews by its rules (10 days from today), then is 2 days
	// late: no reminder before 5 days.
	clk.Set(time.Date(2026, 3, 11, 9, 0, 0, 0, cst))
	l, err = db.RenewBook(ctx, "A002", rules, "李老师")
	require.NoError(t, err)
	assert.Equal(t, day(21), l.Due, "五年级: renewed for 10 days from 3-11")
	assert.Equal(t, 1, l.Renewals)
	clk.Set(time.Date(2026, 3, 23, 9, 0, 0, 0, cst))
	back, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A002", Rules: rules})
	require.NoError(t, err)
	assert.Equal(t, 2, back.OverdueDays)
	assert.Equal(t, 0, back.Reminder, "五年级 reminds from 5 days late")

	// nil Rules: books' defaults, 7-day loans (days in time.Local), one
	// renewal, two books at once.
	now := clk.Now()
	l, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001"})
	require.NoError(t, err)
	assert.Equal(t, books.Date(now, time.Local).AddDate(0, 0, 7), l.Due, "default 7-day loan")
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002"})
	require.NoError(t, err)
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A003"})
	assert.Equal(t, books.ReasonLimit, deniedReason(t, err), "default limit of 2")
	clk.Set(now.AddDate(0, 0, 6))
	_, err = db.RenewBook(ctx, "A001", nil, "")
	require.NoError(t, err, "default: one renewal")
	_, err = db.RenewBook(ctx, "A001", nil, "")
	assert.Equal(t, books.ReasonRenewals, deniedReason(t, err), "but only one")
}

// TestReadRulesByClass: every read of loans says how late each loan is by
// the rules of its borrower's class. 三年级 lends for 3 days, reminds
// from 1 day late and again from 2; 五年级 lends for 10 days and reminds
// from 5. At 06:00 on 3-07 in Shanghai 王小明's A001, due 3-05, is 2 days
// late at reminder 2; 张丽's A002, due 3-12, is not late. The default
// rules (class "") would say otherwise: days in UTC, where it is still
// 3-06, and reminder 1.
func TestReadRulesByClass(t *testing.T) {
	ctx := context.Background()
	db, clk, def := library(t)
	third, fifth := def, def
	third.LoanDays, third.Reminders = 3, []int{1, 2}
	fifth.LoanDays, fifth.Reminders = 10, []int{5}
	def.Location = time.UTC
	rules := byGrade(def, map[int]books.Rules{3: third, 5: fifth})
	_, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: rules})
	require.NoError(t, err)
	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 2, Barcode: "A002", Rules: rules})
	require.NoError(t, err)
	clk.Set(time.Date(2026, 3, 7, 6, 0, 0, 0, cst))

	// late is a loan's barcode, days late and reminder level.
	type late struct {
		Barcode        string
		Days, Reminder int
	}
	a001, a002 := late{"A001", 2, 2}, late{"A002", 0, 0}
	lates := func(ls []sqlite.BookLoan, err error) []late {
		t.Helper()
		require.NoError(t, err)
		out := []late{}
		for _, l := range ls {
			out = append(out, late{l.Copy.Barcode, l.OverdueDays, l.Reminder})
		}
		return out
	}
	assert.Equal(t, []late{a001}, lates(db.OpenLoans(ctx, 1, rules)), "OpenLoans, 三年级")
	assert.Equal(t, []late{a002}, lates(db.OpenLoans(ctx, 2, rules)), "OpenLoans, 五年级")
	assert.Equal(t, []late{a001}, lates(db.OverdueLoans(ctx, rules)), "OverdueLoans: 三年级's book only")
	assert.Equal(t, []late{a001, a002}, lates(db.LentBooks(ctx, rules)), "LentBooks")

	rows, err := db.LoanRegister(ctx, time.Time{}, time.Time{}, rules)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, []string{"A001", "A002"}, []string{rows[0].Barcode, rows[1].Barcode})
	assert.Equal(t, []int{2, 0}, []int{rows[0].OverdueDays, rows[1].OverdueDays}, "LoanRegister")

	lib := db.Library(rules)
	got, err := lib.Overdue(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []kiosk.BookLoan{{Barcode: "A001", Title: "小王子", Due: time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), OverdueDays: 2}}, got,
		"Library.Overdue: 三年级 reminds from 1 day late")
	got, err = lib.Overdue(ctx, 2)
	require.NoError(t, err)
	assert.Empty(t, got, "Library.Overdue: 张丽's book is not due yet")
}
