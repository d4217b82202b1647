package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

// The library seeded by seedOverdue, as at 2026-12-03: A001 小王子 lent
// to 王小明 (6 days late), A002 红楼梦 lent to 张丽, A003 三国演义 back on
// the shelf.

// titleIDOf returns the id of the title with isbn.
func titleIDOf(t *testing.T, e *env, isbn string) string {
	t.Helper()
	ts, err := e.db.BookTitles(context.Background())
	require.NoError(t, err)
	for _, bt := range ts {
		if string(bt.ISBN) == isbn {
			return itoa(bt.ID)
		}
	}
	t.Fatalf("no title %s", isbn)
	return ""
}

// lastAudit returns the newest audit entry.
func lastAudit(t *testing.T, e *env) sqlite.AuditEntry {
	t.Helper()
	as := e.audits(t)
	require.NotEmpty(t, as)
	return as[0]
}

// loanEvents returns the journal's 'loan' entries' events and barcodes,
// "event barcode", in order.
func loanEvents(t *testing.T, e *env) []string {
	t.Helper()
	es, err := e.db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	var out []string
	for _, en := range es {
		if en.Kind != sqlite.KindLoan {
			continue
		}
		var b struct {
			Event, Barcode, Handler, Note string
			PriceCents                    int64 `json:"price_cents"`
		}
		require.NoError(t, json.Unmarshal(en.Body, &b))
		out = append(out, b.Event+" "+b.Barcode)
	}
	return out
}

var copyRowRe = regexp.MustCompile(`(?s)<tr data-test="copy-row">(.*?)</tr>`)

// copyCells returns the cells of barcode's row on a title's page.
func copyCells(body, barcode string) []string {
	for _, m := range copyRowRe.FindAllStringSubmatch(body, -1) {
		cells := strings.Split(m[1], "</td><td>")
		if strings.TrimPrefix(cells[0], "<td>") == barcode {
			return cells
		}
	}
	return []string{"", "", ""}
}

// copyStatus returns the status cell of barcode's row on a title's page.
func copyStatus(body, barcode string) string { return copyCells(body, barcode)[1] }

func TestBookPagesRoles(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	xiao := titleIDOf(t, e, "9791090636071")
	tests := []struct {
		role           string
		list, title    int
		change         int
		readersAudited bool
	}{
		{"manager", http.StatusOK, http.StatusOK, http.StatusOK, true},
		{"principal", http.StatusOK, http.StatusOK, http.StatusForbidden, true},
		{"inspector", http.StatusOK, http.StatusOK, http.StatusForbidden, true},
		{"technician", http.StatusForbidden, http.StatusForbidden, http.StatusForbidden, false},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			c, csrf := e.login(t, tc.role)
			res, body := do(t, c, "GET", e.srv.URL+"/console/books", nil)
			require.Equal(t, tc.list, res.StatusCode)
			if tc.list == http.StatusOK {
				assert.Contains(t, body, "小王子")
				assert.Contains(t, body, "三国演义")
				assert.Equal(t, tc.role == "manager", strings.Contains(body, `method="post" action="/console/books"`), "only managers get the add form")
			} else {
				assert.NotContains(t, body, "小王子")
			}

			before := len(e.audits(t))
			res, body = do(t, c, "GET", e.srv.URL+"/console/books/"+xiao, nil)
			require.Equal(t, tc.title, res.StatusCode)
			if tc.readersAudited {
				assert.Contains(t, body, "王小明", "a lent copy names its reader")
				assert.Contains(t, body, "三年级1班")
				a := lastAudit(t, e)
				assert.Equal(t, "view_book", a.Action)
				assert.Equal(t, tc.role, a.Actor)
				assert.Len(t, e.audits(t), before+1)
			} else {
				assert.NotContains(t, body, "王小明")
			}

			for _, p := range []struct{ path string }{{"/console/books"}, {"/console/books/" + xiao}, {"/console/books/" + xiao + "/copies"}, {"/console/books/" + xiao + "/event"}} {
				if tc.change == http.StatusOK {
					continue // the manager's changes are tried below
				}
				n := len(e.audits(t))
				res, _ := do(t, c, "POST", e.srv.URL+p.path, url.Values{"csrf": {csrf}, "isbn": {"9787544253994"}, "title": {"活着"},
					"count": {"1"}, "barcode": {"A003"}, "event": {"write_off"}, "note": {"旧"}})
				assert.Equal(t, tc.change, res.StatusCode, p.path)
				assert.Len(t, e.audits(t), n, "a refused change writes nothing")
			}
		})
	}
	_, err := e.db.BookCopy(context.Background(), "9787544253994-1")
	assert.Error(t, err, "no title was added by a reader")
	cp, err := e.db.BookCopy(context.Background(), "A003")
	require.NoError(t, err)
	assert.Equal(t, books.StatusShelf, cp.Status, "nothing written off by a reader")
}

