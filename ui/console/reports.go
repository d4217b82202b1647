package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The reports (月报, 季报) read more of the journal than Store promises;
// each part asks the store for one of the interfaces below and, when the
// store lacks it, the page says the figure is not available. kiosk/sqlite's
// *DB implements all of them.
type (
	// loanRegisterer is the books register: loans lent in [from, to).
	loanRegisterer interface {
		LoanRegister(ctx context.Context, from, to time.Time, rules books.RulesByClass) ([]register.BookLoan, error)
	}
	// tvRegisterer is the TV register: sessions started in [from, to).
	tvRegisterer interface {
		TVSessions(ctx context.Context, from, to time.Time) ([]register.TVSession, error)
	}
	// equipmentLogger is the equipment register: events in [from, to).
	equipmentLogger interface {
		EquipmentLog(ctx context.Context, from, to time.Time) ([]sqlite.EquipmentEntry, error)
	}
)

// reportPages are the reports' templates, parsed with the others.
var reportPages = []string{"report_monthly", "report_quarterly"}

func init() { pageNames = append(pageNames, reportPages...) }

// maxRoster bounds the children read for a report's per-class totals.
const maxRoster = 100000

// count is a labelled figure of a small table.
type count struct {
	Label string
	N     int
}

// classRow is one class's line of the monthly report. Children counts
// active children; Callers those with at least one answered family call.
// Help calls are not family calls: they are counted apart
// (monthlyData.Help), never in a class's line.
type classRow struct {
	Class                              string
	Children, Calls, Answered, Minutes int
	Callers, Phone, Video, Quiet       int
	CallerShare                        string // Callers / Children, "83%"
}

// quietChild is one line of "every child heard from home".
type quietChild struct {
	ID          kiosk.ChildID
	Name, Class string
	// NoneThisTerm: not one answered call since the term began.
	NoneThisTerm bool
}

// monthlyData is the monthly report (月报) of one calendar month in the
// console's zone. Minutes are answered calls' billsec, rounded to whole
// minutes; calls count family calls that reached the trunk (denied taps
// are counted apart, and help calls on their own line: Help,
// HelpAnswered, HelpMinutes). A help call never makes a child "heard
// from home".
type monthlyData struct {
	Month, Prev, Next, From, To string
	PrintHref                   template.URL
	PrintedAt                   string

	Calls, Answered, Denied, Minutes int
	Callers, Active                  int
	Phone, Video                     int // answered, by mode
	Help, HelpAnswered, HelpMinutes  int
	Classes                          []classRow

	HasBooks                         bool
	Lent, ReturnedLate, StillOverdue int
	HasTV                            bool
	TVSessions                       int
	TVHours                          string
	HasEquipment                     bool
	Equipment                        int
	EquipmentByEvent                 []count

	QuietDays    int
	QuietAsOf    string // the day "the last N days" end
	TermStart    string
	Quiet        []quietChild
	QuietByClass []count
	NoneThisTerm int
	Full         bool // manager, principal: the this-term column

	CallsChart, ModeChart, MinutesChart template.HTML
}

// monthRange parses "YYYY-MM" in loc; empty means now's month.
func monthRange(s string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	var from time.Time
	if s == "" {
		n := now.In(loc)
		from = time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
	} else {
		t, err := time.ParseInLocation("2006-01", s, loc)
		if err != nil {
			return time.Time{}, time.Time{}, kiosk.Errorf(kiosk.EINVALID, "月份格式应为 YYYY-MM（%q）", s)
		}
		from = t
	}
	return from, from.AddDate(0, 1, 0), nil
}

// quarterRange parses "YYYY-Qn" (n 1..4) in loc; empty means now's
// quarter.
func quarterRange(s string, now time.Time, loc *time.Location) (time.Time, time.Time, string, error) {
	var y, q int
	if s == "" {
		n := now.In(loc)
		y, q = n.Year(), (int(n.Month())-1)/3+1
	} else {
		ys, qs, ok := strings.Cut(strings.ToUpper(s), "-Q")
		var err1, err2 error
		y, err1 = strconv.Atoi(ys)
		q, err2 = strconv.Atoi(qs)
		if !ok || err1 != nil || err2 != nil || q < 1 || q > 4 || y < 2000 || y > 2200 {
			return time.Time{}, time.Time{}, "", kiosk.Errorf(kiosk.EINVALID, "季度格式应为 YYYY-Qn（%q）", s)
		}
	}
	from := time.Date(y, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 3, 0), quarterLabel(from), nil
}

