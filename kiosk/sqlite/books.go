package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
)

// KindLoan is the journal kind of the library: one entry per lend,
// renewal, return, loss, damage or write-off (see the Loan* events).
const KindLoan Kind = "loan"

// Loan events, the "event" of a 'loan' entry.
const (
	LoanLend     = "lend"
	LoanRenew    = "renew"
	LoanReturn   = "return"
	LoanLost     = "lost"      // the copy is lost; ends its loan if any
	LoanDamaged  = "damaged"   // the copy was found damaged (not at a return)
	LoanWriteOff = "write_off" // the copy leaves the stock
)

// HandlerKiosk is the handler of loans and returns made at the kiosk.
const HandlerKiosk = "自助"

// loanBody is the stored JSON of a 'loan' entry; field names are part of
// the journal format. Times are timeFormat, due a civil date YYYY-MM-DD.
type loanBody struct {
	Event       string `json:"event"`
	LoanID      int64  `json:"loan_id"`
	Barcode     string `json:"barcode"`
	ISBN        string `json:"isbn"`
	Title       string `json:"title"`
	Author      string `json:"author"`
	ChildID     int64  `json:"child_id"`
	ChildName   string `json:"child_name"`
	Class       string `json:"class"`
	Lent        string `json:"lent"`
	Due         string `json:"due"`
	At          string `json:"at"`
	OverdueDays int    `json:"overdue_days"`
	Renewals    int    `json:"renewals"`
	Condition   string `json:"condition"`
	PriceCents  int64  `json:"price_cents"`
	Handler     string `json:"handler"`
	Note        string `json:"note"`
	Booth       string `json:"booth,omitempty"`
}

// BookCopy is one copy with its title.
type BookCopy struct {
	ID        int64
	Barcode   string
	Condition books.Condition
	Status    books.Status
	TitleID   int64
	books.Title
}

// BookLoan is one loan as stored, with the overdue days and reminder
// level as at the query, by the rules of the borrower's class.
type BookLoan struct {
	ID        int64
	Copy      BookCopy
	ChildID   kiosk.ChildID
	ChildName string
	Class     string
	Lent      time.Time
	// Due is a civil date, see books.Date.
	Due      time.Time
	Renewals int
	// Ended is when the loan ended (zero while out); Outcome "returned"
	// or "lost" ("" while out).
	Ended       time.Time
	Outcome     string
	OverdueDays int
	Reminder    int
}

// rulesLoan is l as the rules see it.
func (l BookLoan) rulesLoan() books.Loan {
	return books.Loan{Barcode: l.Copy.Barcode, Title: l.Copy.Title.Title, Lent: l.Lent, Due: l.Due, Renewals: l.Renewals}
}

// CatalogueChanges is what ApplyCatalogue did or, in a dry run, would do.
type CatalogueChanges struct {
	Titles Counts
	Copies Counts
}

