package kiosk_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// policyFixture: weekdays 16:30-18:00, friday 20:00-01:00, weekends
// 09:00-11:00, closed on Wednesday 2025-03-05; 3 calls or 20 minutes a
// week; default 5-minute calls.
func policyFixture(t testing.TB) kiosk.Policy {
	return kiosk.Policy{
		Hours:       hoursFixture(t),
		Quota:       kiosk.Quota{Calls: 3, Minutes: 20},
		HelpCode:    "0",
		HelpNumbers: []string{"+86 139 0000 0001", "12355"},
	}
}

// policyAsk is an allowed ask: Lili taps her card on Monday 17:00 and
// calls her mother by phone, with one 2-minute call this week.
func policyAsk() kiosk.Ask {
	return kiosk.Ask{
		Now:          hoursAt(3, 17, 0, 0),
		Card:         kiosk.Card{UID: "04A1B2C3", ChildID: 7, Enabled: true},
		CardFound:    true,
		Child:        kiosk.Child{ID: 7, Name: "Lili", Status: kiosk.ChildActive},
		Contact:      kiosk.Contact{ID: 70, ChildID: 7, Slot: 1, Relation: "母亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}},
		ContactFound: true,
		Mode:         kiosk.ModePhone,
		Usage:        kiosk.Usage{Calls: 1, Seconds: 120},
	}
}

func TestPolicyDecide(t *testing.T) {
	p := policyFixture(t)
	tests := []struct {
		name   string
		policy func(*kiosk.Policy)
		ask    func(*kiosk.Ask)
		want   kiosk.Decision
	}{
		{"allowed", nil, nil, kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},

		// card and child
		{"card unknown", nil, func(a *kiosk.Ask) { a.CardFound = false; a.Card = kiosk.Card{}; a.Child = kiosk.Child{} },
			kiosk.Decision{Reason: kiosk.ReasonCardUnknown}},
		{"card disabled", nil, func(a *kiosk.Ask) { a.Card.Enabled = false }, kiosk.Decision{Reason: kiosk.ReasonCardDisabled}},
		{"child left", nil, func(a *kiosk.Ask) { a.Child.Status = kiosk.ChildLeft }, kiosk.Decision{Reason: kiosk.ReasonChildInactive}},
		{"child without status", nil, func(a *kiosk.Ask) { a.Child.Status = "" }, kiosk.Decision{Reason: kiosk.ReasonChildInactive}},

		// contact and mode
		{"contact not found", nil, func(a *kiosk.Ask) { a.ContactFound = false; a.Contact = kiosk.Contact{} },
			kiosk.Decision{Reason: kiosk.ReasonNotApproved}},
		{"contact of another child", nil, func(a *kiosk.Ask) { a.Contact.ChildID = 8 }, kiosk.Decision{Reason: kiosk.ReasonNotApproved}},
		{"video not approved", nil, func(a *kiosk.Ask) { a.Mode = kiosk.ModeVideo }, kiosk.Decision{Reason: kiosk.ReasonModeNotAllowed}},
		{"empty mode", nil, func(a *kiosk.Ask) { a.Mode = "" }, kiosk.Decision{Reason: kiosk.ReasonModeNotAllowed}},
		{"video approved", nil, func(a *kiosk.Ask) {
			a.Mode = kiosk.ModeVideo
			a.Contact.Modes = []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}
		}, kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"contact without modes", nil, func(a *kiosk.Ask) { a.Contact.Modes = nil }, kiosk.Decision{Reason: kiosk.ReasonModeNotAllowed}},

		// one call per child
		{"already in a call", nil, func(a *kiosk.Ask) { a.InCall = true }, kiosk.Decision{Reason: kiosk.ReasonCallActive}},

		// hours: window edges, midnight, closures
		{"window start inclusive", nil, func(a *kiosk.Ask) { a.Now = hoursAt(3, 16, 30, 0) },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"one second before window", nil, func(a *kiosk.Ask) { a.Now = hoursAt(3, 16, 29, 59) }, kiosk.Decision{Reason: kiosk.ReasonClosed}},
		{"last second of window", nil, func(a *kiosk.Ask) { a.Now = hoursAt(3, 17, 59, 59) },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"window end exclusive", nil, func(a *kiosk.Ask) { a.Now = hoursAt(3, 18, 0, 0) }, kiosk.Decision{Reason: kiosk.ReasonClosed}},
		{"friday window open saturday 00:30", nil, func(a *kiosk.Ask) { a.Now = hoursAt(8, 0, 30, 0) },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"friday window closed saturday 01:00", nil, func(a *kiosk.Ask) { a.Now = hoursAt(8, 1, 0, 0) }, kiosk.Decision{Reason: kiosk.ReasonClosed}},
		{"closure day", nil, func(a *kiosk.Ask) { a.Now = hoursAt(5, 17, 0, 0) }, kiosk.Decision{Reason: kiosk.ReasonClosed}},
		{"day after closure", nil, func(a *kiosk.Ask) { a.Now = hoursAt(6, 17, 0, 0) },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"no windows configured", func(p *kiosk.Policy) { p.Hours.Windows = nil }, nil, kiosk.Decision{Reason: kiosk.ReasonClosed}},

		// quotas: exactly used, one below
		{"calls quota exactly used", nil, func(a *kiosk.Ask) { a.Usage.Calls = 3 }, kiosk.Decision{Reason: kiosk.ReasonQuotaCalls}},
		{"calls quota over", nil, func(a *kiosk.Ask) { a.Usage.Calls = 4 }, kiosk.Decision{Reason: kiosk.ReasonQuotaCalls}},
		{"calls quota one below", nil, func(a *kiosk.Ask) { a.Usage.Calls = 2 },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"minutes quota exactly used", nil, func(a *kiosk.Ask) { a.Usage.Seconds = 20 * 60 }, kiosk.Decision{Reason: kiosk.ReasonQuotaMinutes}},
		{"minutes quota one second below: 1 s call", nil, func(a *kiosk.Ask) { a.Usage.Seconds = 20*60 - 1 },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: time.Second}},
		{"minutes quota one minute below: 1 min call", nil, func(a *kiosk.Ask) { a.Usage.Seconds = 19 * 60 },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: time.Minute}},
		{"minutes quota exactly one limit left", nil, func(a *kiosk.Ask) { a.Usage.Seconds = 15 * 60 },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"unlimited quotas", func(p *kiosk.Policy) { p.Quota = kiosk.Quota{} }, func(a *kiosk.Ask) { a.Usage = kiosk.Usage{Calls: 1000, Seconds: 1e6} },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},
		{"calls-only quota", func(p *kiosk.Policy) { p.Quota = kiosk.Quota{Calls: 2} }, func(a *kiosk.Ask) { a.Usage = kiosk.Usage{Calls: 1, Seconds: 1e6} },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 5 * time.Minute}},

		// limits
		{"station limit", func(p *kiosk.Policy) { p.Limit = 60 * time.Second }, nil,
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 60 * time.Second}},
		{"child override shorter", nil, func(a *kiosk.Ask) { a.Child.CallLimit = 3 * time.Minute },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 3 * time.Minute}},
		{"child override longer than default applies", nil, func(a *kiosk.Ask) { a.Child.CallLimit = 10 * time.Minute },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 10 * time.Minute}},
		{"contact override wins over child's", nil, func(a *kiosk.Ask) { a.Child.CallLimit = 3 * time.Minute; a.Contact.CallLimit = 2 * time.Minute },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 2 * time.Minute}},
		{"contact override longer than child's wins", nil, func(a *kiosk.Ask) { a.Child.CallLimit = time.Minute; a.Contact.CallLimit = 2 * time.Minute },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 2 * time.Minute}},
		{"quota cap below overrides", nil, func(a *kiosk.Ask) { a.Contact.CallLimit = 2 * time.Minute; a.Usage.Seconds = 20*60 - 90 },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonOK, Limit: 90 * time.Second}},

		// help is never denied
		{"help when allowed anyway", nil, func(a *kiosk.Ask) { a.Help = true },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help when closed", nil, func(a *kiosk.Ask) { a.Help = true; a.Now = hoursAt(3, 23, 0, 0) },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help on closure day", nil, func(a *kiosk.Ask) { a.Help = true; a.Now = hoursAt(5, 17, 0, 0) },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help when quotas used", nil, func(a *kiosk.Ask) { a.Help = true; a.Usage = kiosk.Usage{Calls: 3, Seconds: 20 * 60} },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help with unknown card", nil, func(a *kiosk.Ask) { *a = kiosk.Ask{Now: hoursAt(3, 3, 0, 0), Help: true} },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help with disabled card", nil, func(a *kiosk.Ask) { a.Help = true; a.Card.Enabled = false },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help for a child who left", nil, func(a *kiosk.Ask) { a.Help = true; a.Child.Status = kiosk.ChildLeft },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help while in a call", nil, func(a *kiosk.Ask) { a.Help = true; a.InCall = true },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 30 * time.Minute}},
		{"help ignores overrides and uses HelpLimit", func(p *kiosk.Policy) { p.HelpLimit = 15 * time.Minute; p.Limit = time.Minute },
			func(a *kiosk.Ask) { a.Help = true; a.Child.CallLimit = time.Second },
			kiosk.Decision{Allowed: true, Reason: kiosk.ReasonHelp, Limit: 15 * time.Minute}},

		// rule order: the first refusal wins
		{"unknown card before closed", nil, func(a *kiosk.Ask) { a.CardFound = false; a.Now = hoursAt(3, 23, 0, 0) },
			kiosk.Decision{Reason: kiosk.ReasonCardUnknown}},
		{"disabled card before inactive child", nil, func(a *kiosk.Ask) { a.Card.Enabled = false; a.Child.Status = kiosk.ChildLeft },
			kiosk.Decision{Reason: kiosk.ReasonCardDisabled}},
		{"inactive child before not approved", nil, func(a *kiosk.Ask) { a.Child.Status = kiosk.ChildLeft; a.ContactFound = false },
			kiosk.Decision{Reason: kiosk.ReasonChildInactive}},
		{"not approved before mode", nil, func(a *kiosk.Ask) { a.ContactFound = false; a.Mode = kiosk.ModeVideo },
			kiosk.Decision{Reason: kiosk.ReasonNotApproved}},
		{"mode before in call", nil, func(a *kiosk.Ask) { a.Mode = kiosk.ModeVideo; a.InCall = true },
			kiosk.Decision{Reason: kiosk.ReasonModeNotAllowed}},
		{"in call before closed", nil, func(a *kiosk.Ask) { a.InCall = true; a.Now = hoursAt(3, 23, 0, 0) },
			kiosk.Decision{Reason: kiosk.ReasonCallActive}},
		{"closed before quota", nil, func(a *kiosk.Ask) { a.Now = hoursAt(3, 23, 0, 0); a.Usage.Calls = 3 },
			kiosk.Decision{Reason: kiosk.ReasonClosed}},
		{"calls quota before minutes quota", nil, func(a *kiosk.Ask) { a.Usage = kiosk.Usage{Calls: 3, Seconds: 20 * 60} },
			kiosk.Decision{Reason: kiosk.ReasonQuotaCalls}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := p
			if tc.policy != nil {
				tc.policy(&pol)
			}
			a := policyAsk()
			if tc.ask != nil {
				tc.ask(&a)
			}
			assert.Equal(t, tc.want, pol.Decide(a))
		})
	}
}

