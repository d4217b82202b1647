package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

var _ RegisterStore = (*sqlite.DB)(nil)

// seedRegisters adds a book loan of 王小明, a TV session and two equipment
// events to e's journal.
func seedRegisters(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,册数,条码\n9791090636071,小王子,圣埃克苏佩里,12.50,,A001\n"))
	require.NoError(t, err)
	_, err = e.db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	_, err = e.db.Lend(ctx, sqlite.LendRequest{Child: e.ids["王小明"], Barcode: "A001", Handler: "manager"})
	require.NoError(t, err)
	s := tv.Session{ID: strings.Repeat("ab", 16), TV: "tv1", Room: "活动室", Programme: "CCTV-14", Category: "少儿", Class: "三年级1班",
		Headcount: 20, Teacher: "王老师", Started: t0.Add(-3 * time.Hour), Power: tv.PowerNone, ClockSynced: true}
	require.NoError(t, e.db.TVStarted(ctx, s))
	s.Ended, s.Duration = s.Started.Add(time.Hour), time.Hour
	require.NoError(t, e.db.TVEnded(ctx, s))
	require.NoError(t, e.db.Equipment(ctx, sqlite.EquipmentEvent{Device: "reader1", Kind: "mfrc522", Booth: "b1", Event: sqlite.EquipFault, Detail: "=spi timeout"}))
	require.NoError(t, e.db.Equipment(ctx, sqlite.EquipmentEvent{Device: "reader2", Kind: "mfrc522", Booth: "b2", Event: sqlite.EquipAttached}))
}

const period = "?from=2026-11-01&to=2026-11-30"

func TestRegisterPagesByRole(t *testing.T) {
	e := newEnv(t)
	seedRegisters(t, e)
	type page struct {
		path string
		want []string // in the page of a role that may see it
	}
	pages := []page{
		{"/console/loans" + period, []string{"图书借阅登记表", "小王子", "王小明", "三年级1班"}},
		{"/console/tv" + period, []string{"电视播放节目记录", "CCTV-14", "王老师"}},
		{"/console/equipment" + period, []string{"设备维护/增添/核减记录", "reader1", "故障", "增添/接入"}},
		{"/console/roster" + period, []string{"名册变更记录", "新增学生", "张丽", "五年级2班"}},
		{"/console/help" + period, []string{"求助记录", "未结案", "b1"}},
	}
	// forbidden[role] lists the paths that role gets 403 on.
	forbidden := map[string][]string{
		"technician": {"/console/loans", "/console/tv", "/console/roster", "/console/help"},
		"inspector":  {"/console/help"},
	}
	for _, role := range []string{"manager", "principal", "inspector", "technician"} {
		c, _ := e.login(t, role)
		for _, p := range pages {
			t.Run(role+" "+p.path, func(t *testing.T) {
				res, body := do(t, c, "GET", e.srv.URL+p.path, nil)
				for _, f := range forbidden[role] {
					if strings.HasPrefix(p.path, f+"?") {
						assert.Equal(t, http.StatusForbidden, res.StatusCode)
						for _, s := range []string{"王小明", "张丽", "小王子"} {
							assert.NotContains(t, body, s)
						}
						return
					}
				}
				require.Equal(t, http.StatusOK, res.StatusCode)
				for _, s := range p.want {
					assert.Contains(t, body, s)
				}
				for _, n := range fullNumbers {
					assert.NotContains(t, body, n, "numbers are masked in every register")
				}
			})
		}
	}
	t.Run("technician's equipment register has no child data", func(t *testing.T) {
		c, _ := e.login(t, "technician")
		_, body := do(t, c, "GET", e.srv.URL+"/console/equipment.csv"+period, nil)
		for _, s := range []string{"王小明", "张丽", "三年级"} {
			assert.NotContains(t, body, s)
		}
		assert.Contains(t, body, "reader1")
	})
}

func TestRosterRegisterInspectorSeesNameAndClassOnly(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		role    string
		details bool
	}{{"manager", true}, {"principal", true}, {"inspector", false}} {
		t.Run(tt.role, func(t *testing.T) {
			c, _ := e.login(t, tt.role)
			for _, p := range []string{"/console/roster" + period, "/console/roster" + period + "&print=1", "/console/roster.csv" + period} {
				res, body := do(t, c, "GET", e.srv.URL+p, nil)
				require.Equal(t, http.StatusOK, res.StatusCode, p)
				assert.Contains(t, body, "王小明", p)
				assert.Contains(t, body, "三年级1班", p)
				for _, n := range fullNumbers {
					assert.NotContains(t, body, n, p)
				}
				assert.NotContains(t, body, "DEADBEEF", "card UIDs are never shown in full: %s", p)
				if tt.details {
					assert.Contains(t, body, "138****0001", p)
					assert.Contains(t, body, "卡 …BEEF", p)
				} else {
					for _, s := range []string{"张奶奶", "****", "BEEF", "详情"} {
						assert.NotContains(t, body, s, p)
					}
				}
			}
			res, body := do(t, c, "GET", e.srv.URL+"/console/roster.xlsx"+period, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			f := openXLSX(t, []byte(body))
			rows, err := f.GetRows("名册变更")
			require.NoError(t, err)
			all := ""
			for _, r := range rows {
				all += strings.Join(r, "|") + "\n"
			}
			assert.Contains(t, all, "王小明")
			for _, n := range fullNumbers {
				assert.NotContains(t, all, n)
			}
			if !tt.details {
				assert.NotContains(t, all, "张奶奶")
			}
		})
	}
	t.Run("child filter", func(t *testing.T) {
		c, _ := e.login(t, "manager")
		_, body := do(t, c, "GET", e.srv.URL+"/console/roster.csv"+period+"&child="+itoa(int64(e.ids["张丽"])), nil)
		assert.Contains(t, body, "张丽")
		assert.NotContains(t, body, "王小明")
	})
}

