package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
)

// RegisterStore is what the other registers and the help cases need from
// the station's database, beside Store; kiosk/sqlite's *DB implements it.
// A Store that does not implement it gets 501 on those pages.
type RegisterStore interface {
	// LoanRegister returns the book loans lent in [from, to), how late
	// by the rules of each loan's class.
	LoanRegister(ctx context.Context, from, to time.Time, rules books.RulesByClass) ([]register.BookLoan, error)
	// TVSessions returns the TV sessions that started in [from, to).
	TVSessions(ctx context.Context, from, to time.Time) ([]register.TVSession, error)
	// EquipmentRegister returns the equipment events in [from, to).
	EquipmentRegister(ctx context.Context, from, to time.Time) ([]register.Equipment, error)
	// RosterLog returns the roster journal entries written in [from, to).
	RosterLog(ctx context.Context, from, to time.Time) ([]register.RosterChange, error)
	// HelpCases returns the help cases whose call started in [from, to);
	// zero times leave a side open.
	HelpCases(ctx context.Context, from, to time.Time) ([]register.HelpCase, error)
	// HelpFollowUp records a note on a help case and, with close, closes
	// it; EINVALID, ENOTFOUND, ECONFLICT (already closed).
	HelpFollowUp(ctx context.Context, actor, callID, note string, close bool) error
}

func init() {
	pageNames = append(pageNames, "register", "register_print", "helpcases")
}

// regKind is one register served by the generic register pages: its path
// under /console (e.g. "loans": /console/loans, .csv, .xlsx), titles,
// columns, which filters apply and how its rows are loaded as cells.
type regKind struct {
	slug, title, english, sheet string
	access                      access
	childData                   bool
	class, child, booth         bool // filters shown and applied
	widths                      []float64
	// header returns the columns for role.
	header func(role kiosk.Role) []string
	// load returns the rows of f as cells (CSV-guarded), for role.
	load func(ctx context.Context, c *Console, rs RegisterStore, f callFilter, role kiosk.Role) ([][]string, error)
}

// registerRoutes lists the routes of the registers other than calls and of
// the help cases; console.go appends them to routeTable's.
func (c *Console) registerRoutes() []route {
	var out []route
	for _, k := range regKinds {
		k := k
		out = append(out,
			route{"GET", "/console/" + k.slug, k.access, k.childData, func(w http.ResponseWriter, r *http.Request, s *kiosk.Session) { c.regPage(w, r, s, k) }},
			route{"GET", "/console/" + k.slug + ".csv", k.access, k.childData, func(w http.ResponseWriter, r *http.Request, s *kiosk.Session) { c.regCSV(w, r, s, k) }},
			route{"GET", "/console/" + k.slug + ".xlsx", k.access, k.childData, func(w http.ResponseWriter, r *http.Request, s *kiosk.Session) { c.regXLSX(w, r, s, k) }},
		)
	}
	return append(out,
		route{"GET", "/console/help", readAll, true, c.helpCases},
		route{"POST", "/console/help/{call}", readAll, false, c.helpPost},
	)
}

var regKinds = []regKind{
	{slug: "loans", title: "图书借阅登记表", english: "Book loans register", sheet: "借阅登记",
		access: children, childData: true, class: true, child: true,
		widths: []float64{6, 11, 10, 11, 14, 22, 12, 11, 11, 8, 9, 9, 12, 18},
		header: func(kiosk.Role) []string { return append([]string(nil), register.BookLoansHeader...) },
		load:   loadLoans},
	{slug: "tv", title: "电视播放节目记录", english: "TV programmes register", sheet: "电视播放",
		access: children, childData: false, class: true,
		widths: []float64{11, 16, 20, 8, 12, 6, 10, 24},
		header: func(kiosk.Role) []string { return append([]string(nil), register.TVHeader...) },
		load:   loadTV},
	{slug: "equipment", title: "设备维护/增添/核减记录", english: "Equipment register", sheet: "设备记录",
		access: anyone, childData: false, booth: true,
		widths: []float64{6, 11, 9, 12, 12, 8, 10, 40},
		header: func(kiosk.Role) []string { return append([]string(nil), register.EquipmentHeader...) },
		load:   loadEquipment},
	{slug: "roster", title: "名册变更记录", english: "Roster changes", sheet: "名册变更",
		access: children, childData: true, class: true, child: true,
		widths: []float64{6, 11, 9, 14, 10, 11, 40},
		header: rosterHeader,
		load:   loadRoster},
	{slug: "helplog", title: "求助电话处理记录", english: "Help cases register", sheet: "求助记录",
		access: readAll, childData: true, class: true, child: true, booth: true,
		widths: []float64{6, 11, 9, 8, 10, 11, 48, 17, 10},
		header: func(kiosk.Role) []string {
			return []string{"序号", "日期", "时间", "话机", "学生姓名", "班级", "跟进记录", "结案时间", "结案人"}
		},
		load: loadHelpLog},
}

