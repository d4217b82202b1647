// Package tv is the TV register's domain: the rules of a TV session
// (电视播放节目记录: what was shown, of which category, to which class,
// how many children, which teacher), the latest time a TV may run (the
// curfew), and the Service that powers a TV on at a session's start and
// off at its stop or at the curfew, journaling both ends.
//
// It is pure domain code: no SQL, no GPIO, no processes. Power is the
// small interface a relay (devices/relay.Dev) or HDMI-CEC (devices/cec.Dev)
// satisfies; Journal is satisfied by kiosk/sqlite.DB. Time is injected.
package tv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk"
)

// Categories a session may have, in the order the console lists them:
// news, children's programmes, popular science, safety education, films.
var Categories = []string{"新闻", "少儿", "科普", "安全教育", "影片"}

// Cause is why a session ended. Values are part of the journal format.
type Cause string

const (
	// CauseStop: a teacher stopped it (console, kioskctl, kiosk screen).
	CauseStop Cause = "stop"
	// CauseCurfew: the configured latest time came; the TV was turned off
	// by the daemon.
	CauseCurfew Cause = "curfew"
	// CauseShutdown: the daemon stopped cleanly while it ran (the relay
	// returns to its safe state, off).
	CauseShutdown Cause = "shutdown"
	// CauseInterrupted: the daemon died while it ran; closed at the next
	// start at its last heartbeat.
	CauseInterrupted Cause = "interrupted"
)

// Power kinds reported by Status and journaled with each session.
const (
	PowerRelay = "relay"
	PowerCEC   = "cec"
	PowerNone  = "none"
)

// Limits on free text, in characters.
const (
	MaxProgramme = 100
	MaxText      = 50 // class, teacher
	MaxNote      = 200
	// MaxHeadcount is a sanity bound, not a room capacity.
	MaxHeadcount = 500
)

// Request asks to start a session. Every field is trimmed of spaces
// before it is checked.
type Request struct {
	// TV is the configured TV's name; "" is accepted when exactly one TV
	// is configured.
	TV string `json:"tv"`
	// Programme is the channel or programme ("CCTV-少儿 新闻联播"); required,
	// at most MaxProgramme characters.
	Programme string `json:"programme"`
	// Category is one of Categories; required.
	Category string `json:"category"`
	// Class is the class or group watching ("三年级2班", "住宿生"); required.
	Class string `json:"class"`
	// Headcount is how many children watch; 1..MaxHeadcount.
	Headcount int `json:"headcount"`
	// Teacher is the organising teacher's name; required.
	Teacher string `json:"teacher"`
	// Note is an optional remark for the register (备注).
	Note string `json:"note,omitempty"`
}

// Normalize returns r with every text field trimmed.
func (r Request) Normalize() Request {
	r.TV = strings.TrimSpace(r.TV)
	r.Programme = strings.TrimSpace(r.Programme)
	r.Category = strings.TrimSpace(r.Category)
	r.Class = strings.TrimSpace(r.Class)
	r.Teacher = strings.TrimSpace(r.Teacher)
	r.Note = strings.TrimSpace(r.Note)
	return r
}

// Validate checks the session rules on r (after Normalize) and returns
// nil or an EINVALID *kiosk.Error whose message lists every problem, in
// Chinese for the console, separated by "；". The TV's name is not checked
// here (the Service knows the TVs).
func (r Request) Validate() error {
	r = r.Normalize()
	var probs []string
	text := func(v, what string, max int, required bool) {
		switch n := utf8.RuneCountInString(v); {
		case n == 0 && required:
			probs = append(probs, "请填写"+what)
		case n > max:
			probs = append(probs, fmt.Sprintf("%s太长（最多%d字）", what, max))
		}
	}
	text(r.Programme, "频道/节目", MaxProgramme, true)
	switch {
	case r.Category == "":
		probs = append(probs, "请选择类别（"+strings.Join(Categories, "、")+"）")
	case !slices.Contains(Categories, r.Category):
		probs = append(probs, fmt.Sprintf("类别 %q 不在列表中（%s）", r.Category, strings.Join(Categories, "、")))
	}
	text(r.Class, "观看班级", MaxText, true)
	switch {
	case r.Headcount <= 0:
		probs = append(probs, "人数必须大于0")
	case r.Headcount > MaxHeadcount:
		probs = append(probs, fmt.Sprintf("人数不能超过%d", MaxHeadcount))
	}
	text(r.Teacher, "组织教师", MaxText, true)
	text(r.Note, "备注", MaxNote, false)
	if len(probs) > 0 {
		return kiosk.Errorf(kiosk.EINVALID, "%s", strings.Join(probs, "；"))
	}
	return nil
}

// Session is one TV session as journaled: its start entry has Ended zero
// and Cause ""; its end entry carries both.
type Session struct {
	// ID is 32 lowercase hex digits, random; it pairs the start and end
	// entries.
	ID        string `json:"id"`
	TV        string `json:"tv"`
	Room      string `json:"room"`
	Programme string `json:"programme"`
	Category  string `json:"category"`
	Class     string `json:"class"`
	Headcount int    `json:"headcount"`
	Teacher   string `json:"teacher"`
	Note      string `json:"note,omitempty"`
	// Started and Ended are wall-clock times; Ended is zero while open.
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// Duration is measured on the monotonic clock when the daemon ended
	// the session, else (after a crash) the wall-clock difference.
	Duration time.Duration `json:"duration_ns,omitempty"`
	Cause    Cause         `json:"cause,omitempty"`
	// Curfew is the session's deadline (the curfew on its start day);
	// zero when the TV has none.
	Curfew time.Time `json:"curfew,omitzero"`
	// Power is how the TV is switched: PowerRelay, PowerCEC or PowerNone;
	// PowerError is the last switching error at this end ("" when it
	// worked), so the register can say the TV may still be on.
	Power      string `json:"power"`
	PowerError string `json:"power_error,omitempty"`
	// ClockSynced is whether the wall clock was synced at the start.
	ClockSynced bool `json:"clock_synced"`
}

// Open reports whether the session has not ended.
func (s Session) Open() bool { return s.Ended.IsZero() }

// Curfew is the latest local time of day a TV may run, as minutes after
// midnight, 1..1440 ("24:00" is the end of the day). The zero value means
// no curfew.
type Curfew int

// ParseCurfew parses a 24-hour "HH:MM" ("21:00"); "" means no curfew.
// "00:00" is refused (a TV that may never run); use "24:00" for the end
// of the day.
func ParseCurfew(s string) (Curfew, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(hh) != 2 || len(mm) != 2 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad curfew %q: want a 24-hour time HH:MM, such as \"21:00\"", s)
	}
	if h == 0 && m == 0 {
		return 0, fmt.Errorf("bad curfew %q: 00:00 would never let the TV run; use \"24:00\" for midnight", s)
	}
	return Curfew(h*60 + m), nil
}

// String returns "HH:MM", or "" for no curfew.
func (c Curfew) String() string {
	if c == 0 {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// Deadline returns the curfew on t's local day in loc. ok is false when
// t is at or after it (a session may not start then) or when c is zero.
func (c Curfew) Deadline(t time.Time, loc *time.Location) (deadline time.Time, ok bool) {
	if c == 0 {
		return time.Time{}, false
	}
	lt := t.In(loc)
	d := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, int(c), 0, 0, loc)
	return d, t.Before(d)
}
