package sqlite_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
)

// titleByISBN finds a title in the catalogue.
func titleByISBN(t *testing.T, db *sqlite.DB, isbn books.ISBN) sqlite.BookTitle {
	t.Helper()
	ts, err := db.BookTitles(context.Background())
	require.NoError(t, err)
	for _, bt := range ts {
		if bt.ISBN == isbn {
			return bt
		}
	}
	t.Fatalf("no title %s", isbn)
	return sqlite.BookTitle{}
}

func TestBookTitles(t *testing.T) {
	ctx := context.Background()
	db, _, rules := library(t)
	_, err := db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A002", Rules: books.Same(rules)})
	require.NoError(t, err)
	_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: "A003", Event: sqlite.LoanWriteOff, Handler: "管理员", Note: "水浸"})
	require.NoError(t, err)
	ts, err := db.BookTitles(ctx)
	require.NoError(t, err)
	require.Len(t, ts, 3)
	var names []string
	for _, bt := range ts {
		names = append(names, bt.Title.Title)
	}
	assert.Equal(t, []string{"三国演义", "小王子", "红楼梦"}, names, "ordered by title")
	sg := ts[0]
	assert.Equal(t, books.ISBN("9787532136377"), sg.ISBN)
	assert.Equal(t, int64(4500), sg.PriceCents)
	assert.Equal(t, [4]int{0, 1, 0, 1}, [4]int{sg.Shelf, sg.Lent, sg.Lost, sg.WrittenOff})
	assert.Equal(t, 1, sg.Copies(), "written-off copies are out of stock")

	bt, cs, err := db.BookTitle(ctx, sg.ID)
	require.NoError(t, err)
	assert.Equal(t, sg.ID, bt.ID)
	require.Len(t, cs, 2)
	assert.Equal(t, "A002", cs[0].Barcode)
	assert.Equal(t, books.StatusLent, cs[0].Status)
	assert.Equal(t, books.StatusWrittenOff, cs[1].Status)

	_, _, err = db.BookTitle(ctx, 999)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))

	lent, err := db.LentBooks(ctx, books.Same(rules))
	require.NoError(t, err)
	require.Len(t, lent, 1)
	assert.Equal(t, "A002", lent[0].Copy.Barcode)
	assert.Equal(t, "王小明", lent[0].ChildName)
}

func TestAddBookTitle(t *testing.T) {
	ctx := context.Background()
	db, _, _ := library(t)
	before := len(adminAudits(t, db))
	bt, err := db.AddBookTitle(ctx, "manager", books.Title{ISBN: "9787544253994", Title: " 活着 ", Author: "余华",
		Publisher: "南海出版公司", Category: "文学", PriceCents: 2000, Copies: []string{"a100", "9787544253994/2", ""}})
	require.NoError(t, err)
	assert.Equal(t, "活着", bt.Title.Title, "trimmed")
	assert.Equal(t, 2, bt.Shelf)
	_, cs, err := db.BookTitle(ctx, bt.ID)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, []string{"9787544253994-2", "A100"}, []string{cs[0].Barcode, cs[1].Barcode}, "canonical barcodes")
	as := adminAudits(t, db)
	require.Len(t, as, before+1, "one audit entry, in the same transaction")
	assert.Equal(t, "manager", as[0].Actor)
	assert.Equal(t, sqlite.ActionBookTitleAdd, as[0].Action)
	assert.Contains(t, as[0].Detail, "isbn=9787544253994")
	assert.Contains(t, as[0].Detail, "copies=A100,9787544253994-2")

	tests := []struct {
		name  string
		title books.Title
		code  string
		says  []string
	}{
		{"isbn in catalogue", books.Title{ISBN: "9787020002207", Title: "红楼梦"}, kiosk.ECONFLICT, []string{"9787020002207"}},
		{"barcode in use", books.Title{ISBN: "9787101000009", Title: "新书", Copies: []string{"A001"}}, kiosk.ECONFLICT, []string{"A001"}},
		{"isbn not canonical", books.Title{ISBN: "7532142272", Title: "x"}, kiosk.EINVALID, []string{"ISBN"}},
		{"wrong check digit", books.Title{ISBN: "9787101000008", Title: "x"}, kiosk.EINVALID, []string{"ISBN"}},
		{"every problem at once", books.Title{ISBN: "9787101000009", PriceCents: -1,
			Copies: []string{"9787101000009", "9787020002207-9", "B1", "b1", "坏码"}}, kiosk.EINVALID,
			[]string{"请填写书名", "价格", "封面 ISBN", "另一个 ISBN", "B1 重复", "坏码"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(adminAudits(t, db))
			_, err := db.AddBookTitle(ctx, "manager", tc.title)
			require.Error(t, err)
			assert.Equal(t, tc.code, kiosk.ErrorCode(err), "%v", err)
			for _, s := range tc.says {
				assert.Contains(t, kiosk.ErrorMessage(err), s)
			}
			assert.Len(t, adminAudits(t, db), n, "nothing journaled")
		})
	}
	ts, err := db.BookTitles(ctx)
	require.NoError(t, err)
	assert.Len(t, ts, 4, "no failed title was added")
}

