package kiosk

// ScreenKind names the state a booth's screen shows.
type ScreenKind string

const (
	ScreenIdle       ScreenKind = "idle"       // 请刷卡 / tap your card
	ScreenIdentified ScreenKind = "identified" // name, contact tiles, quota left
	ScreenUnknown    ScreenKind = "unknown"    // unknown card: please see your teacher
	ScreenClosed     ScreenKind = "closed"     // outside opening hours: next opening
	ScreenQueued     ScreenKind = "queued"     // waiting for a line: position
	ScreenCalling    ScreenKind = "calling"    // ringing the booth phone or the parent
	ScreenConnected  ScreenKind = "connected"  // talking: big countdown
	ScreenWarning    ScreenKind = "warning"    // connected, with the 60 s banner
	ScreenEnded      ScreenKind = "ended"      // the call ended: duration
	ScreenDenied     ScreenKind = "denied"     // refused: reason in a child's words
	// ScreenEnrol: the console waits for a new card at this booth (Words
	// 请刷卡登记 / Tap the new card), then shows 已读卡 / Card read for
	// the linger time (station_enrol.go).
	ScreenEnrol ScreenKind = "enrol"
	// ScreenStaff: a staff card was tapped; Staff holds the member and
	// the TV panel (station_staff.go).
	ScreenStaff ScreenKind = "staff"
)

// Tile is one approved contact as the child's screen shows it. The number
// is always masked.
type Tile struct {
	Slot     int    `json:"slot"`
	Name     string `json:"name"`
	Relation string `json:"relation"`
	Masked   string `json:"masked"`
	Phone    bool   `json:"phone"` // approved for phone calls
	Video    bool   `json:"video"` // approved for video calls
	// Online is true when the parent's video page is open and connected:
	// the tile then offers a video call. Until is when the parent said
	// they are available until ("21:00"), or "".
	Online bool   `json:"online,omitempty"`
	Until  string `json:"until,omitempty"`
}

// Screen is what a booth's screen shows now; the station pushes a new one
// on every change. Times are Unix milliseconds (wall clock) so that a
// browser can count down by itself; RemainingMS is authoritative when the
// state is pushed.
type Screen struct {
	Booth string     `json:"booth"`
	Kind  ScreenKind `json:"state"`
	Seq   uint64     `json:"seq"`
	Child string     `json:"child,omitempty"` // the child's name, identified states only
	Tiles []Tile     `json:"tiles,omitempty"`
	// QuotaMinutesLeft and QuotaCallsLeft are set on the identified
	// screen only; -1 when unlimited.
	QuotaMinutesLeft *int   `json:"quota_minutes_left,omitempty"`
	QuotaCallsLeft   *int   `json:"quota_calls_left,omitempty"`
	Contact          string `json:"contact,omitempty"` // who is being called: relation or name
	Position         int    `json:"position,omitempty"`
	LimitMS          int64  `json:"limit_ms,omitempty"`
	RemainingMS      int64  `json:"remaining_ms,omitempty"`
	DurationMS       int64  `json:"duration_ms,omitempty"`
	Reason           Reason `json:"reason,omitempty"`
	Words            *Words `json:"words,omitempty"`
	Hours            string `json:"hours,omitempty"`        // today's opening hours, "16:30-18:00"
	NextOpening      string `json:"next_opening,omitempty"` // local RFC 3339
	// NextOpeningWords says NextOpening for a child: "今天 16:30",
	// "明天 16:30", "周一 16:30", "12月1日 16:30".
	NextOpeningWords *Words `json:"next_opening_words,omitempty"`
	Help             bool   `json:"help,omitempty"`
	Disposition      string `json:"disposition,omitempty"`
	// Mode is "video" during a video call ("phone" otherwise); Call is
	// the call's id, which the screen's signaling messages carry.
	Mode Mode   `json:"mode,omitempty"`
	Call string `json:"call,omitempty"`
	// Simulated names the booth's simulated devices ("reader", "light"),
	// shown small on the idle screen for the technician.
	Simulated []string `json:"simulated,omitempty"`
	// Book is set on the library screens (see station_books.go).
	Book *BookInfo `json:"book,omitempty"`
	// Overdue is set on the identified screen when the child holds books
	// due a reminder (see station_books.go): one kind line each.
	Overdue []OverdueBook `json:"overdue,omitempty"`
	// Staff is set on the staff screen (see station_staff.go).
	Staff *StaffScreen `json:"staff,omitempty"`
}

// RosterEntry is one child with contacts and card UIDs, as imported from
// or exported to the school's roster CSV. Line is the CSV line it came
// from (0 when not from a file).
//
// A roster file does not carry every field: HasLimits and HasLeftBehind
// say whether the entry carries the call limits and the kind of
// left-behind. When false, an import keeps a matched child's (and
// contact's) stored values, and a new one gets the entry's (zero: the
// default, not recorded).
type RosterEntry struct {
	Line     int
	Child    Child
	Contacts []Contact
	Cards    []string
	// HasLimits: Child.CallLimit and every Contact.CallLimit are given
	// (the console's form, an export of the database); a roster file has
	// no limit column.
	HasLimits bool
	// HasLeftBehind: Child.LeftBehind is given, LeftBehindUnknown
	// included (the file has a 留守类型 column, the console's form).
	HasLeftBehind bool
}
