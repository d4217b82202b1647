package kiosk

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The library screens. A child taps the card, chooses 借书 or 还书 and
// scans (or types) a book's barcode; returning needs no card.
const (
	ScreenBookScan     ScreenKind = "book_scan"     // scan prompt with keypad; Book.Action says which
	ScreenBookLent     ScreenKind = "book_lent"     // lent: Book.Title, Book.Due
	ScreenBookReturned ScreenKind = "book_returned" // back on the shelf; kind words when it was late
)

// BookAction is what the scan prompt is for.
type BookAction string

const (
	BookBorrow BookAction = "borrow" // 借书
	BookReturn BookAction = "return" // 还书
)

// BookInfo is the book part of a library screen.
type BookInfo struct {
	Action  BookAction `json:"action"`
	Barcode string     `json:"barcode,omitempty"`
	Title   string     `json:"title,omitempty"`
	// Due is the due date, YYYY-MM-DD, with DueWords saying it for a
	// child ("3月9日 星期一").
	Due      string `json:"due,omitempty"`
	DueWords *Words `json:"due_words,omitempty"`
	// OverdueDays is how late a returned book was; 0 when on time.
	OverdueDays int `json:"overdue_days,omitempty"`
	// Held is how many books the child holds after a loan.
	Held int `json:"held,omitempty"`
}

// BookLoan is a loan or a return as the library reports it to the
// station.
type BookLoan struct {
	Barcode string
	Title   string
	// Due is the civil date the book is due back by (midnight UTC of that
	// day).
	Due         time.Time
	OverdueDays int
	// Held is the number of books the child holds after the action.
	Held int
}

// Library is the library the kiosk lends from (kiosk/sqlite's Library).
// Refusals are EDENIED *Error with a Reason; ENOTFOUND, EINVALID and
// ECONFLICT as the barcode calls for.
type Library interface {
	Borrow(ctx context.Context, child ChildID, booth, barcode string) (BookLoan, error)
	Return(ctx context.Context, booth, barcode string) (BookLoan, error)
	// BookWords returns the child-facing words of a library reason, by
	// the rules of child's class (0: no child, the default rules), such
	// as how many books the class may hold. The station calls it without
	// its lock held.
	BookWords(ctx context.Context, child ChildID, r Reason) Words
	// Overdue returns the books child holds that are due a reminder on
	// the child's next tap (the first rung of the reminder ladder or
	// higher), most overdue first, with OverdueDays set; nil when none.
	Overdue(ctx context.Context, child ChildID) ([]BookLoan, error)
}

// OverdueBook is one overdue book as the identified screen shows it: a
// kind line with the title and how many days late it is.
type OverdueBook struct {
	Barcode string `json:"barcode"`
	Title   string `json:"title"`
	Days    int    `json:"days"` // days past the due date, 1 or more
	Words   Words  `json:"words"`
}

// overdueWords says kindly that a book is days late.
func overdueWords(title string, days int) Words {
	en := fmt.Sprintf("%q is %d days late. Please bring it back soon", title, days)
	if days == 1 {
		en = fmt.Sprintf("%q was due yesterday. Please bring it back soon", title)
	}
	return Words{ZH: fmt.Sprintf("《%s》已经晚了%d天，记得带来还哦", title, days), EN: en}
}

// overdueBooks asks the attached library, if any, for child's overdue
// books. A library error is logged and shows no line: the tap goes on.
// Called without s.mu held.
func (s *Station) overdueBooks(ctx context.Context, child Child) []OverdueBook {
	s.mu.Lock()
	lib := s.library
	s.mu.Unlock()
	if lib == nil || child.ID == 0 || child.Status != ChildActive {
		return nil
	}
	loans, err := lib.Overdue(ctx, child.ID)
	if err != nil {
		s.log.Error("read overdue books", "err", err)
		return nil
	}
	var out []OverdueBook
	for _, l := range loans {
		if l.OverdueDays < 1 {
			continue
		}
		out = append(out, OverdueBook{Barcode: l.Barcode, Title: l.Title, Days: l.OverdueDays, Words: overdueWords(l.Title, l.OverdueDays)})
	}
	return out
}

