package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPragmasOnEveryConnection holds several pooled connections at once and
// checks that each has the durability settings.
func TestPragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{})
	require.NoError(t, err)
	defer db.Close()
	var conns []*sql.Conn
	for i := 0; i < 3; i++ {
		c, err := db.db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var mode string
		var sync, fk, busy int
		require.NoError(t, c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
		require.NoError(t, c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync))
		require.NoError(t, c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk))
		require.NoError(t, c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy))
		assert.Equal(t, "wal", mode, "conn %d", i)
		assert.Equal(t, 2, sync, "conn %d: synchronous=FULL", i)
		assert.Equal(t, 1, fk, "conn %d: foreign keys on", i)
		assert.Equal(t, busyTimeoutMS, busy, "conn %d", i)
	}
	_, err = db.db.ExecContext(ctx, `INSERT INTO contacts (child_id, slot, name, phone, created_at, updated_at) VALUES (99, 1, 'x', '+8613800000000', '', '')`)
	assert.Error(t, err, "foreign key enforced")
}
