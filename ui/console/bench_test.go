package console

import (
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

// BenchmarkCallsXLSX measures the XLSX export of 10,000 register rows
// (the target: 100,000 rows in 5 s).
func BenchmarkCallsXLSX(b *testing.B) {
	rows := make([]register.Call, 10000)
	for i := range rows {
		st := t0.Add(-time.Duration(i) * time.Minute)
		rows[i] = register.Call{Seq: int64(i + 1), CallRecord: kiosk.CallRecord{CallID: "c" + strconv.Itoa(i), Booth: "b1",
			ChildName: "王小明", Class: "三年级1班", ContactName: "王建国", Relation: "父亲", Number: "+8613800000001",
			Mode: kiosk.ModePhone, Started: st, Ended: st.Add(3 * time.Minute), Billsec: 170 * time.Second,
			Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCallerHangup, ClockSynced: true}}
	}
	loc := time.FixedZone("CST", 8*3600)
	b.ReportAllocs()
	for b.Loop() {
		if err := writeCallsXLSX(io.Discard, rows, loc, xlsxTitle{School: school, Register: "亲情电话通话记录"}, false); err != nil {
			b.Fatal(err)
		}
	}
}
