package kiosk

import (
	"context"
	"strings"
	"time"
)

// Staff cards. Teachers, managers and technicians carry cards too: a staff
// card tapped at a booth opens the staff screen (ScreenStaff) instead of a
// child's screens, with the TV panel that starts and stops the TV
// sessions of the register 电视播放节目记录 (station_staff.go). A card UID
// belongs to a child or to a staff member, never both (kiosk/sqlite checks
// it both ways).

// StaffID identifies a staff member in the staff register (a SQLite rowid).
type StaffID int64

// StaffRole is what a staff member does at the kiosk:
//
//	teacher     值班教师: runs the TV sessions
//	manager     管理员: runs the TV sessions
//	technician  技术员: sees the TVs' state, may not run them
type StaffRole string

const (
	StaffTeacher    StaffRole = "teacher"
	StaffManager    StaffRole = "manager"
	StaffTechnician StaffRole = "technician"
)

// StaffRoles lists every staff role, in the order the CLI lists them.
var StaffRoles = []StaffRole{StaffTeacher, StaffManager, StaffTechnician}

// ParseStaffRole returns the role named s (case-insensitive, surrounding
// space ignored; "值班教师", "管理员" and "技术员" are accepted too); an
// EINVALID *Error for anything else.
func ParseStaffRole(s string) (StaffRole, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for _, r := range StaffRoles {
		if v == string(r) || v == r.Words().ZH {
			return r, nil
		}
	}
	return "", Errorf(EINVALID, "unknown staff role %q (want teacher, manager or technician)", s)
}

// Words names the role for people: 值班教师 / duty teacher, 管理员 /
// manager, 技术员 / technician.
func (r StaffRole) Words() Words {
	switch r {
	case StaffTeacher:
		return Words{ZH: "值班教师", EN: "Duty teacher"}
	case StaffManager:
		return Words{ZH: "管理员", EN: "Manager"}
	case StaffTechnician:
		return Words{ZH: "技术员", EN: "Technician"}
	}
	return Words{ZH: string(r), EN: string(r)}
}

// MayRunTV reports whether the role may start and stop TV sessions at the
// kiosk: teachers and managers may, technicians may not.
func (r StaffRole) MayRunTV() bool { return r == StaffTeacher || r == StaffManager }

// Staff is one staff member of the staff register.
type Staff struct {
	ID   StaffID
	Name string // 1..50 characters, one line; unique in the register
	Role StaffRole
	// Username is the member's console user name, if they have one; ""
	// otherwise. It is informational (the console has its own login).
	Username string
	// Enabled is false once the member is disabled; StaffByUID also
	// returns false for a disabled card of an enabled member.
	Enabled bool
	// Cards are the member's enabled card UIDs (normalised), in the
	// register's lists only; empty from StaffByUID.
	Cards []string
}

// StaffRoster is the staff part of the roster, optional: a Roster that
// also implements it lets staff cards open the staff screen at the
// booths.
type StaffRoster interface {
	// StaffByUID returns the staff member whose card has uid (normalised,
	// see NormalizeUID), with Enabled false when the member or that card
	// is disabled; an ENOTFOUND *Error when no staff card has it.
	StaffByUID(ctx context.Context, uid string) (Staff, error)
}

// Auditor appends 'audit' entries; kiosk/sqlite.DB implements it. When
// the station's Journal also implements it, staff taps are audited (who,
// which booth), never with the card's UID.
type Auditor interface {
	Audit(ctx context.Context, actor, action, detail string) error
}

// TVAll is the group the TV form always offers besides the roster's
// classes: the whole home watching.
const TVAll = "全体"

// TVState is one TV as the staff screen shows it.
type TVState struct {
	Name string `json:"name"`
	Room string `json:"room,omitempty"`
	// Running is true while a session is open; the session's fields follow.
	Running   bool   `json:"running"`
	Programme string `json:"programme,omitempty"`
	Category  string `json:"category,omitempty"`
	Class     string `json:"class,omitempty"`
	Headcount int    `json:"headcount,omitempty"`
	Teacher   string `json:"teacher,omitempty"`
	// Started is when the session began (wall clock); Since says it as
	// local "HH:MM" (the station fills it in).
	Started time.Time `json:"-"`
	Since   string    `json:"since,omitempty"`
	// Curfew is the TV's latest time "HH:MM", "" for none.
	Curfew string `json:"curfew,omitempty"`
	// PowerError is set when the TV's last switch failed (it may need a
	// hand on its power button).
	PowerError bool `json:"power_error,omitempty"`
	// Programmes are the configured presets offered by the form for this
	// TV ("CCTV-少儿", "新闻联播"); free text is accepted too.
	Programmes []string `json:"programmes,omitempty"`
}

// TVStart asks to start a TV session from the staff screen. Teacher is
// set by the station to the staff member's name.
type TVStart struct {
	TV        string `json:"tv"`
	Programme string `json:"programme"`
	Category  string `json:"category"`
	Class     string `json:"class"`
	Headcount int    `json:"headcount"`
	Teacher   string `json:"teacher"`
}

// TVControl runs the TV sessions for the staff screen; cmd/kioskd adapts
// kiosk/tv.Service to it. Errors are *Error: EINVALID when the session
// rules fail (the message, in Chinese, lists every problem), ECONFLICT
// when the TV already runs or its curfew has passed, ENOTFOUND for an
// unknown TV or, on stop, one that runs no session.
type TVControl interface {
	// TVs returns every TV, sorted by name.
	TVs() []TVState
	StartTV(ctx context.Context, r TVStart) error
	StopTV(ctx context.Context, tv string) error
}

// TVPanelOpts are what the staff screen's TV form offers besides the
// TVs; the zero value offers no category and only TVAll.
type TVPanelOpts struct {
	// Categories are the session categories, in order (kiosk/tv's
	// Categories: 新闻, 少儿, 科普, 安全教育, 影片).
	Categories []string
	// Classes returns the roster's classes (kiosk/sqlite's Classes); the
	// form offers them after TVAll. Nil: TVAll only.
	Classes func(ctx context.Context) ([]string, error)
}

// StaffScreen is the staff part of ScreenStaff: who tapped, and the TV
// panel.
type StaffScreen struct {
	Name      string    `json:"name"`
	Role      StaffRole `json:"role"`
	RoleWords Words     `json:"role_words"`
	// MayRunTV is false for a technician: the panel shows the TVs but
	// offers no start or stop.
	MayRunTV bool `json:"may_run_tv"`
	// TVs are the configured TVs; empty when none is (or no TV control
	// is attached).
	TVs []TVState `json:"tvs,omitempty"`
	// Categories and Classes are the form's choices (TVPanelOpts); Classes
	// starts with TVAll.
	Categories []string `json:"categories,omitempty"`
	Classes    []string `json:"classes,omitempty"`
	// Notice says how the last TV action went: started, stopped, or why
	// it was refused. Error marks a refusal.
	Notice *Words `json:"notice,omitempty"`
	Error  bool   `json:"error,omitempty"`

	id StaffID // who; not sent to the page
}
