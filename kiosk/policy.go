package kiosk

import (
	"sort"
	"strings"
	"time"
)

// Policy defaults, used when the corresponding Policy field is zero.
const (
	// DefaultCallLimit is the per-call limit when Policy.Limit is zero.
	DefaultCallLimit = 5 * time.Minute
	// DefaultHelpLimit is the limit of a help call when Policy.HelpLimit
	// is zero: long enough for a child in distress to be heard out.
	DefaultHelpLimit = 30 * time.Minute
)

// DefaultWarnings are the warning times before the limit when
// Policy.Warnings is nil: 120 s and 60 s.
var DefaultWarnings = []time.Duration{120 * time.Second, 60 * time.Second}

// Decide answers a: may this child call this contact now? It applies the
// rules below in order and returns the first refusal, each with its
// reason code:
//
//  1. a.Help: allowed with ReasonHelp and HelpCallLimit(), before any
//     other rule, so help is never denied, not for an unknown card, a
//     disabled card or a child who left, not when closed, not when the
//     quota is used up, not when the child is already in a call.
//  2. !a.CardFound: ReasonCardUnknown.
//  3. !a.Card.Enabled: ReasonCardDisabled.
//  4. a.Child.Status is not ChildActive (the empty status included):
//     ReasonChildInactive.
//  5. !a.ContactFound, or a.Contact belongs to another child (both IDs
//     set and different): ReasonNotApproved.
//  6. the contact is not approved for a.Mode (an empty Mode included):
//     ReasonModeNotAllowed.
//  7. a.InCall: ReasonCallActive.
//  8. p.Hours closed at a.Now: ReasonClosed.
//  9. a weekly calls quota and a.Usage.Calls >= Quota.Calls:
//     ReasonQuotaCalls.
//  10. a weekly minutes quota and a.Usage.Seconds >= Quota.Minutes*60:
//     ReasonQuotaMinutes.
//
// Otherwise the call is allowed with ReasonOK and Limit =
// LimitFor(a.Child, a.Contact), capped at the seconds left in the weekly
// minutes quota: a call never runs past the weekly quota. A refusal has a
// zero Limit. Whether a line is free (ReasonLineBusy, the Queue) is the
// station's business, not Decide's.
func (p Policy) Decide(a Ask) Decision {
	deny := func(r Reason) Decision { return Decision{Reason: r} }
	switch {
	case a.Help:
		return Decision{Allowed: true, Reason: ReasonHelp, Limit: p.HelpCallLimit()}
	case !a.CardFound:
		return deny(ReasonCardUnknown)
	case !a.Card.Enabled:
		return deny(ReasonCardDisabled)
	case a.Child.Status != ChildActive:
		return deny(ReasonChildInactive)
	case !a.ContactFound || (a.Contact.ChildID != 0 && a.Child.ID != 0 && a.Contact.ChildID != a.Child.ID):
		return deny(ReasonNotApproved)
	case !a.Contact.Allows(a.Mode):
		return deny(ReasonModeNotAllowed)
	case a.InCall:
		return deny(ReasonCallActive)
	case !p.Hours.Open(a.Now):
		return deny(ReasonClosed)
	case p.Quota.Calls > 0 && a.Usage.Calls >= p.Quota.Calls:
		return deny(ReasonQuotaCalls)
	case p.Quota.Minutes > 0 && a.Usage.Seconds >= p.Quota.Minutes*60:
		return deny(ReasonQuotaMinutes)
	}
	limit := p.LimitFor(a.Child, a.Contact)
	if p.Quota.Minutes > 0 {
		left := time.Duration(p.Quota.Minutes*60-a.Usage.Seconds) * time.Second
		limit = min(limit, left)
	}
	return Decision{Allowed: true, Reason: ReasonOK, Limit: limit}
}

// DefaultLimit returns the station's per-call limit: p.Limit, or
// DefaultCallLimit (5 min) when it is zero or negative.
func (p Policy) DefaultLimit() time.Duration {
	if p.Limit <= 0 {
		return DefaultCallLimit
	}
	return p.Limit
}