// minutes rounds d to whole minutes, halves up.
func minutes(d time.Duration) int { return int((d + 30*time.Second) / time.Minute) }

// roster returns the active children and their classes, sorted.
func (c *Console) roster(ctx context.Context) ([]kiosk.Child, error) {
	all, err := c.store.SearchChildren(ctx, kiosk.ChildQuery{Limit: maxRoster})
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	out := all[:0]
	for _, ch := range all {
		if ch.Status == kiosk.ChildActive || ch.Status == "" {
			out = append(out, ch)
		}
	}
	return out, nil
}

// className is the class shown for a child or call without one.
func className(s string) string {
	if s == "" {
		return "未分班"
	}
	return s
}

// monthly computes the monthly report of [from, to), as at now, for role.
// One calls query covers both the month and the current term (for "every
// child heard from home"); the quiet list is as at the end of the month
// or now, whichever is earlier.
func (c *Console) monthly(ctx context.Context, from, to, now time.Time, role kiosk.Role) (monthlyData, error) {
	d := monthlyData{
		Month: from.Format("2006-01"), Prev: from.AddDate(0, -1, 0).Format("2006-01"), Next: to.Format("2006-01"),
		From: from.Format("2006-01-02"), To: to.AddDate(0, 0, -1).Format("2006-01-02"),
		PrintedAt: now.In(c.loc).Format("2006-01-02 15:04"), QuietDays: c.quietDays, Full: mayReveal(role),
	}
	asOf := now
	if to.Before(asOf) {
		asOf = to
	}
	quietSince := asOf.AddDate(0, 0, -c.quietDays)
	term := c.termStart(asOf.In(c.loc).Add(-time.Nanosecond))
	d.QuietAsOf = asOf.In(c.loc).Add(-time.Nanosecond).Format("2006-01-02")
	d.TermStart = term.Format("2006-01-02")
	lo := from
	for _, t := range []time.Time{term, quietSince} {
		if t.Before(lo) {
			lo = t
		}
	}
	kids, err := c.roster(ctx)
	if err != nil {
		return d, err
	}
	calls, err := c.store.Calls(ctx, lo, to)
	if err != nil {
		return d, fmt.Errorf("monthly report: calls: %w", err)
	}

	byClass := map[string]*classRow{}
	row := func(class string) *classRow {
		class = className(class)
		r, ok := byClass[class]
		if !ok {
			r = &classRow{Class: class}
			byClass[class] = r
		}
		return r
	}
	for _, k := range kids {
		row(k.Class).Children++
	}
	d.Active = len(kids)
	callers := map[kiosk.ChildID]bool{}
	heardRecently := map[kiosk.ChildID]bool{}
	heardThisTerm := map[kiosk.ChildID]bool{}
	var billsec, helpBill time.Duration
	classBill := map[string]time.Duration{}
	for _, call := range calls {
		answered := call.Disposition == kiosk.DispAnswered
		if answered && !call.Help && call.ChildID != 0 && call.Started.Before(asOf) {
			if !call.Started.Before(quietSince) {
				heardRecently[call.ChildID] = true
			}
			if !call.Started.Before(term) {
				heardThisTerm[call.ChildID] = true
			}
		}
		if call.Started.Before(from) {
			continue
		}
		if call.Disposition == kiosk.DispDenied {
			d.Denied++
			continue
		}
		if call.Help {
			d.Help++
			if answered {
				d.HelpAnswered++
				helpBill += call.Billsec
			}
			continue
		}
		r := row(call.Class)
		d.Calls++
		r.Calls++
		if !answered {
			continue
		}
		d.Answered++
		r.Answered++
		billsec += call.Billsec
		classBill[r.Class] += call.Billsec
		if call.Mode == kiosk.ModeVideo {
			d.Video++
			r.Video++
		} else {
			d.Phone++
			r.Phone++
		}
		if call.ChildID != 0 && !callers[call.ChildID] {
			callers[call.ChildID] = true
			r.Callers++
		}
	}
	d.Minutes = minutes(billsec)
	d.HelpMinutes = minutes(helpBill)
	d.Callers = len(callers)

	quietByClass := map[string]int{}
	for _, k := range kids {
		if heardRecently[k.ID] {
			continue
		}
		q := quietChild{ID: k.ID, Name: k.Name, Class: className(k.Class), NoneThisTerm: !heardThisTerm[k.ID]}
		if q.NoneThisTerm {
			d.NoneThisTerm++
		}
		d.Quiet = append(d.Quiet, q)
		quietByClass[q.Class]++
		row(k.Class).Quiet++
	}
	// Classes sorted by name; per-class counts only, never a ranking of
	// children.
	names := make([]string, 0, len(byClass))
	for n := range byClass {
		names = append(names, n)
	}
	sort.Strings(names)
	var catCalls, catAnswered, catMinutes []float64
	for _, n := range names {
		r := byClass[n]
		r.Minutes = minutes(classBill[n])
		if r.Children > 0 {
			r.CallerShare = fmt.Sprintf("%d%%", int(math.Round(100*float64(r.Callers)/float64(r.Children))))
		} else {
			r.CallerShare = "—"
		}
		d.Classes = append(d.Classes, *r)
		catCalls = append(catCalls, float64(r.Calls))
		catAnswered = append(catAnswered, float64(r.Answered))
		catMinutes = append(catMinutes, float64(r.Minutes))
		if quietByClass[n] > 0 {
			d.QuietByClass = append(d.QuietByClass, count{n, quietByClass[n]})
		}
	}
	d.CallsChart = barChart{ID: "calls", Title: "各班通话次数 " + d.Month, Unit: "次", Categories: names,
		Series: []barSeries{{"拨出", catCalls}, {"接通", catAnswered}}}.SVG()
	d.MinutesChart = barChart{ID: "minutes", Title: "各班通话分钟 " + d.Month, Unit: "分钟", Categories: names,
		Series: []barSeries{{"分钟", catMinutes}}}.SVG()
	d.ModeChart = barChart{ID: "mode", Title: "视频与电话（接通次数）", Unit: "次", Categories: []string{"亲情电话", "视频通话"},
		Series: []barSeries{{"接通", []float64{float64(d.Phone), float64(d.Video)}}}, WidthMM: 80, HeightMM: 60}.SVG()

	if err := c.monthlyExtras(ctx, &d, from, to); err != nil {
		return d, err
	}
	return d, nil
}