// ApplyCatalogue applies a catalogue import in one transaction, all or
// nothing: titles are matched by ISBN and their fields updated; copies
// whose barcode is new are added on the shelf in good condition; copies
// not in the file are never touched (write them off instead). A barcode
// that belongs to another title is a problem; all problems come back as
// one EINVALID *kiosk.Error with a "line N: problem" line each. The
// caller journals the import (an audit entry). With dryRun nothing is
// written and the result says what would change.
func (db *DB) ApplyCatalogue(ctx context.Context, titles []books.Title, dryRun bool) (CatalogueChanges, error) {
	var ch CatalogueChanges
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return ch, fmt.Errorf("apply catalogue: begin: %w", err)
	}
	defer tx.Rollback()
	now := fmtTime(db.now())
	var problems []string
	for _, t := range titles {
		if t.ISBN == "" || t.Title == "" {
			problems = append(problems, fmt.Sprintf("line %d: a title needs an ISBN and a title", t.Line))
			continue
		}
		var (
			id                      int64
			title, author, pub, cat string
			price                   int64
		)
		err := tx.QueryRowContext(ctx, `SELECT id, title, author, publisher, category, price_cents FROM book_titles WHERE isbn = ?`, string(t.ISBN)).
			Scan(&id, &title, &author, &pub, &cat, &price)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, `INSERT INTO book_titles (isbn, title, author, publisher, category, price_cents, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, string(t.ISBN), t.Title, t.Author, t.Publisher, t.Category, t.PriceCents, now, now)
			if err != nil {
				return ch, fmt.Errorf("apply catalogue: line %d: insert title: %w", t.Line, err)
			}
			id, _ = res.LastInsertId()
			ch.Titles.Added++
		case err != nil:
			return ch, fmt.Errorf("apply catalogue: line %d: read title: %w", t.Line, err)
		case title == t.Title && author == t.Author && pub == t.Publisher && cat == t.Category && price == t.PriceCents:
			ch.Titles.Unchanged++
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE book_titles SET title = ?, author = ?, publisher = ?, category = ?, price_cents = ?, updated_at = ? WHERE id = ?`,
				t.Title, t.Author, t.Publisher, t.Category, t.PriceCents, now, id); err != nil {
				return ch, fmt.Errorf("apply catalogue: line %d: update title: %w", t.Line, err)
			}
			ch.Titles.Updated++
		}
		for _, code := range t.Copies {
			var other int64
			var otherISBN string
			err := tx.QueryRowContext(ctx, `SELECT c.title_id, t.isbn FROM book_copies c JOIN book_titles t ON t.id = c.title_id WHERE c.barcode = ?`, code).Scan(&other, &otherISBN)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO book_copies (title_id, barcode, created_at, updated_at) VALUES (?, ?, ?, ?)`, id, code, now, now); err != nil {
					return ch, fmt.Errorf("apply catalogue: line %d: insert copy: %w", t.Line, err)
				}
				ch.Copies.Added++
			case err != nil:
				return ch, fmt.Errorf("apply catalogue: line %d: read copy: %w", t.Line, err)
			case other != id:
				problems = append(problems, fmt.Sprintf("line %d: barcode %s already belongs to ISBN %s", t.Line, code, otherISBN))
			default:
				ch.Copies.Unchanged++
			}
		}
	}
	if len(problems) > 0 {
		return CatalogueChanges{}, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(problems, "\n"))
	}
	if dryRun {
		return ch, nil
	}
	if err := tx.Commit(); err != nil {
		return ch, fmt.Errorf("apply catalogue: commit: %w", err)
	}
	return ch, nil
}

const copySelect = `SELECT c.id, c.barcode, c.condition, c.status, t.id, t.isbn, t.title, t.author, t.publisher, t.category, t.price_cents
	FROM book_copies c JOIN book_titles t ON t.id = c.title_id`

func scanCopy(sc interface{ Scan(...any) error }) (BookCopy, error) {
	var (
		c              BookCopy
		cond, st, isbn string
	)
	err := sc.Scan(&c.ID, &c.Barcode, &cond, &st, &c.TitleID, &isbn, &c.Title.Title, &c.Author, &c.Publisher, &c.Category, &c.PriceCents)
	c.Condition, c.Status, c.ISBN = books.Condition(cond), books.Status(st), books.ISBN(isbn)
	return c, err
}

// BookCopies returns every copy with its title, written-off ones too,
// ordered by barcode.
func (db *DB) BookCopies(ctx context.Context) ([]BookCopy, error) {
	rows, err := db.db.QueryContext(ctx, copySelect+` ORDER BY c.barcode`)
	if err != nil {
		return nil, fmt.Errorf("book copies: %w", err)
	}
	defer rows.Close()
	var out []BookCopy
	for rows.Next() {
		c, err := scanCopy(rows)
		if err != nil {
			return nil, fmt.Errorf("book copies: scan: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("book copies: %w", err)
	}
	return out, nil
}

// findCopy resolves a scanned barcode (see books.ParseBarcode) to one
// copy. A cover ISBN names the title's one copy for which want(copy) is
// true; none or several is an ECONFLICT asking for the label. Unknown
// barcodes are ENOTFOUND, unreadable ones EINVALID.
func findCopy(ctx context.Context, q querier, scanned string, want func(BookCopy) bool) (BookCopy, error) {
	b, err := books.ParseBarcode(scanned)
	if err != nil {
		return BookCopy{}, err
	}
	c, err := scanCopy(q.QueryRowContext(ctx, copySelect+` WHERE c.barcode = ?`, b.Code))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return BookCopy{}, fmt.Errorf("find copy %s: %w", b.Code, err)
	}
	if b.Kind != books.BarcodeISBN {
		return BookCopy{}, kiosk.Errorf(kiosk.ENOTFOUND, "no book has barcode %s", b.Code)
	}
	rows, err := q.QueryContext(ctx, copySelect+` WHERE t.isbn = ? ORDER BY c.barcode`, string(b.ISBN))
	if err != nil {
		return BookCopy{}, fmt.Errorf("find copies of %s: %w", b.ISBN, err)
	}
	defer rows.Close()
	var all, fit []BookCopy
	for rows.Next() {
		c, err := scanCopy(rows)
		if err != nil {
			return BookCopy{}, fmt.Errorf("find copies of %s: scan: %w", b.ISBN, err)
		}
		all = append(all, c)
		if want(c) {
			fit = append(fit, c)
		}
	}
	if err := rows.Err(); err != nil {
		return BookCopy{}, fmt.Errorf("find copies of %s: %w", b.ISBN, err)
	}
	switch {
	case len(all) == 0:
		return BookCopy{}, kiosk.Errorf(kiosk.ENOTFOUND, "no book has ISBN %s", b.ISBN)
	case len(fit) == 1:
		return fit[0], nil
	case len(all) == 1:
		return all[0], nil // let the caller say why it does not fit
	}
	return BookCopy{}, kiosk.Errorf(kiosk.ECONFLICT, "ISBN %s has %d copies: scan the library label", b.ISBN, len(all))
}

// BookCopy returns the copy a scanned barcode names (a cover ISBN only
// when the title has one copy): ENOTFOUND or ECONFLICT *kiosk.Error.
func (db *DB) BookCopy(ctx context.Context, barcode string) (BookCopy, error) {
	return findCopy(ctx, db.db, barcode, func(BookCopy) bool { return false })
}

const loanSelect = `SELECT l.id, l.child_id, ch.name, ch.class, l.lent_at, l.due, l.renewals, l.ended_at, l.outcome,
	c.id, c.barcode, c.condition, c.status, t.id, t.isbn, t.title, t.author, t.publisher, t.category, t.price_cents
	FROM book_loans l JOIN children ch ON ch.id = l.child_id
	JOIN book_copies c ON c.id = l.copy_id JOIN book_titles t ON t.id = c.title_id`

// scanLoan reads one row of loanSelect; OverdueDays and Reminder are by
// the rules of the borrower's class (see rulesOf), as at the loan's end
// or, while it is out, at now. This is the one place the read side asks
// the rules how late a loan is.
func scanLoan(sc interface{ Scan(...any) error }, rules books.RulesByClass, now time.Time) (BookLoan, error) {
	var (
		l                BookLoan
		lent, due, ended string
		cond, st, isbn   string
	)
	err := sc.Scan(&l.ID, &l.ChildID, &l.ChildName, &l.Class, &lent, &due, &l.Renewals, &ended, &l.Outcome,
		&l.Copy.ID, &l.Copy.Barcode, &cond, &st, &l.Copy.TitleID, &isbn, &l.Copy.Title.Title, &l.Copy.Author,
		&l.Copy.Publisher, &l.Copy.Category, &l.Copy.PriceCents)
	if err != nil {
		return BookLoan{}, err
	}
	l.Copy.Condition, l.Copy.Status, l.Copy.ISBN = books.Condition(cond), books.Status(st), books.ISBN(isbn)
	if l.Lent, err = parseTime(lent); err != nil {
		return BookLoan{}, err
	}
	if l.Ended, err = parseTime(ended); err != nil {
		return BookLoan{}, err
	}
	if l.Due, err = time.Parse(time.DateOnly, due); err != nil {
		return BookLoan{}, fmt.Errorf("parse due %q: %w", due, err)
	}
	at := now
	if !l.Ended.IsZero() {
		at = l.Ended
	}
	r := rulesOf(rules, l.Class)
	l.OverdueDays = r.OverdueDays(l.Due, at)
	l.Reminder = r.Reminder(l.OverdueDays)
	return l, nil
}

func (db *DB) queryLoans(ctx context.Context, q querier, rules books.RulesByClass, where string, args ...any) ([]BookLoan, error) {
	rows, err := q.QueryContext(ctx, loanSelect+" WHERE "+where+" ORDER BY l.due, l.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := db.now()
	var out []BookLoan
	for rows.Next() {
		l, err := scanLoan(rows, rules, now)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// OpenLoans returns the books child holds, earliest due first, with
// overdue days and reminder levels as at now by the rules of the child's
// class; rules is as for LendRequest.Rules (nil: books' defaults).
func (db *DB) OpenLoans(ctx context.Context, child kiosk.ChildID, rules books.RulesByClass) ([]BookLoan, error) {
	out, err := db.queryLoans(ctx, db.db, rules, `l.child_id = ? AND l.ended_at = ''`, int64(child))
	if err != nil {
		return nil, fmt.Errorf("open loans of child %d: %w", child, err)
	}
	return out, nil
}

// OverdueLoans returns every book out past its due date as at now, each
// by the rules of its borrower's class (rules as for LendRequest.Rules),
// most overdue first: the console's Today list and the class teachers'
// printed reminders.
func (db *DB) OverdueLoans(ctx context.Context, rules books.RulesByClass) ([]BookLoan, error) {
	// Every open loan, not "due < today" in SQL: today is each class's
	// (its rules' Location). The open loans are only the books out now.
	open, err := db.queryLoans(ctx, db.db, rules, `l.ended_at = ''`)
	if err != nil {
		return nil, fmt.Errorf("overdue loans: %w", err)
	}
	var out []BookLoan
	for _, l := range open {
		if l.OverdueDays > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// rulesOf returns rules(class), or books.Rules{} (every default, days in
// time.Local) when rules is nil: the zero value of a request's Rules.
func rulesOf(rules books.RulesByClass, class string) books.Rules {
	if rules == nil {
		return books.Rules{}
	}
	return rules(class)
}

// LendRequest is a loan to make.
type LendRequest struct {
	Child   kiosk.ChildID
	Barcode string // as scanned or typed
	// Rules gives the loan rules of a class; the loan follows those of
	// the child's class (limit, loan days, term end, blocking). Use
	// books.Same for one set for every class, config's BookRulesByClass
	// for [books] with its [[books.rules]]. Default nil: books' defaults
	// (books.Rules{}, days in time.Local).
	Rules books.RulesByClass
	// Handler is who lends (HandlerKiosk at the kiosk, default); Booth the
	// kiosk's booth, "" from the console.
	Handler string
	Booth   string
}

func (db *DB) journalLoan(ctx context.Context, tx *sql.Tx, b loanBody) error {
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("journal loan %s: %w", b.Event, err)
	}
	_, err = db.appendTx(ctx, tx, KindLoan, "", body)
	return err
}

func bodyOf(event string, l BookLoan, c BookCopy, at time.Time) loanBody {
	b := loanBody{
		Event: event, LoanID: l.ID, Barcode: c.Barcode, ISBN: string(c.ISBN), Title: c.Title.Title, Author: c.Author,
		ChildID: int64(l.ChildID), ChildName: l.ChildName, Class: l.Class, Lent: fmtTime(l.Lent),
		At: fmtTime(at), OverdueDays: l.OverdueDays, Renewals: l.Renewals, Condition: string(c.Condition),
	}
	if !l.Due.IsZero() {
		b.Due = l.Due.Format(time.DateOnly)
	}
	return b
}

// Lend lends the copy req.Barcode names to req.Child, in one transaction
// with its 'loan' journal entry, and returns the loan (title, due date).
// Errors are *kiosk.Error: ENOTFOUND (unknown child or barcode), EINVALID
// (unreadable barcode), ECONFLICT (a cover ISBN of several copies), or
// EDENIED with Reason books.ReasonNotOnShelf (the copy is lent, lost or
// written off), kiosk.ReasonChildInactive, or a reason of
// books.Rules.CheckBorrow.
func (db *DB) Lend(ctx context.Context, req LendRequest) (BookLoan, error) {
	if req.Handler == "" {
		req.Handler = HandlerKiosk
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return BookLoan{}, fmt.Errorf("lend: begin: %w", err)
	}
	defer tx.Rollback()
	ch, err := child(ctx, tx, req.Child)
	if err != nil {
		return BookLoan{}, err
	}
	if ch.Status != kiosk.ChildActive {
		e := kiosk.Errorf(kiosk.EDENIED, "child %d has left", ch.ID)
		e.Reason = kiosk.ReasonChildInactive
		return BookLoan{}, e
	}
	rules := rulesOf(req.Rules, ch.Class)
	c, err := findCopy(ctx, tx, req.Barcode, func(c BookCopy) bool { return c.Status == books.StatusShelf })
	if err != nil {
		return BookLoan{}, err
	}
	if c.Status != books.StatusShelf {
		e := kiosk.Errorf(kiosk.EDENIED, "copy %s is %s", c.Barcode, c.Status)
		e.Reason = books.ReasonNotOnShelf
		return BookLoan{}, e
	}
	open, err := db.queryLoans(ctx, tx, req.Rules, `l.child_id = ? AND l.ended_at = ''`, int64(req.Child))
	if err != nil {
		return BookLoan{}, fmt.Errorf("lend: open loans: %w", err)
	}
	held := make([]books.Loan, len(open))
	for i, l := range open {
		held[i] = l.rulesLoan()
	}
	now := db.now()
	if err := rules.CheckBorrow(now, held); err != nil {
		return BookLoan{}, err
	}
	l := BookLoan{Copy: c, ChildID: ch.ID, ChildName: ch.Name, Class: ch.Class, Lent: now, Due: rules.DueDate(now)}
	res, err := tx.ExecContext(ctx, `INSERT INTO book_loans (copy_id, child_id, lent_at, due) VALUES (?, ?, ?, ?)`,
		c.ID, int64(ch.ID), fmtTime(now), l.Due.Format(time.DateOnly))
	if err != nil {
		return BookLoan{}, fmt.Errorf("lend %s: insert loan: %w", c.Barcode, err)
	}
	l.ID, _ = res.LastInsertId()
	if _, err := tx.ExecContext(ctx, `UPDATE book_copies SET status = 'lent', updated_at = ? WHERE id = ?`, fmtTime(now), c.ID); err != nil {
		return BookLoan{}, fmt.Errorf("lend %s: copy status: %w", c.Barcode, err)
	}
	l.Copy.Status = books.StatusLent
	b := bodyOf(LoanLend, l, c, now)
	b.Handler, b.Booth, b.PriceCents = req.Handler, req.Booth, c.PriceCents
	if err := db.journalLoan(ctx, tx, b); err != nil {
		return BookLoan{}, err
	}
	if err := tx.Commit(); err != nil {
		return BookLoan{}, fmt.Errorf("lend %s: commit: %w", c.Barcode, err)
	}
	return l, nil
}

// ReturnRequest is a book coming back.
type ReturnRequest struct {
	Barcode string
	// Rules gives the loan rules of a class; the days late and reminder
	// level follow those of the class of the child who has the book.
	// Default nil: books' defaults, as for LendRequest.Rules.
	Rules books.RulesByClass
	// Condition is the copy's condition now; "" keeps the recorded one.
	Condition books.Condition
	Handler   string // default HandlerKiosk
	Note      string
	Booth     string
}

// ReturnBook ends the open loan of the copy req.Barcode names, puts the
// copy back on the shelf, and journals it, in one transaction. The
// returned loan has Ended and OverdueDays (days late, 0 when on time) so
// that the screen can say so kindly. Errors are *kiosk.Error: ENOTFOUND,
// EINVALID, ECONFLICT as for Lend, or EDENIED with books.ReasonNotLent
// when the copy is not out.
func (db *DB) ReturnBook(ctx context.Context, req ReturnRequest) (BookLoan, error) {
	if req.Handler == "" {
		req.Handler = HandlerKiosk
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return BookLoan{}, fmt.Errorf("return: begin: %w", err)
	}
	defer tx.Rollback()
	c, err := findCopy(ctx, tx, req.Barcode, func(c BookCopy) bool { return c.Status == books.StatusLent })
	if err != nil {
		return BookLoan{}, err
	}
	l, err := db.openLoanOf(ctx, tx, c)
	if err != nil {
		return BookLoan{}, err
	}
	rules := rulesOf(req.Rules, l.Class)
	now := db.now()
	if req.Condition != "" {
		c.Condition = req.Condition
	}
	l.Ended, l.Outcome = now, "returned"
	l.OverdueDays = rules.OverdueDays(l.Due, now)
	l.Reminder = rules.Reminder(l.OverdueDays)
	if _, err := tx.ExecContext(ctx, `UPDATE book_loans SET ended_at = ?, outcome = 'returned' WHERE id = ?`, fmtTime(now), l.ID); err != nil {
		return BookLoan{}, fmt.Errorf("return %s: end loan: %w", c.Barcode, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE book_copies SET status = 'shelf', condition = ?, updated_at = ? WHERE id = ?`, string(c.Condition), fmtTime(now), c.ID); err != nil {
		return BookLoan{}, fmt.Errorf("return %s: copy status: %w", c.Barcode, err)
	}
	c.Status = books.StatusShelf
	l.Copy = c
	b := bodyOf(LoanReturn, l, c, now)
	b.Handler, b.Note, b.Booth = req.Handler, req.Note, req.Booth
	if err := db.journalLoan(ctx, tx, b); err != nil {
		return BookLoan{}, err
	}
	if err := tx.Commit(); err != nil {
		return BookLoan{}, fmt.Errorf("return %s: commit: %w", c.Barcode, err)
	}
	return l, nil
}

