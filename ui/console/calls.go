package console

import (
	"bufio"
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
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

// registerTitles are the registers' names on the school's paper forms.
var registerTitles = map[kiosk.Mode]string{
	kiosk.ModePhone: "亲情电话通话记录",
	kiosk.ModeVideo: "电脑视频交流记录",
}

func registerHeader() []string { return append([]string(nil), register.Header...) }

// callFilter is the calls register's filter, from the query string:
// mode=phone|video (default phone), from and to as YYYY-MM-DD in the
// console's zone, both inclusive (default: the current month up to
// today), class (exact), child (a child id), booth (exact) and page
// (1-based).
type callFilter struct {
	Mode           kiosk.Mode
	From, To       string
	Class, Booth   string
	Child          int64
	Page           int
	fromT, toT     time.Time // [fromT, toT)
	ChildName      string
	Print, Numbers bool
}

func (c *Console) parseFilter(q url.Values) (callFilter, error) {
	f := callFilter{
		Mode:  kiosk.Mode(q.Get("mode")),
		From:  strings.TrimSpace(q.Get("from")),
		To:    strings.TrimSpace(q.Get("to")),
		Class: strings.TrimSpace(q.Get("class")),
		Booth: strings.TrimSpace(q.Get("booth")),
		Print: q.Get("print") == "1",
	}
	switch f.Mode {
	case "":
		f.Mode = kiosk.ModePhone
	case kiosk.ModePhone, kiosk.ModeVideo:
	default:
		return f, kiosk.Errorf(kiosk.EINVALID, "记录类型应为 phone（亲情电话）或 video（视频交流）。 mode must be phone or video")
	}
	today := c.dayStart(c.now())
	if f.From == "" {
		f.From = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, c.loc).Format("2006-01-02")
	}
	if f.To == "" {
		f.To = today.Format("2006-01-02")
	}
	var err error
	if f.fromT, err = time.ParseInLocation("2006-01-02", f.From, c.loc); err != nil {
		return f, kiosk.Errorf(kiosk.EINVALID, "起始日期格式应为 YYYY-MM-DD (from)")
	}
	to, err := time.ParseInLocation("2006-01-02", f.To, c.loc)
	if err != nil {
		return f, kiosk.Errorf(kiosk.EINVALID, "结束日期格式应为 YYYY-MM-DD (to)")
	}
	f.toT = to.AddDate(0, 0, 1)
	if !f.fromT.Before(f.toT) {
		return f, kiosk.Errorf(kiosk.EINVALID, "起始日期晚于结束日期 (from after to)")
	}
	if s := strings.TrimSpace(q.Get("child")); s != "" {
		if f.Child, err = strconv.ParseInt(s, 10, 64); err != nil || f.Child <= 0 {
			return f, kiosk.Errorf(kiosk.EINVALID, "学生编号应为正整数。 child must be a child's number")
		}
	}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	if f.Page < 1 {
		f.Page = 1
	}
	return f, nil
}

// query returns the filter as a query string (without page and print).
func (f callFilter) query() url.Values {
	v := url.Values{"mode": {string(f.Mode)}, "from": {f.From}, "to": {f.To}}
	if f.Class != "" {
		v.Set("class", f.Class)
	}
	if f.Booth != "" {
		v.Set("booth", f.Booth)
	}
	if f.Child != 0 {
		v.Set("child", strconv.FormatInt(f.Child, 10))
	}
	return v
}

// detail is the filter as an audit detail: what was looked at, without
// names.
func (f callFilter) detail(rows int) string {
	return fmt.Sprintf("mode=%s from=%s to=%s class=%q child=%d booth=%q rows=%d", f.Mode, f.From, f.To, f.Class, f.Child, f.Booth, rows)
}

// callPager is the calls register read filtered and paged by the
// database (kiosk/sqlite's *DB): what the register pages and exports use
// when the Store has it; otherwise they filter Calls' rows themselves
// (filteredCalls).
type callPager interface {
	CountCalls(ctx context.Context, q sqlite.CallQuery) (int, error)
	EachCall(ctx context.Context, q sqlite.CallQuery, offset, limit int, fn func(register.Call) error) error
}

// callQuery is f as a query of the calls register.
func (f callFilter) callQuery() sqlite.CallQuery {
	return sqlite.CallQuery{From: f.fromT, To: f.toT, Mode: f.Mode, Class: f.Class, Booth: f.Booth, Child: kiosk.ChildID(f.Child)}
}

// countCalls returns how many rows f matches.
func (c *Console) countCalls(r *http.Request, f callFilter) (int, error) {
	if p, ok := c.store.(callPager); ok {
		return p.CountCalls(r.Context(), f.callQuery())
	}
	all, err := c.filteredCalls(r, f)
	return len(all), err
}

