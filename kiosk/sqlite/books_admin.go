package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
)

// The catalogue as the console's managers keep it: titles added and
// corrected one at a time, copies added to a title. Each change is
// written with an 'audit' journal entry naming the manager in the same
// transaction (the entry is the change's record, as for a catalogue
// import, whose caller audits it): book_title_add, book_title_edit,
// book_copy_add. Lost, damaged and written-off copies go through
// RecordCopyEvent and its 'loan' entries.

// Audit actions of the catalogue's changes.
const (
	ActionBookTitleAdd  = "book_title_add"
	ActionBookTitleEdit = "book_title_edit"
	ActionBookCopyAdd   = "book_copy_add"
)

// Limits of a title's text fields, in characters, and of its price.
const (
	MaxBookTitle    = 200
	MaxBookText     = 100 // author, publisher, category
	MaxBookPrice    = 100000_00
	MaxCopiesAtOnce = 200 // copies added by one request
)

// BookTitle is one title of the catalogue with how many of its copies
// are in each status. Title.Copies and Title.Line are not set.
type BookTitle struct {
	ID int64
	books.Title
	Shelf, Lent, Lost, WrittenOff int
	Created, Updated              time.Time
}

// Copies is the number of copies still in stock (not written off).
func (t BookTitle) Copies() int { return t.Shelf + t.Lent + t.Lost }

const titleSelect = `SELECT t.id, t.isbn, t.title, t.author, t.publisher, t.category, t.price_cents, t.created_at, t.updated_at,
	COALESCE(SUM(c.status = 'shelf'), 0), COALESCE(SUM(c.status = 'lent'), 0),
	COALESCE(SUM(c.status = 'lost'), 0), COALESCE(SUM(c.status = 'written_off'), 0)
	FROM book_titles t LEFT JOIN book_copies c ON c.title_id = t.id`

func scanTitle(sc interface{ Scan(...any) error }) (BookTitle, error) {
	var (
		t            BookTitle
		isbn, cr, up string
		err          error
	)
	if err = sc.Scan(&t.ID, &isbn, &t.Title.Title, &t.Author, &t.Publisher, &t.Category, &t.PriceCents, &cr, &up,
		&t.Shelf, &t.Lent, &t.Lost, &t.WrittenOff); err != nil {
		return BookTitle{}, err
	}
	t.ISBN = books.ISBN(isbn)
	if t.Created, err = parseTime(cr); err != nil {
		return BookTitle{}, err
	}
	if t.Updated, err = parseTime(up); err != nil {
		return BookTitle{}, err
	}
	return t, nil
}

