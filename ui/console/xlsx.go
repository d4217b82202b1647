package console

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/qinqing/station/kiosk/register"
)

// xlsxSheet is the name of the register's worksheet.
const xlsxSheet = "通话记录"

// xlsxWidths are the column widths (in characters) of register.Header's
// columns.
var xlsxWidths = []float64{6, 11, 10, 11, 18, 15, 9, 9, 10, 6, 8, 9, 22}

// registerCells returns the calls register's cells exactly as
// register.WriteCallsCSV writes them (numbers masked), one []string per
// row, header excluded, so that the XLSX and the CSV never disagree.
func registerCells(rows []register.Call, loc *time.Location) ([][]string, error) {
	var buf bytes.Buffer
	if err := register.WriteCallsCSV(&buf, rows, loc); err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF"))))
	r.FieldsPerRecord = len(register.Header)
	all, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("register cells: %w", err)
	}
	return all[1:], nil
}

// xlsxTitle is what the title rows of an XLSX register say.
type xlsxTitle struct {
	School   string // row 1
	Register string // row 2, e.g. 亲情电话通话记录
	Range    string // row 2, after the register's title, e.g. 2026-11-01 至 2026-11-30
}

// writeCallsXLSX writes the calls register as an XLSX workbook (Office
// Open XML, github.com/xuri/excelize/v2) to w: one sheet named xlsxSheet,
// the school's name in row 1 and the register's title and period in row 2
// (merged across the columns), register.Header in row 3 (frozen, with rows
// 1..3 repeated on every printed page), then one row per call with the
// same cells as the CSV. withNumbers puts the full number in 对方号码
// instead of the masked one. The page setup is A4 landscape, fitted to one
// page wide, with "第 N 页 / 共 M 页" in the footer.
func writeCallsXLSX(w io.Writer, rows []register.Call, loc *time.Location, t xlsxTitle, withNumbers bool) error {
	cells, err := registerCells(rows, loc)
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", xlsxSheet); err != nil {
		return fmt.Errorf("xlsx: sheet name: %w", err)
	}
	a4, landscape, one, zero := 9, "landscape", 1, 0
	if err := f.SetPageLayout(xlsxSheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return fmt.Errorf("xlsx: page layout: %w", err)
	}
	if err := f.SetHeaderFooter(xlsxSheet, &excelize.HeaderFooterOptions{
		OddFooter: "&L经办人：__________&C第 &P 页 / 共 &N 页&R负责人：__________",
	}); err != nil {
		return fmt.Errorf("xlsx: footer: %w", err)
	}
	last, _ := excelize.ColumnNumberToName(len(register.Header))
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + xlsxSheet + "'!$1:$3", Scope: xlsxSheet}); err != nil {
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

	sw, err := f.NewStreamWriter(xlsxSheet)
	if err != nil {
		return fmt.Errorf("xlsx: stream: %w", err)
	}
	for i, wd := range xlsxWidths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return fmt.Errorf("xlsx: width: %w", err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("xlsx: panes: %w", err)
	}
	title2 := strings.TrimSpace(t.Register + "  " + t.Range)
	if err := sw.SetRow("A1", []any{excelize.Cell{Value: t.School, StyleID: titleStyle}}); err != nil {
		return fmt.Errorf("xlsx: title: %w", err)
	}
	if err := sw.SetRow("A2", []any{excelize.Cell{Value: title2, StyleID: titleStyle}}); err != nil {
		return fmt.Errorf("xlsx: title: %w", err)
	}
	head := make([]any, len(register.Header))
	for i, h := range register.Header {
		head[i] = excelize.Cell{Value: h, StyleID: headStyle}
	}
	if err := sw.SetRow("A3", head); err != nil {
		return fmt.Errorf("xlsx: header: %w", err)
	}
	vals := make([]any, len(register.Header))
	for i, row := range cells {
		if withNumbers {
			row[5] = rows[i].Number
		}
		for j, c := range row {
			// Strings are never formulas in XLSX: drop the CSV's guard.
			if len(c) > 1 && c[0] == '\'' && strings.ContainsRune("=+-@", rune(c[1])) {
				c = c[1:]
			}
			vals[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+4)
		if err := sw.SetRow(cell, vals); err != nil {
			return fmt.Errorf("xlsx: row %d: %w", i+1, err)
		}
	}
	if err := sw.MergeCell("A1", last+"1"); err != nil {
		return fmt.Errorf("xlsx: merge: %w", err)
	}
	if err := sw.MergeCell("A2", last+"2"); err != nil {
		return fmt.Errorf("xlsx: merge: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: flush: %w", err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("xlsx: write: %w", err)
	}
	return nil
}
