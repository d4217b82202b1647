package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// kindsRoster is a roster file with a 留守类型 column: the env's two
// children and four more, one of whom has left.
const kindsRoster = "编号,姓名,性别,班级,状态,留守类型,联系人1,关系1,电话1\n" +
	",王小明,男,三年级1班,在校,父母均外出,王建国,父亲,13800000001\n" +
	"S-017,张丽,女,五年级2班,在校,父亲外出,张奶奶,奶奶,13800000003\n" +
	",李雷,男,三年级1班,在校,单亲外出,李刚,父亲,13900000011\n" +
	",韩梅,女,三年级1班,在校,,韩强,父亲,13900000012\n" +
	",赵晴,女,五年级2班,在校,其他,赵奶奶,奶奶,13900000013\n" +
	",钱程,男,五年级2班,离校,父母均外出,钱伟,父亲,13900000014\n"

// importFile previews content and imports it; it returns the preview.
func importFile(t *testing.T, e *env, c *http.Client, csrf, content string) string {
	t.Helper()
	res, body := e.preview(t, c, csrf, "名册.csv", []byte(content))
	require.Equal(t, http.StatusOK, res.StatusCode)
	m := importIDRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the preview can be imported: %s", body)
	res, _ = do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	return body
}

// TestRosterImportLeftBehind: the preview shows the 留守类型 column and
// reports a bad value on its line; the import records the kinds; a later
// file without the column keeps them, and keeps the call limits a
// manager set (no roster file carries them).
func TestRosterImportLeftBehind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, csrf := e.login(t, "manager")

	// A bad value: shown on its row, nothing written.
	before := e.roster(t)
	bad := strings.Replace(kindsRoster, "单亲外出", "是", 1)
	res, body := e.preview(t, c, csrf, "名册.csv", []byte(bad))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotRegexp(t, importIDRe, body, "no import with a problem")
	assert.Contains(t, body, `<tr class="bad-row" id="line-4">`)
	row4 := body[strings.Index(body, `id="line-4"`):]
	row4 = row4[:strings.Index(row4, "</tr>")]
	assert.Contains(t, row4, "留守类型：留守类型无法识别")
	assert.Equal(t, before, e.roster(t), "nothing written")

	body = importFile(t, e, c, csrf, kindsRoster)
	assert.Contains(t, body, "<th>留守类型</th>", "the preview has the column")
	row2 := body[strings.Index(body, `id="line-2"`):]
	assert.Contains(t, row2[:strings.Index(row2, "</tr>")], `<td class="left-behind">父母均外出</td>`)
	row5 := body[strings.Index(body, `id="line-5"`):]
	assert.Contains(t, row5[:strings.Index(row5, "</tr>")], "未登记")
	ch, err := e.db.Child(ctx, e.ids["张丽"])
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindFather, ch.LeftBehind)

	// A manager sets limits on the form.
	form := url.Values{"csrf": {csrf}, "name": {"张丽"}, "class": {"五年级2班"}, "gender": {"女"}, "extid": {"S-017"},
		"leftbehind": {"father_away"}, "limit": {"9"},
		"c1_name": {"张奶奶"}, "c1_relation": {"奶奶"}, "c1_modes": {"phone"}, "c1_limit": {"4m"}}
	res, _ = do(t, c, "POST", e.srv.URL+"/console/children/"+itoa(int64(ch.ID))+"/edit", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	// The school's usual file, without the column: kinds and limits kept.
	noKinds := regexp.MustCompile(`(?m)^([^,]*,[^,]*,[^,]*,[^,]*,[^,]*),[^,]*,`).ReplaceAllString(kindsRoster, "$1,")
	require.NotContains(t, noKinds, "留守类型")
	body = importFile(t, e, c, csrf, noKinds)
	assert.NotContains(t, body, "<th>留守类型</th>", "no column in the file, none in the preview")
	assert.Contains(t, body, "学生新增 0、更新 0、不变 6", "nothing the file says changed")
	ch, err = e.db.Child(ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindFather, ch.LeftBehind, "kind kept")
	assert.Equal(t, 9*time.Minute, ch.CallLimit, "the child's limit kept")
	cs, err := e.db.Contacts(ctx, ch.ID)
	require.NoError(t, err)
	assert.Equal(t, 4*time.Minute, cs[0].CallLimit, "the contact's limit kept")
}

