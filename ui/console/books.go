package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/width"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The library's catalogue and stock-take (issue 6): titles and copies
// with their status (在架 on the shelf, 借出 lent, 遗失 lost, 注销
// written off), a title added with its first copies, a title corrected,
// copies added (the school's accession numbers or ISBN plus copy
// number), a copy written off (with a reason) or recorded lost or
// damaged at the title's price (families replace a book at its original
// price).
//
// Roles: managers change; principals and inspectors read (403 on every
// change); technicians see nothing (403). A title's page names who holds
// each lent copy (name and class only), so it is children's data and
// each view is audited (view_book). Every change is journaled by the
// store in the change's transaction: titles and copies added or edited
// as an 'audit' entry naming the manager (book_title_add,
// book_title_edit, book_copy_add), a lost, damaged or written-off copy
// as a 'loan' entry (RecordCopyEvent) which the console follows with an
// audit entry (book_lost, book_damaged, book_write_off).
//
// Stock-take (盘点): a manager, principal or inspector scans every copy on
// the shelves with the USB scanner (a keyboard: one barcode and Enter per
// scan into the page's autofocused field). The scans are kept on the
// server per user (in memory: a daemon restart starts the stock-take
// again) until the user starts again; the result page lists the copies
// on the shelf that were not scanned (missing), the lent copies apart
// with their readers, and scans that need a look (kiosk/books.TakeStock).
// The result names readers, so it is audited (view_stocktake,
// print_stocktake); it writes nothing to the catalogue.

// BookStore is what the catalogue and stock-take pages need beside
// Store; kiosk/sqlite's *DB implements it. A Store that does not
// implement it gets 501 on those pages.
type BookStore interface {
	// BookTitles returns every title with its copy counts.
	BookTitles(ctx context.Context) ([]sqlite.BookTitle, error)
	// BookTitle returns a title and its copies; ENOTFOUND.
	BookTitle(ctx context.Context, id int64) (sqlite.BookTitle, []sqlite.BookCopy, error)
	// BookCopies returns every copy with its title.
	BookCopies(ctx context.Context) ([]sqlite.BookCopy, error)
	// BookCopy returns the copy a scanned barcode names; ENOTFOUND,
	// ECONFLICT (a cover ISBN of several copies), EINVALID.
	BookCopy(ctx context.Context, barcode string) (sqlite.BookCopy, error)
	// LentBooks returns every loan still out, how late by the rules of
	// the borrower's class.
	LentBooks(ctx context.Context, rules books.RulesByClass) ([]sqlite.BookLoan, error)
	// AddBookTitle adds a title with its first copies; EINVALID,
	// ECONFLICT.
	AddBookTitle(ctx context.Context, actor string, t books.Title) (sqlite.BookTitle, error)
	// UpdateBookTitle corrects a title's fields; EINVALID, ENOTFOUND.
	UpdateBookTitle(ctx context.Context, actor string, id int64, t books.Title) (sqlite.BookTitle, bool, error)
	// AddBookCopies adds copies to a title; EINVALID, ENOTFOUND,
	// ECONFLICT.
	AddBookCopies(ctx context.Context, actor string, n sqlite.NewCopies) ([]string, error)
	// RecordCopyEvent records a copy lost, damaged or written off;
	// EINVALID, ENOTFOUND, ECONFLICT.
	RecordCopyEvent(ctx context.Context, e sqlite.CopyEvent) (sqlite.BookCopy, error)
	// StockTake compares the catalogue with the scanned barcodes.
	StockTake(ctx context.Context, scanned []string) (books.StockResult, error)
}

var _ BookStore = (*sqlite.DB)(nil)

// rulesFor returns the loan rules of class: Opts.BookRules, else the
// books defaults, days in the console's time zone when the rules name
// none. Its method value is the books.RulesByClass the store's loan
// reads take.
func (c *Console) rulesFor(class string) books.Rules {
	var r books.Rules
	if c.bookRules != nil {
		r = c.bookRules(class)
	} else {
		r = books.DefaultRules()
		r.Location = nil
	}
	if r.Location == nil {
		r.Location = c.loc
	}
	return r
}

func init() {
	pageNames = append(pageNames, "books", "book", "stocktake", "stocktake_print")
}

