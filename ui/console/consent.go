package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// ConsentStore is what the guardians' consent register (监护人同意登记,
// PIPL: children under 14) needs beside Store; kiosk/sqlite's *DB
// implements it. A Store that does not implement it gets 501 on the
// register and no consent warning on Today.
type ConsentStore interface {
	// ConsentRegister returns every active child with its current consent.
	ConsentRegister(ctx context.Context) ([]sqlite.ChildConsent, error)
	// ConsentHistory returns a child's consent records, oldest first.
	ConsentHistory(ctx context.Context, id kiosk.ChildID) ([]sqlite.Consent, error)
	// RecordConsent appends a record; EINVALID, ENOTFOUND, EGONE, and
	// ECONFLICT for a record that repeats the child's current one.
	RecordConsent(ctx context.Context, actor string, c sqlite.Consent) (sqlite.Consent, error)
	// WithdrawConsent appends a withdrawal; ECONFLICT without a standing
	// consent.
	WithdrawConsent(ctx context.Context, actor string, id kiosk.ChildID, date string) (sqlite.Consent, error)
	// MissingConsents counts active children without a standing consent.
	MissingConsents(ctx context.Context) (int, error)
}

func init() {
	pageNames = append(pageNames, "consent", "consent_print")
	rosterWords["consent_recorded"] = "登记监护人同意"
	rosterWords["consent_withdrawn"] = "撤回监护人同意"
}

// Consent states as the register shows them.
const (
	consentGiven     = "已同意"
	consentWithdrawn = "已撤回"
	consentMissing   = "未登记"
)

func consentState(k sqlite.Consent) string {
	switch {
	case k.ID == 0:
		return consentMissing
	case k.Withdrawn != "":
		return consentWithdrawn
	}
	return consentGiven
}

// consentHeader: an inspector sees name, class, state and date only.
func consentHeader(role kiosk.Role) []string {
	if !mayReveal(role) {
		return []string{"序号", "学生姓名", "班级", "状态", "日期"}
	}
	return []string{"序号", "学生姓名", "班级", "状态", "同意日期", "方式", "监护人关系", "撤回日期", "登记人", "说明"}
}

var consentWidths = []float64{6, 11, 11, 8, 11, 10, 10, 11, 10, 30}

// consentRow is one child of the register page.
type consentRow struct {
	ID    kiosk.ChildID
	Cells []string
	State string
	Given bool // a standing consent (withdraw offered)
}

// consentCount is one class's counts.
type consentCount struct {
	Class                     string
	Given, Withdrawn, Missing int
}

type consentData struct {
	Class, Today     string
	Missing          bool // only children without a standing consent
	Child            kiosk.ChildID
	ChildName        string
	Classes          []string
	Header           []string
	Rows             []consentRow
	Counts           []consentCount
	Total            consentCount
	History          [][]string // the filtered child's records (full roles)
	Methods          []methodOpt
	CanRecord        bool
	Message          string
	PrintHref        template.URL
	CSVHref          template.URL
	XLSXHref         template.URL
	BackHref         template.URL
	PrintedAt, Title string
	Period           string
}

type methodOpt struct{ Value, Label string }

// consentRoutes lists the consent register's routes; New appends them.
// Posts need no lock here: the store refuses a repeated record or a
// second withdrawal itself (ECONFLICT), for every process on the file.
func (c *Console) consentRoutes() []route {
	return []route{
		{"GET", "/console/consent", children, true, c.consentPage},
		{"GET", "/console/consent.csv", children, true, c.consentCSV},
		{"GET", "/console/consent.xlsx", children, true, c.consentXLSX},
		{"POST", "/console/children/{id}/consent", readAll, true, c.consentPost},
	}
}

// firstConsentDate is the earliest consent or withdrawal date taken: the
// register began long after it, and an older date is a typing mistake
// (1900-01-01).
const firstConsentDate = "2000-01-01"

// checkConsentDate refuses a date ("YYYY-MM-DD") before firstConsentDate
// or after today in the console's zone; what names the date in the
// message. Other malformed dates are left to the store's message.
func (c *Console) checkConsentDate(date, what string) string {
	t, err := time.ParseInLocation("2006-01-02", date, c.loc)
	if err != nil {
		return ""
	}
	today := c.now().In(c.loc).Format("2006-01-02")
	switch {
	case date < firstConsentDate:
		return fmt.Sprintf("%s不能早于 2000-01-01（填写的是 %s）。 The %s date cannot be before 2000-01-01.", what, t.Format("2006-01-02"), consentWhatEN[what])
	case date > today:
		return fmt.Sprintf("%s不能晚于今天 %s。 The %s date cannot be in the future.", what, today, consentWhatEN[what])
	}
	return ""
}

