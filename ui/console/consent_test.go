package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

var _ ConsentStore = (*sqlite.DB)(nil)

// seedConsent records a written consent with a note for 王小明; 张丽 has
// none.
func seedConsent(t *testing.T, e *env) {
	t.Helper()
	_, err := e.db.RecordConsent(context.Background(), "manager", sqlite.Consent{ChildID: e.ids["王小明"], Date: "2026-09-03",
		Method: sqlite.ConsentWritten, Relation: "母亲", Note: "家长会签字表第3页"})
	require.NoError(t, err)
}

func TestConsentRegisterByRole(t *testing.T) {
	e := newEnv(t)
	seedConsent(t, e)
	for _, tc := range []struct {
		role              string
		status            int
		notes, form, link bool
	}{
		{"manager", http.StatusOK, true, true, true},
		{"principal", http.StatusOK, true, false, true},
		{"inspector", http.StatusOK, false, false, false},
		{"technician", http.StatusForbidden, false, false, false},
	} {
		t.Run(tc.role, func(t *testing.T) {
			c, _ := e.login(t, tc.role)
			for _, p := range []string{"/console/consent", "/console/consent.csv", "/console/consent.xlsx", "/console/consent?print=1"} {
				res, _ := do(t, c, "GET", e.srv.URL+p, nil)
				assert.Equal(t, tc.status, res.StatusCode, p)
			}
			_, today := do(t, c, "GET", e.srv.URL+"/console/today", nil)
			assert.Equal(t, tc.link, strings.Contains(today, "1 名学生未登记监护人同意"), "Today's warning")
			assert.Equal(t, tc.link, strings.Contains(today, `href="/console/consent?missing=1"`))
			if tc.status != http.StatusOK {
				return
			}
			_, body := do(t, c, "GET", e.srv.URL+"/console/consent?child="+itoa(int64(e.ids["王小明"])), nil)
			assert.Contains(t, body, "王小明")
			assert.Contains(t, body, "已同意")
			assert.Contains(t, body, "2026-09-03")
			assert.Equal(t, tc.notes, strings.Contains(body, "家长会签字表第3页"), "notes")
			assert.Equal(t, tc.notes, strings.Contains(body, "母亲"), "relation")
			assert.Equal(t, tc.form, strings.Contains(body, `action="/console/children/`+itoa(int64(e.ids["王小明"]))+`/consent"`), "record form")
			_, csv := do(t, c, "GET", e.srv.URL+"/console/consent.csv", nil)
			assert.Equal(t, tc.notes, strings.Contains(csv, "家长会签字表第3页"), "notes in CSV")

			_, child := do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(e.ids["张丽"])), nil)
			assert.Equal(t, tc.link, strings.Contains(child, "监护人同意"), "consent section on the child's page")
			assert.Equal(t, tc.form, strings.Contains(child, `name="back" value="child"`), "record form on the child's page")
		})
	}
}

func TestConsentRegisterFiltersAndExports(t *testing.T) {
	e := newEnv(t)
	seedConsent(t, e)
	c, _ := e.login(t, "manager")

	_, body := do(t, c, "GET", e.srv.URL+"/console/consent", nil)
	assert.Contains(t, body, "王小明")
	assert.Contains(t, body, "张丽")
	assert.Regexp(t, `<td>五年级2班</td><td>0</td><td>0</td><td><span class="bad">1</span></td>`, body, "per class counts")
	assert.Regexp(t, `<td>三年级1班</td><td>1</td><td>0</td><td>0</td>`, body)

	_, body = do(t, c, "GET", e.srv.URL+"/console/consent?missing=1", nil)
	assert.Contains(t, body, "<td>张丽</td>")
	assert.NotContains(t, body, "<td>王小明</td>", "missing only")
	_, body = do(t, c, "GET", e.srv.URL+"/console/consent?class="+url.QueryEscape("三年级1班"), nil)
	assert.Contains(t, body, "<td>王小明</td>")
	assert.NotContains(t, body, "<td>张丽</td>")

	res, csv := do(t, c, "GET", e.srv.URL+"/console/consent.csv?missing=1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(csv, "\xEF\xBB\xBF序号,学生姓名,班级,状态,同意日期,方式,监护人关系,撤回日期,登记人,说明\r\n"), "BOM and header")
	cells, err := csvCells([]byte(csv), 10)
	require.NoError(t, err)
	require.Len(t, cells, 1)
	assert.Equal(t, []string{"1", "张丽", "五年级2班", "未登记", "", "", "", "", "", ""}, cells[0])
	assert.Equal(t, "export_consent_csv", e.audits(t)[0].Action)
	assert.Contains(t, e.audits(t)[0].Detail, "missing=true")

	res, x := do(t, c, "GET", e.srv.URL+"/console/consent.xlsx", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	rows, err := openXLSX(t, []byte(x)).GetRows("同意登记")
	require.NoError(t, err)
	require.Len(t, rows, 5, "school, title, header, two children")
	assert.Equal(t, school, rows[0][0])
	assert.Contains(t, rows[1][0], "监护人同意登记表")
	assert.Equal(t, "学生姓名", rows[2][1])
	assert.Equal(t, []string{"1", "王小明", "三年级1班", "已同意", "2026-09-03", "书面签字", "母亲", "", "manager", "家长会签字表第3页"}, rows[3])
	assert.Equal(t, "export_consent_xlsx", e.audits(t)[0].Action)

	_, pr := do(t, c, "GET", e.srv.URL+"/console/consent?print=1", nil)
	assert.Contains(t, pr, school)
	assert.Contains(t, pr, "监护人同意登记表")
	assert.Contains(t, pr, "经办人")
	assert.Equal(t, "print_consent", e.audits(t)[0].Action)

	ci, _ := e.login(t, "inspector")
	_, csv = do(t, ci, "GET", e.srv.URL+"/console/consent.csv", nil)
	assert.True(t, strings.HasPrefix(csv, "\xEF\xBB\xBF序号,学生姓名,班级,状态,日期\r\n"), "inspector: name, class, state, date")
	cells, err = csvCells([]byte(csv), 5)
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "王小明", "三年级1班", "已同意", "2026-09-03"}, cells[0])
}