// bookRoutes lists the catalogue's and the stock-take's routes; New
// appends them.
func (c *Console) bookRoutes() []route {
	return []route{
		{"GET", "/console/books", children, false, c.booksPage},
		{"POST", "/console/books", readAll, true, c.bookAdd},
		{"GET", "/console/books/{id}", children, true, c.bookPage},
		{"POST", "/console/books/{id}", readAll, true, c.bookEdit},
		{"POST", "/console/books/{id}/copies", readAll, true, c.bookCopiesAdd},
		{"POST", "/console/books/{id}/event", readAll, true, c.bookEvent},
		{"GET", "/console/books/stocktake", children, false, c.stockPage},
		{"POST", "/console/books/stocktake", children, false, c.stockScan},
		{"POST", "/console/books/stocktake/reset", children, false, c.stockReset},
		{"GET", "/console/books/stocktake/result", children, true, c.stockResult},
	}
}

// bookStore returns the store's BookStore; false after a 501 was written.
func (c *Console) bookStore(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (BookStore, bool) {
	bs, ok := c.store.(BookStore)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "图书管理不可用 Not available")
	}
	return bs, ok
}

// managerMay answers 403 to anyone but a manager; false after it did.
func (c *Console) managerMay(w http.ResponseWriter, r *http.Request, s *kiosk.Session, what string) bool {
	if s.User.Role != kiosk.RoleManager {
		c.errorPage(w, r, s, http.StatusForbidden, "只有管理员可以"+what+"。 Managers only.")
		return false
	}
	return true
}

// Status words, as the paper catalogue says them.
var copyStatusWords = map[books.Status]string{
	books.StatusShelf: "在架", books.StatusLent: "借出", books.StatusLost: "遗失", books.StatusWrittenOff: "注销",
}

// statusOrder is the order of the status filter.
var statusOrder = []books.Status{books.StatusShelf, books.StatusLent, books.StatusLost, books.StatusWrittenOff}

// bookStatusWord is a copy's status in words, with the English.
func bookStatusWord(st books.Status) string {
	w, ok := copyStatusWords[st]
	if !ok {
		return string(st)
	}
	return w + " " + strings.ReplaceAll(string(st), "_", " ")
}

// Copy events a manager records, with their words and audit actions.
var copyEvents = []struct {
	Event, Label, Action string
}{
	{sqlite.LoanWriteOff, "注销 Write off", "book_write_off"},
	{sqlite.LoanLost, "遗失 Lost", "book_lost"},
	{sqlite.LoanDamaged, "破损 Damaged", "book_damaged"},
}

// parseYuan reads a price typed in yuan ("25", "25.5", "¥25.50", "25元",
// full-width digits) as fen; "" is 0.
func parseYuan(s string) (int64, error) {
	v := strings.TrimSpace(width.Fold.String(s))
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "¥"), "元"))
	if v == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(v, ".")
	digits := func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789") == ""
	}
	if !digits(whole) || len(whole) > 7 || (frac != "" && (!digits(frac) || len(frac) > 2)) {
		return 0, kiosk.Errorf(kiosk.EINVALID, "价格 %q 无效，请写元，如 25 或 25.50 (price in yuan)", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	return w*100 + f, nil
}

// splitBarcodes splits typed or scanned barcodes on line ends, commas and
// semicolons (ASCII or full-width); a space may sit inside one
// ("9787020002207 2").
func splitBarcodes(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == ';' || r == '，' || r == '；' || r == '、'
	}) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// titleForm is the add and edit forms' fields, as typed.
type titleForm struct {
	ISBN, Title, Author, Publisher, Category, Price, Barcodes, Count string
}

func readTitleForm(r *http.Request) titleForm {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return titleForm{ISBN: f("isbn"), Title: f("title"), Author: f("author"), Publisher: f("publisher"),
		Category: f("category"), Price: f("price"), Barcodes: r.PostFormValue("barcodes"), Count: f("count")}
}

