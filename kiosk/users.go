package kiosk

import (
	"errors"
	"strings"
	"time"
)

// This file holds the console's users, sessions and audit entries as plain
// types, so that the console (ui/console) and the database (kiosk/sqlite)
// share them without importing each other. No SQL here.

// Role is what a console user may do:
//
//	manager     管理员: everything about the roster, registers and settings
//	principal   校长: reads everything, may reveal numbers, signs reports
//	inspector   督查: reads registers and reports, numbers always masked,
//	            no roster details beyond name and class
//	technician  技术员: devices and configuration, no children's data
type Role string

const (
	RoleManager    Role = "manager"
	RolePrincipal  Role = "principal"
	RoleInspector  Role = "inspector"
	RoleTechnician Role = "technician"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleManager, RolePrincipal, RoleInspector, RoleTechnician}

// ParseRole returns the role named s (case-insensitive, surrounding space
// ignored); an EINVALID *Error for anything else.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	for _, x := range Roles {
		if r == x {
			return r, nil
		}
	}
	return "", Errorf(EINVALID, "unknown role %q (want manager, principal, inspector or technician)", s)
}

// MinPasswordLen is the shortest console password accepted, in characters
// (Unicode code points). MaxPasswordLen bounds the work one login can cost.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// User is a console user as stored, without the password hash.
type User struct {
	ID          int64
	Username    string // lowercase, 2..32 of a-z 0-9 . _ -
	DisplayName string // shown in the console and the audit log; may be ""
	Role        Role
	Disabled    bool
	Created     time.Time
	LastLogin   time.Time // zero before the first login
}

// Name returns the display name, or the username when there is none.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// NewUser is what creating a console user needs.
type NewUser struct {
	Username    string // normalised to lowercase; see User.Username
	DisplayName string // at most 64 characters, one line
	Role        Role
	Password    string // MinPasswordLen..MaxPasswordLen characters
}

// Console login errors. Test with errors.Is.
var (
	// ErrBadLogin: unknown user, disabled user or wrong password; which
	// one is not said.
	ErrBadLogin = errors.New("kiosk: wrong username or password")
	// ErrLoginLocked: too many failed logins for the account or from the
	// address.
	ErrLoginLocked = errors.New("kiosk: too many failed logins, try again later")
	// ErrNoSession: the session id is unknown, malformed, expired, or its
	// user was disabled or changed password.
	ErrNoSession = errors.New("kiosk: no such session")
)

// Console session defaults: a session ends after SessionIdle without a
// request and SessionMax after login, whichever comes first.
const (
	SessionIdle = 30 * time.Minute
	SessionMax  = 12 * time.Hour
)

// Session is a console user's login.
type Session struct {
	// ID is the opaque session id for the cookie; set only by a login.
	// The store keeps only a hash of it.
	ID       string
	User     User
	Created  time.Time
	LastSeen time.Time
	Address  string // remote address at login
}

// AuditEntry is one 'audit' entry of the journal, decoded: who (Actor) did
// what (Action, e.g. "login", "reveal") with which details, and when.
type AuditEntry struct {
	Seq    int64
	At     time.Time
	Actor  string
	Action string
	Detail string
}

// ChildQuery filters a search of the roster's children. Zero fields match
// everything.
type ChildQuery struct {
	// Text matches children whose name or class contains it, or whose
	// external id equals it.
	Text string
	// Class matches children of exactly this class.
	Class string
	// Limit caps the result; <= 0 means 500.
	Limit int
}