// BookTitles returns every title with its copy counts, ordered by title
// then ISBN.
func (db *DB) BookTitles(ctx context.Context) ([]BookTitle, error) {
	rows, err := db.db.QueryContext(ctx, titleSelect+` GROUP BY t.id ORDER BY t.title, t.isbn`)
	if err != nil {
		return nil, fmt.Errorf("book titles: %w", err)
	}
	defer rows.Close()
	var out []BookTitle
	for rows.Next() {
		t, err := scanTitle(rows)
		if err != nil {
			return nil, fmt.Errorf("book titles: scan: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("book titles: %w", err)
	}
	return out, nil
}

// BookTitle returns the title with the given id and its copies (written
// off too, by barcode); ENOTFOUND *kiosk.Error if none.
func (db *DB) BookTitle(ctx context.Context, id int64) (BookTitle, []BookCopy, error) {
	t, err := scanTitle(db.db.QueryRowContext(ctx, titleSelect+` WHERE t.id = ? GROUP BY t.id`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return BookTitle{}, nil, kiosk.Errorf(kiosk.ENOTFOUND, "no book title %d", id)
	} else if err != nil {
		return BookTitle{}, nil, fmt.Errorf("book title %d: %w", id, err)
	}
	rows, err := db.db.QueryContext(ctx, copySelect+` WHERE c.title_id = ? ORDER BY c.barcode`, id)
	if err != nil {
		return BookTitle{}, nil, fmt.Errorf("book title %d: copies: %w", id, err)
	}
	defer rows.Close()
	var cs []BookCopy
	for rows.Next() {
		c, err := scanCopy(rows)
		if err != nil {
			return BookTitle{}, nil, fmt.Errorf("book title %d: scan copy: %w", id, err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return BookTitle{}, nil, fmt.Errorf("book title %d: copies: %w", id, err)
	}
	return t, cs, nil
}

// LentBooks returns every loan still out, earliest due first, with
// overdue days and reminder levels as at now by the rules of each
// borrower's class (rules as for LendRequest.Rules): who holds each lent
// copy, for the stock-take and the catalogue.
func (db *DB) LentBooks(ctx context.Context, rules books.RulesByClass) ([]BookLoan, error) {
	out, err := db.queryLoans(ctx, db.db, rules, `l.ended_at = ''`)
	if err != nil {
		return nil, fmt.Errorf("lent books: %w", err)
	}
	return out, nil
}

// titleProblems checks a title's fields (not its copies): a valid ISBN
// in its 13-digit form, a title, text within the limits, a price of 0 to
// MaxBookPrice fen.
func titleProblems(t books.Title) []string {
	var probs []string
	if isbn, err := books.ParseISBN(string(t.ISBN)); err != nil || isbn != t.ISBN {
		probs = append(probs, fmt.Sprintf("ISBN %q 无效 invalid", string(t.ISBN)))
	}
	text := func(v, what string, max int, required bool) {
		switch n := utf8.RuneCountInString(v); {
		case n == 0 && required:
			probs = append(probs, "请填写"+what)
		case n > max:
			probs = append(probs, fmt.Sprintf("%s太长（最多%d字）", what, max))
		}
	}
	text(t.Title, "书名", MaxBookTitle, true)
	text(t.Author, "作者", MaxBookText, false)
	text(t.Publisher, "出版社", MaxBookText, false)
	text(t.Category, "类别", MaxBookText, false)
	if t.PriceCents < 0 || t.PriceCents > MaxBookPrice {
		probs = append(probs, fmt.Sprintf("价格须在 0 到 %s 元之间", books.FormatPrice(MaxBookPrice)))
	}
	return probs
}

func trimTitle(t books.Title) books.Title {
	t.Title = strings.TrimSpace(t.Title)
	t.Author = strings.TrimSpace(t.Author)
	t.Publisher = strings.TrimSpace(t.Publisher)
	t.Category = strings.TrimSpace(t.Category)
	return t
}

// copyCodes reads the barcodes of new copies of isbn (as typed or
// scanned, see books.ParseBarcode) as canonical codes. A bare cover ISBN
// names a title, not a copy, and an ISBN-plus-copy barcode must carry
// isbn; repeats are problems too.
func copyCodes(isbn books.ISBN, raw []string) ([]string, []string) {
	var codes, probs []string
	seen := map[string]bool{}
	for _, s := range raw {
		if strings.TrimSpace(s) == "" {
			continue
		}
		b, err := books.ParseBarcode(s)
		switch {
		case err != nil:
			probs = append(probs, kiosk.ErrorMessage(err))
			continue
		case b.Kind == books.BarcodeISBN:
			probs = append(probs, fmt.Sprintf("条码 %s 是封面 ISBN，请用馆藏号或“ISBN-册号” (a cover ISBN names the title, not a copy)", b.Code))
			continue
		case b.Kind == books.BarcodeISBNCopy && b.ISBN != isbn:
			probs = append(probs, fmt.Sprintf("条码 %s 属于另一个 ISBN (another title's ISBN)", b.Code))
			continue
		case seen[b.Code]:
			probs = append(probs, fmt.Sprintf("条码 %s 重复 (repeated)", b.Code))
			continue
		}
		seen[b.Code] = true
		codes = append(codes, b.Code)
	}
	return codes, probs
}

// insertCopies adds copies with the canonical codes to title id (on the
// shelf, in good condition); a code already in use is an ECONFLICT.
func insertCopies(ctx context.Context, tx *sql.Tx, id int64, codes []string, now string) error {
	var taken []string
	for _, code := range codes {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM book_copies WHERE barcode = ?`, code).Scan(&one)
		if err == nil {
			taken = append(taken, code)
			continue
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("copy %s: %w", code, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO book_copies (title_id, barcode, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			id, code, now, now); err != nil {
			return fmt.Errorf("insert copy %s: %w", code, err)
		}
	}
	if len(taken) > 0 {
		return kiosk.Errorf(kiosk.ECONFLICT, "条码已被使用 barcode already in use: %s", strings.Join(taken, ", "))
	}
	return nil
}

// AddBookTitle adds a title and, with t.Copies (barcodes as typed or
// scanned: accession numbers or ISBN plus copy number), its first copies,
// journaled as one 'audit' entry (ActionBookTitleAdd) by actor, all in
// one transaction. Text fields are trimmed. Errors are *kiosk.Error:
// EINVALID listing every problem (t.ISBN must be ParseISBN's 13 digits,
// see titleProblems and copyCodes), ECONFLICT when the ISBN is already in
// the catalogue or a barcode is in use.
func (db *DB) AddBookTitle(ctx context.Context, actor string, t books.Title) (BookTitle, error) {
	t = trimTitle(t)
	probs := titleProblems(t)
	codes, cprobs := copyCodes(t.ISBN, t.Copies)
	probs = append(probs, cprobs...)
	if len(codes) > MaxCopiesAtOnce {
		probs = append(probs, fmt.Sprintf("一次最多添加 %d 册", MaxCopiesAtOnce))
	}
	if actor == "" {
		probs = append(probs, "who adds the title?")
	}
	if len(probs) > 0 {
		return BookTitle{}, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(probs, "；"))
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return BookTitle{}, fmt.Errorf("add book title: begin: %w", err)
	}
	defer tx.Rollback()
	var other int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM book_titles WHERE isbn = ?`, string(t.ISBN)).Scan(&other)
	if err == nil {
		return BookTitle{}, kiosk.Errorf(kiosk.ECONFLICT, "ISBN %s 已在书目中 already in the catalogue", t.ISBN)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return BookTitle{}, fmt.Errorf("add book title: isbn: %w", err)
	}
	now := fmtTime(db.now())
	res, err := tx.ExecContext(ctx, `INSERT INTO book_titles (isbn, title, author, publisher, category, price_cents, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, string(t.ISBN), t.Title, t.Author, t.Publisher, t.Category, t.PriceCents, now, now)
	if err != nil {
		return BookTitle{}, fmt.Errorf("add book title: insert: %w", err)
	}
	id, _ := res.LastInsertId()
	if err := insertCopies(ctx, tx, id, codes, now); err != nil {
		if kiosk.ErrorCode(err) != "" {
			return BookTitle{}, err
		}
		return BookTitle{}, fmt.Errorf("add book title: %w", err)
	}
	detail := fmt.Sprintf("title=%d isbn=%s title_text=%q price=%s copies=%s", id, t.ISBN, t.Title,
		books.FormatPrice(t.PriceCents), strings.Join(codes, ","))
	if err := db.auditTx(ctx, tx, actor, ActionBookTitleAdd, detail); err != nil {
		return BookTitle{}, fmt.Errorf("add book title: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return BookTitle{}, fmt.Errorf("add book title: commit: %w", err)
	}
	bt, _, err := db.BookTitle(ctx, id)
	return bt, err
}

// UpdateBookTitle corrects title id's title, author, publisher, category
// and price (its ISBN stays: copies' barcodes carry it; add a new title
// for another ISBN), journaled as an 'audit' entry (ActionBookTitleEdit,
// the changed fields old -> new) by actor in the same transaction.
// Nothing changes and nothing is journaled when the fields are the same.
// Errors are *kiosk.Error: EINVALID (see titleProblems), ENOTFOUND.
// changed reports whether anything changed.
func (db *DB) UpdateBookTitle(ctx context.Context, actor string, id int64, t books.Title) (bt BookTitle, changed bool, err error) {
	t = trimTitle(t)
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return BookTitle{}, false, fmt.Errorf("edit book title: begin: %w", err)
	}
	defer tx.Rollback()
	old, err := scanTitle(tx.QueryRowContext(ctx, titleSelect+` WHERE t.id = ? GROUP BY t.id`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return BookTitle{}, false, kiosk.Errorf(kiosk.ENOTFOUND, "no book title %d", id)
	} else if err != nil {
		return BookTitle{}, false, fmt.Errorf("edit book title %d: %w", id, err)
	}
	t.ISBN = old.ISBN
	probs := titleProblems(t)
	if actor == "" {
		probs = append(probs, "who edits the title?")
	}
	if len(probs) > 0 {
		return BookTitle{}, false, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(probs, "；"))
	}
	var diff []string
	field := func(name, a, b string) {
		if a != b {
			diff = append(diff, fmt.Sprintf("%s: %q -> %q", name, a, b))
		}
	}
	field("title", old.Title.Title, t.Title)
	field("author", old.Author, t.Author)
	field("publisher", old.Publisher, t.Publisher)
	field("category", old.Category, t.Category)
	field("price", books.FormatPrice(old.PriceCents), books.FormatPrice(t.PriceCents))
	if len(diff) == 0 {
		return old, false, nil
	}
	now := fmtTime(db.now())
	if _, err := tx.ExecContext(ctx, `UPDATE book_titles SET title = ?, author = ?, publisher = ?, category = ?, price_cents = ?, updated_at = ? WHERE id = ?`,
		t.Title, t.Author, t.Publisher, t.Category, t.PriceCents, now, id); err != nil {
		return BookTitle{}, false, fmt.Errorf("edit book title %d: %w", id, err)
	}
	detail := fmt.Sprintf("title=%d isbn=%s %s", id, old.ISBN, strings.Join(diff, "; "))
	if err := db.auditTx(ctx, tx, actor, ActionBookTitleEdit, detail); err != nil {
		return BookTitle{}, false, fmt.Errorf("edit book title %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return BookTitle{}, false, fmt.Errorf("edit book title %d: commit: %w", id, err)
	}
	bt, _, err = db.BookTitle(ctx, id)
	return bt, true, err
}

// NewCopies are copies to add to a title.
type NewCopies struct {
	TitleID int64
	// Barcodes as typed or scanned: accession numbers ("A00123") or the
	// title's ISBN plus a copy number ("9787020002207-3").
	Barcodes []string
	// Count more copies are numbered ISBN-n after the title's highest
	// copy number n in use (1 when none).
	Count int
}

// AddBookCopies adds copies on the shelf in good condition to a title,
// journaled as one 'audit' entry (ActionBookCopyAdd, the barcodes) by
// actor in the same transaction, and returns the new copies' canonical
// barcodes. At most MaxCopiesAtOnce at once. Errors are *kiosk.Error:
// EINVALID listing every problem (see copyCodes; nothing to add),
// ENOTFOUND (no such title), ECONFLICT (a barcode is in use).
func (db *DB) AddBookCopies(ctx context.Context, actor string, n NewCopies) ([]string, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("add copies: begin: %w", err)
	}
	defer tx.Rollback()
	var isbn string
	err = tx.QueryRowContext(ctx, `SELECT isbn FROM book_titles WHERE id = ?`, n.TitleID).Scan(&isbn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kiosk.Errorf(kiosk.ENOTFOUND, "no book title %d", n.TitleID)
	} else if err != nil {
		return nil, fmt.Errorf("add copies to %d: %w", n.TitleID, err)
	}
	codes, probs := copyCodes(books.ISBN(isbn), n.Barcodes)
	switch {
	case n.Count < 0:
		probs = append(probs, "册数不能为负 count must not be negative")
	case len(codes)+n.Count > MaxCopiesAtOnce:
		probs = append(probs, fmt.Sprintf("一次最多添加 %d 册", MaxCopiesAtOnce))
	case len(codes)+n.Count == 0 && len(probs) == 0:
		probs = append(probs, "请扫描条码或填写册数 scan barcodes or give a count")
	}
	if actor == "" {
		probs = append(probs, "who adds the copies?")
	}
	if len(probs) > 0 {
		return nil, kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(probs, "；"))
	}
	if n.Count > 0 {
		next, err := nextCopyNumber(ctx, tx, books.ISBN(isbn), codes)
		if err != nil {
			return nil, fmt.Errorf("add copies to %d: %w", n.TitleID, err)
		}
		if next+n.Count-1 > books.MaxCopy {
			return nil, kiosk.Errorf(kiosk.EINVALID, "册号不能超过 %d", books.MaxCopy)
		}
		for i := range n.Count {
			codes = append(codes, books.CopyBarcode(books.ISBN(isbn), next+i))
		}
	}
	if err := insertCopies(ctx, tx, n.TitleID, codes, fmtTime(db.now())); err != nil {
		if kiosk.ErrorCode(err) != "" {
			return nil, err
		}
		return nil, fmt.Errorf("add copies to %d: %w", n.TitleID, err)
	}
	if err := db.auditTx(ctx, tx, actor, ActionBookCopyAdd, fmt.Sprintf("title=%d isbn=%s copies=%s", n.TitleID, isbn, strings.Join(codes, ","))); err != nil {
		return nil, fmt.Errorf("add copies to %d: %w", n.TitleID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("add copies to %d: commit: %w", n.TitleID, err)
	}
	return codes, nil
}

// copyNumbersSQL lists the barcodes in [?1, ?2): those that start with
// an ISBN's prefix "isbn-" when ?2 is the prefix with its last byte
// raised ("isbn."), read from the barcodes' unique index. substr(barcode,
// 1, n) = prefix, as it was, cannot use the index and read every copy of
// the library for each title's new copies.
const copyNumbersSQL = `SELECT barcode FROM book_copies WHERE barcode >= ?1 AND barcode < ?2`

// nextCopyNumber is 1 + the highest copy number of isbn in use, in the
// catalogue (any title, any status) or among codes.
func nextCopyNumber(ctx context.Context, tx *sql.Tx, isbn books.ISBN, codes []string) (int, error) {
	prefix := string(isbn) + "-"
	rows, err := tx.QueryContext(ctx, copyNumbersSQL, prefix, string(isbn)+".") // '.' follows '-'
	if err != nil {
		return 0, fmt.Errorf("copy numbers: %w", err)
	}
	defer rows.Close()
	all := append([]string(nil), codes...)
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			return 0, fmt.Errorf("copy numbers: scan: %w", err)
		}
		all = append(all, code)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("copy numbers: %w", err)
	}
	var nums []int
	for _, code := range all {
		if rest, ok := strings.CutPrefix(code, prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil {
				nums = append(nums, n)
			}
		}
	}
	sort.Ints(nums)
	if len(nums) == 0 {
		return 1, nil
	}
	return nums[len(nums)-1] + 1, nil
}
