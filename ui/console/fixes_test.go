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
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

func TestRosterImportTooManyRows(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	before := e.roster(t)
	res, body := e.preview(t, c, csrf, "big.csv", rosterCSV(maxRows+1))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "此文件有 5001 行学生，超过上限 5000 行")
	assert.Contains(t, body, "The file has 5001 rows")
	assert.Contains(t, body, `type="file"`, "the form again")
	assert.NotContains(t, body, "确认导入")
	assert.Equal(t, before, e.roster(t))

	res, body = e.preview(t, c, csrf, "ok.csv", rosterCSV(maxRows))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "确认导入", "a roster of the limit is previewed")
	assert.Contains(t, body, "学生新增 5000")
}

func TestRosterImportPreviewOnePass(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	journal, err := e.db.Entries(context.Background(), 0, 1000000)
	require.NoError(t, err)
	// Row 3 takes 王小明's card; rows 2 and 4 are fine: each row says
	// what it would change, and nothing is journaled by the dry run.
	f := "编号,姓名,性别,班级,卡号,联系人1,关系1,电话1\n" +
		"S-017,张丽,女,五年级2班,,张奶奶,奶奶,13800000003\n" +
		"X-1,赵六,,一班,04A1B2C3,赵五,父亲,13800000021\n" +
		"X-2,钱七,,一班,,钱五,母亲,13800000022\n"
	res, body := e.preview(t, c, csrf, "r.csv", []byte(f))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "card 04A1B2C3 belongs to another child")
	row := func(line string) string {
		m := regexp.MustCompile(`(?s)id="line-` + line + `">(.*?)</tr>`).FindStringSubmatch(body)
		require.NotNil(t, m, "row %s", line)
		return m[1]
	}
	assert.Contains(t, row("2"), "无变化 unchanged")
	assert.Contains(t, row("4"), "新学生 new")
	assert.NotContains(t, row("3"), "新学生 new", "a row with a problem says no change")
	after, err := e.db.Entries(context.Background(), 0, 1000000)
	require.NoError(t, err)
	assert.Len(t, after, len(journal)+1, "only the preview's audit entry")
}

func TestStaffCardOnChildPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.db.AddStaff(ctx, "test", "李老师", kiosk.StaffTeacher, "")
	require.NoError(t, err)
	require.NoError(t, e.db.AddStaffCard(ctx, "test", "李老师", "5A000001"))
	c, csrf := e.login(t, "manager")
	res, body := do(t, c, "POST", e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"]))+"/cards",
		url.Values{"csrf": {csrf}, "number": {"5A000001"}})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, body, "教职工卡")
	assert.Contains(t, body, "staff card")
	assert.NotContains(t, body, "另一名学生", "not another child's")
	cards, err := e.db.ChildCards(ctx, e.ids["王小明"])
	require.NoError(t, err)
	assert.Len(t, cards, 1, "not added")
}

func TestHelpCallsApartInReports(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// An answered help call from the help button: no card, so no child
	// and no class.
	at := t0.Add(-3 * time.Hour)
	require.NoError(t, e.db.CallEnded(ctx, kiosk.CallRecord{CallID: "h1", Booth: "b1", Number: "12355", Mode: kiosk.ModePhone, Help: true,
		Started: at, Answered: at.Add(5 * time.Second), Ended: at.Add(125 * time.Second), Billsec: 120 * time.Second,
		Duration: 125 * time.Second, ClockSynced: true, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCallerHangup}))
	// 张丽's answered help call does not make her heard from home.
	require.NoError(t, e.db.CallEnded(ctx, kiosk.CallRecord{CallID: "h2", Booth: "b1", ChildID: e.ids["张丽"], ChildName: "张丽", Class: "五年级2班",
		Number: "12355", Mode: kiosk.ModePhone, Help: true, Started: at, Answered: at.Add(5 * time.Second), Ended: at.Add(65 * time.Second),
		Billsec: 60 * time.Second, Duration: 65 * time.Second, ClockSynced: true, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCallerHangup}))

	from, to, err := monthRange("2026-11", t0, e.con.loc)
	require.NoError(t, err)
	d, err := e.con.monthly(ctx, from, to, t0, kiosk.RoleManager)
	require.NoError(t, err)
	assert.Equal(t, 1, d.Phone, "亲情电话（接通）: 王小明's call only")
	assert.Equal(t, 2, d.Calls, "family calls only")
	assert.Equal(t, 2, d.Answered)
	assert.Equal(t, 4, d.Minutes)
	assert.Equal(t, 3, d.Help, "the seed's unanswered help call and the two")
	assert.Equal(t, 2, d.HelpAnswered)
	assert.Equal(t, 3, d.HelpMinutes)
	for _, r := range d.Classes {
		assert.NotEqual(t, "未分班", r.Class, "a help call is no class's")
	}
	require.Len(t, d.Classes, 2)
	assert.Equal(t, 0, d.Classes[1].Calls, "张丽's help call is not a family call of her class")
	require.Len(t, d.Quiet, 1)
	assert.Equal(t, "张丽", d.Quiet[0].Name, "a help call is not a call home")

	q, err := e.con.quarterly(ctx, time.Date(2026, 10, 1, 0, 0, 0, 0, e.con.loc), time.Date(2027, 1, 1, 0, 0, 0, 0, e.con.loc), t0, "2026-Q4")
	require.NoError(t, err)
	assert.Equal(t, 2, q.Answered, "王小明's two answered family calls")
	assert.Equal(t, 2, q.HelpAnswered)
	assert.Equal(t, []int{0, 2, 0}, q.HelpPerMonth)
	for _, r := range q.Classes {
		assert.NotEqual(t, "未分班", r.Class)
	}

	c, _ := e.login(t, "manager")
	_, body := do(t, c, "GET", e.srv.URL+"/console/reports/monthly?month=2026-11", nil)
	assert.Contains(t, body, `id="help-calls">3<`)
	assert.NotContains(t, body, "未分班")
	_, body = do(t, c, "GET", e.srv.URL+"/console/reports/quarterly?q=2026-Q4", nil)
	assert.Contains(t, body, "求助电话（另计）")
	assert.NotContains(t, body, "未分班")
}