func TestBookCatalogueSearch(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	c, _ := e.login(t, "inspector")
	tests := []struct {
		query    string
		want     []string
		wantNot  []string
		rowsLike string
		rows     int
	}{
		{"?q=红楼", []string{"红楼梦"}, []string{"小王子", "三国演义"}, "title-row", 1},
		{"?q=罗贯中", []string{"三国演义"}, []string{"红楼梦"}, "title-row", 1},
		{"?q=a001", []string{"小王子"}, []string{"红楼梦"}, "title-row", 1},
		{"?q=979-10-90636-07-1", []string{"小王子"}, []string{"红楼梦"}, "title-row", 1},
		{"?status=lent", []string{"A001", "A002", "借出"}, []string{"A003"}, "copy-row", 2},
		{"?status=shelf", []string{"A003", "在架"}, []string{"A001"}, "copy-row", 1},
		{"?status=all&q=A002", []string{"A002"}, []string{"A001", "A003"}, "copy-row", 1},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			res, body := do(t, c, "GET", e.srv.URL+"/console/books"+tc.query, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			main := body[strings.Index(body, "<table"):]
			for _, s := range tc.want {
				assert.Contains(t, main, s)
			}
			for _, s := range tc.wantNot {
				assert.NotContains(t, main, s)
			}
			assert.Equal(t, tc.rows, strings.Count(body, `data-test="`+tc.rowsLike+`"`))
		})
	}
}

