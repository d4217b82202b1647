package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// TestChildProfileMigrationTwice: migration 0015 runs again over itself
// (tests re-run the migrations after 0008) and keeps the kinds recorded.
func TestChildProfileMigrationTwice(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ApplyRoster(ctx, []kiosk.RosterEntry{{Line: 2, HasLeftBehind: true,
		Child:    kiosk.Child{Name: "王小明", Class: "三年级1班", LeftBehind: kiosk.LeftBehindBoth},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "王建国", Relation: "父亲", Phone: "+8613800000001"}}}}, false)
	require.NoError(t, err)
	mig, err := migrations.ReadFile("migrations/0015_child_profile.sql")
	require.NoError(t, err)
	_, err = db.db.ExecContext(ctx, string(mig))
	require.NoError(t, err, "0015 runs again over itself")
	cs, err := db.SearchChildren(ctx, kiosk.ChildQuery{})
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, kiosk.LeftBehindBoth, cs[0].LeftBehind, "kept across a re-run")
	_, err = db.db.ExecContext(ctx, `INSERT INTO child_profile (child_id, left_behind, updated_at) VALUES (?, 'orphan', '')`, int64(cs[0].ID))
	assert.Error(t, err, "the CHECK refuses an unknown kind")
}
