package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// clock is a settable wall clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2025, 3, 10, 8, 30, 0, 0, time.UTC)

func openDB(t testing.TB, path string, clk *clock) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Opts{Now: clk.Now})
	require.NoError(t, err, "open %s", path)
	t.Cleanup(func() { db.Close() })
	return db
}

func newDB(t testing.TB) (*sqlite.DB, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	return openDB(t, filepath.Join(t.TempDir(), "sub", "kiosk.db"), clk), clk
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	require.NoError(t, db.Audit(ctx, "test", "open", ""))
	require.NoError(t, db.Close())

	// Reopening migrates nothing and keeps the data.
	db = openDB(t, path, clk)
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqlite.VerifyResult{Entries: 1, OK: true, HeadSeq: int64(1), Head: res.Head}, res)

	// Every pooled connection has the pragmas: ask several at once.
	raw := rawDB(t, path)
	var mode string
	require.NoError(t, raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode, "the file is in WAL mode")
	var version int
	require.NoError(t, raw.QueryRow(`SELECT version FROM schema_version`).Scan(&version))
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	assert.Equal(t, len(files), version, "every embedded migration applied")
}

func TestOpenBadPath(t *testing.T) {
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x?mode=ro"), sqlite.Opts{})
	assert.Error(t, err, "a path with ? is refused")
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.CardByUID(ctx, "04A1B2C3")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	_, err = db.Child(ctx, 42)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	_, err = db.Contacts(ctx, 42)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
}