func TestBookAddAndEdit(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	c, csrf := e.login(t, "manager")
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	t.Run("add with ISBN-10", func(t *testing.T) {
		res, _ := do(t, c, "POST", e.srv.URL+"/console/books", form("isbn", "0-201-61622-X", "title", "程序员修炼之道",
			"author", "Hunt", "category", "科普", "price", "¥25.5", "barcodes", "b100\n9780201616224-3", "count", "2"))
		a := lastAudit(t, e)
		assert.Equal(t, "manager", a.Actor)
		assert.Equal(t, sqlite.ActionBookTitleAdd, a.Action)
		assert.Contains(t, a.Detail, "isbn=9780201616224")
		body := seeNotice(t, c, res, "/console/books/"+titleIDOf(t, e, "9780201616224")+"?done=book_added", "book_added")
		assert.Contains(t, body, "ISBN 9780201616224", "stored as ISBN-13")
		assert.Contains(t, body, "25.50 元")
		for _, code := range []string{"B100", "9780201616224-3", "9780201616224-1", "9780201616224-2"} {
			assert.Equal(t, "在架 shelf", copyStatus(body, code), code)
		}
	})
	tests := []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"wrong check digit", form("isbn", "9787544253995", "title", "活着"), http.StatusBadRequest, "check digit"},
		{"ISBN-10 with a wrong X", form("isbn", "753214227X", "title", "活着"), http.StatusBadRequest, "check digit"},
		{"no title", form("isbn", "9787544253994"), http.StatusBadRequest, "请填写书名"},
		{"bad price", form("isbn", "9787544253994", "title", "活着", "price", "二十"), http.StatusBadRequest, "价格"},
		{"ISBN in the catalogue", form("isbn", "9787020002207", "title", "红楼梦"), http.StatusConflict, "已在书目中"},
		{"barcode in use", form("isbn", "9787544253994", "title", "活着", "barcodes", "A001"), http.StatusConflict, "A001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.audits(t))
			res, body := do(t, c, "POST", e.srv.URL+"/console/books", tc.form)
			require.Equal(t, tc.status, res.StatusCode)
			assert.Contains(t, body, tc.says)
			assert.Contains(t, body, `value="`+tc.form.Get("isbn")+`"`, "the form keeps what was typed")
			assert.Len(t, e.audits(t), n)
		})
	}

	id := titleIDOf(t, e, "9787020002207")
	t.Run("edit", func(t *testing.T) {
		res, _ := do(t, c, "POST", e.srv.URL+"/console/books/"+id, form("title", "红楼梦（校注本）", "author", "曹雪芹", "price", "65"))
		a := lastAudit(t, e)
		assert.Equal(t, sqlite.ActionBookTitleEdit, a.Action)
		assert.Contains(t, a.Detail, `price: "59.70" -> "65.00"`)
		body := seeNotice(t, c, res, "/console/books/"+id+"?done=book_saved", "book_saved")
		assert.Contains(t, body, "《红楼梦（校注本）》")
		res, _ = do(t, c, "POST", e.srv.URL+"/console/books/"+id, form("title", "红楼梦（校注本）", "author", "曹雪芹", "price", "65"))
		seeNotice(t, c, res, "/console/books/"+id+"?done=book_unchanged", "book_unchanged")

		res, body = do(t, c, "POST", e.srv.URL+"/console/books/"+id, form("title", "", "price", "65"))
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, body, "请填写书名")
		res, _ = do(t, c, "POST", e.srv.URL+"/console/books/99999", form("title", "x"))
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
	})
	t.Run("add copies", func(t *testing.T) {
		res, _ := do(t, c, "POST", e.srv.URL+"/console/books/"+id+"/copies", form("barcodes", "A010, A011", "count", "1"))
		assert.Equal(t, sqlite.ActionBookCopyAdd, lastAudit(t, e).Action)
		body := seeNotice(t, c, res, "/console/books/"+id+"?done=copies_added", "copies_added")
		for _, code := range []string{"A010", "A011", "9787020002207-1"} {
			assert.Equal(t, "在架 shelf", copyStatus(body, code), code)
		}
		res, body = do(t, c, "POST", e.srv.URL+"/console/books/"+id+"/copies", form("barcodes", "A001"))
		assert.Equal(t, http.StatusConflict, res.StatusCode)
		assert.Contains(t, body, "A001")
		res, _ = do(t, c, "POST", e.srv.URL+"/console/books/"+id+"/copies", form("barcodes", "9791090636071-2"))
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "another title's ISBN")
	})
}

func TestBookWriteOffLostDamaged(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	c, csrf := e.login(t, "manager")
	sg := titleIDOf(t, e, "9787532136377")   // A003 on the shelf
	xiao := titleIDOf(t, e, "9791090636071") // A001 lent
	post := func(id, barcode, event, note string) (*http.Response, string) {
		return do(t, c, "POST", e.srv.URL+"/console/books/"+id+"/event",
			url.Values{"csrf": {csrf}, "barcode": {barcode}, "event": {event}, "note": {note}})
	}
	before := loanEvents(t, e)

	res, body := post(sg, "A003", sqlite.LoanWriteOff, "")
	require.Equal(t, http.StatusBadRequest, res.StatusCode, "a write-off needs a reason")
	assert.Contains(t, body, "原因")
	res, _ = post(xiao, "A003", sqlite.LoanWriteOff, "旧")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "A003 is not a copy of 小王子")
	res, body = post(xiao, "A001", sqlite.LoanWriteOff, "旧")
	assert.Equal(t, http.StatusConflict, res.StatusCode, "a lent copy is returned or lost first")
	assert.Equal(t, "借出 lent", copyStatus(body, "A001"))
	assert.Equal(t, before, loanEvents(t, e), "nothing journaled by refusals")

	res, _ = post(sg, "A003", sqlite.LoanWriteOff, "封面脱落，无法修补")
	a := lastAudit(t, e)
	assert.Equal(t, "book_write_off", a.Action)
	assert.Equal(t, "manager", a.Actor)
	assert.Contains(t, a.Detail, "barcode=A003")
	body = seeNotice(t, c, res, "/console/books/"+sg+"?done=book_write_off", "book_write_off")
	assert.Equal(t, "注销 written off", copyStatus(body, "A003"), "the write-off changes the status")
	assert.NotContains(t, body, `name="barcode" value="A003"`, "a written-off copy takes no more events")
	assert.Equal(t, append(before, "write_off A003"), loanEvents(t, e), "journaled as a 'loan' entry")
	res, _ = post(sg, "A003", sqlite.LoanLost, "")
	assert.Equal(t, http.StatusConflict, res.StatusCode, "written off already")

	res, _ = post(xiao, "A001", sqlite.LoanLost, "王小明说丢在家里")
	assert.Equal(t, "book_lost", lastAudit(t, e).Action)
	assert.Contains(t, lastAudit(t, e).Detail, "price=12.50")
	body = seeNotice(t, c, res, "/console/books/"+xiao+"?done=book_lost", "book_lost")
	assert.Equal(t, "遗失 lost", copyStatus(body, "A001"))
	assert.Contains(t, body, "按原价赔偿")
	rows, err := e.db.LoanRegister(context.Background(), time.Time{}, time.Time{}, books.Same(books.Rules{Location: e.con.loc}))
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	assert.True(t, rows[0].Lost, "the loan register shows the loss")
	assert.Equal(t, int64(1250), rows[0].PriceCents, "at the original price")
	assert.Contains(t, rows[0].Handler, "测试manager", "the manager handled the loss")

	hl := titleIDOf(t, e, "9787020002207")
	res, _ = post(hl, "A002", sqlite.LoanDamaged, "")
	assert.Equal(t, "book_damaged", lastAudit(t, e).Action)
	body = seeNotice(t, c, res, "/console/books/"+hl+"?done=book_damaged", "book_damaged")
	assert.Equal(t, "破损", copyCells(body, "A002")[2], "the condition is recorded")
	assert.Equal(t, "借出 lent", copyStatus(body, "A002"), "a damaged copy stays with its reader")
	assert.Equal(t, append(before, "write_off A003", "lost A001", "damaged A002"), loanEvents(t, e))
}