func TestConsentPost(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.ids["张丽"]
	path := e.srv.URL + "/console/children/" + itoa(int64(id)) + "/consent"
	c, csrf := e.login(t, "manager")
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	history := func() []sqlite.Consent {
		h, err := e.db.ConsentHistory(ctx, id)
		require.NoError(t, err)
		return h
	}

	t.Run("csrf", func(t *testing.T) {
		for _, tok := range []string{"", "wrong"} {
			res, _ := do(t, c, "POST", path, form("csrf", tok, "date", "2026-11-01", "method", "phone", "relation", "奶奶"))
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
		}
		assert.Empty(t, history(), "nothing recorded")
	})
	t.Run("principal refused", func(t *testing.T) {
		cp, pt := e.login(t, "principal")
		res, _ := do(t, cp, "POST", path, form("csrf", pt, "date", "2026-11-01", "method", "phone", "relation", "奶奶"))
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.Empty(t, history())
	})
	t.Run("invalid", func(t *testing.T) {
		for _, f := range []url.Values{
			form("csrf", csrf, "date", "2026-13-01", "method", "phone", "relation", "奶奶"),
			form("csrf", csrf, "date", "2026-11-01", "method", "other", "relation", "奶奶"),
			form("csrf", csrf, "date", "2026-11-01", "method", "phone"),
		} {
			res, _ := do(t, c, "POST", path, f)
			assert.Equal(t, http.StatusBadRequest, res.StatusCode, "%v", f)
		}
		assert.Empty(t, history())
		res, _ := do(t, c, "POST", path, form("csrf", csrf, "withdraw", "1", "date", "2026-11-01"))
		assert.Equal(t, http.StatusConflict, res.StatusCode, "nothing to withdraw")
		res, _ = do(t, c, "POST", e.srv.URL+"/console/children/99999/consent", form("csrf", csrf, "date", "2026-11-01", "method", "phone", "relation", "奶奶"))
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
	})
	t.Run("record, correct, withdraw", func(t *testing.T) {
		_, today := do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Contains(t, today, "2 名学生未登记监护人同意")

		before, err := e.db.Entries(ctx, 0, 100000)
		require.NoError(t, err)
		res, body := doFollow(t, c, "POST", path, form("csrf", csrf, "date", "2026-11-01", "method", "phone", "relation", "奶奶", "note", "电话 9:30"))
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Contains(t, body, "已登记监护人同意")
		assert.Contains(t, body, "电话确认")
		assert.Equal(t, "view_consent", e.audits(t)[0].Action, "the answer is an audited view")
		after, err := e.db.Entries(ctx, 0, 100000)
		require.NoError(t, err)
		require.Len(t, after, len(before)+3, "a roster entry, the manager's audit entry and the view's")
		assert.Equal(t, "consent_recorded", e.audits(t)[1].Action, "the record is audited, naming the manager")
		j := after[len(before)]
		assert.Equal(t, sqlite.KindRoster, j.Kind)
		assert.Contains(t, string(j.Body), `"by":"manager"`)
		assert.NotContains(t, string(j.Body), "奶奶", "no personal data journaled")

		_, today = do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Contains(t, today, "1 名学生未登记监护人同意")

		// A correction from the child's page answers the child's page.
		res, body = doFollow(t, c, "POST", path, form("csrf", csrf, "date", "2026-10-30", "method", "written", "relation", "奶奶", "back", "child"))
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Contains(t, body, "<h1>张丽")
		assert.Contains(t, body, "同意日期 2026-10-30")
		assert.Equal(t, "view_child", e.audits(t)[0].Action)

		res, body = doFollow(t, c, "POST", path, form("csrf", csrf, "withdraw", "1", "date", "2026-11-15"))
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Contains(t, body, "已撤回")
		h := history()
		require.Len(t, h, 3, "every record kept")
		assert.Equal(t, sqlite.ConsentPhone, h[0].Method)
		assert.Equal(t, "2026-10-30", h[1].Date)
		assert.Equal(t, "2026-11-15", h[2].Withdrawn)
		assert.Equal(t, kiosk.ChildID(id), h[2].ChildID)

		_, today = do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Contains(t, today, "2 名学生未登记监护人同意", "a withdrawn consent is no consent")

		_, reg := do(t, c, "GET", e.srv.URL+"/console/roster", nil)
		assert.Contains(t, reg, "登记监护人同意", "the roster changes register names the entries")
		assert.Contains(t, reg, "撤回监护人同意")
	})
	t.Run("no warning when all consented", func(t *testing.T) {
		for _, n := range []string{"王小明", "张丽"} {
			_, err := e.db.RecordConsent(ctx, "manager", sqlite.Consent{ChildID: e.ids[n], Date: "2026-11-16", Method: sqlite.ConsentMeeting, Relation: "父亲"})
			require.NoError(t, err)
		}
		_, today := do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.NotContains(t, today, "未登记监护人同意")
	})
}
