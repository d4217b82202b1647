package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// bulkFixture returns the call entries that fillCalls journals (its
// refused duplicates are not in the journal), read back from a database
// it filled, and then n more: calls whose end comes eleven entries after
// their start, calls left open, denied attempts, one without a start time.
func bulkFixture(t *testing.T, at time.Time, n int) []BulkCall {
	t.Helper()
	src := newBulkDB(t, at)
	fillCalls(t, src, at)
	var out []BulkCall
	for _, e := range journal(t, src) {
		if e.Kind != KindCallStart && e.Kind != KindCallEnd && e.Kind != KindCallDenied {
			continue
		}
		r, err := decodeCall(e.Body)
		require.NoError(t, err)
		out = append(out, BulkCall{Kind: e.Kind, Record: r})
	}
	require.Equal(t, 20, len(out), "fillCalls' call entries")

	var open []kiosk.CallRecord
	for i := 0; i < n; i++ {
		r := out[0].Record
		r.CallID, r.ChildID = fmt.Sprintf("g%d", i), kiosk.ChildID(i%3+1)
		r.Started = at.Add(time.Duration(i) * time.Minute)
		switch {
		case i == 1:
			r.Started = time.Time{} // denied: gets the clock's time
			fallthrough
		case i%7 == 3:
			r.Reason = kiosk.ReasonQuotaCalls
			out = append(out, BulkCall{Kind: KindCallDenied, Record: r})
		default:
			out = append(out, BulkCall{Kind: KindCallStart, Record: r})
			if i%5 != 0 {
				open = append(open, r)
			}
		}
		if len(open) > 10 {
			e := open[0]
			open = open[1:]
			e.Answered = e.Started.Add(4 * time.Second)
			e.Ended = e.Answered.Add(time.Duration(i%9+1) * time.Minute)
			e.Billsec, e.Duration = e.Ended.Sub(e.Answered), e.Ended.Sub(e.Started)
			e.Disposition, e.Cause = kiosk.DispAnswered, kiosk.CauseCallerHangup
			out = append(out, BulkCall{Kind: KindCallEnd, Record: e})
		}
	}
	return out
}

// appendEach appends calls one by one through the station's appends.
func appendEach(t *testing.T, db *DB, calls []BulkCall) {
	t.Helper()
	ctx := context.Background()
	for i, c := range calls {
		var err error
		switch c.Kind {
		case KindCallStart:
			err = db.CallStarted(ctx, c.Record)
		case KindCallEnd:
			err = db.CallEnded(ctx, c.Record)
		case KindCallDenied:
			err = db.CallDenied(ctx, c.Record)
		}
		require.NoError(t, err, "entry %d (%s %s)", i, c.Kind, c.Record.CallID)
	}
}