func loadHelpLog(ctx context.Context, c *Console, rs RegisterStore, f callFilter, _ kiosk.Role) ([][]string, error) {
	rows, err := rs.HelpCases(ctx, f.fromT, f.toT)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, hc := range rows {
		if (f.Class != "" && hc.Class != f.Class) || (f.Child != 0 && int64(hc.ChildID) != f.Child) ||
			(f.Booth != "" && hc.Booth != f.Booth) {
			continue
		}
		notes := make([]string, len(hc.Notes))
		for i, n := range hc.Notes {
			notes[i] = n.At.In(c.loc).Format("01-02 15:04") + " " + n.By + "：" + n.Text
		}
		closed := "未结案"
		if !hc.Closed.IsZero() {
			closed = hc.Closed.In(c.loc).Format("2006-01-02 15:04")
		}
		at := hc.Started.In(c.loc)
		out = append(out, []string{strconv.Itoa(len(out) + 1), at.Format("2006-01-02"), at.Format("15:04:05"),
			guardCell(hc.Booth), guardCell(hc.ChildName), guardCell(hc.Class), guardCell(strings.Join(notes, "；")),
			closed, guardCell(hc.ClosedBy)})
	}
	return out, nil
}

// guardCell keeps a spreadsheet from reading a cell as a formula (the
// same rule as kiosk/register's CSV).
func guardCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvCells parses a register's CSV (BOM, header, rows) back into cells,
// header excluded.
func csvCells(b []byte, cols int) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))))
	r.FieldsPerRecord = cols
	all, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("register cells: %w", err)
	}
	return all[1:], nil
}

func loadLoans(ctx context.Context, c *Console, rs RegisterStore, f callFilter, _ kiosk.Role) ([][]string, error) {
	rows, err := rs.LoanRegister(ctx, f.fromT, f.toT, c.rulesFor)
	if err != nil {
		return nil, err
	}
	var name, class string
	if f.Child != 0 {
		ch, err := c.store.Child(ctx, kiosk.ChildID(f.Child))
		if err != nil {
			return nil, err
		}
		name, class = ch.Name, ch.Class
	}
	out := rows[:0]
	for _, r := range rows {
		if (f.Class != "" && r.Class != f.Class) || (f.Child != 0 && (r.ChildName != name || r.Class != class)) {
			continue
		}
		out = append(out, r)
	}
	var buf bytes.Buffer
	if err := register.WriteBookLoansCSV(&buf, out, c.loc); err != nil {
		return nil, err
	}
	return csvCells(buf.Bytes(), len(register.BookLoansHeader))
}

func loadTV(ctx context.Context, c *Console, rs RegisterStore, f callFilter, _ kiosk.Role) ([][]string, error) {
	rows, err := rs.TVSessions(ctx, f.fromT, f.toT)
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		if f.Class != "" && r.Session.Class != f.Class {
			continue
		}
		out = append(out, r)
	}
	var buf bytes.Buffer
	if err := register.WriteTVCSV(&buf, out, c.loc); err != nil {
		return nil, err
	}
	return csvCells(buf.Bytes(), len(register.TVHeader))
}

// loadEquipment is the equipment register's rows, filtered by booth, as
// register.EquipmentRow writes them (the same as `kioskctl devices log`).
func loadEquipment(ctx context.Context, c *Console, rs RegisterStore, f callFilter, _ kiosk.Role) ([][]string, error) {
	rows, err := rs.EquipmentRegister(ctx, f.fromT, f.toT)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, e := range rows {
		if f.Booth != "" && e.Booth != f.Booth {
			continue
		}
		out = append(out, register.EquipmentRow(len(out)+1, e, c.loc))
	}
	return out, nil
}

