package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

func tvSession(id string, start time.Time) tv.Session {
	return tv.Session{ID: id, TV: "tv1", Room: "活动室", Programme: "CCTV-14", Category: "少儿", Class: "三年级2班",
		Headcount: 20, Teacher: "王老师", Note: "雨天", Started: start, Curfew: start.Add(2 * time.Hour),
		Power: tv.PowerRelay, ClockSynced: true}
}

func TestTVSessions(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	a := tvSession("aa", t0)
	require.NoError(t, db.TVStarted(ctx, a))
	require.NoError(t, db.Audit(ctx, "test", "between", ""))
	b := tvSession("bb", t0.Add(time.Hour))
	require.NoError(t, db.TVStarted(ctx, b))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.TVStarted(ctx, b)), "a session starts once")

	open, err := db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, open, 2)
	assert.True(t, open[0].Open(), "a session without an end is listed from its start entry")
	assert.Equal(t, a, open[0].Session, "the start entry comes back as written")

	a.Ended, a.Duration, a.Cause = t0.Add(45*time.Minute), 45*time.Minute, tv.CauseStop
	a.PowerError = "relay: halted"
	require.NoError(t, db.TVEnded(ctx, a))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.TVEnded(ctx, a)), "a session ends once")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.TVHeartbeat(ctx, "aa", t0)), "no heartbeat after the end")
	require.NoError(t, db.TVHeartbeat(ctx, "bb", t0.Add(90*time.Minute)))
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(db.TVStarted(ctx, tv.Session{})))

	all, err := db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, a, all[0].Session, "the end entry replaces the start entry")
	assert.Equal(t, int64(4), all[0].Seq, "seq of the end entry")
	assert.Equal(t, "bb", all[1].ID)

	got, err := db.TVSessions(ctx, t0.Add(time.Minute), t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 1, "from is inclusive, to exclusive, on the start time")
	assert.Equal(t, "bb", got[0].ID)

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "tv entries are in the hash chain: %+v", res)
}

// TestTVRecoverInterrupted: the daemon dies while a session runs; at the
// next start RecoverTV closes it as interrupted at its last heartbeat.
func TestTVRecoverInterrupted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	beat := tvSession("beat", t0)
	require.NoError(t, db.TVStarted(ctx, beat))
	require.NoError(t, db.TVHeartbeat(ctx, "beat", t0.Add(25*time.Minute)))
	quiet := tvSession("quiet", t0.Add(time.Minute))
	require.NoError(t, db.TVStarted(ctx, quiet))
	done := tvSession("done", t0.Add(2*time.Minute))
	require.NoError(t, db.TVStarted(ctx, done))
	done.Ended, done.Cause = t0.Add(3*time.Minute), tv.CauseStop
	require.NoError(t, db.TVEnded(ctx, done))
	require.NoError(t, db.Close()) // the "crash": nothing else is written

	db = openDB(t, path, clk)
	n, err := db.RecoverTV(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the two open sessions are closed")
	n, err = db.RecoverTV(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a second run closes nothing")

	rows, err := db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	byID := map[string]tv.Session{}
	for _, r := range rows {
		byID[r.ID] = r.Session
	}
	assert.Equal(t, tv.CauseInterrupted, byID["beat"].Cause)
	assert.Equal(t, t0.Add(25*time.Minute), byID["beat"].Ended, "ended at the last heartbeat")
	assert.Equal(t, 25*time.Minute, byID["beat"].Duration)
	assert.Equal(t, tv.CauseInterrupted, byID["quiet"].Cause)
	assert.Equal(t, quiet.Started, byID["quiet"].Ended, "no heartbeat: ended at its start")
	assert.Equal(t, tv.CauseStop, byID["done"].Cause, "an ended session is left alone")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assert.Equal(t, 6, res.Entries, "3 starts, 1 end, 2 recovered ends")
}

// TestTVMigrationKeepsJournal runs migration 0006 (the journal rebuilt
// with the TV kinds) again over a journal with entries of every older
// kind: the rows, the chain, the once-only indexes and the append-only
// triggers survive.
func TestTVMigrationKeepsJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	require.NoError(t, db.Audit(ctx, "test", "one", ""))
	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "r1", Event: sqlite.EquipAttached}))
	require.NoError(t, db.CallStarted(ctx, kiosk.CallRecord{CallID: "c1", Started: t0}))
	require.NoError(t, db.TVStarted(ctx, tvSession("s1", t0)))
	require.NoError(t, db.Close())

	mig, err := os.ReadFile(filepath.Join("migrations", "0006_tv.sql"))
	require.NoError(t, err)
	raw, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = raw.Exec(`DROP TABLE tv_heartbeats;` + string(mig))
	require.NoError(t, err)
	require.NoError(t, raw.Close())

	db = openDB(t, path, clk)
	s := tvSession("s1", t0)
	s.Ended, s.Cause = t0.Add(time.Minute), tv.CauseStop
	require.NoError(t, db.TVEnded(ctx, s))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.TVEnded(ctx, s)), "journal_tv_once is back")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.CallStarted(ctx, kiosk.CallRecord{CallID: "c1"})), "journal_call_once is back")
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assert.Equal(t, 5, res.Entries)

	raw, err = sql.Open("sqlite", path)
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`DELETE FROM journal WHERE kind = 'tv_end'`)
	assert.ErrorContains(t, err, "append-only", "the triggers are back after the rebuild")
}

// TestJournalKindsKept: every migration that rebuilds the journal lists
// the kinds it accepts; the schema after all of them must still accept
// every kind any of them listed (a rebuild that forgets one would refuse
// that register's entries from then on).
func TestJournalKindsKept(t *testing.T) {
	db, _ := newDB(t)
	raw := rawDB(t, db.Path())
	var schema string
	require.NoError(t, raw.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'journal'`).Scan(&schema))
	list := regexp.MustCompile(`CHECK \(kind IN \(([^)]*)\)\)`)
	quoted := regexp.MustCompile(`'([a-z_]+)'`)
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range list.FindAllStringSubmatch(string(b), -1) {
			for _, k := range quoted.FindAllStringSubmatch(m[1], -1) {
				assert.Contains(t, schema, "'"+k[1]+"'", "kind %s of %s is accepted by the final journal", k[1], filepath.Base(f))
			}
		}
	}
	assert.Contains(t, schema, "'tv_start'")
}