// title reads the form as a title, ISBN-13 or ISBN-10 validated (ISO
// 2108 check digits); EINVALID listing every problem.
func (f titleForm) title(needISBN bool) (books.Title, error) {
	t := books.Title{Title: f.Title, Author: f.Author, Publisher: f.Publisher, Category: f.Category}
	var probs []string
	if needISBN {
		isbn, err := books.ParseISBN(f.ISBN)
		if err != nil {
			probs = append(probs, "ISBN："+strings.TrimPrefix(err.Error(), books.ErrISBN.Error()+" "))
		}
		t.ISBN = isbn
	}
	p, err := parseYuan(f.Price)
	if err != nil {
		probs = append(probs, kiosk.ErrorMessage(err))
	}
	t.PriceCents = p
	if len(probs) > 0 {
		return t, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(probs, "；"))
	}
	return t, nil
}

// count reads the form's copy count: "" is def.
func (f titleForm) count(def int) (int, error) {
	if f.Count == "" {
		return def, nil
	}
	n, err := strconv.Atoi(width.Fold.String(f.Count))
	if err != nil || n < 0 || n > sqlite.MaxCopiesAtOnce {
		return 0, kiosk.Errorf(kiosk.EINVALID, "册数须为 0 到 %d (copies)", sqlite.MaxCopiesAtOnce)
	}
	return n, nil
}

// httpStatus maps a store error's code to the status of the page that
// says so; 0 for an internal error.
func httpStatus(err error) int {
	switch kiosk.ErrorCode(err) {
	case kiosk.EINVALID:
		return http.StatusBadRequest
	case kiosk.ENOTFOUND:
		return http.StatusNotFound
	case kiosk.ECONFLICT:
		return http.StatusConflict
	case kiosk.EDENIED:
		return http.StatusForbidden
	}
	return 0
}

// --- the catalogue

type titleRow struct {
	ID                                              int64
	ISBN, Title, Author, Publisher, Category, Price string
	Shelf, Lent, Lost, WrittenOff                   int
}

type copyRow struct {
	No                           int // 序号 in a printed list
	TitleID                      int64
	Barcode, Title, ISBN, Author string
	Status, StatusWord           string
	Condition, Price             string
	InStock                      bool // not written off: events may apply
	// Reader, Class, Due and Overdue are set for a lent copy on a title's
	// page.
	Reader, Class, Due string
	Overdue            int
}

type statusOpt struct{ Value, Label string }

type booksData struct {
	Q, Status    string
	Statuses     []statusOpt
	Titles       []titleRow
	Copies       []copyRow
	ShowCopies   bool
	Total        titleRow // counts over the whole catalogue
	TitleCount   int
	CanEdit      bool
	Form         titleForm
	Categories   []string
	Message, Err string
	MaxCopies    int
}

func newTitleRow(t sqlite.BookTitle) titleRow {
	return titleRow{ID: t.ID, ISBN: string(t.ISBN), Title: t.Title.Title, Author: t.Author, Publisher: t.Publisher,
		Category: t.Category, Price: books.FormatPrice(t.PriceCents), Shelf: t.Shelf, Lent: t.Lent, Lost: t.Lost, WrittenOff: t.WrittenOff}
}

func newCopyRow(cp sqlite.BookCopy) copyRow {
	return copyRow{TitleID: cp.TitleID, Barcode: cp.Barcode, Title: cp.Title.Title, ISBN: string(cp.ISBN), Author: cp.Author,
		Status: string(cp.Status), StatusWord: bookStatusWord(cp.Status), Condition: cp.Condition.ZH(),
		Price: books.FormatPrice(cp.PriceCents), InStock: cp.Status != books.StatusWrittenOff}
}

// matches reports whether a title matches the search text q (lower case):
// title, author, publisher, category or ISBN contain it.
func matches(t sqlite.BookTitle, q string) bool {
	if q == "" {
		return true
	}
	for _, v := range []string{t.Title.Title, t.Author, t.Publisher, t.Category, string(t.ISBN)} {
		if strings.Contains(strings.ToLower(v), q) {
			return true
		}
	}
	return false
}

func (c *Console) booksPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	c.booksRender(w, r, s, http.StatusOK, booksData{Form: titleForm{Count: "1"}})
}