// openLoanOf returns the open loan of c, or EDENIED books.ReasonNotLent.
// Its OverdueDays and Reminder are by the default rules: the caller, who
// knows the class, sets them.
func (db *DB) openLoanOf(ctx context.Context, tx *sql.Tx, c BookCopy) (BookLoan, error) {
	ls, err := db.queryLoans(ctx, tx, nil, `l.copy_id = ? AND l.ended_at = ''`, c.ID)
	if err != nil {
		return BookLoan{}, fmt.Errorf("open loan of %s: %w", c.Barcode, err)
	}
	if len(ls) == 0 {
		e := kiosk.Errorf(kiosk.EDENIED, "copy %s is not lent (%s)", c.Barcode, c.Status)
		e.Reason = books.ReasonNotLent
		return BookLoan{}, e
	}
	return ls[0], nil
}

// RenewBook renews the open loan of the copy barcode names and journals
// it, by the rules of the class of the child who has the book (how many
// renewals, how many days; see books.Rules.Renew). rules is as for
// LendRequest.Rules (nil: books' defaults); handler "" is HandlerKiosk.
// The returned loan has the new Due and Renewals, OverdueDays 0. Errors
// as for ReturnBook, or the EDENIED refusals of books.Rules.Renew.
func (db *DB) RenewBook(ctx context.Context, barcode string, rules books.RulesByClass, handler string) (BookLoan, error) {
	if handler == "" {
		handler = HandlerKiosk
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return BookLoan{}, fmt.Errorf("renew: begin: %w", err)
	}
	defer tx.Rollback()
	c, err := findCopy(ctx, tx, barcode, func(c BookCopy) bool { return c.Status == books.StatusLent })
	if err != nil {
		return BookLoan{}, err
	}
	l, err := db.openLoanOf(ctx, tx, c)
	if err != nil {
		return BookLoan{}, err
	}
	now := db.now()
	due, err := rulesOf(rules, l.Class).Renew(now, l.rulesLoan())
	if err != nil {
		return BookLoan{}, err
	}
	l.Due, l.Renewals = due, l.Renewals+1
	l.OverdueDays, l.Reminder = 0, 0
	if _, err := tx.ExecContext(ctx, `UPDATE book_loans SET due = ?, renewals = ? WHERE id = ?`, due.Format(time.DateOnly), l.Renewals, l.ID); err != nil {
		return BookLoan{}, fmt.Errorf("renew %s: %w", c.Barcode, err)
	}
	b := bodyOf(LoanRenew, l, c, now)
	b.Handler = handler
	if err := db.journalLoan(ctx, tx, b); err != nil {
		return BookLoan{}, err
	}
	if err := tx.Commit(); err != nil {
		return BookLoan{}, fmt.Errorf("renew %s: commit: %w", c.Barcode, err)
	}
	return l, nil
}