var consentWhatEN = map[string]string{"同意日期": "consent", "撤回日期": "withdrawal"}

// consentQuery is the register's filter: class, missing=1, child.
type consentQuery struct {
	Class   string
	Missing bool
	Child   kiosk.ChildID
	Print   bool
}

func parseConsentQuery(q url.Values) consentQuery {
	f := consentQuery{Class: strings.TrimSpace(q.Get("class")), Missing: q.Get("missing") == "1", Print: q.Get("print") == "1"}
	if id, err := strconv.ParseInt(q.Get("child"), 10, 64); err == nil && id > 0 {
		f.Child = kiosk.ChildID(id)
	}
	return f
}

func (f consentQuery) values() url.Values {
	v := url.Values{}
	if f.Class != "" {
		v.Set("class", f.Class)
	}
	if f.Missing {
		v.Set("missing", "1")
	}
	if f.Child != 0 {
		v.Set("child", strconv.FormatInt(int64(f.Child), 10))
	}
	return v
}

func (f consentQuery) detail(rows int) string {
	return fmt.Sprintf("class=%q missing=%t child=%d rows=%d", f.Class, f.Missing, f.Child, rows)
}

// consentCells turns the register into cells for role, with per-class
// counts over every active child (before the filter).
func consentCells(all []sqlite.ChildConsent, f consentQuery, role kiosk.Role) ([]consentRow, []consentCount, consentCount) {
	full := mayReveal(role)
	byClass := map[string]*consentCount{}
	var total consentCount
	var rows []consentRow
	for _, cc := range all {
		st := consentState(cc.Consent)
		cnt := byClass[cc.Child.Class]
		if cnt == nil {
			cnt = &consentCount{Class: cc.Child.Class}
			byClass[cc.Child.Class] = cnt
		}
		for _, p := range []*consentCount{cnt, &total} {
			switch st {
			case consentGiven:
				p.Given++
			case consentWithdrawn:
				p.Withdrawn++
			default:
				p.Missing++
			}
		}
		if (f.Class != "" && cc.Child.Class != f.Class) || (f.Missing && st == consentGiven) ||
			(f.Child != 0 && cc.Child.ID != f.Child) {
			continue
		}
		k := cc.Consent
		row := []string{strconv.Itoa(len(rows) + 1), guardCell(cc.Child.Name), guardCell(cc.Child.Class), st}
		if full {
			method := ""
			if k.ID != 0 {
				method = k.Method.Words()
			}
			row = append(row, k.Date, method, guardCell(k.Relation), k.Withdrawn, guardCell(k.RecordedBy), guardCell(k.Note))
		} else {
			date := k.Date
			if k.Withdrawn != "" {
				date = k.Withdrawn
			}
			row = append(row, date)
		}
		rows = append(rows, consentRow{ID: cc.Child.ID, Cells: row, State: st, Given: st == consentGiven})
	}
	counts := make([]consentCount, 0, len(byClass))
	for _, p := range byClass {
		counts = append(counts, *p)
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].Class < counts[j].Class })
	return rows, counts, total
}

// consentRows is the common start of the register's handlers; false after
// an error page was written.
func (c *Console) consentRows(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (ConsentStore, consentQuery, []consentRow, []consentCount, consentCount, bool) {
	cs, ok := c.store.(ConsentStore)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "监护人同意登记不可用 Not available")
		return nil, consentQuery{}, nil, nil, consentCount{}, false
	}
	f := parseConsentQuery(r.URL.Query())
	all, err := cs.ConsentRegister(r.Context())
	if err != nil {
		c.internal(w, r, "consent register", err)
		return nil, f, nil, nil, consentCount{}, false
	}
	rows, counts, total := consentCells(all, f, s.User.Role)
	return cs, f, rows, counts, total, true
}

func (c *Console) consentPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	c.consentRender(w, r, s, http.StatusOK, "")
}