// heartbeats returns the call_heartbeats rows as "call_id at answered_at".
func heartbeats(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.db.Query(`SELECT call_id || ' ' || at || ' ' || answered_at FROM call_heartbeats ORDER BY call_id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// journal returns every entry of db's journal, every column.
func journal(t *testing.T, db *DB) []Entry {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 1000000)
	require.NoError(t, err)
	return es
}

// newBulkDB opens a database whose clock steps one second per reading
// and whose entry ids come from a seeded generator, so that two
// databases given the same appends hold the same bytes.
func newBulkDB(t *testing.T, at time.Time) *DB {
	t.Helper()
	clock := at.Add(-time.Hour)
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "kiosk.db"), Opts{
		Now:  func() time.Time { clock = clock.Add(time.Second); return clock },
		Rand: rand.NewChaCha8([32]byte{7}),
	})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestBulkAppendCallsIsTheAppends(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	calls := bulkFixture(t, at, 120)
	first, second := calls[:40], calls[40:]

	one := newBulkDB(t, at)
	appendEach(t, one, first)
	require.NoError(t, one.Audit(ctx, "test", "export_calls", "between the batches"))
	appendEach(t, one, second)

	bulk := newBulkDB(t, at)
	// Seven entries a transaction: calls start in one and end in another,
	// and the first starts from an empty journal.
	n, err := bulk.bulkAppendCalls(ctx, slices.Values(first), 7)
	require.NoError(t, err)
	assert.Equal(t, len(first), n, "entries written")
	require.NoError(t, bulk.Audit(ctx, "test", "export_calls", "between the batches"))
	n, err = bulk.bulkAppendCalls(ctx, slices.Values(second), 7)
	require.NoError(t, err)
	assert.Equal(t, len(second), n, "entries written")

	wantRows, err := one.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Greater(t, len(wantRows), 100, "the register has the fixture's rows")
	gotRows, err := bulk.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, wantRows, gotRows, "the calls register")
	assert.Equal(t, journal(t, one), journal(t, bulk), "the journal, every column")
	assert.Equal(t, dumpCalls(t, one), dumpCalls(t, bulk), "the calls projection")
	hb := heartbeats(t, one)
	require.NotEmpty(t, hb, "the fixture leaves calls open")
	assert.Equal(t, hb, heartbeats(t, bulk), "the open calls' heartbeats")

	wantRes, err := one.Verify(ctx)
	require.NoError(t, err)
	require.True(t, wantRes.OK, "appends verify: %+v", wantRes)
	gotRes, err := bulk.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, gotRes.OK, "bulk appends verify: %+v", gotRes)
	assert.Equal(t, wantRes, gotRes)

	// The projection is what RebuildCalls derives from the journal.
	before := dumpCalls(t, bulk)
	require.NoError(t, bulk.RebuildCalls(ctx))
	assert.Equal(t, before, dumpCalls(t, bulk), "rebuilt projection")

	// Open calls are closed after a crash as the appends' are.
	closedOne, err := one.RecoverInterrupted(ctx)
	require.NoError(t, err)
	closedBulk, err := bulk.RecoverInterrupted(ctx)
	require.NoError(t, err)
	assert.Equal(t, closedOne, closedBulk, "interrupted calls closed")
	assert.Equal(t, journal(t, one), journal(t, bulk), "the journal after recovery")
}

func TestBulkAppendCallsAt(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2016, 9, 1, 8, 0, 0, 0, time.UTC)
	db := newBulkDB(t, time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC))
	calls := bulkFixture(t, at, 30)
	for i := range calls {
		calls[i].At = at.Add(time.Duration(i) * time.Minute)
	}
	n, err := db.BulkAppendCalls(ctx, slices.Values(calls))
	require.NoError(t, err)
	require.Equal(t, len(calls), n)
	es, err := db.Entries(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, es, len(calls))
	for i, e := range es {
		assert.True(t, calls[i].At.Equal(e.At), "entry %d at %s, want %s", i, e.At, calls[i].At)
	}
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
}

func TestBulkAppendCallsErrors(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	calls := bulkFixture(t, at, 0)[:5] // c0 start, end, c1 start, end, c2 start
	require.Equal(t, KindCallEnd, calls[1].Kind)
	for _, tc := range []struct {
		name string
		bad  BulkCall
		code string
	}{
		{"second end", calls[1], kiosk.ECONFLICT},
		{"second start", calls[0], kiosk.ECONFLICT},
		{"start without call id", BulkCall{Kind: KindCallStart, Record: kiosk.CallRecord{Started: at}}, kiosk.EINVALID},
		{"end without call id", BulkCall{Kind: KindCallEnd, Record: kiosk.CallRecord{Started: at}}, kiosk.EINVALID},
		{"not a call kind", BulkCall{Kind: KindAudit, Record: kiosk.CallRecord{CallID: "a1"}}, kiosk.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newBulkDB(t, at)
			// Three a transaction: the first three commit, the fourth
			// and the bad entry roll back, the last is never read.
			in := append(slices.Clone(calls[:4]), tc.bad, calls[4])
			n, err := db.bulkAppendCalls(ctx, slices.Values(in), 3)
			require.Error(t, err)
			assert.Equal(t, tc.code, kiosk.ErrorCode(err), "error %v", err)
			assert.ErrorContains(t, err, "entry 4", "the error names the entry")
			assert.Equal(t, 3, n, "entries written")
			assert.Equal(t, 3, len(journal(t, db)), "entries: the failing transaction is rolled back")
			rows, err := db.Calls(ctx, time.Time{}, time.Time{})
			require.NoError(t, err)
			assert.Len(t, rows, 2, "c0 ended, c1 open: the projection rolled back with the journal")
			assert.Equal(t, []string{"c1 2026-11-02T02:00:00.000000000Z "}, heartbeats(t, db), "c1's heartbeat only")

			// The journal goes on from the committed tail.
			n, err = db.BulkAppendCalls(ctx, slices.Values(calls[3:]))
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			res, err := db.Verify(ctx)
			require.NoError(t, err)
			assert.True(t, res.OK, "%+v", res)
			assert.Equal(t, 5, res.Entries)
		})
	}
}
