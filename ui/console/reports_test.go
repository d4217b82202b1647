package console

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

// seedReports adds to newEnv's November calls: an answered call of 张丽
// in October (so she is quiet for 14 days but not for the whole term),
// two books lent in November (one returned two days late, one still out
// and overdue), a TV session of 90 minutes in November and one in
// October, and two equipment events in November and one in October.
func seedReports(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	db := e.db
	oct := time.Date(2026, 10, 10, 2, 0, 0, 0, time.UTC)
	cs, err := db.Contacts(ctx, e.ids["张丽"])
	require.NoError(t, err)
	require.NoError(t, db.CallEnded(ctx, kiosk.CallRecord{CallID: "oct1", Booth: "b1", ChildID: e.ids["张丽"], ChildName: "张丽", Class: "五年级2班",
		ContactID: cs[0].ID, ContactName: "张奶奶", Number: cs[0].Phone, Mode: kiosk.ModePhone, Started: oct, Answered: oct.Add(4 * time.Second),
		Ended: oct.Add(10 * time.Minute), Billsec: 596 * time.Second, Duration: 10 * time.Minute, Disposition: kiosk.DispAnswered,
		Cause: kiosk.CauseCallerHangup, ClockSynced: true}))

	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,册数,条码\n" +
		"9791090636071,小王子,圣埃克苏佩里,12.50,,A001\n" +
		"9787532136377,三国演义,罗贯中,45,,A002\n"))
	require.NoError(t, err)
	_, err = db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	rules := books.Same(books.Rules{Location: e.con.loc})
	e.clk.Set(time.Date(2026, 11, 5, 1, 0, 0, 0, time.UTC))
	for _, bc := range []string{"A001", "A002"} {
		_, err := db.Lend(ctx, sqlite.LendRequest{Child: e.ids["王小明"], Barcode: bc, Rules: rules})
		require.NoError(t, err)
	}
	e.clk.Set(time.Date(2026, 11, 14, 1, 0, 0, 0, time.UTC))
	r, err := db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: rules})
	require.NoError(t, err)
	require.Positive(t, r.OverdueDays, "returned late")
	e.clk.Set(t0)

	for i, st := range []time.Time{time.Date(2026, 11, 8, 11, 0, 0, 0, time.UTC), oct} {
		s := tv.Session{ID: strings.Repeat(string(rune('a'+i)), 32), TV: "tv1", Room: "活动室", Programme: "新闻联播",
			Category: "新闻", Class: "三年级1班", Headcount: 20, Teacher: "李老师", Started: st, Power: tv.PowerNone, ClockSynced: true}
		require.NoError(t, db.TVStarted(ctx, s))
		s.Ended, s.Duration, s.Cause = st.Add(90*time.Minute), 90*time.Minute, tv.CauseStop
		require.NoError(t, db.TVEnded(ctx, s))
	}
	for _, ev := range []sqlite.EquipmentEvent{
		{Device: "reader1", Kind: "mfrc522", Booth: "b1", Event: sqlite.EquipFault, Detail: "no answer", At: time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)},
		{Device: "reader1", Kind: "mfrc522", Booth: "b1", Event: sqlite.EquipReplaced, Detail: "v2", At: time.Date(2026, 11, 11, 3, 0, 0, 0, time.UTC)},
		{Device: "light1", Kind: "gpio-light", Booth: "b1", Event: sqlite.EquipAttached, At: oct},
	} {
		require.NoError(t, db.Equipment(ctx, ev))
	}
}