// booksRender renders /console/books?q=..&status=..: the titles with
// their copies' counts or, with a status ("all" or one status), the
// copies; q searches title, author, publisher, category, ISBN (a scanned
// cover ISBN or ISBN-10 too) and copy barcodes.
func (c *Console) booksRender(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, d booksData) {
	bs, ok := c.bookStore(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	d.Q, d.Status = strings.TrimSpace(q.Get("q")), q.Get("status")
	d.CanEdit, d.MaxCopies = s.User.Role == kiosk.RoleManager, sqlite.MaxCopiesAtOnce
	d.Statuses = []statusOpt{{"", "按书目 By title"}, {"all", "全部册 All copies"}}
	for _, st := range statusOrder {
		d.Statuses = append(d.Statuses, statusOpt{string(st), bookStatusWord(st)})
	}
	titles, err := bs.BookTitles(ctx)
	if err != nil {
		c.internal(w, r, "book titles", err)
		return
	}
	copies, err := bs.BookCopies(ctx)
	if err != nil {
		c.internal(w, r, "book copies", err)
		return
	}
	// A search may be a scan: a copy's barcode or a cover ISBN.
	lq := strings.ToLower(d.Q)
	var code string
	var isbn books.ISBN
	if d.Q != "" {
		if b, err := books.ParseBarcode(d.Q); err == nil {
			code = b.Code
		}
		isbn, _ = books.ParseISBN(d.Q)
	}
	hit := map[int64]bool{}
	for _, cp := range copies {
		if code != "" && cp.Barcode == code {
			hit[cp.TitleID] = true
		}
	}
	cats := map[string]bool{}
	for _, t := range titles {
		if t.Category != "" && !cats[t.Category] {
			cats[t.Category] = true
			d.Categories = append(d.Categories, t.Category)
		}
		d.Total.Shelf += t.Shelf
		d.Total.Lent += t.Lent
		d.Total.Lost += t.Lost
		d.Total.WrittenOff += t.WrittenOff
		if matches(t, lq) || hit[t.ID] || (isbn != "" && t.ISBN == isbn) {
			hit[t.ID] = true
			d.Titles = append(d.Titles, newTitleRow(t))
		}
	}
	slices.Sort(d.Categories)
	d.TitleCount = len(titles)
	if d.Status != "" {
		d.ShowCopies = true
		for _, cp := range copies {
			if d.Status != "all" && string(cp.Status) != d.Status {
				continue
			}
			if d.Q == "" || (code != "" && cp.Barcode == code) || (isbn != "" && cp.ISBN == isbn) ||
				matches(sqlite.BookTitle{Title: cp.Title}, lq) {
				d.Copies = append(d.Copies, newCopyRow(cp))
			}
		}
	}
	c.render(w, r, s, status, "books", "图书管理 Library", false, d)
}

// bookAdd adds a title (form: isbn as ISBN-13 or ISBN-10, title, author,
// publisher, category, price in yuan, barcodes one a line, count of
// further copies numbered ISBN-1, ISBN-2...) and answers 303 to its page
// (done=book_added); managers only. 400 with every problem (the form kept),
// 409 when the ISBN or a barcode is in use.
func (c *Console) bookAdd(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if !c.managerMay(w, r, s, "添加图书") {
		return
	}
	bs, ok := c.bookStore(w, r, s)
	if !ok {
		return
	}
	f := readTitleForm(r)
	again := func(err error) {
		st := httpStatus(err)
		if st == 0 {
			c.internal(w, r, "add book title", err)
			return
		}
		r.URL.RawQuery = ""
		c.booksRender(w, r, s, st, booksData{Form: f, Err: kiosk.ErrorMessage(err)})
	}
	t, err := f.title(true)
	if err != nil {
		again(err)
		return
	}
	n, err := f.count(0)
	if err != nil {
		again(err)
		return
	}
	t.Copies = splitBarcodes(f.Barcodes)
	// Counted copies are numbered 1, 2... skipping numbers typed.
	typed := map[string]bool{}
	for _, raw := range t.Copies {
		if b, err := books.ParseBarcode(raw); err == nil {
			typed[b.Code] = true
		}
	}
	for k := 1; n > 0 && k <= books.MaxCopy; k++ {
		if code := books.CopyBarcode(t.ISBN, k); !typed[code] {
			t.Copies = append(t.Copies, code)
			n--
		}
	}
	bt, err := bs.AddBookTitle(r.Context(), s.User.Username, t)
	if err != nil {
		again(err)
		return
	}
	seeOther(w, r, bookPath(bt.ID), "book_added")
}

// bookPath is a title's page.
func bookPath(id int64) string {
	return "/console/books/" + strconv.FormatInt(id, 10)
}

// --- a title's page

type bookData struct {
	Title        titleRow
	Copies       []copyRow
	CanEdit      bool
	Edit         titleForm
	Add          titleForm
	Events       []statusOpt
	Message, Err string
	MaxCopies    int
}

// titleID is the path's title id; false after a 404 for one that is not
// a positive number.
func (c *Console) titleID(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
		return 0, false
	}
	return id, true
}