var lentRowRe = regexp.MustCompile(`(?s)<tr data-test="lent-row">(.*?)</tr>`)
var missingRowRe = regexp.MustCompile(`(?s)<tr data-test="missing-row"><td>([^<]*)</td>`)

func TestStockTake(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	ctx := context.Background()
	_, err := e.db.AddBookTitle(ctx, "test", books.Title{ISBN: "9787544253994", Title: "活着", Author: "余华", PriceCents: 2000,
		Copies: []string{"C1", "C2"}})
	require.NoError(t, err)
	c, csrf := e.login(t, "manager")
	scan := func(c *http.Client, csrf, code string) string {
		res, body := do(t, c, "POST", e.srv.URL+"/console/books/stocktake", url.Values{"csrf": {csrf}, "barcode": {code}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		return body
	}
	res, body := do(t, c, "GET", e.srv.URL+"/console/books/stocktake", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Regexp(t, `<input name="barcode"[^>]* autofocus`, body, "the scanner types into a focused field")

	body = scan(c, csrf, "A003")
	assert.Contains(t, body, "《三国演义》")
	assert.Contains(t, body, "✓ 在架")
	body = scan(c, csrf, " c1\r")
	assert.Contains(t, body, "C1《活着》", "scanner noise and case are folded")
	body = scan(c, csrf, "A003")
	assert.Contains(t, body, "已扫过")
	body = scan(c, csrf, "ZZZ9")
	assert.Contains(t, body, "书目中没有此条码")
	body = scan(c, csrf, "A001")
	assert.Contains(t, body, "记录为借出")
	body = scan(c, csrf, "")
	assert.Contains(t, body, `data-test="scan-count">4<`, "four distinct scans; repeats and empty submits not counted")
	assert.Equal(t, 4, strings.Count(body, `data-test="scan-row"`))

	// Another user's stock-take is their own.
	pc, pcsrf := e.login(t, "principal")
	_, body = do(t, pc, "GET", e.srv.URL+"/console/books/stocktake", nil)
	assert.Contains(t, body, `data-test="scan-count">0<`)

	before := len(e.audits(t))
	res, body = do(t, c, "GET", e.srv.URL+"/console/books/stocktake/result", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var missing []string
	for _, m := range missingRowRe.FindAllStringSubmatch(body, -1) {
		missing = append(missing, m[1])
	}
	assert.Equal(t, []string{"C2"}, missing, "the copy on the shelf that was not scanned is missing")
	lent := lentRowRe.FindAllStringSubmatch(body, -1)
	require.Len(t, lent, 1, "A002 is lent and was not scanned; A001 was scanned on the shelf")
	assert.Contains(t, lent[0][1], "A002")
	assert.Contains(t, lent[0][1], "张丽")
	assert.Contains(t, body, `data-test="misplaced-row"><td>A001`)
	assert.Contains(t, body, `data-test="unknown">ZZZ9`)
	assert.Len(t, e.audits(t), before+1)
	assert.Equal(t, "view_stocktake", lastAudit(t, e).Action)
	assert.Contains(t, lastAudit(t, e).Detail, "missing=1 lent=1")

	res, body = do(t, c, "GET", e.srv.URL+"/console/books/stocktake/result?print=1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "图书盘点缺失清单")
	assert.Contains(t, body, school)
	assert.Regexp(t, `data-test="missing-row"><td>1</td><td>C2</td><td>活着`, body)
	assert.Contains(t, body, "盘点人")
	assert.NotContains(t, body, `class="top"`, "no navigation on paper")
	assert.Equal(t, "print_stocktake", lastAudit(t, e).Action)

	// The principal's empty stock-take finds every copy on the shelf missing.
	_, body = do(t, pc, "GET", e.srv.URL+"/console/books/stocktake/result", nil)
	assert.Len(t, missingRowRe.FindAllStringSubmatch(body, -1), 3, "A003, C1, C2")

	res, _ = do(t, c, "POST", e.srv.URL+"/console/books/stocktake/reset", url.Values{"csrf": {csrf}})
	body = seeNotice(t, c, res, "/console/books/stocktake?done=stock_reset", "stock_reset")
	assert.Contains(t, body, `data-test="scan-count">0<`)
	_ = pcsrf

	tc, tcsrf := e.login(t, "technician")
	res, _ = do(t, tc, "GET", e.srv.URL+"/console/books/stocktake", nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = do(t, tc, "POST", e.srv.URL+"/console/books/stocktake", url.Values{"csrf": {tcsrf}, "barcode": {"A003"}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
}

// TestBookRulesOption: the overdue list and the loans register count
// days by Opts.BookRules (here a zone five hours behind UTC, where it
// is still 12-02 when Shanghai has 12-03).
func TestBookRulesOption(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	var (
		mu    sync.Mutex
		asked []string
	)
	con, err := New(Opts{Store: e.db, School: school, Loc: e.con.loc, Now: e.clk.Now,
		BookRules: func(class string) books.Rules {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, class)
			return books.Rules{Location: time.FixedZone("UTC-5", -5*3600)}
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(con.Handler())
	t.Cleanup(srv.Close)
	e.con, e.srv = con, srv
	e.clk.Set(time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)) // 10:00 in Shanghai, 21:00 on 12-02 at UTC-5
	c, _ := e.login(t, "manager")
	_, body := do(t, c, "GET", srv.URL+"/console/loans/overdue", nil)
	assert.Contains(t, body, "<td>2026-11-27</td><td>5</td>", "5 days late by the configured rules (6 by the defaults)")
	mu.Lock()
	assert.NotEmpty(t, asked)
	mu.Unlock()
	_, body = do(t, c, "GET", srv.URL+"/console/books/"+titleIDOf(t, e, "9791090636071"), nil)
	assert.Contains(t, body, `<span class="bad">5</span>`)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, asked, "三年级1班", "a lent copy is judged by its reader's class's rules")
}

func TestParseYuan(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"25", 2500, true}, {"25.5", 2550, true}, {"¥25.50", 2550, true}, {"２５元", 2500, true},
		{"25.555", 0, false}, {"-1", 0, false}, {"二十", 0, false}, {".5", 0, false}, {"12345678", 0, false},
	}
	for _, tc := range tests {
		got, err := parseYuan(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// bookRouteCase returns a path and a form that succeed (for a manager)
// on one of the book and TV routes, in a library seeded by seedOverdue;
// ok is false for other routes. The console's generic route walks
// (console_test.go) can use it.
func (e *env) bookRouteCase(t *testing.T, rt route, csrf string) (path string, form url.Values, ok bool) {
	t.Helper()
	if !strings.HasPrefix(rt.path, "/console/books") && !strings.HasPrefix(rt.path, "/console/tv/control") {
		return "", nil, false
	}
	path = strings.ReplaceAll(rt.path, "{id}", titleIDOf(t, e, "9791090636071"))
	form = url.Values{"csrf": {csrf}}
	switch rt.method + " " + rt.path {
	case "POST /console/books":
		// A new ISBN each time: the audit count makes it differ.
		isbn, err := books.ParseISBN(nextISBN(fmt.Sprintf("97875442%04d", len(e.audits(t))%10000)))
		require.NoError(t, err)
		form.Set("isbn", string(isbn))
		form.Set("title", "活着")
		form.Set("count", "1")
	case "POST /console/books/{id}":
		form.Set("title", "小王子 "+strconv.Itoa(len(e.audits(t))))
		form.Set("price", "12.50")
	case "POST /console/books/{id}/copies":
		form.Set("count", "1")
	case "POST /console/books/{id}/event":
		form.Set("barcode", "A001")
		form.Set("event", sqlite.LoanDamaged)
	case "POST /console/books/stocktake":
		form.Set("barcode", "A003")
	case "POST /console/tv/control/start":
		form.Set("tv", "tv1")
		form.Set("programme", "新闻联播")
		form.Set("category", "新闻")
		form.Set("class", "住宿生")
		form.Set("headcount", "10")
		form.Set("teacher", "李老师")
	case "POST /console/tv/control/stop":
		form.Set("tv", "tv1")
	}
	return path, form, true
}

// nextISBN completes 12 digits with the ISBN-13 check digit.
func nextISBN(d12 string) string {
	sum := 0
	for i, r := range d12 {
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += int(r-'0') * w
	}
	return d12 + strconv.Itoa((10-sum%10)%10)
}

// TestBookAndTVRoutes walks every book and TV route for every role:
// who may use it (written out, not derived from the code), and one audit
// entry per request on the routes that show children's data.
func TestBookAndTVRoutes(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	withTV(t, e, &fakeTV{status: []tv.Status{{Name: "tv1", Power: tv.PowerRelay}}})
	const (
		m = 1 << iota
		p
		i
		x
	)
	want := map[string]int{
		"GET /console/books":                  m | p | i,
		"POST /console/books":                 m,
		"GET /console/books/{id}":             m | p | i,
		"POST /console/books/{id}":            m,
		"POST /console/books/{id}/copies":     m,
		"POST /console/books/{id}/event":      m,
		"GET /console/books/stocktake":        m | p | i,
		"POST /console/books/stocktake":       m | p | i,
		"POST /console/books/stocktake/reset": m | p | i,
		"GET /console/books/stocktake/result": m | p | i,
		"GET /console/tv/control":             m | p | i,
		"POST /console/tv/control/start":      m,
		"POST /console/tv/control/stop":       m,
	}
	bits := map[sqlite.Role]int{sqlite.RoleManager: m, sqlite.RolePrincipal: p, sqlite.RoleInspector: i, sqlite.RoleTechnician: x}
	tried := 0
	for _, role := range sqlite.Roles {
		c, csrf := e.login(t, string(role))
		for _, rt := range e.con.routes {
			path, form, ok := e.bookRouteCase(t, rt, csrf)
			if !ok {
				continue
			}
			who, ok := want[rt.method+" "+rt.path]
			require.True(t, ok, "route %s %s needs a row", rt.method, rt.path)
			tried++
			if rt.method == "GET" {
				form = nil
			}
			t.Run(string(role)+" "+rt.method+" "+rt.path, func(t *testing.T) {
				before := len(e.audits(t))
				res, body := do(t, c, rt.method, e.srv.URL+path, form)
				if who&bits[role] == 0 {
					assert.Equal(t, http.StatusForbidden, res.StatusCode)
					assert.Len(t, e.audits(t), before, "a refusal writes nothing")
					return
				}
				if rt.method == "POST" && rt.path != "/console/books/stocktake" {
					require.Equal(t, http.StatusSeeOther, res.StatusCode, "a change redirects: %s", body)
				} else {
					require.Equal(t, http.StatusOK, res.StatusCode, body)
				}
				if rt.childData {
					as := e.audits(t)
					require.Len(t, as, before+1, "one audit entry per request")
					assert.Equal(t, string(role), as[0].Actor)
				}
			})
		}
	}
	assert.Equal(t, len(want)*len(sqlite.Roles), tried, "every row was tried")
}
