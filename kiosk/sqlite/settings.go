package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk"
)

// Setting is one override of a policy setting made in the console (table
// settings, migration 0010). The store does not interpret keys or values:
// the console validates them (ui/console's ApplySettings) and names the
// keys after the config file's ("limits.call", "hours.mon").
type Setting struct {
	Key   string
	Value string
	// By is the console user who set it; At when (UTC, the database's
	// clock).
	By string
	At time.Time
}

// SettingChange is one change asked of SetSettings: store Value for Key,
// or with Clear remove the override so that the config file's value
// applies again. Old and New are the effective values before and after
// as people read them (the file's value when there is no override); they
// go to the journal only.
type SettingChange struct {
	Key      string
	Value    string
	Clear    bool
	Old, New string
}

// Setting limits.
const (
	MaxSettingKey   = 64
	MaxSettingValue = 1000
)

var settingKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`)

// settingBody is the stored JSON of a settings change: an 'audit' entry
// that the audit log shows through actor, action and detail, with the
// key and the old and new values spelt out for a reader of the journal.
type settingBody struct {
	Actor  string `json:"actor"`
	Action string `json:"action"` // settings_change
	Detail string `json:"detail"` // "limits.call: 5m -> 3m (console)"
	Key    string `json:"key"`
	Old    string `json:"old"`
	New    string `json:"new"`
	// Source is where the new value comes from: "console", or "file"
	// after an override was cleared.
	Source string `json:"source"`
}

// Settings returns the console's overrides ordered by key; empty, not
// nil, when there are none.
func (db *DB) Settings(ctx context.Context) ([]Setting, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT key, value, updated_by, updated_at FROM settings ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	defer rows.Close()
	out := []Setting{}
	for rows.Next() {
		var (
			s  Setting
			at string
		)
		if err := rows.Scan(&s.Key, &s.Value, &s.By, &at); err != nil {
			return nil, fmt.Errorf("settings: scan: %w", err)
		}
		if s.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("settings: %s: %w", s.Key, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return out, nil
}

// SetSettings applies changes in one transaction and journals each one
// that changes something as an 'audit' entry (action settings_change:
// actor, key, old and new values, source) in that transaction: all of
// them or none. A change that stores the value already stored, or clears
// a key without an override, is skipped. It returns how many changes were
// made.
//
// Errors (*kiosk.Error): EINVALID for an empty actor, a key that is not
// lowercase dotted words (at most MaxSettingKey bytes), a key named twice
// or a value over MaxSettingValue characters or not UTF-8.
func (db *DB) SetSettings(ctx context.Context, actor string, changes []SettingChange) (int, error) {
	if actor == "" {
		return 0, kiosk.Errorf(kiosk.EINVALID, "settings change needs the user")
	}
	seen := map[string]bool{}
	for _, c := range changes {
		switch {
		case len(c.Key) > MaxSettingKey || !settingKeyRE.MatchString(c.Key):
			return 0, kiosk.Errorf(kiosk.EINVALID, "bad setting key %q", c.Key)
		case seen[c.Key]:
			return 0, kiosk.Errorf(kiosk.EINVALID, "setting %q changed twice", c.Key)
		case !utf8.ValidString(c.Value) || utf8.RuneCountInString(c.Value) > MaxSettingValue:
			return 0, kiosk.Errorf(kiosk.EINVALID, "setting %q: value longer than %d characters or not UTF-8", c.Key, MaxSettingValue)
		}
		seen[c.Key] = true
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("set settings: begin: %w", err)
	}
	defer tx.Rollback()
	now := db.now()
	n := 0
	for _, c := range changes {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, c.Key).Scan(&cur)
		had := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("set settings: read %s: %w", c.Key, err)
		}
		source := "console"
		if c.Clear {
			if !had {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, c.Key); err != nil {
				return 0, fmt.Errorf("set settings: clear %s: %w", c.Key, err)
			}
			source = "file"
		} else {
			if had && cur == c.Value {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
				c.Key, c.Value, actor, fmtTime(now)); err != nil {
				return 0, fmt.Errorf("set settings: store %s: %w", c.Key, err)
			}
		}
		body, err := json.Marshal(settingBody{Actor: actor, Action: "settings_change",
			Detail: fmt.Sprintf("%s: %q -> %q (%s)", c.Key, c.Old, c.New, source),
			Key:    c.Key, Old: c.Old, New: c.New, Source: source})
		if err != nil {
			return 0, fmt.Errorf("set settings: journal: %w", err)
		}
		if _, err := db.appendTx(ctx, tx, KindAudit, "", body); err != nil {
			return 0, fmt.Errorf("set settings: %w", err)
		}
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("set settings: commit: %w", err)
	}
	db.log.Info("settings changed", "count", n)
	return n, nil
}