func TestMonthlyFigures(t *testing.T) {
	e := newEnv(t)
	seedReports(t, e)
	from, to, err := monthRange("2026-11", t0, e.con.loc)
	require.NoError(t, err)
	d, err := e.con.monthly(context.Background(), from, to, t0, kiosk.RoleManager)
	require.NoError(t, err)

	assert.Equal(t, 2, d.Calls, "two answered family calls; the help call and the denied tap apart")
	assert.Equal(t, 2, d.Answered)
	assert.Equal(t, 1, d.Denied)
	assert.Equal(t, 4, d.Minutes, "180 s + 60 s")
	assert.Equal(t, 1, d.Callers, "王小明 only; 张丽's call was in October")
	assert.Equal(t, 2, d.Active)
	assert.Equal(t, 1, d.Phone)
	assert.Equal(t, 1, d.Video)
	assert.Equal(t, 1, d.Help)
	assert.Equal(t, 0, d.HelpAnswered)

	require.True(t, d.HasBooks)
	assert.Equal(t, 2, d.Lent)
	assert.Equal(t, 1, d.ReturnedLate)
	assert.Equal(t, 1, d.StillOverdue)
	require.True(t, d.HasTV)
	assert.Equal(t, 1, d.TVSessions, "October's session is not November's")
	assert.Equal(t, "1.5", d.TVHours)
	require.True(t, d.HasEquipment)
	assert.Equal(t, 2, d.Equipment)
	assert.Equal(t, []count{{"故障", 1}, {"更换", 1}}, d.EquipmentByEvent)

	require.Len(t, d.Classes, 2)
	assert.Equal(t, classRow{Class: "三年级1班", Children: 1, Calls: 2, Answered: 2, Minutes: 4, Callers: 1, Phone: 1, Video: 1, CallerShare: "100%"}, d.Classes[0])
	assert.Equal(t, classRow{Class: "五年级2班", Children: 1, Quiet: 1, CallerShare: "0%"}, d.Classes[1])

	require.Len(t, d.Quiet, 1)
	assert.Equal(t, quietChild{ID: e.ids["张丽"], Name: "张丽", Class: "五年级2班", NoneThisTerm: false}, d.Quiet[0],
		"quiet for 14 days, but heard from in October, this term")
	assert.Equal(t, []count{{"五年级2班", 1}}, d.QuietByClass)
	assert.Equal(t, "2026-09-01", d.TermStart)

	t.Run("a past month: quiet as at its end", func(t *testing.T) {
		from, to, err := monthRange("2026-10", t0, e.con.loc)
		require.NoError(t, err)
		d, err := e.con.monthly(context.Background(), from, to, t0, kiosk.RoleManager)
		require.NoError(t, err)
		assert.Equal(t, 1, d.Answered)
		assert.Equal(t, 10, d.Minutes, "596 s rounds to 10 minutes")
		assert.Equal(t, "2026-10-31", d.QuietAsOf)
		require.Len(t, d.Quiet, 2, "王小明's November calls do not count for October; 张丽's was 21 days before its end")
		assert.Equal(t, quietChild{ID: e.ids["王小明"], Name: "王小明", Class: "三年级1班", NoneThisTerm: true}, d.Quiet[0])
		assert.Equal(t, quietChild{ID: e.ids["张丽"], Name: "张丽", Class: "五年级2班", NoneThisTerm: false}, d.Quiet[1])
		assert.Equal(t, 1, d.NoneThisTerm)
	})
}

func TestMonthAndQuarterParsing(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	for _, tc := range []struct {
		in, from, to string
		bad          bool
	}{
		{"", "2026-11-01", "2026-12-01", false},
		{"2026-12", "2026-12-01", "2027-01-01", false},
		{"2026-13", "", "", true},
		{"11/2026", "", "", true},
	} {
		t.Run("month "+tc.in, func(t *testing.T) {
			from, to, err := monthRange(tc.in, t0, loc)
			if tc.bad {
				assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.from, from.Format("2006-01-02"))
			assert.Equal(t, tc.to, to.Format("2006-01-02"))
		})
	}
	for _, tc := range []struct {
		in, from, to, label string
		bad                 bool
	}{
		{"", "2026-10-01", "2027-01-01", "2026-Q4", false},
		{"2026-q1", "2026-01-01", "2026-04-01", "2026-Q1", false},
		{"2026-Q5", "", "", "", true},
		{"Q1-2026", "", "", "", true},
	} {
		t.Run("quarter "+tc.in, func(t *testing.T) {
			from, to, label, err := quarterRange(tc.in, t0, loc)
			if tc.bad {
				assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.from, from.Format("2006-01-02"))
			assert.Equal(t, tc.to, to.Format("2006-01-02"))
			assert.Equal(t, tc.label, label)
		})
	}
}

// svgStats decodes every <svg> element of page as XML and counts its
// bars and category labels; an error if one is not well-formed.
type svgStats struct{ Charts, Bars, Labels int }

var svgRe = regexp.MustCompile(`(?s)<svg .*?</svg>`)

func parseSVGs(t *testing.T, page string) svgStats {
	t.Helper()
	var st svgStats
	for _, s := range svgRe.FindAllString(page, -1) {
		st.Charts++
		dec := xml.NewDecoder(strings.NewReader(s))
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, "well-formed SVG: %s", s)
			se, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			if se.Name.Local == "svg" {
				assert.Equal(t, "http://www.w3.org/2000/svg", se.Name.Space)
			}
			for _, a := range se.Attr {
				if a.Name.Local != "class" {
					continue
				}
				switch {
				case se.Name.Local == "rect" && a.Value == "bar":
					st.Bars++
				case se.Name.Local == "text" && a.Value == "label":
					st.Labels++
				}
			}
		}
	}
	return st
}

