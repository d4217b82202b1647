// Package register writes the calls register (亲情电话/电脑视频交流记录)
// that homes print and inspectors check, from call rows read out of the
// journal. It is pure code: no SQL and no I/O beyond the io.Writer it is
// given.
//
// The CSV follows RFC 4180 and starts with a UTF-8 byte order mark so that
// Excel on Chinese Windows opens it as UTF-8. Phone numbers are masked in
// the CSV (138****5678); the JSON export carries every field in full,
// numbers included, and is meant for managers only (callers must audit it).
package register

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Call is one row of the calls register: a call record from the journal
// and the sequence number of the journal entry it was read from (the end
// entry; the start entry while the call is open; the entry of a denied
// attempt). kiosk/sqlite's CallRow is an alias of this type.
type Call struct {
	Seq int64
	kiosk.CallRecord
}

// Header is the register's CSV header, in column order.
var Header = []string{"序号", "日期", "学生姓名", "班级", "通话对象", "对方号码", "开始时间", "结束时间", "通话时长", "方式", "话机", "结果", "备注"}

// bom is the UTF-8 byte order mark.
const bom = "\xEF\xBB\xBF"

// Seconds rounds d to whole seconds, halves away from zero (2.5 s is 3 s).
// The journal's duration/billsec seconds and the register's 通话时长 use it.
func Seconds(d time.Duration) int64 {
	return int64(d.Round(time.Second) / time.Second)
}