// TestChildFormLeftBehind: the form offers the kinds, saves the one
// chosen, shows it selected again and on the child's page, refuses an
// unknown value next to its field, and clears it.
func TestChildFormLeftBehind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, csrf := e.login(t, "manager")
	res, body := do(t, c, "GET", e.srv.URL+"/console/children/new", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, s := range []string{`name="leftbehind"`, `<option value="both_away">父母均外出 both parents away</option>`,
		`value="father_away"`, `value="mother_away"`, `value="one_away"`, `value="other"`, "未登记 not recorded"} {
		assert.Contains(t, body, s)
	}

	f := newChildForm(csrf)
	f.Set("leftbehind", "mother_away")
	res, _ = do(t, c, "POST", e.srv.URL+"/console/children/new", f)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	kids, err := e.db.ChildByName(ctx, "陈小雨")
	require.NoError(t, err)
	require.Len(t, kids, 1)
	id := kids[0].ID
	assert.Equal(t, kiosk.LeftBehindMother, kids[0].LeftBehind)

	res, body = do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(id)), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<span id="left-behind">留守类型 母亲外出</span>`, "the child's page")
	res, body = do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(id))+"/edit", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<option value="mother_away" selected>`, "the edit form shows the kind stored")

	// An unknown value: 400, the problem by the field, nothing written.
	edit := newChildForm(csrf)
	edit.Del("c1_phone") // kept
	edit.Del("c2_phone")
	edit.Set("leftbehind", "orphan")
	n := journalLen(t, e)
	res, body = do(t, c, "POST", e.srv.URL+"/console/children/"+itoa(int64(id))+"/edit", edit)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "留守类型 Left-behind：留守类型无法识别", "in the list of problems")
	assert.Equal(t, n, journalLen(t, e), "nothing written")

	// Cleared: not recorded.
	edit.Set("leftbehind", "")
	res, _ = do(t, c, "POST", e.srv.URL+"/console/children/"+itoa(int64(id))+"/edit", edit)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ch, err := e.db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindUnknown, ch.LeftBehind)
	res, body = do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(id)), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<span id="left-behind">留守类型 未登记 not recorded</span>`)
}

// TestQuarterlyLeftBehind: the quarterly report totals active children
// by class and kind (both away, one away with father, mother and not
// said, other, not recorded) with a chart of them, on screen and in
// print; a child who left is not counted.
func TestQuarterlyLeftBehind(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	importFile(t, e, c, csrf, kindsRoster+",孙悦,女,五年级2班,在校,母亲外出,孙强,父亲,13900000015\n")

	for _, path := range []string{"/console/reports/quarterly?q=2026-Q4", "/console/reports/quarterly?q=2026-Q4&print=1"} {
		t.Run(path, func(t *testing.T) {
			res, body := do(t, c, "GET", e.srv.URL+path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.NotContains(t, body, "尚未登记此项", "the 'not recorded yet' message is gone")
			for id, want := range map[string]string{"active": "6", "kind-both": "1", "kind-one": "3", "kind-father": "1",
				"kind-mother": "1", "kind-one-unsaid": "1", "kind-other": "1", "kind-unrecorded": "1"} {
				assert.Contains(t, body, `id="`+id+`">`+want+`<`, "total %s", id)
			}
			kinds := body[strings.Index(body, `id="kinds"`):]
			kinds = kinds[:strings.Index(kinds, "</table>")]
			// 三年级1班: 王小明 both, 李雷 one (not said), 韩梅 not recorded.
			assert.Contains(t, kinds, `<tr><td>三年级1班</td><td class="num">3</td><td class="num">1</td><td class="num">1</td><td class="num">0</td><td class="num">0</td><td class="num">1</td><td class="num">0</td><td class="num">1</td></tr>`)
			// 五年级2班: 张丽 father, 赵晴 other, 孙悦 mother; 钱程 left.
			assert.Contains(t, kinds, `<tr><td>五年级2班</td><td class="num">3</td><td class="num">0</td><td class="num">2</td><td class="num">1</td><td class="num">1</td><td class="num">0</td><td class="num">1</td><td class="num">0</td></tr>`)

			st := parseSVGs(t, body)
			assert.Equal(t, 2, st.Charts, "calls and kinds")
			assert.Equal(t, 2*3+2*4, st.Bars, "3 months and 4 kinds for 2 classes")
			chart := body[strings.Index(body, "各班在册学生留守类型"):]
			for _, s := range []string{"父母均外出", "单亲外出", "其他", "未登记"} {
				assert.Contains(t, chart, s, "legend")
			}
		})
	}
}
