package books

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/schoolcsv"
)

// MaxCatalogueSize is the largest catalogue file ParseCatalogue reads, in
// bytes.
const MaxCatalogueSize = 16 << 20

// Title is one title of the catalogue with the barcodes of its copies.
type Title struct {
	ISBN      ISBN
	Title     string
	Author    string
	Publisher string
	Category  string
	// PriceCents is the list price in fen (1 yuan = 100); 0 when unknown.
	// A lost or damaged copy is replaced at this price.
	PriceCents int64
	// Copies are canonical barcodes (see Barcode.Code), in file order.
	Copies []string
	// Line is the file line of the title's row (header is line 1); 0 when
	// not from a file.
	Line int
}

// FormatPrice formats fen as yuan with two decimals ("25.00").
func FormatPrice(cents int64) string {
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}

// Problem is one thing wrong in a catalogue file: Line is the physical
// line where the offending field starts (the header is line 1), Column the
// header as written in the file or "" for the whole row.
type Problem = schoolcsv.Problem

// ParseError lists every problem in a catalogue file, sorted by line. It
// unwraps to an EINVALID *kiosk.Error.
type ParseError = schoolcsv.ParseError

type catField int

const (
	catNone catField = iota
	catISBN
	catTitle
	catAuthor
	catPublisher
	catCategory
	catPrice
	catCopies
	catBarcodes
)

var catHeaders = map[string]catField{
	"isbn": catISBN, "书号": catISBN,
	"书名": catTitle, "title": catTitle,
	"作者": catAuthor, "author": catAuthor,
	"出版社": catPublisher, "publisher": catPublisher,
	"分类": catCategory, "类别": catCategory, "category": catCategory,
	"价格": catPrice, "定价": catPrice, "price": catPrice,
	"册数": catCopies, "copies": catCopies,
	"条码": catBarcodes, "barcodes": catBarcodes, "barcode": catBarcodes,
}

// ParseCatalogue reads a catalogue CSV (RFC 4180; UTF-8 with or without a
// BOM, or GB18030) with a header row in Chinese or English:
//
//	ISBN/书号        required, ISBN-13 or ISBN-10 (stored as ISBN-13)
//	书名 title       required
//	作者 author
//	出版社 publisher
//	分类/类别 category
//	价格/定价 price  yuan, "25", "25.5", "¥25.50" or "25元"
//	册数 copies      how many copies, 1..MaxCopy; default 1, or the number of barcodes
//	条码 barcodes    the copies' labels separated by ; 、 or spaces; default
//	                 ISBN-1 .. ISBN-N (see CopyBarcode)
//
// It is all-or-nothing: if anything is wrong it returns no titles and a
// *ParseError listing every problem (unknown, duplicate or missing
// columns; a bad ISBN, price, count or barcode; a count that does not
// match the barcodes; the same ISBN on two rows; the same barcode twice;
// text a spreadsheet would run as a formula). A file that cannot be read
// or decoded returns another error.
func ParseCatalogue(r io.Reader) ([]Title, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxCatalogueSize+1))
	if err != nil {
		return nil, fmt.Errorf("read catalogue file: %w", err)
	}
	if len(b) > MaxCatalogueSize {
		return nil, kiosk.Errorf(kiosk.EINVALID, "catalogue file: larger than %d bytes", MaxCatalogueSize)
	}
	text, err := schoolcsv.Decode(b)
	if err != nil {
		return nil, kiosk.Errorf(kiosk.EINVALID, "catalogue file: %s", kiosk.ErrorMessage(err))
	}
	p := catParser{isbns: map[ISBN]int{}, codes: map[string]int{}}
	titles := p.parse(text)
	if len(p.problems) > 0 {
		return nil, schoolcsv.NewParseError("catalogue file", p.problems)
	}
	return titles, nil
}

type catParser struct {
	cr       *csv.Reader
	cols     []catField
	heads    []string
	index    map[catField]int
	problems []Problem
	isbns    map[ISBN]int   // -> line
	codes    map[string]int // barcode -> line
}

