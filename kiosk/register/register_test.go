package register_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var shanghai = time.FixedZone("CST", 8*3600)

// rows is one of each kind of row, with fictional names and numbers.
func rows() []register.Call {
	t0 := time.Date(2025, 3, 10, 8, 30, 0, 0, time.UTC) // 16:30 in Shanghai
	base := kiosk.CallRecord{
		Booth: "booth-1", ChildID: 1, ChildName: "王小明", Class: "三年级1班",
		ContactID: 2, ContactName: "李芳", Relation: "母亲", Number: "+8613812345678",
		Mode: kiosk.ModePhone, ClockSynced: true, Limit: 5 * time.Minute,
	}
	ended := func(id string, start time.Time, billsec time.Duration, d kiosk.Disposition, c kiosk.EndCause) kiosk.CallRecord {
		r := base
		r.CallID, r.Started, r.Disposition, r.Cause = id, start, d, c
		r.Ring = start.Add(2 * time.Second)
		if d == kiosk.DispAnswered {
			r.Answered = start.Add(6 * time.Second)
			r.Billsec = billsec
		}
		r.Ended = start.Add(6*time.Second + billsec)
		r.Duration = 6*time.Second + billsec
		return r
	}
	limit := ended("c1", t0, 5*time.Minute, kiosk.DispAnswered, kiosk.CauseLimit)
	parent := ended("c2", t0.Add(10*time.Minute), 83500*time.Millisecond, kiosk.DispAnswered, kiosk.CauseCalleeHangup)
	parent.Mode = kiosk.ModeVideo
	parent.Screen = "pc-1"
	busy := ended("c3", t0.Add(20*time.Minute), 0, kiosk.DispBusy, kiosk.CauseBusy)
	busy.SIPCode = 486
	failed := ended("c4", t0.Add(21*time.Minute), 0, kiosk.DispFailed, kiosk.CauseFailed)
	failed.SIPCode = 503
	failed.ClockSynced = false
	denied := base
	denied.CallID, denied.Started, denied.Disposition, denied.Reason = "c5", t0.Add(22*time.Minute), kiosk.DispDenied, kiosk.ReasonQuotaMinutes
	help := ended("c6", t0.Add(6*time.Hour), 42*time.Second, kiosk.DispAnswered, kiosk.CauseInterrupted) // 22:30 local
	help.Help, help.Reason = true, kiosk.ReasonHelp
	help.ContactID, help.ContactName, help.Relation, help.Number = 0, "", "", "12355"
	open := base
	open.CallID, open.Started = "c7", t0.Add(7*time.Hour)
	open.ChildName = "=HYPERLINK(\"x\")"
	return []register.Call{
		{Seq: 2, CallRecord: limit}, {Seq: 4, CallRecord: parent}, {Seq: 6, CallRecord: busy},
		{Seq: 8, CallRecord: failed}, {Seq: 9, CallRecord: denied}, {Seq: 11, CallRecord: help},
		{Seq: 12, CallRecord: open},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./kiosk/register -update")
	assert.Equal(t, string(want), string(got), "differs from %s (rerun with -update if intended)", path)
}

func TestWriteCallsCSV(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, register.WriteCallsCSV(&buf, rows(), shanghai))
	golden(t, "calls.csv", buf.Bytes())

	b := buf.Bytes()
	require.True(t, bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}), "starts with a UTF-8 BOM")
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	require.NoError(t, err, "valid CSV")
	require.Len(t, recs, 8)
	assert.Equal(t, register.Header, recs[0])
	col := func(row int, name string) string {
		for i, h := range register.Header {
			if h == name {
				return recs[row][i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	tests := []struct {
		row        int
		col, value string
	}{
		{1, "序号", "1"},
		{1, "日期", "2025-03-10"},
		{1, "开始时间", "16:30:00"},
		{1, "结束时间", "16:35:06"},
		{1, "对方号码", "138****5678"},
		{1, "通话对象", "李芳（母亲）"},
		{1, "通话时长", "5分00秒"},
		{1, "方式", "电话"},
		{1, "结果", "已接通"},
		{1, "备注", "到时自动挂断"},
		{2, "通话时长", "1分24秒"},
		{2, "方式", "视频"},
		{2, "备注", "家长挂断"},
		{3, "结果", "占线"},
		{3, "备注", ""},
		{4, "结果", "失败"},
		{4, "备注", "SIP 503；时钟未校准"},
		{5, "结果", "未允许"},
		{5, "通话时长", ""},
		{5, "备注", "本周通话时长已用完"},
		{6, "日期", "2025-03-10"},
		{6, "开始时间", "22:30:00"},
		{6, "对方号码", "12355"},
		{6, "通话对象", "求助电话"},
		{6, "备注", "求助；异常中断"},
		{7, "结果", "通话中"},
		{7, "结束时间", ""},
		{7, "学生姓名", "'=HYPERLINK(\"x\")"},
		{7, "日期", "2025-03-10"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.value, col(tc.row, tc.col), "row %d %s", tc.row, tc.col)
	}
}

func TestWriteCallsJSON(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, register.WriteCallsJSON(&buf, rows()))
	var got []map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	require.Len(t, got, 7)
	assert.Equal(t, "+8613812345678", got[0]["number"], "numbers in full")
	assert.EqualValues(t, 2, got[0]["seq"])
	assert.EqualValues(t, 83500, got[1]["billsec_ms"])
	assert.EqualValues(t, 84, got[1]["billsec"], "83.5 s rounds to 84")
	assert.Equal(t, "2025-03-10T08:30:06Z", got[0]["answered"])
	assert.Nil(t, got[4]["answered"], "unknown time is null")
	assert.Equal(t, "quota_minutes", got[4]["reason"])
	assert.Len(t, got[0], 27, "every field")

	video := register.Call{Seq: 9, CallRecord: kiosk.CallRecord{CallID: "v", Mode: kiosk.ModeVideo, Setup: 420 * time.Millisecond,
		Quality: &kiosk.CallQuality{Parent: kiosk.LegQuality{FramesDecoded: 1700}}}}
	buf.Reset()
	require.NoError(t, register.WriteCallsJSON(&buf, []register.Call{video}))
	got = nil
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.EqualValues(t, 420, got[0]["setup_ms"], "video calls carry their setup time")
	assert.EqualValues(t, 1700, got[0]["quality"].(map[string]any)["parent"].(map[string]any)["frames_decoded"])
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{499 * time.Millisecond, 0},
		{500 * time.Millisecond, 1},
		{59*time.Second + 600*time.Millisecond, 60},
		{5 * time.Minute, 300},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			assert.Equal(t, tc.want, register.Seconds(tc.d))
		})
	}
}