// TestPolicyQuotaWeekBoundary sums a child's calls since WeekStart, as the
// station does from the ledger: a call on Sunday 23:59 counts in the old
// week, a call at Monday 00:00 in the new one.
func TestPolicyQuotaWeekBoundary(t *testing.T) {
	p := kiosk.Policy{Hours: kiosk.Hours{Windows: hoursMustParse(t, "daily 00:00-24:00")}, Quota: kiosk.Quota{Calls: 1}}
	calls := []time.Time{hoursAt(9, 23, 59, 0)} // Sunday
	usage := func(now time.Time) kiosk.Usage {
		var u kiosk.Usage
		for _, c := range calls {
			if !c.Before(kiosk.WeekStart(now, nil)) && !c.After(now) {
				u.Calls++
			}
		}
		return u
	}
	ask := func(now time.Time) kiosk.Decision {
		a := policyAsk()
		a.Now = now
		a.Usage = usage(now)
		return p.Decide(a)
	}
	assert.Equal(t, kiosk.ReasonQuotaCalls, ask(hoursAt(9, 23, 59, 30)).Reason, "Sunday 23:59:30: the Sunday call counts")
	assert.Equal(t, kiosk.ReasonOK, ask(hoursAt(10, 0, 0, 0)).Reason, "Monday 00:00: a new week")

	calls = append(calls, hoursAt(10, 0, 0, 0))
	assert.Equal(t, kiosk.ReasonQuotaCalls, ask(hoursAt(10, 0, 0, 1)).Reason, "a call at Monday 00:00 counts in the new week")
}