func (p *catParser) addf(line int, col, format string, args ...any) {
	p.problems = append(p.problems, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func (p *catParser) parse(text string) []Title {
	p.cr = schoolcsv.NewReader(text)
	var out []Title
	p.problems = append(p.problems, schoolcsv.Read(p.cr, "ISBN, 书名, 作者, 出版社, 分类, 价格, 册数, 条码", p.header, func(rec []string) {
		if t, ok := p.row(rec); ok {
			out = append(out, t)
		}
	})...)
	return out
}

func (p *catParser) header(rec []string) bool {
	line, _ := p.cr.FieldPos(0)
	before := len(p.problems)
	p.index = map[catField]int{}
	for i, h := range rec {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		p.heads = append(p.heads, h)
		if h == "" {
			p.cols = append(p.cols, catNone)
			p.heads[i] = fmt.Sprintf("column %d", i+1)
			continue
		}
		f, ok := catHeaders[strings.ToLower(width.Fold.String(h))]
		if !ok {
			p.addf(line, h, "unknown column: want ISBN, 书名/title, 作者/author, 出版社/publisher, 分类/category, 价格/price, 册数/copies, 条码/barcodes")
			f = catNone
		} else if j, dup := p.index[f]; dup {
			p.addf(line, h, "duplicate column: same as %s", p.heads[j])
		} else {
			p.index[f] = i
		}
		p.cols = append(p.cols, f)
	}
	for _, need := range []struct {
		f    catField
		name string
	}{{catISBN, "ISBN"}, {catTitle, "书名/title"}} {
		if _, ok := p.index[need.f]; !ok {
			p.addf(line, "", "missing column %s", need.name)
		}
	}
	return len(p.problems) == before
}

// cell returns the trimmed field f of rec, its line and its header.
func (p *catParser) cell(rec []string, f catField) (string, int, string) {
	i, ok := p.index[f]
	if !ok || i >= len(rec) {
		line, _ := p.cr.FieldPos(0)
		return "", line, ""
	}
	line, _ := p.cr.FieldPos(i)
	return strings.TrimSpace(rec[i]), line, p.heads[i]
}

func (p *catParser) row(rec []string) (Title, bool) {
	before := len(p.problems)
	rowLine, _ := p.cr.FieldPos(0)
	t := Title{Line: rowLine}
	for i, f := range rec {
		if i >= len(p.cols) {
			if strings.TrimSpace(f) != "" {
				line, _ := p.cr.FieldPos(i)
				p.addf(line, "", "field %d has no column header", i+1)
			}
			continue
		}
		if p.cols[i] == catNone && strings.TrimSpace(f) != "" && i < len(p.heads) {
			line, _ := p.cr.FieldPos(i)
			p.addf(line, p.heads[i], "column without a known header must stay empty")
		}
	}

	s, line, col := p.cell(rec, catISBN)
	if s == "" {
		p.addf(line, col, "missing ISBN")
	} else if isbn, err := ParseISBN(s); err != nil {
		p.addf(line, col, "%s", strings.TrimPrefix(err.Error(), ErrISBN.Error()+" "))
	} else if prev, dup := p.isbns[isbn]; dup {
		p.addf(line, col, "ISBN %s is already on line %d: give one row per title, with its copies", isbn, prev)
	} else {
		p.isbns[isbn] = line
		t.ISBN = isbn
	}

	for _, tf := range []struct {
		f        catField
		dst      *string
		what     string
		required bool
	}{
		{catTitle, &t.Title, "title", true},
		{catAuthor, &t.Author, "author", false},
		{catPublisher, &t.Publisher, "publisher", false},
		{catCategory, &t.Category, "category", false},
	} {
		s, line, col := p.cell(rec, tf.f)
		switch {
		case s == "" && tf.required:
			p.addf(line, col, "missing %s", tf.what)
		case s != "" && strings.ContainsRune("=+-@", rune(s[0])):
			p.addf(line, col, "%s starts with %q: a spreadsheet would run it as a formula", tf.what, s[:1])
		case strings.IndexFunc(s, unicode.IsControl) >= 0:
			p.addf(line, col, "%s contains a line break or another control character", tf.what)
		default:
			*tf.dst = s
		}
	}

	if s, line, col := p.cell(rec, catPrice); s != "" {
		if c, err := parsePrice(s); err != nil {
			p.addf(line, col, "%v", err)
		} else {
			t.PriceCents = c
		}
	}

	count := 0
	countLine, countCol := 0, ""
	if s, line, col := p.cell(rec, catCopies); s != "" {
		n, err := strconv.Atoi(width.Fold.String(s))
		if err != nil || n < 1 || n > MaxCopy {
			p.addf(line, col, "copies %q: want a whole number from 1 to %d", s, MaxCopy)
		} else {
			count, countLine, countCol = n, line, col
		}
	}
	s, line, col = p.cell(rec, catBarcodes)
	codes := strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == '；' || r == '、' || r == ',' || r == '，' || unicode.IsSpace(r)
	})
	for _, c := range codes {
		b, err := ParseBarcode(c)
		switch {
		case err != nil:
			p.addf(line, col, "%s", kiosk.ErrorMessage(err))
			continue
		case b.Kind == BarcodeISBN:
			p.addf(line, col, "barcode %s is the book's own ISBN: each copy needs its own label (ISBN-1, ISBN-2 or an accession number)", c)
			continue
		case b.Kind == BarcodeISBNCopy && t.ISBN != "" && b.ISBN != t.ISBN:
			p.addf(line, col, "barcode %s is another book's ISBN", c)
			continue
		}
		if prev, dup := p.codes[b.Code]; dup {
			p.addf(line, col, "barcode %s is already on line %d", b.Code, prev)
			continue
		}
		p.codes[b.Code] = line
		t.Copies = append(t.Copies, b.Code)
	}
	switch {
	case len(codes) > 0 && count > 0 && count != len(codes):
		p.addf(countLine, countCol, "%d copies but %d barcodes", count, len(codes))
	case len(codes) == 0 && t.ISBN != "":
		if count == 0 {
			count = 1
		}
		for n := 1; n <= count; n++ {
			code := CopyBarcode(t.ISBN, n)
			if prev, dup := p.codes[code]; dup {
				p.addf(line, col, "barcode %s is already on line %d", code, prev)
				continue
			}
			p.codes[code] = t.Line
			t.Copies = append(t.Copies, code)
		}
	}
	return t, len(p.problems) == before
}

// parsePrice reads yuan ("25", "25.5", "¥25.50", "25元") as fen.
func parsePrice(s string) (int64, error) {
	v := strings.TrimSpace(width.Fold.String(s))
	v = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "¥"), "￥"), "元"))
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || !allDigits(whole) || len(whole) > 7 || (frac != "" && (!allDigits(frac) || len(frac) > 2)) {
		return 0, fmt.Errorf("price %q: want yuan like 25 or 25.50", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "0")[:2], 10, 64)
	}
	return w*100 + f, nil
}
