package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

func TestEquipmentLog(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	require.NoError(t, db.Audit(ctx, "test", "before", ""))
	events := []sqlite.EquipmentEvent{
		{Device: "devices", Kind: "config", Event: sqlite.EquipConfigChanged, Hash: "aa11", At: t0},
		{Device: "reader1", Kind: "mfrc522", Booth: "b1", Event: sqlite.EquipFault, Detail: "spi: no port SPI9.0", At: t0.Add(time.Minute)},
		{Device: "reader1", Kind: "mfrc522", Booth: "b1", Event: sqlite.EquipRecovered, At: t0.Add(2 * time.Hour)},
	}
	for _, e := range events {
		require.NoError(t, db.Equipment(ctx, e))
	}
	clk.Set(t0.Add(24 * time.Hour))
	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "light1", Kind: "gpio", Event: sqlite.EquipAttached}))

	all, err := db.EquipmentLog(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 4)
	assert.Equal(t, events[1], all[1].EquipmentEvent, "the entry comes back as written")
	assert.Equal(t, int64(3), all[1].Seq, "seq is the journal's (the audit entry is 1)")
	assert.True(t, all[1].ClockSynced)
	assert.Equal(t, t0.Add(24*time.Hour), all[3].At, "a zero At takes the journal's clock")

	got, err := db.EquipmentLog(ctx, t0.Add(time.Minute), t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 1, "from is inclusive, to exclusive")
	assert.Equal(t, sqlite.EquipFault, got[0].Event)

	h, err := db.LastDevicesHash(ctx)
	require.NoError(t, err)
	assert.Equal(t, "aa11", h)

	err = db.Equipment(ctx, sqlite.EquipmentEvent{Device: "reader1"})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "an entry without an event is refused")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "equipment entries are in the hash chain: %+v", res)
}

func TestLastDevicesHashEmpty(t *testing.T) {
	db, _ := newDB(t)
	h, err := db.LastDevicesHash(context.Background())
	require.NoError(t, err)
	assert.Empty(t, h)
}

// TestEquipmentMigrationKeepsJournal runs migration 0003 (the journal
// rebuilt with the new kind) over a journal that has entries: the rows,
// the chain and the append-only triggers survive.
func TestEquipmentMigrationKeepsJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	require.NoError(t, db.Audit(ctx, "test", "one", ""))
	require.NoError(t, db.System(ctx, "started", ""))
	require.NoError(t, db.Close())

	// Run the rebuild again over the populated journal, as an upgrade
	// from schema 2 does.
	mig, err := os.ReadFile(filepath.Join("migrations", "0003_equipment.sql"))
	require.NoError(t, err)
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = raw.Exec(string(mig))
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	db = openDB(t, path, clk)
	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "r1", Event: sqlite.EquipAttached}))
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assert.Equal(t, 3, res.Entries)

	raw, err = sql.Open("sqlite", path)
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`DELETE FROM journal WHERE kind = 'equipment'`)
	assert.ErrorContains(t, err, "append-only", "the triggers are back after the rebuild")
}
