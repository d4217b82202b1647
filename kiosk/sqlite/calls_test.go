package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// callsFromBodies is the calls register as read before the projection:
// the journal's call entries through the started-time index, each body
// decoded. The projection must give exactly this.
func callsFromBodies(t *testing.T, db *DB, from, to time.Time) []CallRow {
	t.Helper()
	lo, hi := fmtTime(from), "~"
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	rows, err := db.db.Query(`SELECT j.seq, j.body FROM journal j
		WHERE j.kind IN ('call_end', 'call_denied')
		   OR (j.kind = 'call_start' AND NOT EXISTS (
		       SELECT 1 FROM journal e WHERE e.kind = 'call_end' AND e.call_id = j.call_id))
		ORDER BY json_extract(j.body, '$.started'), j.seq`)
	require.NoError(t, err)
	defer rows.Close()
	var out []CallRow
	for rows.Next() {
		var (
			seq  int64
			body string
		)
		require.NoError(t, rows.Scan(&seq, &body))
		rec, err := decodeCall([]byte(body))
		require.NoError(t, err)
		if s := fmtTime(rec.Started); s >= lo && s < hi {
			out = append(out, CallRow{Seq: seq, CallRecord: rec})
		}
	}
	require.NoError(t, rows.Err())
	return out
}

// dumpCalls returns every row of the calls projection, in seq order, as
// text.
func dumpCalls(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.db.Query(`SELECT ` + callsColumns + ` FROM calls ORDER BY seq`)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, fmt.Sprintf("%v", vals))
	}
	require.NoError(t, rows.Err())
	return out
}

// fillCalls journals a mix of calls through the station's appends: ended,
// open, ended without a start, denied with and without call ids, help,
// video with quality, a zero start time, and refused duplicates.
func fillCalls(t *testing.T, db *DB, at time.Time) {
	t.Helper()
	ctx := context.Background()
	rec := func(id string, child kiosk.ChildID, started time.Time) kiosk.CallRecord {
		return kiosk.CallRecord{CallID: id, Booth: "b1", ChildID: child, ChildName: "王小明", Class: "三年级1班",
			ContactID: 2, ContactName: "李芳", Relation: "母亲", Number: "+8613800000002",
			Mode: kiosk.ModePhone, Started: started, ClockSynced: true, Limit: 5 * time.Minute}
	}
	end := func(r kiosk.CallRecord, billsec time.Duration) kiosk.CallRecord {
		r.Ring, r.Answered = r.Started.Add(2*time.Second), r.Started.Add(5*time.Second)
		r.Ended = r.Answered.Add(billsec)
		r.Billsec, r.Duration = billsec, billsec+5*time.Second+123*time.Millisecond
		r.Disposition, r.Cause, r.SIPCode = kiosk.DispAnswered, kiosk.CauseCalleeHangup, 200
		return r
	}
	for i := 0; i < 6; i++ {
		r := rec(fmt.Sprintf("c%d", i), kiosk.ChildID(i%3+1), at.Add(time.Duration(i)*time.Hour))
		require.NoError(t, db.CallStarted(ctx, r))
		if i%3 != 2 {
			require.NoError(t, db.CallEnded(ctx, end(r, time.Duration(i+1)*time.Minute)))
		}
	}
	v := rec("video", 1, at.Add(30*time.Minute))
	v.Mode, v.Screen, v.Help = kiosk.ModeVideo, "s1", true
	require.NoError(t, db.CallStarted(ctx, v))
	v = end(v, 90*time.Second)
	v.Setup = 850 * time.Millisecond
	v.Quality = &kiosk.CallQuality{Screen: kiosk.LegQuality{RTTMs: 0.30000000000000004, JitterMs: 1e-7, PacketsLost: 3, FramesDecoded: 900},
		Parent: kiosk.LegQuality{RTTMs: 2.5, Freezes: 1}}
	require.NoError(t, db.CallEnded(ctx, v))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.CallEnded(ctx, v)), "a second end is refused, and rolled back")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.CallStarted(ctx, rec("c0", 1, at))), "a second start is refused")

	orphan := end(rec("orphan", 2, at.Add(90*time.Minute)), time.Minute)
	orphan.Cause = kiosk.CauseInterrupted
	require.NoError(t, db.CallEnded(ctx, orphan))
	require.NoError(t, db.CallStarted(ctx, rec("orphan", 2, at.Add(90*time.Minute))), "a start after its end is accepted")

	for i, id := range []string{"", "", "d1", "c1"} {
		d := rec(id, 3, at.Add(time.Duration(i)*time.Hour+time.Minute))
		d.Reason = kiosk.ReasonClosed
		require.NoError(t, db.CallDenied(ctx, d))
	}
	d := rec("d0", 3, time.Time{}) // gets the clock's time
	d.Reason = kiosk.ReasonClosed
	require.NoError(t, db.CallDenied(ctx, d))
	require.NoError(t, db.Audit(ctx, "test", "export_calls", "not a call"))

	zero := rec("zero", 1, time.Time{}) // an open call with no start time
	require.NoError(t, db.CallStarted(ctx, zero))
}