// titleChange checks a change to the path's title, what in the words of
// the 403 ("只有管理员可以"+what): a manager's, with books on, to a title
// id. It returns the store and the id; false after it answered 403, 501
// or 404.
func (c *Console) titleChange(w http.ResponseWriter, r *http.Request, s *kiosk.Session, what string) (BookStore, int64, bool) {
	if !c.managerMay(w, r, s, what) {
		return nil, 0, false
	}
	bs, ok := c.bookStore(w, r, s)
	if !ok {
		return nil, 0, false
	}
	id, ok := c.titleID(w, r, s)
	return bs, id, ok
}

func (c *Console) bookPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	id, ok := c.titleID(w, r, s)
	if !ok {
		return
	}
	c.bookRender(w, r, s, http.StatusOK, id, "", "view_book", nil)
}

// bookRender renders title id's page with msg (or, with status >= 400,
// an error) on top. audit is the view's audit action, "" when the
// request's change was audited already. edit keeps a failed edit form.
func (c *Console) bookRender(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, id int64, msg, audit string, edit *titleForm) {
	bs, ok := c.bookStore(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	t, cs, err := bs.BookTitle(ctx, id)
	if err != nil {
		c.storeError(w, r, s, "book title", err)
		return
	}
	lent, err := bs.LentBooks(ctx, c.rulesFor)
	if err != nil {
		c.internal(w, r, "lent books", err)
		return
	}
	byCopy := map[int64]sqlite.BookLoan{}
	for _, l := range lent {
		byCopy[l.Copy.ID] = l
	}
	d := bookData{Title: newTitleRow(t), CanEdit: s.User.Role == kiosk.RoleManager, MaxCopies: sqlite.MaxCopiesAtOnce,
		Edit: titleForm{Title: t.Title.Title, Author: t.Author, Publisher: t.Publisher, Category: t.Category, Price: books.FormatPrice(t.PriceCents)}}
	if edit != nil {
		d.Edit = *edit
	}
	if status >= 400 {
		d.Err = msg
	} else {
		d.Message = msg
	}
	for _, e := range copyEvents {
		d.Events = append(d.Events, statusOpt{e.Event, e.Label})
	}
	readers := 0
	for _, cp := range cs {
		row := newCopyRow(cp)
		if l, ok := byCopy[cp.ID]; ok {
			row.Reader, row.Class, row.Due = l.ChildName, l.Class, l.Due.Format(time.DateOnly)
			row.Overdue = l.OverdueDays
			readers++
		}
		d.Copies = append(d.Copies, row)
	}
	if audit != "" && !c.audit(w, r, s, audit, fmt.Sprintf("title=%d isbn=%s readers=%d", t.ID, t.ISBN, readers)) {
		return
	}
	c.render(w, r, s, status, "book", t.Title.Title+" · 图书 Book", false, d)
}

// bookEdit corrects the path's title (form: title, author, publisher,
// category, price); managers only. 400 with every problem, 404 for no
// such title. An edit that changes nothing is audited as a view.
func (c *Console) bookEdit(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	bs, id, ok := c.titleChange(w, r, s, "修改图书")
	if !ok {
		return
	}
	f := readTitleForm(r)
	t, err := f.title(false)
	if err == nil {
		var changed bool
		if _, changed, err = bs.UpdateBookTitle(r.Context(), s.User.Username, id, t); err == nil {
			if !changed {
				seeOther(w, r, bookPath(id), "book_unchanged")
				return
			}
			seeOther(w, r, bookPath(id), "book_saved")
			return
		}
	}
	c.bookFail(w, r, s, id, "edit book title", err, &f)
}

// bookFail shows a change's error on the title's page: the page with the
// message for a *kiosk.Error (ENOTFOUND: the error page), else a 500.
// The failed request changed nothing, but the page names readers: it is
// audited as a view.
func (c *Console) bookFail(w http.ResponseWriter, r *http.Request, s *kiosk.Session, id int64, step string, err error, edit *titleForm) {
	st := httpStatus(err)
	switch st {
	case 0:
		c.internal(w, r, step, err)
	case http.StatusNotFound:
		c.errorPage(w, r, s, st, "找不到 Not found: "+kiosk.ErrorMessage(err))
	default:
		c.bookRender(w, r, s, st, id, kiosk.ErrorMessage(err), "view_book", edit)
	}
}

// bookCopiesAdd adds copies to the path's title (form: barcodes, one a
// line, as scanned or typed; count of further copies numbered after the
// title's highest ISBN copy number); managers only. 400, 404, 409.
func (c *Console) bookCopiesAdd(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	bs, id, ok := c.titleChange(w, r, s, "添加馆藏")
	if !ok {
		return
	}
	f := readTitleForm(r)
	n, err := f.count(0)
	if err == nil {
		if _, err = bs.AddBookCopies(r.Context(), s.User.Username, sqlite.NewCopies{TitleID: id, Barcodes: splitBarcodes(f.Barcodes), Count: n}); err == nil {
			seeOther(w, r, bookPath(id), "copies_added")
			return
		}
	}
	c.bookFail(w, r, s, id, "add copies", err, nil)
}

// bookEvent records a copy of the path's title written off, lost or
// damaged (form: barcode, event write_off|lost|damaged, note; a write-off
// needs its reason in note), journaled with the title's price by the
// store and audited; managers only. 400 (no reason, unknown event), 404
// (no such copy of this title), 409 (a lent copy written off, a copy
// already written off).
func (c *Console) bookEvent(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	bs, id, ok := c.titleChange(w, r, s, "登记注销、遗失或破损")
	if !ok {
		return
	}
	ctx := r.Context()
	event, note := r.PostFormValue("event"), strings.TrimSpace(r.PostFormValue("note"))
	i := slices.IndexFunc(copyEvents, func(e struct{ Event, Label, Action string }) bool { return e.Event == event })
	var err error
	switch {
	case i < 0:
		err = kiosk.Errorf(kiosk.EINVALID, "请选择登记类型 (write off, lost or damaged)")
	case event == sqlite.LoanWriteOff && note == "":
		err = kiosk.Errorf(kiosk.EINVALID, "注销须写明原因 A write-off needs its reason")
	case len([]rune(note)) > 200:
		err = kiosk.Errorf(kiosk.EINVALID, "说明太长（最多200字）")
	}
	if err != nil {
		c.bookFail(w, r, s, id, "copy event", err, nil)
		return
	}
	cp, err := bs.BookCopy(ctx, r.PostFormValue("barcode"))
	if err == nil && cp.TitleID != id {
		err = kiosk.Errorf(kiosk.ENOTFOUND, "copy %s is not of this title", cp.Barcode)
	}
	if err == nil {
		cp, err = bs.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: cp.Barcode, Event: event, Handler: s.User.Name(), Note: note})
	}
	if err != nil {
		c.bookFail(w, r, s, id, "copy event", err, nil)
		return
	}
	if !c.audit(w, r, s, copyEvents[i].Action, fmt.Sprintf("title=%d barcode=%s price=%s note=%q", id, cp.Barcode, books.FormatPrice(cp.PriceCents), note)) {
		return
	}
	// The notice's code is the audit action (notices in forms.go).
	seeOther(w, r, bookPath(id), copyEvents[i].Action)
}

