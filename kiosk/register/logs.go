package register

import (
	"time"

	"github.com/qinqing/station/kiosk"
)

// Equipment is one row of the equipment register (设备维护/增添/核减记录),
// read from an 'equipment' journal entry: which device, what happened and
// when. It carries no children's data.
type Equipment struct {
	Seq    int64
	At     time.Time // UTC
	Device string    // the device's config name, e.g. "reader1"
	Kind   string    // e.g. "mfrc522"
	Booth  string    // "" when none
	Event  string    // attached, fault, recovered, replaced, config_changed
	Detail string    // free text; never a card UID
	// ClockSynced is false when the entry's clock was not synced.
	ClockSynced bool
}

// RosterChange is one row of the roster changes register (名册变更记录),
// read from a 'roster' journal entry: what changed (Op, e.g.
// "child_added", "contact_updated", "card_disabled"), for which child, and
// when. Phone is the contact's full number as journaled (mask it for
// display); Card is the card UID (never shown in full).
type RosterChange struct {
	Seq       int64
	At        time.Time // UTC
	Op        string
	ChildID   kiosk.ChildID
	ChildName string // the name journaled, else the child's current name
	Class     string // the class journaled, else the child's current class
	Status    string // child_status and child entries: active, left
	Contact   string // contact entries: the contact's name
	Relation  string // contact entries
	Phone     string // contact entries
	Card      string // card entries
}

// HelpCase is a help call (kiosk.CallRecord.Help) seen as a case that a
// manager follows up and closes. CallID identifies it.
type HelpCase struct {
	CallID    string
	Booth     string
	ChildID   kiosk.ChildID // 0 when the help button was pressed without a card
	ChildName string
	Class     string
	Started   time.Time // UTC
	Ended     time.Time // zero while the call is in progress
	// Notes are the follow-up notes, oldest first; the last one closes
	// the case when Closed is set.
	Notes []HelpNote
	// Closed is when a manager closed the case and ClosedBy who; zero and
	// "" while it is open.
	Closed   time.Time
	ClosedBy string
}

// HelpNote is one follow-up note on a help case.
type HelpNote struct {
	At    time.Time // UTC
	By    string    // the console user's name
	Text  string
	Close bool // this note closed the case
}