func TestPolicyLimits(t *testing.T) {
	var zero kiosk.Policy
	assert.Equal(t, 5*time.Minute, zero.DefaultLimit())
	assert.Equal(t, 30*time.Minute, zero.HelpCallLimit())
	assert.Equal(t, 5*time.Minute, zero.LimitFor(kiosk.Child{}, kiosk.Contact{}))
	p := kiosk.Policy{Limit: time.Minute, HelpLimit: 10 * time.Minute}
	assert.Equal(t, time.Minute, p.DefaultLimit())
	assert.Equal(t, 10*time.Minute, p.HelpCallLimit())
	assert.Equal(t, 45*time.Second, p.LimitFor(kiosk.Child{CallLimit: 30 * time.Second}, kiosk.Contact{CallLimit: 45 * time.Second}))
	assert.Equal(t, 30*time.Second, p.LimitFor(kiosk.Child{CallLimit: 30 * time.Second}, kiosk.Contact{}))
}

func TestPolicyQuotaLeft(t *testing.T) {
	tests := []struct {
		name                 string
		quota                kiosk.Quota
		usage                kiosk.Usage
		wantMinutes, wantCal int
	}{
		{"unlimited", kiosk.Quota{}, kiosk.Usage{Calls: 9, Seconds: 9999}, -1, -1},
		{"fresh week", kiosk.Quota{Minutes: 20, Calls: 3}, kiosk.Usage{}, 20, 3},
		{"partial minute rounds down", kiosk.Quota{Minutes: 20, Calls: 3}, kiosk.Usage{Calls: 1, Seconds: 61}, 18, 2},
		{"exactly used", kiosk.Quota{Minutes: 20, Calls: 3}, kiosk.Usage{Calls: 3, Seconds: 1200}, 0, 0},
		{"overused never negative", kiosk.Quota{Minutes: 20, Calls: 3}, kiosk.Usage{Calls: 5, Seconds: 1500}, 0, 0},
		{"under a minute left", kiosk.Quota{Minutes: 20}, kiosk.Usage{Seconds: 1170}, 0, -1},
		{"calls only", kiosk.Quota{Calls: 3}, kiosk.Usage{Calls: 1, Seconds: 5000}, -1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, c := kiosk.Policy{Quota: tc.quota}.QuotaLeft(tc.usage)
			assert.Equal(t, tc.wantMinutes, m, "minutes left")
			assert.Equal(t, tc.wantCal, c, "calls left")
		})
	}
}