// callRows returns the rows of f from the offset-th (0-based), at most
// limit of them (limit < 0: all). With a callPager only those rows are
// read; otherwise filteredCalls'.
func (c *Console) callRows(r *http.Request, f callFilter, offset, limit int) ([]register.Call, error) {
	p, ok := c.store.(callPager)
	if !ok {
		all, err := c.filteredCalls(r, f)
		if err != nil {
			return nil, err
		}
		lo, hi := min(max(offset, 0), len(all)), len(all)
		if limit >= 0 {
			hi = min(lo+limit, hi)
		}
		return all[lo:hi], nil
	}
	var rows []register.Call
	err := p.EachCall(r.Context(), f.callQuery(), offset, limit, func(row register.Call) error {
		rows = append(rows, row)
		return nil
	})
	return rows, err
}

// callChunk is how many rows eachCallCells turns into cells at a time.
const callChunk = 1000

// eachCallCells calls fn with every row of f in register order and its
// cells (registerCells', numbered from 1), reading and converting
// callChunk rows at a time, so that an export of a decade never holds
// more; it returns the number of rows. fn's error stops the walk.
func (c *Console) eachCallCells(r *http.Request, f callFilter, fn func(cells []string, row register.Call) error) (int, error) {
	var (
		chunk []register.Call
		n     int
	)
	flush := func() error {
		cells, err := registerCells(chunk, c.loc)
		if err != nil {
			return err
		}
		for i, row := range chunk {
			n++
			cells[i][0] = strconv.Itoa(n)
			if err := fn(cells[i], row); err != nil {
				return err
			}
		}
		chunk = chunk[:0]
		return nil
	}
	add := func(row register.Call) error {
		chunk = append(chunk, row)
		if len(chunk) < callChunk {
			return nil
		}
		return flush()
	}
	if p, ok := c.store.(callPager); ok {
		if err := p.EachCall(r.Context(), f.callQuery(), 0, -1, add); err != nil {
			return n, err
		}
	} else {
		all, err := c.filteredCalls(r, f)
		if err != nil {
			return 0, err
		}
		for _, row := range all {
			if err := add(row); err != nil {
				return n, err
			}
		}
	}
	if len(chunk) > 0 {
		if err := flush(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// filteredCalls loads the register rows matching f, in register order,
// filtering Calls' rows (for a Store that is not a callPager).
func (c *Console) filteredCalls(r *http.Request, f callFilter) ([]register.Call, error) {
	all, err := c.store.Calls(r.Context(), f.fromT, f.toT)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, row := range all {
		mode := row.Mode
		if mode == "" {
			mode = kiosk.ModePhone
		}
		if mode != f.Mode ||
			(f.Class != "" && row.Class != f.Class) ||
			(f.Child != 0 && int64(row.ChildID) != f.Child) ||
			(f.Booth != "" && row.Booth != f.Booth) {
			continue
		}
		out = append(out, row)
	}
	return out, nil
}

type callsData struct {
	F           callFilter
	Title       string
	Classes     []string
	Header      []string
	Rows        [][]string
	Total       int
	Page, Pages int
	Prev, Next  string // links; "" when none
	Query       string // the filter as a query string
	// Links to the same rows: print view, CSV, XLSX, back from print.
	PrintHref, CSVHref, XLSXHref, BackHref template.URL
	PrintedAt                              string
	CanNumbers                             bool
}

func (c *Console) calls(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	f, err := c.parseFilter(r.URL.Query())
	if err != nil {
		c.storeError(w, r, s, "calls filter", err)
		return
	}
	// A page reads its own rows only (and counts the rest); the print
	// view reads them all.
	offset, limit, total := 0, -1, 0
	if !f.Print {
		if total, err = c.countCalls(r, f); err != nil {
			c.internal(w, r, "calls count", err)
			return
		}
		f.Page = min(f.Page, max(1, (total+c.pageSize-1)/c.pageSize))
		offset, limit = (f.Page-1)*c.pageSize, c.pageSize
	}
	rows, err := c.callRows(r, f, offset, limit)
	if err != nil {
		c.internal(w, r, "calls", err)
		return
	}
	if f.Print {
		total = len(rows)
	}
	d := callsData{F: f, Title: registerTitles[f.Mode], Header: registerHeader(), Total: total,
		Query: f.query().Encode(), CanNumbers: mayReveal(s.User.Role),
		PrintedAt: c.now().In(c.loc).Format("2006-01-02 15:04")}
	// Built here, not in the template: html/template would escape the '='
	// and '&' of a query string interpolated after '?'.
	d.PrintHref = template.URL("/console/calls?" + d.Query + "&print=1")
	d.CSVHref = template.URL("/console/calls.csv?" + d.Query)
	d.XLSXHref = template.URL("/console/calls.xlsx?" + d.Query)
	d.BackHref = template.URL("/console/calls?" + d.Query)
	if f.Child != 0 {
		if ch, err := c.store.Child(r.Context(), kiosk.ChildID(f.Child)); err == nil {
			d.F.ChildName = ch.Name
		}
	}
	cells, err := registerCells(rows, c.loc)
	if err != nil {
		c.internal(w, r, "calls cells", err)
		return
	}
	for i := range cells {
		cells[i][0] = strconv.Itoa(offset + i + 1)
	}
	action := "view_calls"
	if f.Print {
		action = "print_calls"
		d.Rows = cells
	} else {
		if d.Classes, err = c.store.Classes(r.Context()); err != nil {
			c.internal(w, r, "classes", err)
			return
		}
		d.Pages = max(1, (total+c.pageSize-1)/c.pageSize)
		d.Page = f.Page
		d.Rows = cells
		link := func(p int) string {
			v := f.query()
			v.Set("page", strconv.Itoa(p))
			return "/console/calls?" + v.Encode()
		}
		if f.Page > 1 {
			d.Prev = link(f.Page - 1)
		}
		if f.Page < d.Pages {
			d.Next = link(f.Page + 1)
		}
	}
	if !c.audit(w, r, s, action, f.detail(total)) {
		return
	}
	if f.Print {
		c.render(w, r, s, http.StatusOK, "calls_print", d.Title, true, d)
		return
	}
	c.render(w, r, s, http.StatusOK, "calls", d.Title, false, d)
}

// exportName is the download's file name: the register's title and
// period, RFC 6266 / RFC 5987 encoded for non-ASCII names.
func exportName(f callFilter, ext string) string {
	name := fmt.Sprintf("%s_%s_%s.%s", registerTitles[f.Mode], f.From, f.To, ext)
	ascii := fmt.Sprintf("calls_%s_%s_%s.%s", f.Mode, f.From, f.To, ext)
	return fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s", ascii, url.PathEscape(name))
}

// callsCSV exports the register as CSV (register.WriteCallsCSV's bytes).
// The rows are counted and the export audited first, then the rows are
// streamed from the database into the response callChunk at a time: a
// decade's export never sits in memory. An error after the first byte
// can only cut the download short; it is logged.
func (c *Console) callsCSV(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	f, err := c.parseFilter(r.URL.Query())
	if err != nil {
		c.storeError(w, r, s, "calls filter", err)
		return
	}
	n, err := c.countCalls(r, f)
	if err != nil {
		c.internal(w, r, "calls count", err)
		return
	}
	if !c.audit(w, r, s, "export_calls_csv", f.detail(n)) {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", exportName(f, "csv"))
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\xEF\xBB\xBF")
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	cw.Write(registerHeader())
	_, err = c.eachCallCells(r, f, func(cells []string, _ register.Call) error {
		return cw.Write(cells)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		c.log.Error("calls csv export cut short", "err", err)
	}
}

// callsXLSX exports the register as XLSX. GET: numbers masked, for every
// role that reads registers. POST (form with csrf, numbers=1): the full
// numbers, for principals and managers only (the route's access).
func (c *Console) callsXLSX(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	q := r.URL.Query()
	withNumbers := false
	if r.Method == http.MethodPost {
		q = r.PostForm
		withNumbers = r.PostFormValue("numbers") == "1"
	}
	f, err := c.parseFilter(q)
	if err != nil {
		c.storeError(w, r, s, "calls filter", err)
		return
	}
	// The workbook is built from the rows streamed from the database into
	// excelize's StreamWriter (which spills to a temporary file), then
	// zipped into the response: the rows are never all in memory.
	x, err := newXLSXTable(xlsxTitle{School: c.school, Register: registerTitles[f.Mode], Range: f.From + " 至 " + f.To},
		xlsxSheet, register.Header, xlsxWidths)
	if err != nil {
		c.internal(w, r, "calls xlsx", err)
		return
	}
	defer x.Close()
	n, err := c.eachCallCells(r, f, func(cells []string, row register.Call) error {
		if withNumbers {
			cells[5] = row.Number
		}
		return x.add(cells)
	})
	if err == nil {
		err = x.finish()
	}
	if err != nil {
		c.internal(w, r, "calls xlsx", err)
		return
	}
	detail := f.detail(n)
	if withNumbers {
		detail += " numbers=full"
	}
	if !c.audit(w, r, s, "export_calls_xlsx", detail) {
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", exportName(f, "xlsx"))
	if err := x.writeTo(w); err != nil {
		c.log.Error("calls xlsx export cut short", "err", err)
	}
}