// WriteCallsCSV writes rows as the register's CSV: a UTF-8 BOM, the Header
// line, then one line per row in the given order. 序号 counts rows from 1;
// dates and times are shown in loc (time.Local when nil); 对方号码 is
// masked by kiosk.MaskPhone; 通话时长 is billsec rounded by Seconds, as
// "m分ss秒" (empty for denied attempts and calls still open); 结果 is in
// Chinese (通话中 while open) and 备注 carries the end cause, the denied
// reason, 求助 for help calls and 时钟未校准 when the clock was not synced.
// Text cells that start with = + - or @ get a leading apostrophe so that
// spreadsheets do not run them as formulas.
func WriteCallsCSV(w io.Writer, rows []Call, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("write calls csv: bom: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("write calls csv: header: %w", err)
	}
	for i, r := range rows {
		if err := cw.Write(csvRow(i+1, r, loc)); err != nil {
			return fmt.Errorf("write calls csv: row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write calls csv: flush: %w", err)
	}
	return nil
}

func csvRow(n int, r Call, loc *time.Location) []string {
	open := r.Disposition != kiosk.DispDenied && r.Ended.IsZero()
	var date, start, end, dur string
	if !r.Started.IsZero() {
		date = r.Started.In(loc).Format("2006-01-02")
		start = r.Started.In(loc).Format("15:04:05")
	}
	if !r.Ended.IsZero() {
		end = r.Ended.In(loc).Format("15:04:05")
	}
	if r.Disposition != kiosk.DispDenied && !open {
		s := Seconds(r.Billsec)
		dur = fmt.Sprintf("%d分%02d秒", s/60, s%60)
	}
	return []string{
		fmt.Sprint(n),
		date,
		cell(r.ChildName),
		cell(r.Class),
		cell(callee(r)),
		cell(kiosk.MaskPhone(r.Number)),
		start,
		end,
		dur,
		modeWords(r.Mode),
		cell(r.Booth),
		result(r, open),
		remarks(r),
	}
}

// cell neutralises spreadsheet formulas in free text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

func callee(r Call) string {
	switch {
	case r.ContactName != "" && r.Relation != "":
		return r.ContactName + "（" + r.Relation + "）"
	case r.ContactName != "":
		return r.ContactName
	case r.Relation != "":
		return r.Relation
	case r.Help:
		return "求助电话"
	}
	return ""
}

func modeWords(m kiosk.Mode) string {
	switch m {
	case kiosk.ModePhone:
		return "电话"
	case kiosk.ModeVideo:
		return "视频"
	}
	return string(m)
}

var dispWords = map[kiosk.Disposition]string{
	kiosk.DispAnswered:  "已接通",
	kiosk.DispNoAnswer:  "无人接听",
	kiosk.DispBusy:      "占线",
	kiosk.DispFailed:    "失败",
	kiosk.DispCancelled: "已取消",
	kiosk.DispDenied:    "未允许",
}

func result(r Call, open bool) string {
	if open {
		return "通话中"
	}
	if w, ok := dispWords[r.Disposition]; ok {
		return w
	}
	return string(r.Disposition)
}

// causeWords are the 备注 words for end causes; causes already said by 结果
// (no answer, busy, cancelled) are left out.
var causeWords = map[kiosk.EndCause]string{
	kiosk.CauseLimit:        "到时自动挂断",
	kiosk.CauseCallerHangup: "学生挂断",
	kiosk.CauseCalleeHangup: "家长挂断",
	kiosk.CauseRTPTimeout:   "无声音超时",
	kiosk.CauseShutdown:     "系统关闭",
	kiosk.CauseInterrupted:  "异常中断",
	kiosk.CausePeerLost:     "网络中断",
	kiosk.CauseRevoked:      "链接已撤销",
	kiosk.CauseOperator:     "管理员挂断",
}

// reasonWords are the 备注 words for denied attempts, written for the
// adults who read the register (the child-facing words are kiosk.Words).
var reasonWords = map[kiosk.Reason]string{
	kiosk.ReasonCardUnknown:    "未登记的卡",
	kiosk.ReasonCardDisabled:   "卡已停用",
	kiosk.ReasonChildInactive:  "学生已离校",
	kiosk.ReasonParentOffline:  "家长不在线",
	kiosk.ReasonNotApproved:    "号码未登记",
	kiosk.ReasonModeNotAllowed: "未批准此通话方式",
	kiosk.ReasonClosed:         "非开放时间",
	kiosk.ReasonQuotaMinutes:   "本周通话时长已用完",
	kiosk.ReasonQuotaCalls:     "本周通话次数已用完",
	kiosk.ReasonCallActive:     "已在通话中",
	kiosk.ReasonLineBusy:       "线路忙",
	kiosk.ReasonNotIdentified:  "未刷卡",
	kiosk.ReasonBoothBusy:      "话机占用",
	kiosk.ReasonDeviceFault:    "设备故障",
}

func remarks(r Call) string {
	var parts []string
	if r.Help {
		parts = append(parts, "求助")
	}
	if w, ok := causeWords[r.Cause]; ok {
		parts = append(parts, w)
	}
	if r.Disposition == kiosk.DispFailed && r.SIPCode != 0 {
		parts = append(parts, fmt.Sprintf("SIP %d", r.SIPCode))
	}
	if r.Disposition == kiosk.DispDenied && r.Reason != "" {
		if w, ok := reasonWords[r.Reason]; ok {
			parts = append(parts, w)
		} else {
			parts = append(parts, string(r.Reason))
		}
	}
	if !r.ClockSynced {
		parts = append(parts, "时钟未校准")
	}
	return strings.Join(parts, "；")
}

// callJSON is one call in the JSON export. Field names are stable.
type callJSON struct {
	Seq         int64      `json:"seq"`
	CallID      string     `json:"call_id"`
	Booth       string     `json:"booth"`
	ChildID     int64      `json:"child_id"`
	ChildName   string     `json:"child_name"`
	Class       string     `json:"class"`
	ContactID   int64      `json:"contact_id"`
	ContactName string     `json:"contact_name"`
	Relation    string     `json:"relation"`
	Number      string     `json:"number"`
	Mode        string     `json:"mode"`
	Started     *time.Time `json:"started"`
	Ring        *time.Time `json:"ring"`
	Answered    *time.Time `json:"answered"`
	Ended       *time.Time `json:"ended"`
	ClockSynced bool       `json:"clock_synced"`
	DurationMS  int64      `json:"duration_ms"`
	BillsecMS   int64      `json:"billsec_ms"`
	Duration    int64      `json:"duration"`
	Billsec     int64      `json:"billsec"`
	Disposition string     `json:"disposition"`
	Cause       string     `json:"cause"`
	SIPCode     int        `json:"sip_code"`
	LimitMS     int64      `json:"limit_ms"`
	Help        bool       `json:"help"`
	Reason      string     `json:"reason"`
	Screen      string     `json:"screen"`
	// Video calls: offer-to-media setup time and end-of-call quality.
	SetupMS int64              `json:"setup_ms,omitempty"`
	Quality *kiosk.CallQuality `json:"quality,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// WriteCallsJSON writes rows as a JSON array, one object per row with
// every field: the full, unmasked number; times in RFC 3339 with
// nanoseconds (null when unknown); durations both as integer milliseconds
// (duration_ms, billsec_ms) and as whole seconds rounded by Seconds
// (duration, billsec). It is for managers; callers audit the export.
func WriteCallsJSON(w io.Writer, rows []Call) error {
	out := make([]callJSON, 0, len(rows))
	for _, r := range rows {
		out = append(out, callJSON{
			Seq:         r.Seq,
			CallID:      r.CallID,
			Booth:       r.Booth,
			ChildID:     int64(r.ChildID),
			ChildName:   r.ChildName,
			Class:       r.Class,
			ContactID:   int64(r.ContactID),
			ContactName: r.ContactName,
			Relation:    r.Relation,
			Number:      r.Number,
			Mode:        string(r.Mode),
			Started:     timePtr(r.Started),
			Ring:        timePtr(r.Ring),
			Answered:    timePtr(r.Answered),
			Ended:       timePtr(r.Ended),
			ClockSynced: r.ClockSynced,
			DurationMS:  r.Duration.Milliseconds(),
			BillsecMS:   r.Billsec.Milliseconds(),
			Duration:    Seconds(r.Duration),
			Billsec:     Seconds(r.Billsec),
			Disposition: string(r.Disposition),
			Cause:       string(r.Cause),
			SIPCode:     r.SIPCode,
			LimitMS:     r.Limit.Milliseconds(),
			Help:        r.Help,
			Reason:      string(r.Reason),
			Screen:      r.Screen,
			SetupMS:     r.Setup.Milliseconds(),
			Quality:     r.Quality,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write calls json: %w", err)
	}
	return nil
}
