package rostercsv

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/schoolcsv"
)

// File is a roster file as Read saw it: every data row with its own
// problems, for a preview that shows them all before anything is written.
type File struct {
	// Format is "csv" or "xlsx".
	Format string
	// Sheet is the name of the sheet read from an XLSX workbook; "" for
	// CSV.
	Sheet string
	// Rows are the data rows (not blank, not the header), in file order.
	Rows []Row
	// Problems is every problem of the file, the rows' included, sorted by
	// line; empty when the file can be imported.
	Problems []Problem
	// General are the problems not about one data row (also in Problems):
	// unknown, duplicate or missing columns, a CSV syntax error, an empty
	// file. Rows after a bad header are not read.
	General []Problem
}

// Row is one data row of a roster file.
type Row struct {
	// Line is where the row starts: the physical line of a CSV file (the
	// header is line 1), or the row number of the XLSX sheet.
	Line int
	// Entry is the row as parsed (see Parse). When Problems is not empty
	// it holds the fields that were valid: a contact or card with a
	// problem is left out.
	Entry kiosk.RosterEntry
	// Problems are the row's own problems, in the order found. A problem
	// between two rows (a card or child given twice) is on the later one.
	Problems []Problem
}

// Entries returns the entries of an importable file, one per row in file
// order, as Parse does; or nil and a *ParseError listing every problem
// when there is any (all or nothing).
func (f *File) Entries() ([]kiosk.RosterEntry, error) {
	if len(f.Problems) > 0 {
		return nil, schoolcsv.NewParseError("roster file", slices.Clone(f.Problems))
	}
	out := make([]kiosk.RosterEntry, len(f.Rows))
	for i, r := range f.Rows {
		out[i] = r.Entry
	}
	return out, nil
}

// zipMagic starts every XLSX file (a ZIP archive, ECMA-376 Part 2);
// oleMagic starts an Excel 97-2003 .xls file and a password-protected
// XLSX (both OLE compound files, MS-CFB).
var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Read reads a roster file, CSV (see Parse) or an XLSX workbook (see
// ParseXLSX), told apart by their first bytes, and returns every row with
// its problems; use File.Entries for all-or-nothing entries. Read returns
// an EINVALID *kiosk.Error for a file it cannot read as a roster at all: larger
// than MaxSize, an .xls or password-protected workbook, text in neither
// UTF-8 nor GB18030, a damaged workbook; another error when r fails.
func Read(r io.Reader, opts Opts) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read roster file: %w", err)
	}
	if len(b) > MaxSize {
		return nil, kiosk.Errorf(kiosk.EINVALID, "名册文件太大（超过 %d 字节）。 roster file: larger than %d bytes", MaxSize, MaxSize)
	}
	switch {
	case bytes.HasPrefix(b, zipMagic):
		return readXLSX(b, opts)
	case bytes.HasPrefix(b, oleMagic):
		return nil, kiosk.Errorf(kiosk.EINVALID, "这是 Excel 97-2003（.xls）或设了密码的工作簿：请在 Excel 中去掉密码，另存为“Excel 工作簿 (.xlsx)”或“CSV UTF-8”。 roster file: an Excel 97-2003 (.xls) or password-protected workbook: in Excel, save it without a password as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\"")
	case binary(b):
		return nil, kiosk.Errorf(kiosk.EINVALID, "%s", notRosterFile)
	}
	text, err := schoolcsv.Decode(b)
	if err != nil {
		if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
			return nil, kiosk.Errorf(kiosk.EINVALID, "这是 UTF-16 文本：请在 Excel 中另存为“CSV UTF-8”。 roster file: %s", kiosk.ErrorMessage(err))
		}
		// Text in no encoding Excel writes is, in practice, some other
		// file renamed .csv or .xlsx.
		return nil, kiosk.Errorf(kiosk.EINVALID, "%s (%s)", notRosterFile, kiosk.ErrorMessage(err))
	}
	return readCSV(text, opts), nil
}

// notRosterFile is the message for bytes that are neither an XLSX
// workbook nor CSV text.
const notRosterFile = "这不是 CSV 或 XLSX 文件：请在 Excel 中另存为“Excel 工作簿 (.xlsx)”或“CSV UTF-8”后再上传。 roster file: not a CSV or XLSX file"

// binary reports whether b looks like a binary file rather than text: a
// NUL byte, or more than 1 in 100 of other control bytes (not tab, line
// feed, form feed or carriage return), in its first 8 KiB. CSV in UTF-8
// or GB18030 has neither.
func binary(b []byte) bool {
	if len(b) > 8<<10 {
		b = b[:8<<10]
	}
	ctl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r', c == 0x7F:
			ctl++
		}
	}
	return ctl*100 > len(b)
}

func newParser(opts Opts, format string) *parser {
	return &parser{opts: opts, cards: map[string]int{}, ids: map[string]int{}, names: map[string]nameSeen{},
		file: File{Format: format}}
}

// general adds problems that are not about one data row.
func (p *parser) general(probs ...Problem) {
	p.problems = append(p.problems, probs...)
	p.file.General = append(p.file.General, probs...)
}

// fileHeader reads the header row like header, keeping its problems as
// general ones.
func (p *parser) fileHeader(rec []string) bool {
	before := len(p.problems)
	ok := p.header(rec)
	p.file.General = append(p.file.General, p.problems[before:]...)
	return ok
}

// addRow reads one data row into the file.
func (p *parser) addRow(rec []string) {
	before := len(p.problems)
	e, _ := p.row(rec)
	p.file.Rows = append(p.file.Rows, Row{Line: e.Line, Entry: e, Problems: slices.Clone(p.problems[before:])})
}

// finish returns the file with its problems sorted by line.
func (p *parser) finish() *File {
	f := p.file
	f.Problems = schoolcsv.NewParseError("", slices.Clone(p.problems)).Problems
	f.General = schoolcsv.NewParseError("", f.General).Problems
	return &f
}

// ParseAny reads a roster file in either format, as Read, and returns its
// entries all or nothing, as File.Entries.
func ParseAny(r io.Reader, opts Opts) ([]kiosk.RosterEntry, error) {
	f, err := Read(r, opts)
	if err != nil {
		return nil, err
	}
	return f.Entries()
}
