package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/ui/console"
)

// newConsole builds the managers' console (/console) over the ledger.
func (m *Main) newConsole(loc *time.Location) (*console.Console, error) {
	school := m.Config.Station.School
	if school == "" {
		school = m.Config.Station.Name
	}
	format, err := kiosk.ParseCardFormat(m.Config.Station.CardFormat)
	if err != nil {
		return nil, fmt.Errorf("console: card format: %w", err)
	}
	var presence kiosk.Presence // the quiet list's "parent online now"; none without video
	if m.video != nil {
		presence = m.video
	}
	c, err := console.New(console.Opts{Store: m.db, School: school, Loc: loc, Logger: m.Logger,
		Devices: m.consoleDevices, PublicURL: m.Config.Video.PublicURL, CardFormat: format,
		Settings: m.settingsOpts(), // settings.go
		Station:  m.station,        // live booths, card enrolment (booths.go)
		// The rules of a loan's class: how late, by which rules.
		BookRules: m.Config.BookRulesByClass(), TV: m.tv.admin(),
		QuietDays: m.Config.Console.QuietDays, Presence: presence})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return c, nil
}

// consoleDevices is the Today page's device list, from /healthz's report.
func (m *Main) consoleDevices(ctx context.Context) []console.DeviceHealth {
	rep := m.health()
	names := make([]string, 0, len(rep.Components))
	for n := range rep.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]console.DeviceHealth, 0, len(names))
	for _, n := range names {
		h := rep.Components[n]
		out = append(out, console.DeviceHealth{Name: n, OK: h.Status == kiosk.HealthOK, Detail: h.Reason})
	}
	return out
}

// setupLink returns, when no manager exists yet, the one-time link that
// creates the first one (printed at start; valid 24 h, only for this run).
func (m *Main) setupLink(ctx context.Context) (string, error) {
	tok, created, err := m.db.SetupToken(ctx)
	if err != nil || !created {
		return "", err
	}
	return m.HTTPURL() + "/console/setup/" + tok, nil
}