// CopyEvent is a manager's record about one copy.
type CopyEvent struct {
	Barcode string
	// Event is LoanLost, LoanDamaged or LoanWriteOff.
	Event   string
	Handler string // required: the manager
	Note    string
}

// RecordCopyEvent records a lost, damaged or written-off copy and
// journals it with the title's price (families replace at the original
// price). Lost ends the copy's open loan (outcome lost) and marks it lost;
// damaged sets its condition; write-off removes it from stock (an open
// loan must be returned or lost first: ECONFLICT). Handler and a known
// Event are required (EINVALID).
func (db *DB) RecordCopyEvent(ctx context.Context, e CopyEvent) (BookCopy, error) {
	if e.Handler == "" {
		return BookCopy{}, kiosk.Errorf(kiosk.EINVALID, "%s: who records it?", e.Event)
	}
	switch e.Event {
	case LoanLost, LoanDamaged, LoanWriteOff:
	default:
		return BookCopy{}, kiosk.Errorf(kiosk.EINVALID, "unknown copy event %q", e.Event)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return BookCopy{}, fmt.Errorf("%s: begin: %w", e.Event, err)
	}
	defer tx.Rollback()
	c, err := findCopy(ctx, tx, e.Barcode, func(BookCopy) bool { return false })
	if err != nil {
		return BookCopy{}, err
	}
	if c.Status == books.StatusWrittenOff {
		return BookCopy{}, kiosk.Errorf(kiosk.ECONFLICT, "copy %s is written off", c.Barcode)
	}
	now := db.now()
	ls, err := db.queryLoans(ctx, tx, nil, `l.copy_id = ? AND l.ended_at = ''`, c.ID)
	if err != nil {
		return BookCopy{}, fmt.Errorf("%s %s: open loan: %w", e.Event, c.Barcode, err)
	}
	var l BookLoan
	if len(ls) > 0 {
		l = ls[0]
	}
	switch e.Event {
	case LoanLost:
		c.Status = books.StatusLost
		if l.ID != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE book_loans SET ended_at = ?, outcome = 'lost' WHERE id = ?`, fmtTime(now), l.ID); err != nil {
				return BookCopy{}, fmt.Errorf("lost %s: end loan: %w", c.Barcode, err)
			}
		}
	case LoanDamaged:
		c.Condition = books.ConditionDamaged
	case LoanWriteOff:
		if l.ID != 0 {
			return BookCopy{}, kiosk.Errorf(kiosk.ECONFLICT, "copy %s is lent: record it returned or lost first", c.Barcode)
		}
		c.Status = books.StatusWrittenOff
	}
	if _, err := tx.ExecContext(ctx, `UPDATE book_copies SET status = ?, condition = ?, updated_at = ? WHERE id = ?`,
		string(c.Status), string(c.Condition), fmtTime(now), c.ID); err != nil {
		return BookCopy{}, fmt.Errorf("%s %s: copy: %w", e.Event, c.Barcode, err)
	}
	b := bodyOf(e.Event, l, c, now)
	b.Handler, b.Note, b.PriceCents = e.Handler, e.Note, c.PriceCents
	if err := db.journalLoan(ctx, tx, b); err != nil {
		return BookCopy{}, err
	}
	if err := tx.Commit(); err != nil {
		return BookCopy{}, fmt.Errorf("%s %s: commit: %w", e.Event, c.Barcode, err)
	}
	return c, nil
}

// loanEntries reads the 'loan' entries LoanRegister needs for loans lent
// in [from, to), in journal order: with a period, the lend entries whose
// "at" lies in it and every entry of those loans' ids, found by the
// indexes journal_loan_event and journal_loan_id (0014), so that a month
// reads its own entries and not the decade's; without one (both sides
// open) every loan entry. Lends of the same ids outside the period and
// entries before their lend come too: LoanRegister skips them as it
// skips them in the whole journal. Stored times are fixed-width UTC
// (timeFormat), so the string bounds select what the time bounds do.
func (db *DB) loanEntries(ctx context.Context, from, to time.Time) (*sql.Rows, error) {
	if from.IsZero() && to.IsZero() {
		return db.db.QueryContext(ctx, `SELECT seq, clock_synced, body FROM journal WHERE kind = 'loan' ORDER BY seq`)
	}
	lo, hi := fmtTime(from), "~" // "~" sorts after every stored time
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	return db.db.QueryContext(ctx, loanPeriodSQL, lo, hi)
}

// loanPeriodSQL selects the loan entries of the loans lent in [?1, ?2)
// (stored times); see loanEntries. The CROSS JOIN keeps the period's
// loan ids as the outer loop (SQLite does not reorder it): otherwise the
// planner walks every loan entry in seq order to save the final sort.
const loanPeriodSQL = `SELECT e.seq, e.clock_synced, e.body
	FROM (SELECT DISTINCT json_extract(body, '$.loan_id') AS loan_id FROM journal
	      WHERE kind = 'loan' AND json_extract(body, '$.event') = 'lend'
	        AND json_extract(body, '$.at') >= ?1 AND json_extract(body, '$.at') < ?2) AS l
	CROSS JOIN journal e
	WHERE e.kind = 'loan' AND json_extract(e.body, '$.loan_id') = l.loan_id
	ORDER BY e.seq`

// LoanRegister returns the book loans register (图书借阅登记表) for loans
// lent in [from, to), read from the journal: one row per lend entry, in
// journal order, completed by the loan's later renew, return and lost
// entries. A zero from or to leaves that side open. OverdueDays of a book
// still out is as at now, by the rules of the class it was lent to (the
// row's Class; rules as for LendRequest.Rules).
func (db *DB) LoanRegister(ctx context.Context, from, to time.Time, rules books.RulesByClass) ([]register.BookLoan, error) {
	rows, err := db.loanEntries(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("loan register: query: %w", err)
	}
	defer rows.Close()
	var out []register.BookLoan
	byLoan := map[int64]int{}
	for rows.Next() {
		var (
			seq    int64
			synced bool
			raw    sql.RawBytes // valid until Next: decoded at once
			b      loanBody
		)
		if err := rows.Scan(&seq, &synced, &raw); err != nil {
			return nil, fmt.Errorf("loan register: scan: %w", err)
		}
		if err := decodeLoanBody(raw, &b); err != nil {
			return nil, fmt.Errorf("loan register: seq %d: %w", seq, err)
		}
		at, err := parseTime(b.At)
		if err != nil {
			return nil, fmt.Errorf("loan register: seq %d: %w", seq, err)
		}
		var due time.Time
		if b.Due != "" {
			if due, err = time.Parse(time.DateOnly, b.Due); err != nil {
				return nil, fmt.Errorf("loan register: seq %d: due: %w", seq, err)
			}
		}
		if b.Event == LoanLend {
			if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && !at.Before(to)) {
				continue
			}
			byLoan[b.LoanID] = len(out)
			out = append(out, register.BookLoan{
				Seq: seq, LoanID: b.LoanID, Lent: at, ChildName: b.ChildName, Class: b.Class,
				Barcode: b.Barcode, Title: b.Title, Author: b.Author, Due: due,
				ConditionOut: books.Condition(b.Condition).ZH(), Handler: b.Handler,
				PriceCents: b.PriceCents, ClockSynced: synced,
			})
			continue
		}
		i, ok := byLoan[b.LoanID]
		if !ok || b.LoanID == 0 {
			continue
		}
		row := &out[i]
		if b.Handler != "" && b.Handler != row.Handler && !strings.Contains(row.Handler, " / "+b.Handler) {
			row.Handler += " / " + b.Handler
		}
		if b.Note != "" {
			row.Note = strings.TrimPrefix(row.Note+"；"+b.Note, "；")
		}
		switch b.Event {
		case LoanRenew:
			row.Due, row.Renewals = due, b.Renewals
		case LoanReturn:
			row.Returned, row.OverdueDays, row.ConditionIn = at, b.OverdueDays, books.Condition(b.Condition).ZH()
		case LoanLost:
			row.Lost, row.PriceCents = true, b.PriceCents
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loan register: rows: %w", err)
	}
	now := db.now()
	for i := range out {
		if out[i].Returned.IsZero() && !out[i].Lost {
			out[i].OverdueDays = rulesOf(rules, out[i].Class).OverdueDays(out[i].Due, now)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// StockTake compares the catalogue with the barcodes scanned on the
// shelves; see books.TakeStock. It writes nothing.
func (db *DB) StockTake(ctx context.Context, scanned []string) (books.StockResult, error) {
	cs, err := db.BookCopies(ctx)
	if err != nil {
		return books.StockResult{}, fmt.Errorf("stock-take: %w", err)
	}
	copies := make([]books.Copy, len(cs))
	for i, c := range cs {
		copies[i] = books.Copy{Barcode: c.Barcode, ISBN: c.ISBN, Title: c.Title.Title, Status: c.Status}
	}
	return books.TakeStock(copies, scanned), nil
}

// Library is the kiosk's view of the library (kiosk.Library): loans and
// returns at a booth, each under the rules of the child's class, handled
// by HandlerKiosk.
type Library struct {
	db    *DB
	rules books.RulesByClass
}

var _ kiosk.Library = (*Library)(nil)

// Library returns the kiosk's library, lending by rules: the rules of a
// child's class, as for LendRequest.Rules (books.Same for one set for
// all; nil for books' defaults).
func (db *DB) Library(rules books.RulesByClass) *Library {
	return &Library{db: db, rules: rules}
}

// Borrow lends by the rules of the child's class; see DB.Lend. Held
// counts the child's books after it.
func (l *Library) Borrow(ctx context.Context, child kiosk.ChildID, booth, barcode string) (kiosk.BookLoan, error) {
	loan, err := l.db.Lend(ctx, LendRequest{Child: child, Barcode: barcode, Rules: l.rules, Booth: booth})
	if err != nil {
		return kiosk.BookLoan{}, err
	}
	open, err := l.db.OpenLoans(ctx, child, l.rules)
	if err != nil {
		return kiosk.BookLoan{}, err
	}
	return kiosk.BookLoan{Barcode: loan.Copy.Barcode, Title: loan.Copy.Title.Title, Due: loan.Due, Held: len(open)}, nil
}

// Return takes a book back; see DB.ReturnBook.
func (l *Library) Return(ctx context.Context, booth, barcode string) (kiosk.BookLoan, error) {
	loan, err := l.db.ReturnBook(ctx, ReturnRequest{Barcode: barcode, Rules: l.rules, Booth: booth})
	if err != nil {
		return kiosk.BookLoan{}, err
	}
	return kiosk.BookLoan{Barcode: loan.Copy.Barcode, Title: loan.Copy.Title.Title, Due: loan.Due, OverdueDays: loan.OverdueDays}, nil
}

// BookWords returns books.Words for r under the rules of child's class
// (the default rules for child 0, or when the child cannot be read: the
// words are still shown).
func (l *Library) BookWords(ctx context.Context, child kiosk.ChildID, r kiosk.Reason) kiosk.Words {
	class := ""
	if child != 0 && r == books.ReasonLimit {
		if ch, err := l.db.Child(ctx, child); err == nil {
			class = ch.Class
		}
	}
	return books.Words(r, rulesOf(l.rules, class).MaxLoans)
}

// Overdue returns the books child holds at reminder level 1 or more (see
// books.Rules.Reminder, by the rules of the child's class) as at now,
// most overdue first, with OverdueDays: the kind line on the child's next
// tap.
func (l *Library) Overdue(ctx context.Context, child kiosk.ChildID) ([]kiosk.BookLoan, error) {
	open, err := l.db.OpenLoans(ctx, child, l.rules)
	if err != nil {
		return nil, err
	}
	var out []kiosk.BookLoan
	for _, o := range open {
		if o.Reminder >= 1 {
			out = append(out, kiosk.BookLoan{Barcode: o.Copy.Barcode, Title: o.Copy.Title.Title, Due: o.Due, OverdueDays: o.OverdueDays})
		}
	}
	return out, nil
}