func TestCallsProjection(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db, err := Open(ctx, path, Opts{Now: func() time.Time { return at.Add(3 * time.Hour) }})
	require.NoError(t, err)
	defer func() { db.Close() }()
	fillCalls(t, db, at)

	all := callsFromBodies(t, db, time.Time{}, time.Time{})
	require.Len(t, all, 14, "6 calls, video, orphan, 5 denied, zero-start open call")
	var sawQuality bool
	for _, r := range all {
		sawQuality = sawQuality || r.Quality != nil
	}
	require.True(t, sawQuality, "the fixture has a call with quality")

	t.Run("same rows as the journal's bodies", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			from, to time.Time
		}{
			{"all", time.Time{}, time.Time{}},
			{"from", at.Add(2 * time.Hour), time.Time{}},
			{"to", time.Time{}, at.Add(2 * time.Hour)},
			{"range", at.Add(time.Hour), at.Add(3*time.Hour + time.Minute)},
			{"empty", at.Add(-time.Hour), at},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.Calls(ctx, tc.from, tc.to)
				require.NoError(t, err)
				assert.Equal(t, callsFromBodies(t, db, tc.from, tc.to), got)
			})
		}
	})

	t.Run("rebuild yields the same table", func(t *testing.T) {
		before := dumpCalls(t, db)
		require.NotEmpty(t, before)
		_, err := db.db.Exec(`DELETE FROM calls WHERE kind = 'call_denied'; UPDATE calls SET booth = 'stale'`)
		require.NoError(t, err)
		require.NotEqual(t, before, dumpCalls(t, db))
		_, err = db.db.Exec(`UPDATE calls SET rec = '3:abc' WHERE seq = (SELECT max(seq) FROM calls)`)
		require.NoError(t, err)
		_, err = db.Calls(ctx, time.Time{}, time.Time{})
		assert.ErrorContains(t, err, "malformed netstring", "a damaged row is an error, not a wrong row")
		require.NoError(t, db.RebuildCalls(ctx))
		assert.Equal(t, before, dumpCalls(t, db))
		res, err := db.Verify(ctx)
		require.NoError(t, err)
		assert.True(t, res.OK, "the projection is not part of the chain: %+v", res)
	})

	t.Run("migration back-fills the same table", func(t *testing.T) {
		before := dumpCalls(t, db)
		_, err := db.db.Exec(`DROP TABLE calls; UPDATE schema_version SET version = 8`)
		require.NoError(t, err)
		require.NoError(t, db.Close())
		db, err = Open(ctx, path, Opts{Now: func() time.Time { return at.Add(3 * time.Hour) }})
		require.NoError(t, err)
		assert.Equal(t, before, dumpCalls(t, db))
	})

	t.Run("migration and appends agree", func(t *testing.T) {
		// The back-fill's SELECT is written twice (migration 0009 and
		// callsFromJournal): keep them in step.
		b, err := migrations.ReadFile("migrations/0009_calls_projection.sql")
		require.NoError(t, err)
		norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
		assert.Contains(t, norm(string(b)), norm("SELECT "+callsFromJournal+" FROM journal j"))
	})
}
