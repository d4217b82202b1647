package register

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk/tv"
)

// TVSession is one row of the TV register (电视播放节目记录): a session
// from the journal and the seq of the entry it was read from (the end
// entry; the start entry while the session is open). kiosk/sqlite's TVRow
// is an alias of this type.
type TVSession struct {
	Seq int64
	tv.Session
}

// TVHeader is the TV register's CSV header, in column order.
var TVHeader = []string{"日期", "播放时段（起-止）", "频道/节目", "类别", "观看班级", "人数", "组织教师", "备注"}

// WriteTVCSV writes rows as the TV register's CSV (RFC 4180, CRLF): a
// UTF-8 BOM, the TVHeader line, then one line per row in the given order.
// Dates and times are shown in loc (time.Local when nil); 播放时段 is
// "HH:MM-HH:MM" ("HH:MM-" while the session is open, "次日" before an end
// on a later day). 备注 carries, joined by "；", the teacher's note, how
// the session ended when not by a stop (curfew, shutdown, crash), a power
// switching failure (the TV may have stayed on) and 时钟未校准 when the
// clock was not synced. Text cells that start with = + - or @ get a
// leading apostrophe so that spreadsheets do not run them as formulas.
func WriteTVCSV(w io.Writer, rows []TVSession, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("write tv csv: bom: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(TVHeader); err != nil {
		return fmt.Errorf("write tv csv: header: %w", err)
	}
	for i, r := range rows {
		if err := cw.Write(tvRow(r.Session, loc)); err != nil {
			return fmt.Errorf("write tv csv: row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write tv csv: flush: %w", err)
	}
	return nil
}

func tvRow(s tv.Session, loc *time.Location) []string {
	var date, span string
	if !s.Started.IsZero() {
		st := s.Started.In(loc)
		date = st.Format("2006-01-02")
		span = st.Format("15:04") + "-"
		if !s.Ended.IsZero() {
			en := s.Ended.In(loc)
			if en.Format("2006-01-02") != date {
				span += "次日"
			}
			span += en.Format("15:04")
		}
	}
	return []string{
		date,
		span,
		cell(s.Programme),
		cell(s.Category),
		cell(s.Class),
		fmt.Sprint(s.Headcount),
		cell(s.Teacher),
		cell(tvRemarks(s)),
	}
}

// tvCauseWords are the 备注 words for how a session ended; a teacher's
// stop needs none.
var tvCauseWords = map[tv.Cause]string{
	tv.CauseCurfew:      "到最晚时间自动关闭",
	tv.CauseShutdown:    "系统关闭时结束",
	tv.CauseInterrupted: "异常中断",
}

func tvRemarks(s tv.Session) string {
	var parts []string
	if s.Note != "" {
		parts = append(parts, s.Note)
	}
	if s.Open() {
		parts = append(parts, "播放中")
	} else if w, ok := tvCauseWords[s.Cause]; ok {
		parts = append(parts, w)
	}
	if s.PowerError != "" {
		if s.Open() {
			parts = append(parts, "电视未能自动开启")
		} else {
			parts = append(parts, "电视未能自动关闭")
		}
	}
	if !s.ClockSynced {
		parts = append(parts, "时钟未校准")
	}
	return strings.Join(parts, "；")
}
