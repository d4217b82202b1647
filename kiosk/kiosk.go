// Package kiosk is the domain of Qinqing Station: the roster (children,
// approved contacts, cards), the call policy, the station state machine
// that turns a card tap into a family-phone call, and the contracts that the
// adapters (kiosk/sqlite, callbridge/sip, devices/*, ui) implement.
//
// kiosk imports no SQL, SIP, WebRTC, GPIO or HTTP package; cmd/kioskd wires
// the adapters together through the interfaces declared here.
package kiosk

import (
	"context"
	"time"
)

// ChildID identifies a child in the roster (a SQLite rowid).
type ChildID int64

// ContactID identifies an approved contact in the roster.
type ContactID int64

// ChildStatus is "active" or "left". A child who left keeps its history
// but can no longer place calls.
type ChildStatus string

const (
	ChildActive ChildStatus = "active"
	ChildLeft   ChildStatus = "left"
)

// Mode is how a call is carried: "phone" (SIP, 亲情电话) or "video"
// (WebRTC, 电脑视频交流).
type Mode string

const (
	ModePhone Mode = "phone"
	ModeVideo Mode = "video"
)

// Child is one child in the roster.
type Child struct {
	ID ChildID
	// ExternalID is the school's own id column from the roster CSV, if any.
	ExternalID string
	Name       string
	Gender     string // "男", "女" or "" when unknown
	Class      string
	Status     ChildStatus
	// CallLimit overrides the station's per-call limit for this child; 0
	// means the station default.
	CallLimit time.Duration
	// LeftBehind is the kind of left-behind child (留守类型: both parents
	// away, one away, other), LeftBehindUnknown when not recorded.
	LeftBehind LeftBehindKind
}

// Contact is a family member a teacher approved for a child. A child has 1
// to 5 contacts, numbered by Slot (1..5), which is also the handset
// speed-dial digit.
type Contact struct {
	ID       ContactID
	ChildID  ChildID
	Slot     int
	Name     string
	Relation string // 父亲, 母亲, 爷爷, 奶奶, 外公, 外婆, 监护人, ...
	// Phone is the number in E.164 form (+8613812345678). It is shown only
	// masked (see MaskPhone).
	Phone string
	Modes []Mode
	// CallLimit overrides the per-call limit for calls to this contact; 0
	// means the child's or station's limit.
	CallLimit time.Duration
}

// Allows reports whether the contact is approved for mode m.
func (c Contact) Allows(m Mode) bool {
	for _, x := range c.Modes {
		if x == m {
			return true
		}
	}
	return false
}

// Card is a card UID bound to a child. A child may have several cards; a
// lost card is disabled, never deleted.
type Card struct {
	// UID is normalised: uppercase hex of the UID bytes, no separators.
	UID     string
	ChildID ChildID
	Enabled bool
}

// Booth is one calling place: a card reader, a light, a SIP phone
// extension and optionally a screen.
type Booth struct {
	ID        string
	Name      string
	Extension string // SIP user of the booth phone, "" if none
}

// Roster is the read side of the roster that the station needs.
//
// Lookups return an *Error with code ENOTFOUND when nothing matches.
type Roster interface {
	CardByUID(ctx context.Context, uid string) (Card, error)
	Child(ctx context.Context, id ChildID) (Child, error)
	// Contacts returns the child's approved contacts ordered by Slot.
	Contacts(ctx context.Context, id ChildID) ([]Contact, error)
}

// Usage is what a child used over a period, from the ledger.
type Usage struct {
	// Calls counts answered, non-help calls.
	Calls int
	// Seconds sums billsec of answered, non-help calls.
	Seconds int
}