func TestBarChartSVG(t *testing.T) {
	for _, tc := range []struct {
		name         string
		chart        barChart
		bars, labels int
		contains     []string
	}{
		{"two series", barChart{Title: "各班通话次数", Unit: "次", Categories: []string{"一年级", "二年级", "三年级"},
			Series: []barSeries{{"拨出", []float64{3, 0, 12}}, {"接通", []float64{2, 0, 9}}}}, 6, 3,
			[]string{`width="170mm"`, "各班通话次数", ">12<", `fill="#808080"`}},
		{"third series hatched", barChart{Categories: []string{"一"}, Series: []barSeries{{"a", []float64{1}}, {"b", []float64{2}}, {"c", []float64{3}}}}, 3, 1,
			[]string{"url(#chart-hatch)"}},
		{"escaped text", barChart{ID: "x", Title: `<&"'>`, Categories: []string{"a<b", "c&d"},
			Series: []barSeries{{"s", []float64{1, 2}}}, WidthMM: 80, HeightMM: 50}, 2, 2,
			[]string{"a&lt;b", "c&amp;d", `width="80mm"`}},
		{"many long classes turn their labels", barChart{Categories: []string{"一年级1班", "一年级2班", "二年级1班", "二年级2班", "三年级1班",
			"三年级2班", "四年级1班", "四年级2班", "五年级1班", "五年级2班", "六年级1班", "六年级2班"},
			Series: []barSeries{{"s", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1000}}}}, 12, 12,
			[]string{"rotate(-35", ">1000<"}},
		{"no data", barChart{Title: "空"}, 0, 0, []string{"本期无数据"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := string(tc.chart.SVG())
			st := parseSVGs(t, s)
			assert.Equal(t, 1, st.Charts)
			assert.Equal(t, tc.bars, st.Bars)
			assert.Equal(t, tc.labels, st.Labels)
			for _, c := range tc.contains {
				assert.Contains(t, s, c)
			}
		})
	}
	assert.Equal(t, 5.0, niceMax(4.2))
	assert.Equal(t, 250.0, niceMax(201))
	assert.Equal(t, 1.0, niceMax(0))
}

func TestReportPages(t *testing.T) {
	e := newEnv(t)
	seedReports(t, e)
	zhangli := "/console/children/" + itoa(int64(e.ids["张丽"]))
	for _, tc := range []struct {
		user, path   string
		status       int
		action       string // audit action; "" none
		bars, labels int
		has, hasNot  []string
	}{
		{"manager", "/console/reports/monthly?month=2026-11", http.StatusOK, "view_report_monthly", 8, 6,
			[]string{"月度报表", `id="calls">2<`, `id="help-calls">1<`, `id="minutes">4<`, `id="lent">2<`, `id="tv-hours">1.5<`, `id="equipment">2<`, zhangli, "本学期有通话", "五年级2班 1 人"}, nil},
		{"principal", "/console/reports/monthly?month=2026-11&print=1", http.StatusOK, "print_report_monthly", 8, 6,
			[]string{`class="print"`, school, "经办人", zhangli}, []string{`<header class="top">`}},
		{"inspector", "/console/reports/monthly?month=2026-11", http.StatusOK, "view_report_monthly", 8, 6,
			[]string{"张丽", "五年级2班", zhangli}, []string{"本学期有通话", "本学期无通话", "张奶奶", "138"}},
		{"technician", "/console/reports/monthly?month=2026-11", http.StatusForbidden, "", 0, 0, nil, []string{"张丽", "五年级"}},
		{"manager", "/console/reports/monthly?month=2026-1x", http.StatusBadRequest, "", 0, 0, []string{"YYYY-MM"}, nil},
		{"manager", "/console/reports/quarterly?q=2026-Q4", http.StatusOK, "view_report_quarterly", 14, 4,
			[]string{"季度报表", `id="active">2<`, `id="answered">3<`, "留守类型", "2026-10 接通"}, nil},
		{"inspector", "/console/reports/quarterly?q=2026-Q4&print=1", http.StatusOK, "print_report_quarterly", 14, 4, []string{"负责人"}, nil},
		{"technician", "/console/reports/quarterly", http.StatusForbidden, "", 0, 0, nil, []string{"五年级"}},
	} {
		t.Run(tc.user+" "+tc.path, func(t *testing.T) {
			c, _ := e.login(t, tc.user)
			before := len(e.audits(t))
			res, body := do(t, c, "GET", e.srv.URL+tc.path, nil)
			require.Equal(t, tc.status, res.StatusCode, body)
			st := parseSVGs(t, body)
			assert.Equal(t, tc.bars, st.Bars, "bars")
			assert.Equal(t, tc.labels, st.Labels, "category labels")
			for _, s := range tc.has {
				assert.Contains(t, body, s)
			}
			for _, s := range tc.hasNot {
				assert.NotContains(t, body, s)
			}
			for _, n := range fullNumbers {
				assert.NotContains(t, body, n, "no number in a report")
			}
			es := e.audits(t)
			if tc.action == "" {
				assert.Len(t, es, before, "nothing shown, nothing audited")
				return
			}
			require.Len(t, es, before+1)
			assert.Equal(t, tc.action, es[0].Action)
			assert.Equal(t, tc.user, es[0].Actor)
		})
	}
}

// The database has every register the reports read.
var (
	_ loanRegisterer  = (*sqlite.DB)(nil)
	_ tvRegisterer    = (*sqlite.DB)(nil)
	_ equipmentLogger = (*sqlite.DB)(nil)
)