// withoutBook returns books less barcode, as a new slice: screens
// already pushed share the old one.
func withoutBook(books []OverdueBook, barcode string) []OverdueBook {
	var out []OverdueBook
	for _, b := range books {
		if b.Barcode != barcode {
			out = append(out, b)
		}
	}
	return out
}

// BookDesk runs the library screens of a station's booths. It shares the
// station's lock and booth state: a booth in a call refuses library
// actions (ECONFLICT), and the book screens return to the identified or
// idle screen like the station's own.
type BookDesk struct {
	s   *Station
	lib Library
}

// AttachLibrary returns the book desk of s, lending from lib. From then
// on the identified screen lists the child's overdue books (lib.Overdue).
func (s *Station) AttachLibrary(lib Library) *BookDesk {
	s.mu.Lock()
	s.library = lib
	s.mu.Unlock()
	return &BookDesk{s: s, lib: lib}
}

var (
	wordsReturned = Words{ZH: "还书成功，谢谢你！", EN: "Returned. Thank you!"}
	wordsLate     = Words{ZH: "谢谢你把书还回来！下次记得按时还哦", EN: "Thank you for bringing it back! Next time, try to bring it back on time"}
	wordsLent     = Words{ZH: "借书成功，好好读吧！", EN: "Enjoy your book!"}
)

var weekdayZH = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// dueWords says a due date for a child.
func dueWords(d time.Time) *Words {
	return &Words{
		ZH: fmt.Sprintf("%d月%d日 %s前还", d.Month(), d.Day(), weekdayZH[d.Weekday()]),
		EN: "Bring it back by " + d.Format("Monday 2 January"),
	}
}