func TestPolicyWarningsFor(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		warnings []time.Duration
		limit    time.Duration
		want     []time.Duration
	}{
		{"defaults for 5 min", nil, 5 * time.Minute, []time.Duration{120 * s, 60 * s}},
		{"default 120 s equal to limit dropped", nil, 120 * s, []time.Duration{60 * s}},
		{"90 s call gets the 60 s warning", nil, 90 * s, []time.Duration{60 * s}},
		{"60 s call gets none", nil, 60 * s, nil},
		{"zero limit", nil, 0, nil},
		{"explicitly none", []time.Duration{}, 5 * time.Minute, nil},
		{"sorted and deduplicated", []time.Duration{30 * s, 90 * s, 30 * s, 0, -s}, 5 * time.Minute, []time.Duration{90 * s, 30 * s}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, kiosk.Policy{Warnings: tc.warnings}.WarningsFor(tc.limit))
		})
	}
	t.Run("does not alias the defaults", func(t *testing.T) {
		got := kiosk.Policy{}.WarningsFor(time.Hour)
		require.Len(t, got, 2)
		got[0] = time.Hour
		assert.Equal(t, 120*s, kiosk.DefaultWarnings[0])
	})
}

func TestPolicyIsHelpNumber(t *testing.T) {
	p := kiosk.Policy{HelpCode: "0", HelpNumbers: []string{"+86 139 0000 0001", "12355", "+861012345678"}}
	tests := []struct {
		dialled string
		want    bool
	}{
		{"0", true},
		{"12355", true},
		{"123-55", true},
		{"13900000001", true},
		{"+8613900000001", true},
		{"008613900000001", true},
		{"139 0000 0001", true},
		{"01012345678", true},
		{"+86 10 1234 5678", true},
		{"1012345678", false},
		{"13900000002", false},
		{"1235", false},
		{"00", false},
		{"", false},
		{"abc", false},
		{"+", false},
	}
	for _, tc := range tests {
		t.Run(tc.dialled, func(t *testing.T) {
			assert.Equal(t, tc.want, p.IsHelpNumber(tc.dialled))
		})
	}
	t.Run("no help configured", func(t *testing.T) {
		assert.False(t, kiosk.Policy{}.IsHelpNumber("0"))
		assert.Equal(t, "", kiosk.Policy{}.HelpNumber())
	})
	assert.Equal(t, "+86 139 0000 0001", p.HelpNumber())
}

func BenchmarkPolicyDecide(b *testing.B) {
	p := policyFixture(b)
	a := policyAsk()
	for b.Loop() {
		if d := p.Decide(a); !d.Allowed {
			b.Fatal(d.Reason)
		}
	}
}
