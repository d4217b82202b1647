package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// retentionDB is a ledger with three children (fictional): 1 left on
// 2025-01-10, 2 left on 2027-06-01, 3 active; its clock is *now.
func retentionDB(t *testing.T, now *atomic.Pointer[time.Time]) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	now.Store(&at)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), sqlite.Opts{Now: func() time.Time { return *now.Load() }})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ApplyRoster(ctx, []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "赵一", Class: "一班"}, Contacts: []kiosk.Contact{{Name: "赵母", Phone: "+8613600000001"}}},
		{Line: 3, Child: kiosk.Child{Name: "钱二", Class: "二班"}, Contacts: []kiosk.Contact{{Name: "钱父", Phone: "+8613600000002"}}},
		{Line: 4, Child: kiosk.Child{Name: "孙三", Class: "三班"}, Contacts: []kiosk.Contact{{Name: "孙母", Phone: "+8613600000003"}}},
	}, false)
	require.NoError(t, err)
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))
	later := time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC)
	now.Store(&later)
	require.NoError(t, db.SetChildStatus(ctx, 2, kiosk.ChildLeft))
	return db
}

func TestSweepRetention(t *testing.T) {
	ctx := context.Background()
	var now atomic.Pointer[time.Time]
	db := retentionDB(t, &now)
	log := slog.New(slog.DiscardHandler)
	r := config.Retention{Years: 3}

	n, err := sweepRetention(ctx, db, r, time.Date(2028, 1, 10, 9, 0, 0, 0, time.UTC), log)
	require.NoError(t, err)
	assert.Zero(t, n, "nobody left 3 years ago yet")
	n, err = sweepRetention(ctx, db, config.Retention{}, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), log)
	require.NoError(t, err)
	assert.Zero(t, n, "retention 0: never")

	n, err = sweepRetention(ctx, db, r, time.Date(2028, 1, 10, 9, 0, 1, 0, time.UTC), log)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "child 1 is due 3 years after leaving")
	c, err := db.Child(ctx, 1)
	require.NoError(t, err)
	assert.Regexp(t, `^C-[0-9a-f]{8}$`, c.Name)
	for _, id := range []kiosk.ChildID{2, 3} {
		c, err := db.Child(ctx, id)
		require.NoError(t, err)
		assert.NotContains(t, c.Name, "C-", "child %d keeps its name", id)
	}
	n, err = sweepRetention(ctx, db, r, time.Date(2028, 1, 11, 0, 0, 0, 0, time.UTC), log)
	require.NoError(t, err)
	assert.Zero(t, n, "an erased child is not erased again")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
	assert.Equal(t, 1, res.Erasures)
}

// The loop sweeps at start and then daily, and waits for a synced clock.
func TestRetentionLoop(t *testing.T) {
	var now atomic.Pointer[time.Time]
	db := retentionDB(t, &now)
	sweepAt := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	now.Store(&sweepAt)
	var synced atomic.Bool
	waits := make(chan time.Duration)
	ticks := make(chan time.Time)
	l := &retentionLoop{store: db, period: config.Retention{Years: 3}, now: func() time.Time { return *now.Load() },
		synced: synced.Load, log: slog.New(slog.DiscardHandler),
		after: func(d time.Duration) <-chan time.Time { waits <- d; return ticks }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()

	assert.Equal(t, retentionRetry, <-waits, "unsynced clock: retry in an hour")
	due, err := db.ErasuresDue(context.Background(), sweepAt)
	require.NoError(t, err)
	assert.Len(t, due, 2, "nothing erased on an unsynced clock")

	synced.Store(true)
	ticks <- time.Time{}
	assert.Equal(t, retentionEvery, <-waits, "then daily")
	due, err = db.ErasuresDue(context.Background(), sweepAt)
	require.NoError(t, err)
	assert.Empty(t, due, "children 1 and 2 erased (left more than 3 years before 2031)")

	cancel()
	<-done
}
