package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// lastBody decodes the body of the journal's last entry.
func lastBody(t *testing.T, db *sqlite.DB) (sqlite.Kind, map[string]any) {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	require.NotEmpty(t, es)
	last := es[len(es)-1]
	var body map[string]any
	require.NoError(t, json.Unmarshal(last.Body, &body))
	return last.Kind, body
}

func TestSettingsStoreAndJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clock{t: t0}
	db := openDB(t, filepath.Join(dir, "kiosk.db"), clk)

	got, err := db.Settings(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "no overrides on a new database")
	assert.NotNil(t, got)

	before := journalLen(t, db)
	n, err := db.SetSettings(ctx, "manager1", []sqlite.SettingChange{
		{Key: "limits.call", Value: "3m", Old: "5m", New: "3m"},
		{Key: "hours.mon", Value: "16:00-18:30", Old: "16:30-18:00", New: "16:00-18:30"},
	})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, before+2, journalLen(t, db), "one audit entry per change")
	kind, body := lastBody(t, db)
	assert.Equal(t, sqlite.KindAudit, kind)
	assert.Equal(t, map[string]any{"actor": "manager1", "action": "settings_change",
		"detail": `hours.mon: "16:30-18:00" -> "16:00-18:30" (console)`,
		"key":    "hours.mon", "old": "16:30-18:00", "new": "16:00-18:30", "source": "console"}, body)

	// The audit log shows the change to managers.
	log, err := db.AuditLog(ctx, 0, 10)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Equal(t, "settings_change", log[0].Action)
	assert.Equal(t, "manager1", log[0].Actor)
	assert.Contains(t, log[0].Detail, "16:00-18:30")

	got, err = db.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, []sqlite.Setting{
		{Key: "hours.mon", Value: "16:00-18:30", By: "manager1", At: t0},
		{Key: "limits.call", Value: "3m", By: "manager1", At: t0},
	}, got, "ordered by key")

	// Storing the same value again, or clearing a key without an
	// override, changes nothing and journals nothing.
	before = journalLen(t, db)
	n, err = db.SetSettings(ctx, "manager2", []sqlite.SettingChange{
		{Key: "limits.call", Value: "3m", Old: "3m", New: "3m"},
		{Key: "help.code", Clear: true},
	})
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, before, journalLen(t, db))

	// A new value replaces the old; a clear removes the override.
	clk.Set(t0.Add(time.Hour))
	n, err = db.SetSettings(ctx, "manager2", []sqlite.SettingChange{
		{Key: "limits.call", Value: "4m", Old: "3m", New: "4m"},
		{Key: "hours.mon", Clear: true, Old: "16:00-18:30", New: "16:30-18:00"},
	})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, body = lastBody(t, db)
	assert.Equal(t, "file", body["source"], "a cleared key falls back to the file")
	assert.Equal(t, "16:00-18:30", body["old"])
	got, err = db.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, []sqlite.Setting{{Key: "limits.call", Value: "4m", By: "manager2", At: t0.Add(time.Hour)}}, got)

	// Overrides survive a reopen (a daemon restart), and the chain holds.
	require.NoError(t, db.Close())
	db = openDB(t, filepath.Join(dir, "kiosk.db"), clk)
	got, err = db.Settings(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "4m", got[0].Value)
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}

func TestSetSettingsRefusesAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	long := make([]byte, sqlite.MaxSettingValue+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, tc := range []struct {
		name    string
		actor   string
		changes []sqlite.SettingChange
	}{
		{"no actor", "", []sqlite.SettingChange{{Key: "limits.call", Value: "3m"}}},
		{"bad key", "m", []sqlite.SettingChange{{Key: "limits.call", Value: "3m"}, {Key: "Limits.Call", Value: "3m"}}},
		{"empty key", "m", []sqlite.SettingChange{{Key: "", Value: "3m"}}},
		{"key twice", "m", []sqlite.SettingChange{{Key: "limits.call", Value: "3m"}, {Key: "limits.call", Value: "4m"}}},
		{"long value", "m", []sqlite.SettingChange{{Key: "limits.call", Value: "3m"}, {Key: "help.numbers", Value: string(long)}}},
		{"not utf-8", "m", []sqlite.SettingChange{{Key: "help.code", Value: "\xff"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := journalLen(t, db)
			n, err := db.SetSettings(ctx, tc.actor, tc.changes)
			require.Error(t, err)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			assert.Zero(t, n)
			got, err := db.Settings(ctx)
			require.NoError(t, err)
			assert.Empty(t, got, "nothing stored")
			assert.Equal(t, before, journalLen(t, db), "nothing journaled")
		})
	}
}

// TestSetSettingsCancelled: a change that cannot be written (the context
// is cancelled) stores nothing.
func TestSetSettingsCancelled(t *testing.T) {
	db, _ := newDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.SetSettings(ctx, "m", []sqlite.SettingChange{{Key: "limits.call", Value: "3m"}})
	require.Error(t, err)
	got, err := db.Settings(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got)
}
