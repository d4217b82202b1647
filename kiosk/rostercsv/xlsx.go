package rostercsv

import (
	"bytes"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/qinqing/station/kiosk"
)

// maxUnzip bounds the uncompressed size of a workbook's parts, in bytes,
// so that a small ZIP cannot expand into gigabytes (excelize's default
// allows 16 GiB).
const maxUnzip = 128 << 20

// ParseXLSX reads a roster workbook (Office Open XML, ECMA-376, as Excel
// and WPS save "xlsx") with the columns of a CSV roster file (see the
// package doc) and returns its entries as Parse does; Line is the sheet's
// row number. It reads the first visible sheet that has a non-blank cell.
// Above the header, rows with a single non-blank cell that is not a column
// name (a title such as "三年级花名册", often merged across the columns)
// are skipped; then, as in CSV, the first non-blank row is the header and
// blank rows are skipped.
//
// Cells are read as Excel shows them (a number formatted "0000000000"
// keeps its leading zeros), except that a whole number Excel shows in
// scientific notation (a card number of 12 or more digits typed as a
// number) is read as its digits.
//
// Problems are reported as by Parse, all or nothing, in a *ParseError;
// a file that is not a readable workbook is an EINVALID *kiosk.Error.
func ParseXLSX(r io.Reader, opts Opts) ([]kiosk.RosterEntry, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, kiosk.Errorf(kiosk.EINVALID, "roster file: larger than %d bytes", MaxSize)
	}
	f, err := readXLSX(b, opts)
	if err != nil {
		return nil, err
	}
	return f.Entries()
}

// readXLSX reads the roster sheet of workbook b.
func readXLSX(b []byte, opts Opts) (*File, error) {
	wb, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{UnzipSizeLimit: maxUnzip, UnzipXMLSizeLimit: maxUnzip})
	if err != nil {
		return nil, kiosk.Errorf(kiosk.EINVALID, "roster file: not a readable XLSX workbook (%v): in Excel, save it again as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\"", err)
	}
	defer wb.Close()
	sheet, rows, err := rosterSheet(wb)
	if err != nil {
		return nil, err
	}
	p := newParser(opts, "xlsx")
	p.file.Sheet = sheet
	cur := 0
	p.pos = func(int) int { return cur }
	header := false
	for i, rec := range rows {
		cur = i + 1
		if blankRow(rec) {
			continue
		}
		if !header {
			if titleRow(rec) {
				continue
			}
			header = true
			if !p.fileHeader(rec) {
				break
			}
			continue
		}
		p.addRow(rec)
	}
	if !header {
		p.general(Problem{Line: 1, Message: "empty sheet " + sheet + ": want a header row (" + wantHeader + ")"})
	}
	return p.finish(), nil
}

// rosterSheet returns the name and cells of the first visible sheet with a
// non-blank cell (the first sheet when all are blank).
func rosterSheet(wb *excelize.File) (string, [][]string, error) {
	var (
		name  string
		cells [][]string
	)
	for _, s := range wb.GetSheetList() {
		if visible, err := wb.GetSheetVisible(s); err != nil || !visible {
			continue
		}
		shown, err := wb.GetRows(s)
		if err != nil {
			return "", nil, kiosk.Errorf(kiosk.EINVALID, "roster file: sheet %s: %v", s, err)
		}
		raw, err := wb.GetRows(s, excelize.Options{RawCellValue: true})
		if err != nil {
			return "", nil, kiosk.Errorf(kiosk.EINVALID, "roster file: sheet %s: %v", s, err)
		}
		for i, row := range shown {
			for j, v := range row {
				if looksScientific(strings.TrimSpace(v)) && i < len(raw) && j < len(raw[i]) && digits(raw[i][j]) {
					row[j] = raw[i][j]
				}
			}
		}
		if name == "" {
			name, cells = s, shown
		}
		for _, row := range shown {
			if !blankRow(row) {
				return s, shown, nil
			}
		}
	}
	if name == "" {
		return "", nil, kiosk.Errorf(kiosk.EINVALID, "roster file: the workbook has no visible sheet")
	}
	return name, cells, nil
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func blankRow(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// titleRow reports whether rec, above the header, is a title: a single
// non-blank cell that is not a column name.
func titleRow(rec []string) bool {
	n, text := 0, ""
	for _, v := range rec {
		if v = strings.TrimSpace(v); v != "" {
			n++
			text = v
		}
	}
	if n != 1 {
		return false
	}
	_, known := headerNames[normHeader(text)]
	return !known
}