// --- stock-take

// maxStockScans bounds one user's stock-take, in distinct scans; a
// Children's Home keeps 300 to 500 books.
const maxStockScans = 20000

// stockTakes are the stock-takes in progress, one per user (by
// username), kept in memory until the user starts again.
type stockTakes struct {
	mu sync.Mutex
	by map[string]*stockTake
}

func newStockTakes() *stockTakes { return &stockTakes{by: map[string]*stockTake{}} }

// stockTake is one user's stock-take: the scans, newest last.
type stockTake struct {
	Started time.Time
	Scans   []stockScan
	seen    map[string]bool // canonical codes (or raw text) scanned
}

// stockScan is one scan as the page lists it.
type stockScan struct {
	No            int
	At            string // HH:MM:SS
	Raw, Code     string
	Title, Status string
	OK            bool   // a copy recorded on the shelf
	Note          string // what needs a look
}

// scans returns a copy of user's scans (nil when none) and when the
// stock-take started.
func (st *stockTakes) scans(user string) ([]stockScan, time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.by[user]
	if t == nil {
		return nil, time.Time{}
	}
	return slices.Clone(t.Scans), t.Started
}

// add records a scan of key for user; false when key was scanned already
// or the stock-take is full. An empty key is never a repeat.
func (st *stockTakes) add(user, key string, sc stockScan, now time.Time) (stockScan, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.by[user]
	if t == nil {
		t = &stockTake{Started: now, seen: map[string]bool{}}
		st.by[user] = t
	}
	if (key != "" && t.seen[key]) || len(t.Scans) >= maxStockScans {
		return sc, false
	}
	if key != "" {
		t.seen[key] = true
	}
	sc.No = len(t.Scans) + 1
	t.Scans = append(t.Scans, sc)
	return sc, true
}

