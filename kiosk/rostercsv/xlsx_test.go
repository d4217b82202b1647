package rostercsv_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/rostercsv"
)

// workbook builds an XLSX file with one sheet per element of sheets, named
// in order; a cell holding "" is left empty, and rows are written from
// row 1 (a nil row stays blank).
func workbook(t *testing.T, names []string, sheets ...[][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, rows := range sheets {
		name := names[i]
		if i == 0 {
			require.NoError(t, f.SetSheetName("Sheet1", name))
		} else {
			_, err := f.NewSheet(name)
			require.NoError(t, err)
		}
		for r, row := range rows {
			for c, v := range row {
				if v == "" {
					continue
				}
				cell, err := excelize.CoordinatesToCellName(c+1, r+1)
				require.NoError(t, err)
				require.NoError(t, f.SetCellValue(name, cell, v))
			}
		}
	}
	var buf bytes.Buffer
	_, err := f.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// csvRows returns the records of a CSV fixture as cells.
func csvRows(t *testing.T, name string) [][]any {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(readFixture(t, name)))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	require.NoError(t, err)
	out := make([][]any, len(recs))
	for i, rec := range recs {
		for _, v := range rec {
			out[i] = append(out[i], v)
		}
	}
	return out
}

func TestParseXLSXGood(t *testing.T) {
	rows := csvRows(t, "good.csv")
	// A merged title on row 1, the header on row 2, a blank row 4; a phone
	// typed as a number (Excel's default for digits).
	rows[1][12] = int64(13900139000)
	sheet := append([][]any{{"三年级花名册"}}, rows[0], rows[1], nil, rows[2], rows[3])
	b := workbook(t, []string{"名册"}, sheet)

	got, err := rostercsv.ParseXLSX(bytes.NewReader(b), rostercsv.Opts{})
	require.NoError(t, err)
	want := goodEntries()
	want[0].Line, want[1].Line, want[2].Line = 3, 5, 6
	assert.Equal(t, want, got)

	f, err := rostercsv.Read(bytes.NewReader(b), rostercsv.Opts{})
	require.NoError(t, err)
	assert.Equal(t, "xlsx", f.Format)
	assert.Equal(t, "名册", f.Sheet)
	assert.Empty(t, f.Problems)
	entries, err := f.Entries()
	require.NoError(t, err)
	assert.Equal(t, want, entries, "Read and ParseXLSX agree")
}

func TestParseXLSXProblems(t *testing.T) {
	head := []any{"姓名", "班级", "卡号", "联系人1", "关系1", "电话1"}
	b := workbook(t, []string{"Sheet1"}, [][]any{
		head,
		{"张三", "一班", "", "王五", "父亲", int64(13800138000)},
		{"", "一班", "", "王五", "父亲", "13800138001"},
		nil,
		{"李四", "二班", "04A1B2C3", "李父", "表哥", "13800138002"},
		// A 13-digit card number typed as a number: Excel shows it as
		// 1.23457E+12, the digits are kept.
		{"赵六", "二班", int64(1234567890123), "赵父", "父亲", "13800138003"},
		{"钱七", "二班", "04A1B2C3", "钱父", "父亲", "12355"},
	})

	_, err := rostercsv.ParseXLSX(bytes.NewReader(b), rostercsv.Opts{})
	var pe *rostercsv.ParseError
	require.True(t, errors.As(err, &pe), "want a *ParseError, got %v", err)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	want := []string{
		"line 3: 姓名: missing name",
		"line 5: 关系1: unknown relationship",
		"line 6: 卡号: card 1: card UID: 13 hex digits",
		"line 7: 卡号: card 1: already given to the child on line 5",
		"line 7: 电话1: phone: 5 digits",
	}
	require.Len(t, pe.Problems, len(want), "problems:\n%v", err)
	for i, w := range want {
		assert.True(t, strings.HasPrefix(english(pe.Problems[i].String()), w), "problem %d: want prefix %q, got %q", i, w, pe.Problems[i].String())
	}
	assert.NotContains(t, pe.Problems[2].Message, "scientific", "a whole number is read as its digits")

	f, err := rostercsv.Read(bytes.NewReader(b), rostercsv.Opts{})
	require.NoError(t, err)
	require.Len(t, f.Rows, 5, "every data row, the bad ones too")
	lines := []int{}
	for _, r := range f.Rows {
		lines = append(lines, r.Line)
	}
	assert.Equal(t, []int{2, 3, 5, 6, 7}, lines, "sheet row numbers")
	assert.Empty(t, f.Rows[0].Problems)
	assert.Equal(t, "+8613800138000", f.Rows[0].Entry.Contacts[0].Phone, "a phone typed as a number")
	require.Len(t, f.Rows[1].Problems, 1)
	assert.Equal(t, "姓名", f.Rows[1].Problems[0].Column)
	assert.Len(t, f.Rows[4].Problems, 2)
	assert.Empty(t, f.General)
	assert.Len(t, f.Problems, len(want))
}

func TestParseXLSXSheets(t *testing.T) {
	head := []any{"姓名", "班级", "联系人1", "关系1", "电话1"}
	row := []any{"张三", "一班", "王五", "父亲", "13800138000"}

	t.Run("first non-blank visible sheet", func(t *testing.T) {
		b := workbook(t, []string{"说明", "名册"}, [][]any{}, [][]any{head, row})
		f, err := rostercsv.Read(bytes.NewReader(b), rostercsv.Opts{})
		require.NoError(t, err)
		assert.Equal(t, "名册", f.Sheet)
		assert.Empty(t, f.Problems)
		assert.Len(t, f.Rows, 1)
	})
	t.Run("hidden sheet skipped", func(t *testing.T) {
		b := workbook(t, []string{"旧名册", "名册"}, [][]any{head, {"李四", "", "王五", "父亲", "13800138000"}}, [][]any{head, row})
		wb, err := excelize.OpenReader(bytes.NewReader(b))
		require.NoError(t, err)
		wb.SetActiveSheet(1) // Excel never hides the active sheet
		require.NoError(t, wb.SetSheetVisible("旧名册", false))
		var buf bytes.Buffer
		_, err = wb.WriteTo(&buf)
		require.NoError(t, err)
		f, err := rostercsv.Read(&buf, rostercsv.Opts{})
		require.NoError(t, err)
		assert.Equal(t, "名册", f.Sheet)
		assert.Empty(t, f.Problems)
	})
	t.Run("empty workbook", func(t *testing.T) {
		b := workbook(t, []string{"Sheet1"}, [][]any{{"只有标题"}})
		f, err := rostercsv.Read(bytes.NewReader(b), rostercsv.Opts{})
		require.NoError(t, err)
		require.Len(t, f.General, 1)
		assert.Equal(t, 1, f.General[0].Line)
		assert.Contains(t, f.General[0].Message, "empty sheet Sheet1")
		_, err = f.Entries()
		assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	})
	t.Run("bad header", func(t *testing.T) {
		b := workbook(t, []string{"Sheet1"}, [][]any{nil, {"姓名", "年龄", "联系人1"}, row})
		f, err := rostercsv.Read(bytes.NewReader(b), rostercsv.Opts{})
		require.NoError(t, err)
		assert.Empty(t, f.Rows, "rows are not read under a bad header")
		require.NotEmpty(t, f.General)
		assert.True(t, strings.HasPrefix(english(f.General[0].String()), "line 2: 年龄: unknown column"), f.General[0].String())
		assert.Equal(t, f.General, f.Problems)
	})
}

func TestRead(t *testing.T) {
	t.Run("csv", func(t *testing.T) {
		f, err := rostercsv.Read(bytes.NewReader(readFixture(t, "good_gb18030.csv")), rostercsv.Opts{})
		require.NoError(t, err)
		assert.Equal(t, "csv", f.Format)
		entries, err := f.Entries()
		require.NoError(t, err)
		assert.Equal(t, goodEntries(), entries)
	})
	t.Run("bad csv rows", func(t *testing.T) {
		f, err := rostercsv.Read(bytes.NewReader(readFixture(t, "bad.csv")), rostercsv.Opts{})
		require.NoError(t, err)
		require.Len(t, f.Rows, 9, "every data row")
		assert.Equal(t, 2, f.Rows[0].Line)
		assert.Empty(t, f.Rows[0].Problems, "王小明 on line 2 is fine")
		assert.Equal(t, "line 3: 姓名: 缺少姓名。 missing name", f.Rows[1].Problems[0].String())
		assert.Equal(t, 9, f.Rows[6].Line, "the row after a two-line row")
		_, perr := rostercsv.Parse(bytes.NewReader(readFixture(t, "bad.csv")), rostercsv.Opts{})
		var pe *rostercsv.ParseError
		require.True(t, errors.As(perr, &pe))
		assert.Equal(t, pe.Problems, f.Problems, "Read and Parse find the same problems")
		n := 0
		for _, r := range f.Rows {
			n += len(r.Problems)
		}
		assert.Equal(t, len(f.Problems), n+len(f.General))
	})
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), "Excel 97-2003"},
		{"damaged xlsx", []byte("PK\x03\x04not really a zip"), "not a readable XLSX workbook"},
		{"too large", bytes.Repeat([]byte("a"), rostercsv.MaxSize+1), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rostercsv.Read(bytes.NewReader(tc.in), rostercsv.Opts{})
			require.Error(t, err)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			assert.Contains(t, kiosk.ErrorMessage(err), tc.want)
		})
	}
}