// consentRender renders the register (or its print view) with msg on top,
// audited as view_consent or print_consent.
func (c *Console) consentRender(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, msg string) {
	cs, f, rows, counts, total, ok := c.consentRows(w, r, s)
	if !ok {
		return
	}
	now := c.now().In(c.loc)
	q := f.values().Encode()
	d := consentData{Class: f.Class, Missing: f.Missing, Child: f.Child, Today: now.Format("2006-01-02"),
		Header: consentHeader(s.User.Role), Rows: rows, Counts: counts, Total: total,
		CanRecord: s.User.Role == kiosk.RoleManager, Message: msg, Title: "监护人同意登记表",
		PrintHref: template.URL("/console/consent?" + q + "&print=1"), CSVHref: template.URL("/console/consent.csv?" + q),
		XLSXHref: template.URL("/console/consent.xlsx?" + q), BackHref: template.URL("/console/consent?" + q),
		PrintedAt: now.Format("2006-01-02 15:04"), Period: "截至 " + now.Format("2006-01-02")}
	for _, m := range sqlite.ConsentMethods {
		d.Methods = append(d.Methods, methodOpt{string(m), m.Words()})
	}
	for _, cn := range counts {
		d.Classes = append(d.Classes, cn.Class)
	}
	if f.Child != 0 {
		ch, err := c.store.Child(r.Context(), f.Child)
		if err != nil {
			c.storeError(w, r, s, "consent child", err)
			return
		}
		d.ChildName = ch.Name
		if mayReveal(s.User.Role) {
			hist, err := cs.ConsentHistory(r.Context(), f.Child)
			if err != nil {
				c.internal(w, r, "consent history", err)
				return
			}
			for i, k := range hist {
				d.History = append(d.History, []string{strconv.Itoa(i + 1), k.RecordedAt.In(c.loc).Format("2006-01-02 15:04"),
					consentState(k), k.Date, k.Method.Words(), k.Relation, k.Withdrawn, k.RecordedBy, k.Note})
			}
		}
	}
	action := "view_consent"
	if f.Print {
		action = "print_consent"
	}
	if !c.audit(w, r, s, action, f.detail(len(rows))) {
		return
	}
	if f.Print {
		c.render(w, r, s, status, "consent_print", d.Title, true, d)
		return
	}
	c.render(w, r, s, status, "consent", "监护人同意 Consent", false, d)
}

func consentExportName(ext string, day string) string {
	name := fmt.Sprintf("监护人同意登记表_%s.%s", day, ext)
	return fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s", "consent_"+day+"."+ext, url.PathEscape(name))
}

