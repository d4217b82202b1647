package console

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"time"

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

// writeCallsXLSX writes the calls register as XLSX (title rows, the
// register's columns, A4 landscape, frozen header: writeTableXLSX). With
// withNumbers the 对方号码 column carries full numbers (principal and
// manager only, audited by the caller); otherwise they stay masked.
func writeCallsXLSX(w io.Writer, rows []register.Call, loc *time.Location, t xlsxTitle, withNumbers bool) error {
	cells, err := registerCells(rows, loc)
	if err != nil {
		return err
	}
	if withNumbers {
		for i := range cells {
			cells[i][5] = rows[i].Number
		}
	}
	return writeTableXLSX(w, t, xlsxSheet, register.Header, xlsxWidths, cells)
}