// monthlyExtras fills the books, TV and equipment figures from whichever
// registers the store has.
func (c *Console) monthlyExtras(ctx context.Context, d *monthlyData, from, to time.Time) error {
	if s, ok := c.store.(loanRegisterer); ok {
		// Each class's rules (Opts.BookRules), as the loans register and
		// the overdue list count them, so the figures agree.
		loans, err := s.LoanRegister(ctx, from, to, c.rulesFor)
		if err != nil {
			return fmt.Errorf("monthly report: loans: %w", err)
		}
		d.HasBooks, d.Lent = true, len(loans)
		for _, l := range loans {
			switch {
			case !l.Returned.IsZero() && l.OverdueDays > 0:
				d.ReturnedLate++
			case l.Returned.IsZero() && !l.Lost && l.OverdueDays > 0:
				d.StillOverdue++
			}
		}
	}
	if s, ok := c.store.(tvRegisterer); ok {
		tvs, err := s.TVSessions(ctx, from, to)
		if err != nil {
			return fmt.Errorf("monthly report: tv: %w", err)
		}
		var total time.Duration
		for _, t := range tvs {
			total += t.Duration
		}
		d.HasTV, d.TVSessions = true, len(tvs)
		d.TVHours = strconv.FormatFloat(total.Hours(), 'f', 1, 64)
	}
	if s, ok := c.store.(equipmentLogger); ok {
		es, err := s.EquipmentLog(ctx, from, to)
		if err != nil {
			return fmt.Errorf("monthly report: equipment: %w", err)
		}
		d.HasEquipment, d.Equipment = true, len(es)
		n := map[string]int{}
		for _, e := range es {
			n[e.Event]++
		}
		for _, ev := range []string{sqlite.EquipAttached, sqlite.EquipFault, sqlite.EquipRecovered, sqlite.EquipReplaced, sqlite.EquipConfigChanged} {
			if n[ev] > 0 {
				d.EquipmentByEvent = append(d.EquipmentByEvent, count{reportEquipWords[ev], n[ev]})
			}
		}
	}
	return nil
}