// rosterHeader: an inspector sees what changed for which child (name and
// class) and when, never the details (contacts, numbers, cards).
func rosterHeader(role kiosk.Role) []string {
	h := []string{"序号", "日期", "时间", "变更", "学生姓名", "班级", "详情"}
	if !mayReveal(role) {
		h = h[:6]
	}
	return h
}

var rosterWords = map[string]string{
	"child_added":     "新增学生",
	"child_updated":   "修改学生信息",
	"child_status":    "学生状态变更",
	"contact_added":   "新增联系人",
	"contact_updated": "修改联系人",
	"contact_removed": "删除联系人",
	"card_added":      "新增卡片",
	"card_enabled":    "启用卡片",
	"card_disabled":   "停用卡片",
	"link_created":    "创建家长链接",
	"link_revoked":    "撤销家长链接",
}

var statusWords = map[string]string{"active": "在校", "left": "离校"}

// rosterDetail says what changed, numbers masked and card UIDs cut to
// their last 4 characters.
func rosterDetail(rc register.RosterChange) string {
	var parts []string
	if rc.Contact != "" || rc.Relation != "" {
		parts = append(parts, strings.TrimSpace(rc.Relation+" "+rc.Contact))
	}
	if rc.Phone != "" {
		parts = append(parts, kiosk.MaskPhone(rc.Phone))
	}
	if rc.Card != "" {
		card := rc.Card
		if len(card) > 4 {
			card = "…" + card[len(card)-4:]
		}
		parts = append(parts, "卡 "+card)
	}
	if rc.Status != "" {
		st := statusWords[rc.Status]
		if st == "" {
			st = rc.Status
		}
		parts = append(parts, "状态 "+st)
	}
	return strings.Join(parts, "；")
}

func loadRoster(ctx context.Context, c *Console, rs RegisterStore, f callFilter, role kiosk.Role) ([][]string, error) {
	rows, err := rs.RosterLog(ctx, f.fromT, f.toT)
	if err != nil {
		return nil, err
	}
	full := mayReveal(role)
	var out [][]string
	for _, rc := range rows {
		if (f.Class != "" && rc.Class != f.Class) || (f.Child != 0 && int64(rc.ChildID) != f.Child) {
			continue
		}
		op := rosterWords[rc.Op]
		if op == "" {
			op = rc.Op
		}
		at := rc.At.In(c.loc)
		row := []string{strconv.Itoa(len(out) + 1), at.Format("2006-01-02"), at.Format("15:04:05"), op,
			guardCell(rc.ChildName), guardCell(rc.Class)}
		if full {
			row = append(row, guardCell(rosterDetail(rc)))
		}
		out = append(out, row)
	}
	return out, nil
}

// regFilter parses a register's filter: the calls register's (from, to,
// class, child, booth, page, print) without its mode.
func (c *Console) regFilter(q url.Values) (callFilter, error) {
	q2 := url.Values{}
	for k, v := range q {
		if k != "mode" {
			q2[k] = v
		}
	}
	return c.parseFilter(q2)
}

func regQuery(f callFilter) url.Values {
	v := f.query()
	v.Del("mode")
	return v
}

func regDetail(f callFilter, rows int) string {
	return fmt.Sprintf("from=%s to=%s class=%q child=%d booth=%q rows=%d", f.From, f.To, f.Class, f.Child, f.Booth, rows)
}

// regRows is the common start of a register's handlers: the store, the
// filter and the rows; false after an error page was written.
func (c *Console) regRows(w http.ResponseWriter, r *http.Request, s *kiosk.Session, k regKind) (callFilter, [][]string, bool) {
	rs, ok := c.store.(RegisterStore)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "此台账不可用 Not available")
		return callFilter{}, nil, false
	}
	f, err := c.regFilter(r.URL.Query())
	if err != nil {
		c.storeError(w, r, s, k.slug+" filter", err)
		return f, nil, false
	}
	if !k.class {
		f.Class = ""
	}
	if !k.child {
		f.Child = 0
	}
	if !k.booth {
		f.Booth = ""
	}
	cells, err := k.load(r.Context(), c, rs, f, s.User.Role)
	if err != nil {
		c.storeError(w, r, s, k.slug, err)
		return f, nil, false
	}
	return f, cells, true
}

type regData struct {
	F                                      callFilter
	Slug, Title, English                   string
	ShowClass, ShowBooth                   bool
	Classes                                []string
	Header                                 []string
	Rows                                   [][]string
	Total, Page, Pages                     int
	Prev, Next                             string
	PrintHref, CSVHref, XLSXHref, BackHref template.URL
	PrintedAt                              string
}