// consentCSV exports the register as CSV (RFC 4180, UTF-8 with BOM,
// CRLF): the header line, then the page's cells, all of them.
func (c *Console) consentCSV(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	_, f, rows, _, _, ok := c.consentRows(w, r, s)
	if !ok {
		return
	}
	var buf bytes.Buffer
	buf.WriteString("\xEF\xBB\xBF")
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	cw.Write(consentHeader(s.User.Role))
	for _, row := range rows {
		cw.Write(row.Cells)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		c.internal(w, r, "consent csv", err)
		return
	}
	if !c.audit(w, r, s, "export_consent_csv", f.detail(len(rows))) {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", consentExportName("csv", c.now().In(c.loc).Format("2006-01-02")))
	w.Write(buf.Bytes())
}

// consentXLSX exports the register as XLSX (writeTableXLSX's layout).
func (c *Console) consentXLSX(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	_, f, rows, _, _, ok := c.consentRows(w, r, s)
	if !ok {
		return
	}
	header := consentHeader(s.User.Role)
	cells := make([][]string, len(rows))
	for i, row := range rows {
		cells[i] = row.Cells
	}
	day := c.now().In(c.loc).Format("2006-01-02")
	var buf bytes.Buffer
	if err := writeTableXLSX(&buf, xlsxTitle{School: c.school, Register: "监护人同意登记表", Range: "截至 " + day},
		"同意登记", header, consentWidths[:len(header)], cells); err != nil {
		c.internal(w, r, "consent xlsx", err)
		return
	}
	if !c.audit(w, r, s, "export_consent_xlsx", f.detail(len(rows))) {
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", consentExportName("xlsx", day))
	w.Write(buf.Bytes())
}

// consentPost records a consent (form: csrf, date YYYY-MM-DD, method,
// relation, note) or, with withdraw=1, a withdrawal (form: csrf, date) for
// the path's child; managers only (403 otherwise). Done, it redirects
// (303, Post/Redirect/Get) with back=child to the child's page, else to
// the register filtered to the child, saying what was done. 400 for an
// invalid form (a date before 2000-01-01 or after today included), 404
// for no such child, 409 for nothing to withdraw or a consent the same as
// the standing one (date, method, relation: a form sent twice), 410 for a
// child who left.
func (c *Console) consentPost(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if s.User.Role != kiosk.RoleManager {
		c.errorPage(w, r, s, http.StatusForbidden, "只有管理员可以登记监护人同意。 Managers only.")
		return
	}
	cs, ok := c.store.(ConsentStore)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "监护人同意登记不可用 Not available")
		return
	}
	id, ok := c.childID(r)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
		return
	}
	date := strings.TrimSpace(r.PostFormValue("date"))
	withdraw := r.PostFormValue("withdraw") == "1"
	what := "同意日期"
	if withdraw {
		what = "撤回日期"
	}
	if msg := c.checkConsentDate(date, what); msg != "" {
		c.errorPage(w, r, s, http.StatusBadRequest, msg)
		return
	}
	var err error
	code := "consent_recorded"
	if withdraw {
		_, err = cs.WithdrawConsent(r.Context(), s.User.Username, id, date)
		code = "consent_withdrawn"
	} else {
		k := sqlite.Consent{ChildID: id, Date: date, Method: sqlite.ConsentMethod(r.PostFormValue("method")),
			Relation: r.PostFormValue("relation"), Note: r.PostFormValue("note")}
		_, err = cs.RecordConsent(r.Context(), s.User.Username, k)
	}
	switch kiosk.ErrorCode(err) {
	case "":
		// The store journals the record; the audit names the manager, as
		// for every change on a child's page.
		if !c.audit(w, r, s, code, fmt.Sprintf("child=%d date=%s", id, date)) {
			return
		}
	case kiosk.ECONFLICT:
		if withdraw {
			c.errorPage(w, r, s, http.StatusConflict, "没有可撤回的同意。 No standing consent to withdraw.")
			return
		}
		c.errorPage(w, r, s, http.StatusConflict, fmt.Sprintf(
			"重复登记：该学生已有同一天（%s）、同一方式、同一监护人的同意记录，未再次登记。 Duplicate: the same consent (date, method, guardian) is already recorded.", date))
		return
	case kiosk.EGONE:
		c.errorPage(w, r, s, http.StatusGone, "该学生已离校。 The child has left.")
		return
	default:
		c.storeError(w, r, s, "record consent", err)
		return
	}
	if r.PostFormValue("back") == "child" {
		seeOther(w, r, childPath(id), code)
		return
	}
	// The register, filtered to the child, says what was done.
	seeOther(w, r, "/console/consent?"+url.Values{"child": {strconv.FormatInt(int64(id), 10)}}.Encode(), code)
}

// missingConsents counts the active children without a standing consent
// for Today; -1 when the store keeps no consent register.
func (c *Console) missingConsents(ctx context.Context) (int, error) {
	cs, ok := c.store.(ConsentStore)
	if !ok {
		return -1, nil
	}
	return cs.MissingConsents(ctx)
}

// consentBox is the child page's consent section (manager and principal).
type consentBox struct {
	State, Date, Method, Relation, Withdrawn, Today string
	Given, Manager                                  bool
	Methods                                         []methodOpt
}

// childConsent returns the child's consent section for the child page;
// nil when the store keeps no consent register or role may not see it.
func (c *Console) childConsent(ctx context.Context, s *kiosk.Session, id kiosk.ChildID) (*consentBox, error) {
	cs, ok := c.store.(ConsentStore)
	if !ok || !mayReveal(s.User.Role) {
		return nil, nil
	}
	hist, err := cs.ConsentHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	b := &consentBox{State: consentMissing, Manager: s.User.Role == kiosk.RoleManager, Today: c.now().In(c.loc).Format("2006-01-02")}
	if len(hist) > 0 {
		k := hist[len(hist)-1]
		b.State, b.Date, b.Method, b.Relation, b.Withdrawn, b.Given = consentState(k), k.Date, k.Method.Words(), k.Relation, k.Withdrawn, k.Given()
	}
	for _, m := range sqlite.ConsentMethods {
		b.Methods = append(b.Methods, methodOpt{string(m), m.Words()})
	}
	return b, nil
}