var reportEquipWords = map[string]string{
	sqlite.EquipAttached:      "接入",
	sqlite.EquipFault:         "故障",
	sqlite.EquipRecovered:     "恢复",
	sqlite.EquipReplaced:      "更换",
	sqlite.EquipConfigChanged: "配置变更",
}

// monthlyReport serves GET /console/reports/monthly?month=YYYY-MM[&print=1]
// to managers, principals and inspectors (inspectors: the quiet list
// shows name and class only); every view and print is audited.
func (c *Console) monthlyReport(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	q := r.URL.Query()
	now := c.now()
	from, to, err := monthRange(q.Get("month"), now, c.loc)
	if err != nil {
		c.storeError(w, r, s, "monthly report", err)
		return
	}
	d, err := c.monthly(r.Context(), from, to, now, s.User.Role)
	if err != nil {
		c.internal(w, r, "monthly report", err)
		return
	}
	print := q.Get("print") == "1"
	d.PrintHref = template.URL("/console/reports/monthly?month=" + d.Month + "&print=1")
	action := "view_report_monthly"
	if print {
		action = "print_report_monthly"
	}
	if !c.audit(w, r, s, action, fmt.Sprintf("month=%s quiet=%d", d.Month, len(d.Quiet))) {
		return
	}
	c.render(w, r, s, http.StatusOK, "report_monthly", "月度报表 "+d.Month, print, d)
}