func (st *stockTakes) reset(user string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.by, user)
}

type stockData struct {
	Started string
	Scans   []stockScan // newest first
	Count   int
	Last    *stockScan
	Message string
	Bad     bool // the last scan needs a look
	// Result is set on the result page.
	Result *stockResultData
}

func (c *Console) stockPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if _, ok := c.bookStore(w, r, s); !ok {
		return
	}
	c.stockRender(w, r, s, nil, "", false)
}

func (c *Console) stockRender(w http.ResponseWriter, r *http.Request, s *kiosk.Session, last *stockScan, msg string, bad bool) {
	scans, started := c.stock.scans(s.User.Username)
	d := stockData{Count: len(scans), Last: last, Message: msg, Bad: bad}
	if !started.IsZero() {
		d.Started = started.In(c.loc).Format("2006-01-02 15:04")
	}
	slices.Reverse(scans)
	d.Scans = scans
	c.render(w, r, s, http.StatusOK, "stocktake", "图书盘点 Stock-take", false, d)
}

// stockScan records one scan (form: barcode) in the user's stock-take
// and shows the page again with what it found. An empty scan changes
// nothing; a repeat is said and not counted twice.
func (c *Console) stockScan(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	bs, ok := c.bookStore(w, r, s)
	if !ok {
		return
	}
	raw := strings.TrimSpace(r.PostFormValue("barcode"))
	if raw == "" {
		c.stockRender(w, r, s, nil, "", false)
		return
	}
	if len(raw) > 64 {
		raw = raw[:64]
	}
	now := c.now()
	sc := stockScan{At: now.In(c.loc).Format("15:04:05"), Raw: raw}
	key := raw
	cp, err := bs.BookCopy(r.Context(), raw)
	switch kiosk.ErrorCode(err) {
	case "":
		key, sc.Code, sc.Title, sc.Status = cp.Barcode, cp.Barcode, cp.Title.Title, copyStatusWords[cp.Status]
		switch cp.Status {
		case books.StatusShelf:
			sc.OK = true
		case books.StatusLent:
			sc.Note = "记录为借出，请核对是否已还 Recorded as lent"
		case books.StatusLost:
			sc.Note = "记录为遗失，请核对 Recorded as lost"
		case books.StatusWrittenOff:
			sc.Note = "记录为已注销，请核对 Recorded as written off"
		}
	case kiosk.ECONFLICT:
		// A cover ISBN of a title with several copies: the stock-take
		// counts it if one copy is left uncounted at the end.
		// Each such scan may be another copy: not deduplicated.
		b, _ := books.ParseBarcode(raw)
		key, sc.Code = "", b.Code
		sc.Note = "封面 ISBN，此书有多册：请扫描馆藏标签 Cover ISBN of several copies: scan the label"
	case kiosk.ENOTFOUND:
		if b, err := books.ParseBarcode(raw); err == nil {
			key, sc.Code = b.Code, b.Code
		}
		sc.Note = "书目中没有此条码 Unknown barcode"
	case kiosk.EINVALID:
		sc.Note = "无法识别的条码 Unreadable barcode"
	default:
		c.internal(w, r, "stock-take scan", err)
		return
	}
	got, added := c.stock.add(s.User.Username, key, sc, now)
	if !added {
		c.stockRender(w, r, s, &got, "已扫过，不重复计数 Already scanned", true)
		return
	}
	c.stockRender(w, r, s, &got, "", !got.OK)
}

