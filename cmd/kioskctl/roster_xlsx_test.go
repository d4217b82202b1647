package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// writeRosterXLSX writes rows (row 1 first) as the first sheet of a
// workbook in a temp dir and returns its path.
func writeRosterXLSX(t *testing.T, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &row))
	}
	path := filepath.Join(t.TempDir(), "名册.xlsx")
	require.NoError(t, f.SaveAs(path))
	return path
}

func TestRosterImportXLSX(t *testing.T) {
	data := newData(t)
	head := []any{"姓名", "班级", "联系人1", "关系1", "电话1"}

	bad := writeRosterXLSX(t, [][]any{head, {"张三", "一班", "王五", "父亲", int64(13800138000)}, {"李四", "", "李父", "父亲", "13800138001"}})
	code, _, stderr := kioskctl(t, "--data", data, "roster", "import", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "line 3: 班级: 缺少班级。 missing class", "problems by sheet row")
	assert.Empty(t, rosterEntries(t, data), "all or nothing")

	good := writeRosterXLSX(t, [][]any{head, {"张三", "一班", "王五", "父亲", int64(13800138000)}, {"李四", "二班", "李父", "父亲", "13800138001"}})
	code, out, stderr := kioskctl(t, "--data", data, "roster", "import", good)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "2 rows imported")
	entries := rosterEntries(t, data)
	require.Len(t, entries, 2)
	assert.Equal(t, "+8613800138000", entries[0].Contacts[0].Phone, "a phone typed as a number")
}
