package console

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// writeTableXLSX writes a register as an XLSX workbook laid out as
// writeCallsXLSX's: one sheet named sheet, the school's name in row 1 and
// the register's title and period in row 2 (merged across the columns),
// header in row 3 (frozen, rows 1..3 repeated on every printed page), then
// cells, one row each, with the CSV's formula guard dropped; column widths
// in characters; A4 landscape fitted to one page wide, "第 N 页 / 共 M 页"
// and the 经办人/负责人 lines in the footer.
func writeTableXLSX(w io.Writer, t xlsxTitle, sheet string, header []string, widths []float64, cells [][]string) error {
	x, err := newXLSXTable(t, sheet, header, widths)
	if err != nil {
		return err
	}
	defer x.Close()
	for _, row := range cells {
		if err := x.add(row); err != nil {
			return err
		}
	}
	if err := x.finish(); err != nil {
		return err
	}
	return x.writeTo(w)
}

// xlsxTable is a register's workbook being written row by row, laid out
// as writeTableXLSX says: newXLSXTable writes the title rows and the
// header, add each row, finish the rest; writeTo then zips the workbook.
// The rows go through excelize's StreamWriter, which keeps them in a
// temporary file past 16 MiB, so a 100,000-row register costs little
// memory until the zip (the compressed workbook) is built. Close removes
// the temporary files.
type xlsxTable struct {
	f    *excelize.File
	sw   *excelize.StreamWriter
	cols int
	next int   // the next row's number (1-based, title rows included)
	vals []any // add's row, reused
}

func newXLSXTable(t xlsxTitle, sheet string, header []string, widths []float64) (*xlsxTable, error) {
	x := &xlsxTable{f: excelize.NewFile(), cols: len(header), next: 4, vals: make([]any, len(header))}
	if err := x.start(t, sheet, header, widths); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func (x *xlsxTable) start(t xlsxTitle, sheet string, header []string, widths []float64) error {
	f := x.f
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("xlsx: sheet name: %w", err)
	}
	a4, landscape, one, zero := 9, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return fmt.Errorf("xlsx: page layout: %w", err)
	}
	if err := f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{
		OddFooter: "&L经办人：__________&C第 &P 页 / 共 &N 页&R负责人：__________",
	}); err != nil {
		return fmt.Errorf("xlsx: footer: %w", err)
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + sheet + "'!$1:$3", Scope: sheet}); err != nil {
		return fmt.Errorf("xlsx: print titles: %w", err)
	}
	titleStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}, Alignment: &excelize.Alignment{Horizontal: "center"}})
	if err != nil {
		return fmt.Errorf("xlsx: style: %w", err)
	}
	headStyle, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Horizontal: "center"},
		Border: []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}}})
	if err != nil {
		return fmt.Errorf("xlsx: style: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("xlsx: stream: %w", err)
	}
	x.sw = sw
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return fmt.Errorf("xlsx: width: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("xlsx: panes: %w", err)
	}
	if err := sw.SetRow("A1", []any{excelize.Cell{Value: t.School, StyleID: titleStyle}}); err != nil {
		return fmt.Errorf("xlsx: title: %w", err)
	}
	if err := sw.SetRow("A2", []any{excelize.Cell{Value: strings.TrimSpace(t.Register + "  " + t.Range), StyleID: titleStyle}}); err != nil {
		return fmt.Errorf("xlsx: title: %w", err)
	}
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = excelize.Cell{Value: h, StyleID: headStyle}
	}
	if err := sw.SetRow("A3", head); err != nil {
		return fmt.Errorf("xlsx: header: %w", err)
	}
	return nil
}

// add writes one row of cells (missing cells empty, extra ones dropped),
// with the CSV's formula guard dropped.
func (x *xlsxTable) add(row []string) error {
	for j := range x.vals {
		c := ""
		if j < len(row) {
			c = row[j]
		}
		if len(c) > 1 && c[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(c[1])) {
			c = c[1:]
		}
		x.vals[j] = c
	}
	cell, _ := excelize.CoordinatesToCellName(1, x.next)
	if err := x.sw.SetRow(cell, x.vals); err != nil {
		return fmt.Errorf("xlsx: row %d: %w", x.next-3, err)
	}
	x.next++
	return nil
}

// finish merges the title rows and flushes the sheet; add may not be
// called after it.
func (x *xlsxTable) finish() error {
	last, _ := excelize.ColumnNumberToName(x.cols)
	if err := x.sw.MergeCell("A1", last+"1"); err != nil {
		return fmt.Errorf("xlsx: merge: %w", err)
	}
	if err := x.sw.MergeCell("A2", last+"2"); err != nil {
		return fmt.Errorf("xlsx: merge: %w", err)
	}
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: flush: %w", err)
	}
	return nil
}

// writeTo writes the finished workbook to w.
func (x *xlsxTable) writeTo(w io.Writer) error {
	if _, err := x.f.WriteTo(w); err != nil {
		return fmt.Errorf("xlsx: write: %w", err)
	}
	return nil
}

// Close releases the workbook and its temporary files.
func (x *xlsxTable) Close() error { return x.f.Close() }
