package console

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

// seedOverdue lends 小王子 to 王小明 on t0 (due 11-27) and 红楼梦 to 张丽
// on 11-24 (due 12-01), and a third book to 张丽 that comes back; then
// moves the clock to 12-03 (小王子 6 days late, 红楼梦 2).
func seedOverdue(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,册数,条码\n" +
		"9791090636071,小王子,圣埃克苏佩里,12.50,,A001\n9787020002207,红楼梦,曹雪芹,59.70,,A002\n9787532136377,三国演义,罗贯中,45,,A003\n"))
	require.NoError(t, err)
	_, err = e.db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	rules := books.Same(books.Rules{Location: e.con.loc})
	_, err = e.db.Lend(ctx, sqlite.LendRequest{Child: e.ids["王小明"], Barcode: "A001", Rules: rules})
	require.NoError(t, err)
	e.clk.Set(time.Date(2026, 11, 24, 10, 0, 0, 0, e.con.loc))
	for _, code := range []string{"A002", "A003"} {
		_, err = e.db.Lend(ctx, sqlite.LendRequest{Child: e.ids["张丽"], Barcode: code, Rules: rules})
		require.NoError(t, err)
	}
	e.clk.Set(time.Date(2026, 12, 3, 10, 0, 0, 0, e.con.loc))
	_, err = e.db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A003", Rules: rules})
	require.NoError(t, err)
}

var rowRe = regexp.MustCompile(`(?s)<tr data-test="overdue-row">(.*?)</tr>`)

func TestOverdueList(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	tests := []struct {
		role   string
		path   string
		status int
		rows   []string // each row's cells joined by "|"
		audit  string
	}{
		{role: "manager", path: "/console/loans/overdue", status: http.StatusOK, audit: "view_overdue",
			rows: []string{"1|王小明|三年级1班|A001|小王子|2026-11-20|2026-11-27|6", "2|张丽|五年级2班|A002|红楼梦|2026-11-24|2026-12-01|2"}},
		{role: "principal", path: "/console/loans/overdue?class=五年级2班", status: http.StatusOK, audit: "view_overdue",
			rows: []string{"1|张丽|五年级2班|A002|红楼梦|2026-11-24|2026-12-01|2"}},
		{role: "inspector", path: "/console/loans/overdue?class=三年级1班", status: http.StatusOK, audit: "view_overdue",
			rows: []string{"1|王小明|三年级1班|A001|小王子|2026-11-20|2026-11-27|6"}},
		{role: "technician", path: "/console/loans/overdue", status: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			c, _ := e.login(t, tc.role)
			before := len(e.audits(t))
			res, body := do(t, c, "GET", e.srv.URL+tc.path, nil)
			require.Equal(t, tc.status, res.StatusCode)
			if tc.status != http.StatusOK {
				assert.NotContains(t, body, "王小明")
				assert.NotContains(t, body, "小王子")
				return
			}
			var got []string
			for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
				cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(m[1], "<td>"), "</td>"), "</td><td>")
				got = append(got, strings.Join(cells, "|"))
			}
			assert.Equal(t, tc.rows, got)
			assert.NotContains(t, body, "三国演义", "returned books are not overdue")
			after := e.audits(t)
			require.Len(t, after, before+1)
			assert.Equal(t, tc.audit, after[0].Action)
			assert.Equal(t, tc.role, after[0].Actor)
		})
	}
}

func TestOverduePrintedForClassTeacher(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	c, _ := e.login(t, "manager")
	res, body := do(t, c, "GET", e.srv.URL+"/console/loans/overdue?class=三年级1班", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `href="/console/loans/overdue?class=%E4%B8%89%E5%B9%B4%E7%BA%A71%E7%8F%AD&amp;print=1"`, "print link keeps the class")

	res, body = do(t, c, "GET", e.srv.URL+"/console/loans/overdue?class=三年级1班&print=1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, s := range []string{school, "逾期未还图书名单", "截至 2026-12-03 · 三年级1班", "班主任", "小王子", "王小明"} {
		assert.Contains(t, body, s)
	}
	assert.NotContains(t, body, "张丽", "one class only")
	a := e.audits(t)[0]
	assert.Equal(t, "print_overdue", a.Action)
	assert.Contains(t, a.Detail, `class="三年级1班" rows=1`)
}

func TestTodayShowsOverdueCount(t *testing.T) {
	e := newEnv(t)
	seedOverdue(t, e)
	c, _ := e.login(t, "inspector")
	res, body := do(t, c, "GET", e.srv.URL+"/console/today", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Regexp(t, `<a class="tile warn" href="/console/loans/overdue" data-test="overdue"><b>2</b>`, body)

	c, _ = e.login(t, "technician")
	_, body = do(t, c, "GET", e.srv.URL+"/console/today", nil)
	assert.NotContains(t, body, `data-test="overdue"`, "no children's data for a technician")
}

func TestOverdueRows(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 12, d, 9, 0, 0, 0, time.UTC) }
	rows := []register.BookLoan{
		{ChildName: "乙", Class: "二班", Barcode: "B1", OverdueDays: 2},
		{ChildName: "甲", Class: "一班", Barcode: "B2", OverdueDays: 0},
		{ChildName: "丙", Class: "一班", Barcode: "B3", OverdueDays: 5, Returned: day(1)},
		{ChildName: "丁", Class: "一班", Barcode: "B4", OverdueDays: 9, Lost: true},
		{ChildName: "戊", Class: "一班", Barcode: "B5", OverdueDays: 2},
		{ChildName: "己", Class: "三班", Barcode: "B6", OverdueDays: 7},
	}
	var got []string
	for _, r := range overdueRows(rows) {
		got = append(got, r.Barcode)
	}
	assert.Equal(t, []string{"B6", "B5", "B1"}, got, "out and late only; most overdue first, then class")
}