func TestRegisterExports(t *testing.T) {
	e := newEnv(t)
	seedRegisters(t, e)
	c, _ := e.login(t, "principal")

	t.Run("csv: BOM, header, rows, formula guard", func(t *testing.T) {
		res, body := do(t, c, "GET", e.srv.URL+"/console/equipment.csv"+period+"&booth=b1", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
		assert.Contains(t, res.Header.Get("Content-Disposition"), "equipment_2026-11-01_2026-11-30.csv")
		require.True(t, strings.HasPrefix(body, "\xEF\xBB\xBF序号,日期,时间,设备,类型,话机,事件,说明\r\n"), "BOM and header: %q", body[:min(len(body), 80)])
		lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
		require.Len(t, lines, 2, "booth filter keeps b1's event only")
		assert.Contains(t, lines[1], "'=spi timeout", "a cell starting with = is guarded")
		_, body = do(t, c, "GET", e.srv.URL+"/console/loans.csv"+period, nil)
		assert.True(t, strings.HasPrefix(body, "\xEF\xBB\xBF序号,借阅日期,读者姓名"))
		assert.Contains(t, body, "小王子")
	})
	t.Run("xlsx: sheet, titles, header, rows, page setup, frozen header", func(t *testing.T) {
		res, body := do(t, c, "GET", e.srv.URL+"/console/loans.xlsx"+period, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		f := openXLSX(t, []byte(body))
		assert.Equal(t, []string{"借阅登记"}, f.GetSheetList())
		rows, err := f.GetRows("借阅登记")
		require.NoError(t, err)
		require.Len(t, rows, 4)
		assert.Equal(t, school, rows[0][0])
		assert.Equal(t, "图书借阅登记表  2026-11-01 至 2026-11-30", rows[1][0])
		assert.Equal(t, "序号", rows[2][0])
		assert.Equal(t, "书名", rows[2][5])
		assert.Equal(t, "王小明", rows[3][2])
		assert.Equal(t, "小王子", rows[3][5])
		lay, err := f.GetPageLayout("借阅登记")
		require.NoError(t, err)
		require.NotNil(t, lay.Size)
		assert.Equal(t, 9, *lay.Size, "A4")
		assert.Equal(t, "landscape", *lay.Orientation)
		panes, err := f.GetPanes("借阅登记")
		require.NoError(t, err)
		assert.True(t, panes.Freeze)
		assert.Equal(t, 3, panes.YSplit)
		wd, err := f.GetColWidth("借阅登记", "F")
		require.NoError(t, err)
		assert.Equal(t, 22.0, wd)
	})
	t.Run("print view", func(t *testing.T) {
		res, body := do(t, c, "GET", e.srv.URL+"/console/tv"+period+"&print=1", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		for _, s := range []string{school, "电视播放节目记录", "经办人", "负责人", "CCTV-14", `colspan="8"`} {
			assert.Contains(t, body, s)
		}
	})
	t.Run("every view, print and export is audited", func(t *testing.T) {
		before := len(e.audits(t))
		paths := []string{"/console/loans" + period, "/console/loans" + period + "&print=1", "/console/loans.csv" + period,
			"/console/loans.xlsx" + period, "/console/tv" + period, "/console/equipment.xlsx" + period, "/console/roster.csv" + period}
		for _, p := range paths {
			res, _ := do(t, c, "GET", e.srv.URL+p, nil)
			require.Equal(t, http.StatusOK, res.StatusCode, p)
		}
		after := e.audits(t)
		require.Len(t, after, before+len(paths))
		actions := []string{}
		for _, a := range after[:len(paths)] {
			assert.Equal(t, "principal", a.Actor)
			actions = append(actions, a.Action)
		}
		assert.ElementsMatch(t, []string{"view_loans", "print_loans", "export_loans_csv", "export_loans_xlsx", "view_tv",
			"export_equipment_xlsx", "export_roster_csv"}, actions)
		assert.Contains(t, after[0].Detail, "from=2026-11-01 to=2026-11-30")
	})
	t.Run("bad filter", func(t *testing.T) {
		res, _ := do(t, c, "GET", e.srv.URL+"/console/loans?from=yesterday", nil)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	})
}

func TestRegisterPagination(t *testing.T) {
	e := newEnv(t)
	e.con.pageSize = 2
	ctx := context.Background()
	for i := range 5 {
		require.NoError(t, e.db.Equipment(ctx, sqlite.EquipmentEvent{Device: "reader" + itoa(int64(i)), Kind: "mfrc522", Event: sqlite.EquipFault}))
	}
	c, _ := e.login(t, "technician")
	_, body := do(t, c, "GET", e.srv.URL+"/console/equipment"+period+"&page=2", nil)
	assert.Contains(t, body, "第 2 / 3 页")
	assert.Contains(t, body, "reader2")
	assert.NotContains(t, body, "reader0")
	assert.Contains(t, body, "page=3")
	_, body = do(t, c, "GET", e.srv.URL+"/console/equipment"+period+"&print=1", nil)
	assert.Equal(t, 5, strings.Count(body, "mfrc522"), "the print view has every row")
}

func TestHelpCasesPage(t *testing.T) {
	e := newEnv(t)
	mc, mcsrf := e.login(t, "manager")
	pc, pcsrf := e.login(t, "principal")

	_, body := do(t, mc, "GET", e.srv.URL+"/console/today", nil)
	assert.Contains(t, body, "未结案求助")
	assert.Contains(t, body, "王小明 三年级1班", "the open case is on Today")

	_, body = do(t, pc, "GET", e.srv.URL+"/console/help", nil)
	assert.Contains(t, body, "王小明")
	assert.NotContains(t, body, `action="/console/help/c3"`, "a principal reads, no form")
	_, body = do(t, mc, "GET", e.srv.URL+"/console/help", nil)
	assert.Contains(t, body, `action="/console/help/c3"`)

	tests := []struct {
		name   string
		c      *http.Client
		call   string
		form   url.Values
		status int
	}{
		{"principal may not close", pc, "c3", url.Values{"csrf": {pcsrf}, "note": {"x"}, "close": {"1"}}, http.StatusForbidden},
		{"no csrf", mc, "c3", url.Values{"note": {"x"}}, http.StatusForbidden},
		{"empty note", mc, "c3", url.Values{"csrf": {mcsrf}, "note": {" "}}, http.StatusBadRequest},
		{"not a help call", mc, "c1", url.Values{"csrf": {mcsrf}, "note": {"x"}}, http.StatusNotFound},
		{"note", mc, "c3", url.Values{"csrf": {mcsrf}, "note": {"已给奶奶回电"}}, http.StatusSeeOther},
		{"close", mc, "c3", url.Values{"csrf": {mcsrf}, "note": {"家访后结案"}, "close": {"1"}}, http.StatusSeeOther},
		{"closed once", mc, "c3", url.Values{"csrf": {mcsrf}, "note": {"again"}, "close": {"1"}}, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := doFollow(t, tt.c, "POST", e.srv.URL+"/console/help/"+tt.call, tt.form)
			assert.Equal(t, tt.status, res.StatusCode)
			switch tt.name {
			case "empty note":
				assert.Contains(t, body, "请填写跟进说明", "the message in Chinese too")
			case "note":
				assert.Contains(t, body, "已记录跟进", "the help page says what was done")
			case "close":
				assert.Contains(t, body, "已结案")
			}
		})
	}
	_, body = do(t, pc, "GET", e.srv.URL+"/console/help"+period, nil)
	assert.Contains(t, body, "没有未结案的求助")
	assert.Contains(t, body, "家访后结案")
	assert.Contains(t, body, "<td>manager</td>", "closed cases say who closed them")
	_, body = do(t, mc, "GET", e.srv.URL+"/console/today", nil)
	assert.NotContains(t, body, "王小明 三年级1班", "a closed case leaves Today")

	res, csvBody := do(t, pc, "GET", e.srv.URL+"/console/helplog.csv"+period, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.HasPrefix(csvBody, "\xEF\xBB\xBF序号,日期,时间,话机,学生姓名,班级,跟进记录,结案时间,结案人\r\n"))
	assert.Contains(t, csvBody, "manager：已给奶奶回电；")
	assert.Contains(t, csvBody, ",manager\r\n", "the register says who closed the case")
	ic, _ := e.login(t, "inspector")
	res, _ = do(t, ic, "GET", e.srv.URL+"/console/helplog.csv"+period, nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	var notes []string
	for _, a := range e.audits(t) {
		if a.Action == sqlite.ActionHelpNote || a.Action == sqlite.ActionHelpClose {
			assert.Equal(t, "manager", a.Actor)
			notes = append(notes, a.Action)
		}
	}
	assert.Equal(t, []string{sqlite.ActionHelpClose, sqlite.ActionHelpNote}, notes, "follow-ups are journaled, newest first")
}