// quarterLabel is the "YYYY-Qn" of the quarter containing t.
func quarterLabel(t time.Time) string {
	return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

// quarterRow is one class's line of the quarterly report.
type quarterRow struct {
	Class         string
	Active, Left  int
	Boys, Girls   int
	Kinds         leftBehindCounts // active children by kind of left-behind
	CallsPerMonth []int            // answered calls, one per month of the quarter
	AnsweredTotal int
}

// leftBehindCounts are active children by kind of left-behind
// (kiosk.LeftBehindKind): Both away; One away, Father, Mother and
// OneUnsaid (单亲外出, not said which) summing to One; Other; Unrecorded.
type leftBehindCounts struct {
	Both, One, Father, Mother, OneUnsaid, Other, Unrecorded int
}

// add counts one active child of kind k.
func (n *leftBehindCounts) add(k kiosk.LeftBehindKind) {
	switch k {
	case kiosk.LeftBehindBoth:
		n.Both++
	case kiosk.LeftBehindFather:
		n.One++
		n.Father++
	case kiosk.LeftBehindMother:
		n.One++
		n.Mother++
	case kiosk.LeftBehindOne:
		n.One++
		n.OneUnsaid++
	case kiosk.LeftBehindOther:
		n.Other++
	default:
		n.Unrecorded++
	}
}

// quarterlyData is the quarterly report (季报): the roster by class (and
// by kind of left-behind, active children only) and answered family
// calls per class per month; answered help calls are counted on their own
// line (HelpPerMonth, HelpAnswered), never in a class's.
type quarterlyData struct {
	Quarter, Prev, Next string
	Months              []string // "2026-10", ...
	From, To            string
	PrintHref           template.URL
	PrintedAt           string
	Classes             []quarterRow
	Active, Left        int
	Boys, Girls         int
	Kinds               leftBehindCounts
	Answered            int
	HelpPerMonth        []int // answered help calls, one per month
	HelpAnswered        int
	Chart               template.HTML
	KindsChart          template.HTML // active children by class and kind
}

func (c *Console) quarterly(ctx context.Context, from, to, now time.Time, label string) (quarterlyData, error) {
	d := quarterlyData{Quarter: label, From: from.Format("2006-01-02"), To: to.AddDate(0, 0, -1).Format("2006-01-02"),
		PrintedAt: now.In(c.loc).Format("2006-01-02 15:04"), HelpPerMonth: make([]int, 3)}
	d.Prev, d.Next = quarterLabel(from.AddDate(0, -3, 0)), quarterLabel(to)
	for m := 0; m < 3; m++ {
		d.Months = append(d.Months, from.AddDate(0, m, 0).Format("2006-01"))
	}
	all, err := c.store.SearchChildren(ctx, kiosk.ChildQuery{Limit: maxRoster})
	if err != nil {
		return d, fmt.Errorf("quarterly report: roster: %w", err)
	}
	byClass := map[string]*quarterRow{}
	row := func(class string) *quarterRow {
		class = className(class)
		r, ok := byClass[class]
		if !ok {
			r = &quarterRow{Class: class, CallsPerMonth: make([]int, 3)}
			byClass[class] = r
		}
		return r
	}
	for _, ch := range all {
		r := row(ch.Class)
		if ch.Status == kiosk.ChildLeft {
			r.Left++
			d.Left++
			continue
		}
		r.Active++
		d.Active++
		r.Kinds.add(ch.LeftBehind)
		d.Kinds.add(ch.LeftBehind)
		switch ch.Gender {
		case "男":
			r.Boys++
			d.Boys++
		case "女":
			r.Girls++
			d.Girls++
		}
	}
	calls, err := c.store.Calls(ctx, from, to)
	if err != nil {
		return d, fmt.Errorf("quarterly report: calls: %w", err)
	}
	for _, call := range calls {
		if call.Disposition != kiosk.DispAnswered {
			continue
		}
		st := call.Started.In(c.loc)
		m := (int(st.Month()) - int(from.Month()) + 12) % 12
		if m > 2 {
			continue
		}
		if call.Help {
			d.HelpPerMonth[m]++
			d.HelpAnswered++
			continue
		}
		row(call.Class).CallsPerMonth[m]++
		row(call.Class).AnsweredTotal++
		d.Answered++
	}
	names := make([]string, 0, len(byClass))
	for n := range byClass {
		names = append(names, n)
	}
	sort.Strings(names)
	series := make([]barSeries, 3)
	for m := range series {
		series[m].Name = d.Months[m]
	}
	kinds := []barSeries{{Name: "父母均外出"}, {Name: "单亲外出"}, {Name: "其他"}, {Name: "未登记"}}
	for _, n := range names {
		r := byClass[n]
		d.Classes = append(d.Classes, *r)
		for m := range series {
			series[m].Values = append(series[m].Values, float64(r.CallsPerMonth[m]))
		}
		for i, v := range []int{r.Kinds.Both, r.Kinds.One, r.Kinds.Other, r.Kinds.Unrecorded} {
			kinds[i].Values = append(kinds[i].Values, float64(v))
		}
	}
	d.Chart = barChart{ID: "quarter", Title: "各班每月接通通话次数 " + label, Unit: "次", Categories: names, Series: series, WidthMM: 250, HeightMM: 90}.SVG()
	d.KindsChart = barChart{ID: "kinds", Title: "各班在册学生留守类型 " + label, Unit: "人", Categories: names, Series: kinds, WidthMM: 250, HeightMM: 90}.SVG()
	return d, nil
}

// quarterlyReport serves GET /console/reports/quarterly?q=YYYY-Qn[&print=1]
// to managers, principals and inspectors; audited.
func (c *Console) quarterlyReport(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	q := r.URL.Query()
	now := c.now()
	from, to, label, err := quarterRange(q.Get("q"), now, c.loc)
	if err != nil {
		c.storeError(w, r, s, "quarterly report", err)
		return
	}
	d, err := c.quarterly(r.Context(), from, to, now, label)
	if err != nil {
		c.internal(w, r, "quarterly report", err)
		return
	}
	print := q.Get("print") == "1"
	d.PrintHref = template.URL("/console/reports/quarterly?q=" + label + "&print=1")
	action := "view_report_quarterly"
	if print {
		action = "print_report_quarterly"
	}
	if !c.audit(w, r, s, action, "quarter="+label) {
		return
	}
	c.render(w, r, s, http.StatusOK, "report_quarterly", "季度报表 "+label, print, d)
}
