package register_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/register"
)

func bookRows() []register.BookLoan {
	lent := time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC) // 09:30 in Shanghai
	base := register.BookLoan{
		ChildName: "王小明", Class: "三年级1班", Title: "小王子", Author: "圣埃克苏佩里",
		ConditionOut: "完好", Handler: "自助", ClockSynced: true,
	}
	onTime := base
	onTime.Seq, onTime.LoanID, onTime.Lent, onTime.Barcode = 3, 1, lent, "9791090636071-1"
	onTime.Due = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	onTime.Returned, onTime.ConditionIn = lent.Add(5*24*time.Hour), "完好"

	late := base
	late.Seq, late.LoanID, late.Lent, late.Barcode, late.Title, late.Author = 4, 2, lent.Add(time.Hour), "A001", "=红楼梦", "曹雪芹"
	late.Due, late.Renewals = time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC), 1
	late.Returned, late.OverdueDays, late.ConditionIn = time.Date(2026, 3, 19, 15, 0, 0, 0, time.UTC), 3, "破损"
	late.Handler, late.Note, late.ClockSynced = "自助 / 李老师", "封面撕破", false

	out := base
	out.Seq, out.LoanID, out.Lent, out.Barcode = 9, 3, lent.Add(48*time.Hour), "9791090636071-2"
	out.ChildName, out.Class = "张丽", "五年级2班"
	out.Due, out.OverdueDays = time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), 2

	lost := out
	lost.Seq, lost.LoanID, lost.Barcode, lost.OverdueDays = 10, 4, "A002", 0
	lost.Lost, lost.PriceCents, lost.Handler = true, 5970, "自助 / 陈主任"
	return []register.BookLoan{onTime, late, out, lost}
}

func TestWriteBookLoansCSV(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, register.WriteBookLoansCSV(&buf, bookRows(), shanghai))
	got := buf.Bytes()
	golden(t, "book_loans.csv", got)

	require.True(t, bytes.HasPrefix(got, []byte("\xEF\xBB\xBF")), "starts with a BOM")
	recs, err := csv.NewReader(bytes.NewReader(got[3:])).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 5, "header and four rows")
	assert.Equal(t, register.BookLoansHeader, recs[0])
	assert.Len(t, register.BookLoansHeader, 14)
	assert.Equal(t, []string{"2", "2026-03-02", "王小明", "三年级1班", "A001", "'=红楼梦", "曹雪芹", "2026-03-16", "2026-03-19", "3", "完好", "破损", "自助 / 李老师", "续借1次；时钟未校准；封面撕破"}, recs[2])
	assert.Equal(t, "未还", recs[3][13], "a book still out")
	assert.Equal(t, "遗失（按原价¥59.70赔偿）", recs[4][13])
	assert.Equal(t, "", recs[1][9], "no overdue days when on time")
}