func TestUpdateBookTitle(t *testing.T) {
	ctx := context.Background()
	db, _, _ := library(t)
	hl := titleByISBN(t, db, "9787020002207")
	before := len(adminAudits(t, db))
	in := hl.Title
	in.Title, in.PriceCents, in.ISBN = "红楼梦（校注本）", 6500, "9787101000009"
	bt, changed, err := db.UpdateBookTitle(ctx, "manager", hl.ID, in)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "红楼梦（校注本）", bt.Title.Title)
	assert.Equal(t, int64(6500), bt.PriceCents)
	assert.Equal(t, books.ISBN("9787020002207"), bt.ISBN, "the ISBN stays")
	as := adminAudits(t, db)
	require.Len(t, as, before+1)
	assert.Equal(t, sqlite.ActionBookTitleEdit, as[0].Action)
	assert.Contains(t, as[0].Detail, `title: "红楼梦" -> "红楼梦（校注本）"`)
	assert.Contains(t, as[0].Detail, `price: "59.70" -> "65.00"`)
	assert.NotContains(t, as[0].Detail, "author")

	_, changed, err = db.UpdateBookTitle(ctx, "manager", hl.ID, bt.Title)
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Len(t, adminAudits(t, db), before+1, "no change, no entry")

	in.Title = ""
	_, _, err = db.UpdateBookTitle(ctx, "manager", hl.ID, in)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	_, _, err = db.UpdateBookTitle(ctx, "manager", 999, bt.Title)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
}

func TestAddBookCopies(t *testing.T) {
	ctx := context.Background()
	db, _, _ := library(t)
	hl := titleByISBN(t, db, "9787020002207") // copies -1 and -2
	codes, err := db.AddBookCopies(ctx, "manager", sqlite.NewCopies{TitleID: hl.ID, Barcodes: []string{"9787020002207-7", "c9"}, Count: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"9787020002207-7", "C9", "9787020002207-8", "9787020002207-9"}, codes,
		"counted copies are numbered after the highest number, typed ones included")
	as := adminAudits(t, db)
	assert.Equal(t, sqlite.ActionBookCopyAdd, as[0].Action)
	assert.Contains(t, as[0].Detail, "copies=9787020002207-7,C9,9787020002207-8,9787020002207-9")
	assert.Equal(t, 6, titleByISBN(t, db, "9787020002207").Shelf)

	n := len(adminAudits(t, db))
	_, err = db.AddBookCopies(ctx, "manager", sqlite.NewCopies{TitleID: hl.ID, Barcodes: []string{"Z1", "A001"}})
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err))
	_, err = db.BookCopy(ctx, "Z1")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "all or nothing")
	_, err = db.AddBookCopies(ctx, "manager", sqlite.NewCopies{TitleID: hl.ID})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "nothing to add")
	_, err = db.AddBookCopies(ctx, "manager", sqlite.NewCopies{TitleID: hl.ID, Count: sqlite.MaxCopiesAtOnce + 1})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	_, err = db.AddBookCopies(ctx, "manager", sqlite.NewCopies{TitleID: 999, Count: 1})
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	assert.Len(t, adminAudits(t, db), n)
}

func adminAudits(t *testing.T, db *sqlite.DB) []sqlite.AuditEntry {
	t.Helper()
	as, err := db.AuditLog(context.Background(), 0, 10000)
	require.NoError(t, err)
	return as
}