func (c *Console) regPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session, k regKind) {
	f, cells, ok := c.regRows(w, r, s, k)
	if !ok {
		return
	}
	q := regQuery(f).Encode()
	base := "/console/" + k.slug
	d := regData{F: f, Slug: k.slug, Title: k.title, English: k.english, ShowClass: k.class, ShowBooth: k.booth,
		Header: k.header(s.User.Role), Total: len(cells),
		PrintHref: template.URL(base + "?" + q + "&print=1"), CSVHref: template.URL(base + ".csv?" + q),
		XLSXHref: template.URL(base + ".xlsx?" + q), BackHref: template.URL(base + "?" + q),
		PrintedAt: c.now().In(c.loc).Format("2006-01-02 15:04")}
	if f.Child != 0 {
		if ch, err := c.store.Child(r.Context(), kiosk.ChildID(f.Child)); err == nil {
			d.F.ChildName = ch.Name
		}
	}
	action := "view_" + k.slug
	if f.Print {
		action = "print_" + k.slug
		d.Rows = cells
	} else {
		if k.class {
			var err error
			if d.Classes, err = c.store.Classes(r.Context()); err != nil {
				c.internal(w, r, "classes", err)
				return
			}
		}
		d.Pages = max(1, (len(cells)+c.pageSize-1)/c.pageSize)
		d.Page = min(f.Page, d.Pages)
		lo := (d.Page - 1) * c.pageSize
		d.Rows = cells[lo:min(lo+c.pageSize, len(cells))]
		link := func(p int) string {
			v := regQuery(f)
			v.Set("page", strconv.Itoa(p))
			return base + "?" + v.Encode()
		}
		if d.Page > 1 {
			d.Prev = link(d.Page - 1)
		}
		if d.Page < d.Pages {
			d.Next = link(d.Page + 1)
		}
	}
	if !c.audit(w, r, s, action, regDetail(f, len(cells))) {
		return
	}
	if f.Print {
		c.render(w, r, s, http.StatusOK, "register_print", k.title, true, d)
		return
	}
	c.render(w, r, s, http.StatusOK, "register", k.title, false, d)
}

// regExportName is the download's file name, as exportName.
func regExportName(k regKind, f callFilter, ext string) string {
	name := fmt.Sprintf("%s_%s_%s.%s", strings.ReplaceAll(k.title, "/", "-"), f.From, f.To, ext)
	ascii := fmt.Sprintf("%s_%s_%s.%s", k.slug, f.From, f.To, ext)
	return fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s", ascii, url.PathEscape(name))
}

// regCSV exports a register as CSV (RFC 4180, UTF-8 with BOM, CRLF): the
// header line, then the same cells as the page.
func (c *Console) regCSV(w http.ResponseWriter, r *http.Request, s *kiosk.Session, k regKind) {
	f, cells, ok := c.regRows(w, r, s, k)
	if !ok {
		return
	}
	var buf bytes.Buffer
	buf.WriteString("\xEF\xBB\xBF")
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	cw.Write(k.header(s.User.Role))
	cw.WriteAll(cells)
	if err := cw.Error(); err != nil {
		c.internal(w, r, k.slug+" csv", err)
		return
	}
	if !c.audit(w, r, s, "export_"+k.slug+"_csv", regDetail(f, len(cells))) {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", regExportName(k, f, "csv"))
	w.Write(buf.Bytes())
}

// regXLSX exports a register as XLSX, laid out as the calls register's
// (writeTableXLSX).
func (c *Console) regXLSX(w http.ResponseWriter, r *http.Request, s *kiosk.Session, k regKind) {
	f, cells, ok := c.regRows(w, r, s, k)
	if !ok {
		return
	}
	header := k.header(s.User.Role)
	var buf bytes.Buffer
	err := writeTableXLSX(&buf, xlsxTitle{School: c.school, Register: k.title, Range: f.From + " 至 " + f.To},
		k.sheet, header, k.widths[:len(header)], cells)
	if err != nil {
		c.internal(w, r, k.slug+" xlsx", err)
		return
	}
	if !c.audit(w, r, s, "export_"+k.slug+"_xlsx", regDetail(f, len(cells))) {
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", regExportName(k, f, "xlsx"))
	w.Write(buf.Bytes())
}