// Choose shows booth's scan prompt for action. Borrowing needs an
// identified child (EDENIED ReasonNotIdentified otherwise); returning
// does not. The prompt goes back to idle (or the identified screen) after
// StationOpts.Identified without a scan.
func (d *BookDesk) Choose(ctx context.Context, booth string, action BookAction) error {
	if action != BookBorrow && action != BookReturn {
		return Errorf(EINVALID, "unknown book action %q", action)
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := d.ready(booth)
	if err != nil {
		return err
	}
	if action == BookBorrow && !d.identified(bs) {
		return &Error{Code: EDENIED, Message: "tap a card first", Reason: ReasonNotIdentified}
	}
	light := LightIdle
	if d.identified(bs) {
		light = LightIdentified
	}
	s.show(bs, Screen{Kind: ScreenBookScan, Child: bs.child.Name, Book: &BookInfo{Action: action}}, light)
	s.after(bs, s.opts.Identified, func() { s.toIdle(bs) })
	return nil
}

// ready returns the booth, refusing one in a call. Called with s.mu held.
func (d *BookDesk) ready(booth string) (*boothState, error) {
	bs, err := d.s.booth(booth)
	if err != nil {
		return nil, err
	}
	if bs.call != nil {
		return nil, &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	}
	return bs, nil
}

func (d *BookDesk) identified(bs *boothState) bool {
	return bs.child.ID != 0 && d.s.opts.Now().Sub(bs.identified) < d.s.opts.Identified
}

// Scan handles a barcode read at booth (the scanner or the on-screen
// keypad): a loan when the booth's prompt is 借书, or when a child is
// identified and no prompt was chosen; a return otherwise (a scan at the
// idle screen puts a book back). See Borrow and Return.
func (d *BookDesk) Scan(ctx context.Context, booth, code string) error {
	d.s.mu.Lock()
	bs, err := d.s.booth(booth)
	borrow := false
	if err == nil {
		sc := bs.screen
		switch {
		case sc.Kind == ScreenBookScan && sc.Book != nil:
			borrow = sc.Book.Action == BookBorrow
		default:
			borrow = d.identified(bs)
		}
	}
	d.s.mu.Unlock()
	if err != nil {
		return err
	}
	if borrow {
		return d.Borrow(ctx, booth, code)
	}
	return d.Return(ctx, booth, code)
}

// Borrow lends the book barcode names to the child identified at booth
// and shows its title and due date (light: idle green), or the refusal in
// a child's words (ScreenDenied, light denied). Refusals and unknown
// barcodes are shown, not returned; errors are ENOTFOUND (no booth),
// ECONFLICT (in a call), EDENIED ReasonNotIdentified, or the library's
// internal errors.
func (d *BookDesk) Borrow(ctx context.Context, booth, barcode string) error {
	s := d.s
	s.mu.Lock()
	bs, err := d.ready(booth)
	if err == nil && !d.identified(bs) {
		err = &Error{Code: EDENIED, Message: "tap a card first", Reason: ReasonNotIdentified}
	}
	var child ChildID
	if err == nil {
		child = bs.child.ID
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	// The library is called without the lock: it writes the journal.
	l, lerr := d.lib.Borrow(ctx, child, booth, barcode)
	refused := d.refusalWords(ctx, child, lerr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if bs.child.ID != child {
		return nil // another card was tapped meanwhile; its screen stands
	}
	if lerr != nil {
		return d.refuse(bs, BookBorrow, lerr, refused)
	}
	due := l.Due.Format(time.DateOnly)
	s.lingerThen(bs, Screen{Kind: ScreenBookLent, Child: bs.child.Name, Words: &wordsLent,
		Book: &BookInfo{Action: BookBorrow, Barcode: l.Barcode, Title: l.Title, Due: due, DueWords: dueWords(l.Due), Held: l.Held}}, LightIdle)
	return nil
}

// Return takes back the book barcode names, card or not, and shows its
// title, with kind words when it was late. Errors as for Borrow, without
// the identification.
func (d *BookDesk) Return(ctx context.Context, booth, barcode string) error {
	s := d.s
	s.mu.Lock()
	_, err := d.ready(booth)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	l, lerr := d.lib.Return(ctx, booth, barcode)
	refused := d.refusalWords(ctx, 0, lerr)
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := d.ready(booth)
	if err != nil {
		return err
	}
	if lerr != nil {
		return d.refuse(bs, BookReturn, lerr, refused)
	}
	bs.overdue = withoutBook(bs.overdue, l.Barcode) // back: no more reminder
	w := wordsReturned
	if l.OverdueDays > 0 {
		w = wordsLate
	}
	s.lingerThen(bs, Screen{Kind: ScreenBookReturned, Child: bs.child.Name, Words: &w,
		Book: &BookInfo{Action: BookReturn, Barcode: l.Barcode, Title: l.Title, OverdueDays: l.OverdueDays}}, LightIdle)
	return nil
}

// refusalWords returns the library's words for an EDENIED err, by the
// rules of child's class (0 for none); nil and other errors have none
// here. Called without s.mu held: the library may read the roster.
func (d *BookDesk) refusalWords(ctx context.Context, child ChildID, err error) Words {
	var e *Error
	if ErrorCode(err) != EDENIED || !errors.As(err, &e) {
		return Words{}
	}
	return d.lib.BookWords(ctx, child, e.Reason)
}

// refuse shows a library refusal (in words, from refusalWords) or a bad
// barcode; internal errors are returned. Called with s.mu held.
func (d *BookDesk) refuse(bs *boothState, action BookAction, err error, words Words) error {
	var w Words
	reason := Reason("")
	switch ErrorCode(err) {
	case EDENIED:
		var e *Error
		if errors.As(err, &e) {
			reason = e.Reason
		}
		w = words
	case ENOTFOUND, EINVALID:
		w = Words{ZH: "这本书还不认识，请找老师", EN: "We don't know this book. Please see your teacher"}
	case ECONFLICT:
		w = Words{ZH: "请扫描书里面的图书馆条码", EN: "Please scan the library label inside the book"}
	default:
		return fmt.Errorf("library %s: %w", action, err)
	}
	d.s.lingerThen(bs, Screen{Kind: ScreenDenied, Reason: reason, Words: &w, Child: bs.child.Name, Book: &BookInfo{Action: action}}, LightDenied)
	return nil
}