// stockReset ends the user's stock-take (nothing is written).
func (c *Console) stockReset(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	c.stock.reset(s.User.Username)
	seeOther(w, r, "/console/books/stocktake", "stock_reset")
}

type stockLent struct {
	No                 int
	Barcode, Title     string
	Reader, Class, Due string
	Overdue            int
}

type stockResultData struct {
	Started, Date, PrintedAt string
	Scanned, Counted         int
	Missing, Misplaced       []copyRow
	Lent                     []stockLent
	Unknown, Ambiguous       []string
	PrintHref, BackHref      string
}

// stockResult serves /console/books/stocktake/result[?print=1]: the
// user's stock-take compared with the catalogue (see books.TakeStock):
// copies recorded on the shelf and not scanned, lent copies not scanned
// with their readers, and scans that need a look; print=1 is the A4 list.
// Audited as view_stocktake or print_stocktake.
func (c *Console) stockResult(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	bs, ok := c.bookStore(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	scans, started := c.stock.scans(s.User.Username)
	raws := make([]string, len(scans))
	for i, sc := range scans {
		raws[i] = sc.Raw
	}
	res, err := bs.StockTake(ctx, raws)
	if err != nil {
		c.internal(w, r, "stock-take", err)
		return
	}
	lent, err := bs.LentBooks(ctx, c.rulesFor)
	if err != nil {
		c.internal(w, r, "lent books", err)
		return
	}
	now := c.now().In(c.loc)
	d := stockResultData{Date: now.Format(time.DateOnly), PrintedAt: now.Format("2006-01-02 15:04"),
		Scanned: len(scans), Counted: res.Counted, Unknown: res.Unknown, Ambiguous: res.Ambiguous,
		PrintHref: "/console/books/stocktake/result?print=1", BackHref: "/console/books/stocktake/result"}
	if !started.IsZero() {
		d.Started = started.In(c.loc).Format("2006-01-02 15:04")
	}
	byCode := map[string]sqlite.BookCopy{}
	all, err := bs.BookCopies(ctx)
	if err != nil {
		c.internal(w, r, "book copies", err)
		return
	}
	for _, cp := range all {
		byCode[cp.Barcode] = cp
	}
	for i, m := range res.Missing {
		row := newCopyRow(byCode[m.Barcode])
		row.No = i + 1
		d.Missing = append(d.Missing, row)
	}
	misplaced := map[string]bool{}
	for _, m := range res.Misplaced {
		misplaced[m.Barcode] = true
		d.Misplaced = append(d.Misplaced, newCopyRow(byCode[m.Barcode]))
	}
	for _, l := range lent {
		if misplaced[l.Copy.Barcode] {
			continue // scanned on the shelf: listed above
		}
		d.Lent = append(d.Lent, stockLent{No: len(d.Lent) + 1, Barcode: l.Copy.Barcode, Title: l.Copy.Title.Title,
			Reader: l.ChildName, Class: l.Class, Due: l.Due.Format(time.DateOnly),
			Overdue: l.OverdueDays})
	}
	print := r.URL.Query().Get("print") == "1"
	action := "view_stocktake"
	if print {
		action = "print_stocktake"
	}
	if !c.audit(w, r, s, action, fmt.Sprintf("scanned=%d counted=%d missing=%d lent=%d", len(scans), res.Counted, len(d.Missing), len(d.Lent))) {
		return
	}
	if print {
		c.render(w, r, s, http.StatusOK, "stocktake_print", "图书盘点缺失清单", true, d)
		return
	}
	c.render(w, r, s, http.StatusOK, "stocktake", "盘点结果 Stock-take result", false, stockData{Result: &d})
}