// HelpCallLimit returns the per-call limit of a help call: p.HelpLimit, or
// DefaultHelpLimit (30 min) when it is zero or negative. Child and contact
// overrides and quotas do not apply to help calls.
func (p Policy) HelpCallLimit() time.Duration {
	if p.HelpLimit <= 0 {
		return DefaultHelpLimit
	}
	return p.HelpLimit
}

// LimitFor returns the per-call limit for child calling contact, before
// the quota cap: the contact's override if set, else the child's, else
// DefaultLimit(). An override set by a manager is meant to apply both
// ways: a longer call for a parent who is abroad, a shorter one where a
// guardian asked for it.
func (p Policy) LimitFor(child Child, contact Contact) time.Duration {
	switch {
	case contact.CallLimit > 0:
		return contact.CallLimit
	case child.CallLimit > 0:
		return child.CallLimit
	}
	return p.DefaultLimit()
}

// QuotaLeft returns what is left of the weekly quota after u, for the
// screen: whole minutes (rounded down: 90 s left is 1) and calls, each -1
// when that quota is unlimited and never below 0.
func (p Policy) QuotaLeft(u Usage) (minutes, calls int) {
	minutes, calls = -1, -1
	if p.Quota.Minutes > 0 {
		minutes = max(0, (p.Quota.Minutes*60-u.Seconds)/60)
	}
	if p.Quota.Calls > 0 {
		calls = max(0, p.Quota.Calls-u.Calls)
	}
	return minutes, calls
}

// WarningsFor returns the warnings that fit a call limited to limit: the
// times before the limit at which the child is warned, longest first,
// without duplicates, dropping those that are >= limit or <= 0 (a 90 s
// call gets only the 60 s warning). p.Warnings nil means DefaultWarnings
// (120 s, 60 s); an empty non-nil slice means no warnings. The result is
// a new slice, nil when no warning fits.
func (p Policy) WarningsFor(limit time.Duration) []time.Duration {
	ws := p.Warnings
	if ws == nil {
		ws = DefaultWarnings
	}
	var out []time.Duration
	for _, w := range ws {
		if w > 0 && w < limit {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			out = append(out[:i], out[i+1:]...)
			i--
		}
	}
	return out
}

// IsHelpNumber reports whether dialled is p.HelpCode or one of
// p.HelpNumbers. Numbers are compared by their digits in the Chinese
// national form, so separators do not matter and "+86 138 1234 5678",
// "008613812345678" and "13812345678" match each other, as do
// "+861012345678" and "01012345678" (a landline gets its trunk 0 back).
// An empty or digitless dialled string is never a help number.
func (p Policy) IsHelpNumber(dialled string) bool {
	d := policyNationalDigits(dialled)
	if d == "" {
		return false
	}
	if p.HelpCode != "" && d == policyNationalDigits(p.HelpCode) {
		return true
	}
	for _, n := range p.HelpNumbers {
		if d == policyNationalDigits(n) {
			return true
		}
	}
	return false
}

// HelpNumber returns the number dialled for the help code: the first of
// p.HelpNumbers, or "" when none is configured.
func (p Policy) HelpNumber() string {
	if len(p.HelpNumbers) == 0 {
		return ""
	}
	return p.HelpNumbers[0]
}

// policyNationalDigits keeps the digits of s and rewrites an international
// Chinese number (+86 or 0086) to its national form: an 11-digit mobile
// number as is, anything else with the trunk prefix 0.
func policyNationalDigits(s string) string {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	var rest string
	switch {
	case plus && strings.HasPrefix(d, "86"):
		rest = d[2:]
	case !plus && strings.HasPrefix(d, "0086"):
		rest = d[4:]
	default:
		return d
	}
	if len(rest) == 11 && rest[0] == '1' {
		return rest
	}
	return "0" + rest
}
