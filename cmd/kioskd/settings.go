package main

import (
	"context"
	"fmt"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/ui/console"
)

// consoleSettings returns the effective policy at start: file, the config
// file's, with the console's stored overrides (the Settings page) applied.
// An override that no longer parses is skipped with a warning (the
// file's value applies), as is a combination the page would refuse; a
// stored setting never stops the start. Errors only when the ledger
// cannot be read.
func (m *Main) consoleSettings(ctx context.Context, file kiosk.Policy) (kiosk.Policy, error) {
	stored, err := m.db.Settings(ctx)
	if err != nil {
		return kiosk.Policy{}, fmt.Errorf("console settings: %w", err)
	}
	p, probs := console.ApplySettings(file, stored)
	probs = append(probs, console.CheckPolicy(p, m.extensions())...)
	for _, pr := range probs {
		// The message may quote a help number: keep it out of the log.
		m.Logger.Warn("console setting not applied or inconsistent; see the console's Settings page", "key", pr.Key)
	}
	if len(stored) > 0 {
		m.Logger.Info("console settings override the config file", "count", len(stored))
	}
	return p, nil
}

// settingsOpts wires the console's Settings page: the file's policy (read
// again from the loaded config, which Run already checked), changes
// applied to the running station at once, and the booth phones' numbers
// that the help code must not take.
func (m *Main) settingsOpts() console.SettingsOpts {
	file, err := m.Config.Policy()
	if err != nil {
		m.Logger.Error("console settings: config policy", "err", err) // Run failed earlier on this
	}
	return console.SettingsOpts{File: file, Apply: m.station.SetPolicy, Reserved: m.extensions()}
}

// extensions are the booth phones' SIP users.
func (m *Main) extensions() []string {
	var out []string
	for _, e := range m.Config.SIP.Extensions {
		out = append(out, e.User)
	}
	return out
}
