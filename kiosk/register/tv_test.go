package register_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/tv"
)

// tvRows is one of each kind of TV session, with fictional names.
func tvRows() []register.TVSession {
	t0 := time.Date(2025, 3, 10, 11, 0, 0, 0, time.UTC) // 19:00 in Shanghai
	base := tv.Session{TV: "tv1", Room: "活动室", Programme: "CCTV-1 新闻联播", Category: "新闻",
		Class: "五年级1班", Headcount: 31, Teacher: "张老师", Power: tv.PowerRelay, ClockSynced: true}
	end := func(id string, start time.Time, d time.Duration, c tv.Cause) tv.Session {
		s := base
		s.ID, s.Started, s.Ended, s.Duration, s.Cause = id, start, start.Add(d), d, c
		return s
	}
	news := end("s1", t0, 30*time.Minute, tv.CauseStop)
	kids := end("s2", t0.Add(50*time.Minute), 20*time.Minute+30*time.Second, tv.CauseCurfew) // 19:50-20:10:30
	kids.Programme, kids.Category, kids.Class, kids.Headcount = "CCTV-14 动画", "少儿", "住宿生", 18
	kids.Note = "周五加播"
	film := end("s3", t0.Add(24*time.Hour+4*time.Hour), 2*time.Hour+15*time.Minute, tv.CauseInterrupted) // 23:00-次日01:15
	film.Programme, film.Category = "影片《地道战》", "影片"
	film.PowerError = "relay tv1 pin GPIO24: out: bad file descriptor"
	film.ClockSynced = false
	open := base
	open.ID, open.Started = "s4", t0.Add(48*time.Hour)
	open.Programme, open.Category, open.Teacher = "=cmd|' /C calc'!A0", "安全教育", "-李老师"
	return []register.TVSession{{Seq: 3, Session: news}, {Seq: 7, Session: kids}, {Seq: 10, Session: film}, {Seq: 12, Session: open}}
}

func TestWriteTVCSV(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, register.WriteTVCSV(&buf, tvRows(), shanghai))
	golden(t, "tv.csv", buf.Bytes())

	b := buf.Bytes()
	require.True(t, bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}), "starts with a UTF-8 BOM")
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	require.NoError(t, err, "valid CSV")
	require.Len(t, recs, 5)
	assert.Equal(t, []string{"日期", "播放时段（起-止）", "频道/节目", "类别", "观看班级", "人数", "组织教师", "备注"}, recs[0])
	tests := []struct {
		name string
		row  int
		want []string
	}{
		{"stopped by a teacher", 1, []string{"2025-03-10", "19:00-19:30", "CCTV-1 新闻联播", "新闻", "五年级1班", "31", "张老师", ""}},
		{"ended by curfew, with a note", 2, []string{"2025-03-10", "19:50-20:10", "CCTV-14 动画", "少儿", "住宿生", "18", "张老师", "周五加播；到最晚时间自动关闭"}},
		{"past midnight, crash, power failure, clock", 3, []string{"2025-03-11", "23:00-次日01:15", "影片《地道战》", "影片", "五年级1班", "31", "张老师", "异常中断；电视未能自动关闭；时钟未校准"}},
		{"open, formulas neutralised", 4, []string{"2025-03-12", "19:00-", "'=cmd|' /C calc'!A0", "安全教育", "五年级1班", "31", "'-李老师", "播放中"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, recs[tc.row])
		})
	}
}

func TestWriteTVCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, register.WriteTVCSV(&buf, nil, time.UTC))
	assert.Equal(t, "\xEF\xBB\xBF日期,播放时段（起-止）,频道/节目,类别,观看班级,人数,组织教师,备注\r\n", buf.String())
}