var tickRe = regexp.MustCompile(`<text class="tick"[^>]*>([^<]*)</text>`)

func TestChartTicksAreWholeForCounts(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		want []string
	}{
		{0, []string{"0", "1"}},
		{1, []string{"0", "1"}},
		{2, []string{"0", "1", "2"}},
		{4, []string{"0", "1", "2", "3", "4", "5"}},
		{12, []string{"0", "4", "8", "12", "16", "20"}},
	} {
		svg := string(barChart{Unit: "次", Categories: []string{"一班"}, Series: []barSeries{{"接通", []float64{tc.max}}}}.SVG())
		var got []string
		for _, m := range tickRe.FindAllStringSubmatch(svg, -1) {
			got = append(got, m[1])
		}
		assert.Equal(t, tc.want, got, "max %v", tc.max)
	}
	// Decimals keep the five fractional steps.
	svg := string(barChart{Categories: []string{"一班"}, Series: []barSeries{{"小时", []float64{1}}}, Decimals: 1}.SVG())
	assert.Contains(t, svg, ">0.2<")
}

func TestEnglishOnlyMessagesNowBilingual(t *testing.T) {
	e := newEnv(t)
	c, _ := e.login(t, "manager")
	res, body := do(t, c, "GET", e.srv.URL+"/console/calls?mode=xyz", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "记录类型应为")
	assert.Contains(t, body, "mode must be phone or video")

	assert.Equal(t, "读卡器 1 个，指示灯 1 个，按钮 0 个，继电器 0 个（1 readers, 1 lights, 0 buttons, 0 relays）",
		register.EquipmentDetail("1 readers, 1 lights, 0 buttons, 0 relays"))
	assert.Equal(t, "主板 pi4：读卡器 2 个，指示灯 2 个，按钮 1 个，继电器 0 个，扫码枪 1 个（board pi4: 2 readers, 2 lights, 1 buttons, 0 relays, 1 scanners）",
		register.EquipmentDetail("board pi4: 2 readers, 2 lights, 1 buttons, 0 relays, 1 scanners"))
	assert.Equal(t, "模拟设备 simulated", register.EquipmentDetail("simulated"))
	assert.Equal(t, "spi0.0 模拟设备 simulated", register.EquipmentDetail("spi0.0 simulated"))
	assert.Equal(t, "v2", register.EquipmentDetail("v2"), "anything else as written")

	ctx := context.Background()
	require.NoError(t, e.db.Equipment(ctx, sqlite.EquipmentEvent{Device: "devices", Kind: "config", Event: sqlite.EquipConfigChanged,
		Detail: "1 readers, 1 lights, 0 buttons, 0 relays", Hash: "h1", At: t0.Add(-time.Hour)}))
	require.NoError(t, e.db.Equipment(ctx, sqlite.EquipmentEvent{Device: "reader1", Kind: "reader/sim", Booth: "b1", Event: sqlite.EquipAttached,
		Detail: "simulated", At: t0.Add(-time.Hour)}))
	_, body = do(t, c, "GET", e.srv.URL+"/console/equipment", nil)
	assert.Contains(t, body, "读卡器 1 个，指示灯 1 个")
	assert.Contains(t, body, "模拟设备 simulated")
}

func TestNoStrayStaticPages(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	for _, p := range []string{"/console/static/", "/console/static", "/console/static/.", "/console/static/..%2ftemplates/base.html",
		"/console/static/nothing.css"} {
		res, body := do(t, c, "GET", e.srv.URL+p, nil)
		assert.NotEqual(t, http.StatusOK, res.StatusCode, p)
		assert.NotContains(t, body, "console.css", "no listing at %s", p)
		assert.NotContains(t, body, "{{", "no template at %s", p)
	}
	res, body := do(t, c, "GET", e.srv.URL+"/console/static/console.css", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "the stylesheet is still served")
	assert.True(t, strings.Contains(res.Header.Get("Content-Type"), "text/css"))
	assert.NotEmpty(t, body)
}
