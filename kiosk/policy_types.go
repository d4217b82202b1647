package kiosk

import "time"

// Minute is a time of day in minutes after local midnight, 0..1440.
type Minute int

// Window is a weekly opening window: Day at Start to End local time. A
// window whose End is not after Start crosses midnight into the next day
// (Fri 20:00-01:00 is open until 01:00 on Saturday).
type Window struct {
	Day   time.Weekday
	Start Minute
	End   Minute
}

// Closure is a period when the room is closed whatever the windows say
// (holidays, exam weeks): from From (inclusive) to To (exclusive), local.
type Closure struct {
	From, To time.Time
	Note     string
}

// Hours are the announced opening hours in the station's time zone.
type Hours struct {
	Loc      *time.Location
	Windows  []Window
	Closures []Closure
}

// Quota is a weekly quota per child; 0 means unlimited. The week starts on
// Monday 00:00 local time.
type Quota struct {
	Minutes int
	Calls   int
}

// Policy is the station's call policy. The zero Limit means 5 minutes.
type Policy struct {
	Hours Hours
	// Limit is the default per-call limit (5 min when zero).
	Limit time.Duration
	// HelpLimit is the per-call limit of help calls (30 min when zero);
	// child and contact overrides and quotas do not shorten it.
	HelpLimit time.Duration
	// Warnings are the times before the limit at which the child hears a
	// warning (120 s and 60 s by default).
	Warnings []time.Duration
	Quota    Quota
	// HelpCode is what a booth phone dials to reach help ("0").
	HelpCode string
	// HelpNumbers are the help and emergency numbers (duty teacher,
	// 12355), in E.164 or short form; the first is dialled for HelpCode.
	HelpNumbers []string
}

// Ask is one question to the policy: may this child call this contact now?
type Ask struct {
	Now  time.Time
	Card Card
	// CardFound is false when no child has the card.
	CardFound bool
	Child     Child
	Contact   Contact
	// ContactFound is false when the dialled number or slot matched no
	// approved contact of the child.
	ContactFound bool
	Mode         Mode
	// Help marks a help or emergency call: it skips hours, quotas and the
	// queue.
	Help bool
	// Usage is what the child used this week (since WeekStart(Now)).
	Usage Usage
	// InCall is true when the child already has a call in progress.
	InCall bool
}

// Decision is the policy's answer: allowed or not, why, and the per-call
// limit that applies.
type Decision struct {
	Allowed bool
	Reason  Reason
	Limit   time.Duration
}
