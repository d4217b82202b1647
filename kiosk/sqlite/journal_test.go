package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

func call(id string, child kiosk.ChildID, started time.Time) kiosk.CallRecord {
	return kiosk.CallRecord{
		CallID: id, Booth: "b1", ChildID: child, ChildName: "王小明", Class: "三年级1班",
		ContactID: 1, ContactName: "李芳", Relation: "母亲", Number: "+8613800000002",
		Mode: kiosk.ModePhone, Started: started, ClockSynced: true, Limit: 5 * time.Minute,
	}
}

// answered returns r ended as an answered call of billsec, ringing 2 s
// after start and answered 5 s after start.
func answered(r kiosk.CallRecord, billsec time.Duration, cause kiosk.EndCause) kiosk.CallRecord {
	r.Ring = r.Started.Add(2 * time.Second)
	r.Answered = r.Started.Add(5 * time.Second)
	r.Ended = r.Answered.Add(billsec)
	r.Billsec = billsec
	r.Duration = billsec + 5*time.Second
	r.Disposition = kiosk.DispAnswered
	r.Cause = cause
	r.SIPCode = 200
	return r
}

func TestJournalCalls(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)

	a := call("c1", 1, t0)
	require.NoError(t, db.CallStarted(ctx, a))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.CallStarted(ctx, a)), "a call starts once")
	require.NoError(t, db.CallHeartbeat(ctx, "c1", t0.Add(5*time.Second)))
	clk.Set(t0.Add(time.Minute))
	aEnd := answered(a, 54500*time.Millisecond, kiosk.CauseCalleeHangup)
	require.NoError(t, db.CallEnded(ctx, aEnd))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.CallEnded(ctx, aEnd)), "a call ends once")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.CallHeartbeat(ctx, "c1", t0.Add(time.Minute))), "no heartbeat after the end")

	d := call("c2", 1, time.Time{})
	d.Reason = kiosk.ReasonClosed
	require.NoError(t, db.CallDenied(ctx, d))

	open := call("c3", 2, t0.Add(2*time.Minute))
	require.NoError(t, db.CallStarted(ctx, open))

	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(db.CallStarted(ctx, call("", 1, t0))))

	rows, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 3, "end of c1, denied c2, start of open c3")
	assert.Equal(t, int64(2), rows[0].Seq, "c1's end entry")
	assert.Equal(t, aEnd, rows[0].CallRecord, "the record round-trips")
	assert.Equal(t, "c2", rows[1].CallID)
	assert.Equal(t, kiosk.DispDenied, rows[1].Disposition)
	assert.Equal(t, t0.Add(time.Minute), rows[1].Started, "denied attempt stamped now")
	assert.Equal(t, kiosk.ReasonClosed, rows[1].Reason)
	assert.Equal(t, "c3", rows[2].CallID)
	assert.True(t, rows[2].Ended.IsZero(), "open call")

	rows, err = db.Calls(ctx, t0.Add(time.Minute), t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.Len(t, rows, 1, "from inclusive, to exclusive")
	assert.Equal(t, "c2", rows[0].CallID)

	es, err := db.Entries(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, es, 4)
	assert.Equal(t, []sqlite.Kind{sqlite.KindCallStart, sqlite.KindCallEnd, sqlite.KindCallDenied, sqlite.KindCallStart},
		[]sqlite.Kind{es[0].Kind, es[1].Kind, es[2].Kind, es[3].Kind})
	assert.Equal(t, es[0].Hash, es[1].PrevHash, "chained")
	assert.Equal(t, t0.Add(time.Minute), es[1].At)
	assert.Contains(t, string(es[1].Body), `"billsec_ms":54500`)
	assert.Contains(t, string(es[1].Body), `"billsec":55`, "seconds rounded")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqlite.VerifyResult{Entries: 4, OK: true, HeadSeq: int64(4), Head: res.Head}, res)
}

func TestJournalRefusesUpdateDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.db")
	db := openDB(t, path, &clock{t: t0})
	require.NoError(t, db.Audit(ctx, "admin", "export_calls", "2025-03"))
	require.NoError(t, db.System(ctx, "started", "v0"))
	raw := rawDB(t, path)
	for _, q := range []string{
		`UPDATE journal SET body = '{}' WHERE seq = 1`,
		`UPDATE journal SET clock_synced = 0`,
		`DELETE FROM journal WHERE seq = 1`,
		`DELETE FROM journal`,
	} {
		_, err := raw.Exec(q)
		require.Error(t, err, q)
		assert.Contains(t, err.Error(), "append-only", q)
	}
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.Equal(t, sqlite.VerifyResult{Entries: 2, OK: true, HeadSeq: int64(2), Head: res.Head}, res, "nothing changed")
	es, err := db.Entries(ctx, 1, 0)
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, sqlite.KindSystem, es[0].Kind)
	assert.JSONEq(t, `{"event":"started","detail":"v0"}`, string(es[0].Body))
}

func TestVerifyTamper(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string)
		seq    int64
	}{
		{"byte flipped in the file", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			i := bytes.Index(b, []byte(`"detail":"entry-3"`))
			require.Positive(t, i, "entry 3's body is in the main file")
			require.Equal(t, -1, bytes.Index(b[i+1:], []byte(`"detail":"entry-3"`)), "once")
			i += len(`"detail":"entry-`)
			b[i] = '8'
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}, 3},
		{"update with the triggers dropped", func(t *testing.T, path string) {
			raw := rawDB(t, path)
			_, err := raw.Exec(`DROP TRIGGER journal_no_update`)
			require.NoError(t, err)
			_, err = raw.Exec(`UPDATE journal SET clock_synced = 0 WHERE seq = 4`)
			require.NoError(t, err)
			require.NoError(t, raw.Close())
		}, 4},
		{"row deleted with the triggers dropped", func(t *testing.T, path string) {
			raw := rawDB(t, path)
			_, err := raw.Exec(`DROP TRIGGER journal_no_delete`)
			require.NoError(t, err)
			_, err = raw.Exec(`DELETE FROM journal WHERE seq = 2`)
			require.NoError(t, err)
			require.NoError(t, raw.Close())
		}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kiosk.db")
			clk := &clock{t: t0}
			db, err := sqlite.Open(ctx, path, sqlite.Opts{Now: clk.Now})
			require.NoError(t, err)
			for i := 1; i <= 5; i++ {
				require.NoError(t, db.Audit(ctx, "admin", "view", fmt.Sprintf("entry-%d", i)))
			}
			res, err := db.Verify(ctx)
			require.NoError(t, err)
			require.True(t, res.OK, "valid before tampering")
			require.NoError(t, db.Close(), "close checkpoints the WAL into the file")

			tc.tamper(t, path)

			db = openDB(t, path, clk)
			res, err = db.Verify(ctx)
			require.NoError(t, err)
			assert.False(t, res.OK)
			assert.Equal(t, tc.seq, res.BrokenSeq, "names the first broken entry: %s", res.Problem)
			assert.NotEmpty(t, res.Problem)
		})
	}
}

func TestRecoverInterrupted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)

	// c1: answered, heartbeats until 65 s. c2: ringing, no answer, no
	// heartbeat. c3: ended properly.
	c1 := call("c1", 1, t0)
	require.NoError(t, db.CallStarted(ctx, c1))
	require.NoError(t, db.CallProgress(ctx, "c1", t0.Add(5*time.Second)))
	require.NoError(t, db.CallHeartbeat(ctx, "c1", t0.Add(65*time.Second)))
	c2 := call("c2", 2, t0.Add(time.Second))
	require.NoError(t, db.CallStarted(ctx, c2))
	c3 := call("c3", 3, t0)
	require.NoError(t, db.CallStarted(ctx, c3))
	require.NoError(t, db.CallEnded(ctx, answered(c3, 10*time.Second, kiosk.CauseCallerHangup)))
	require.NoError(t, db.Close(), "the crash")

	clk.Set(t0.Add(time.Hour))
	db = openDB(t, path, clk)
	n, err := db.RecoverInterrupted(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	rows, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	byID := map[string]kiosk.CallRecord{}
	for _, r := range rows {
		byID[r.CallID] = r.CallRecord
	}
	require.Len(t, byID, 3)
	got := byID["c1"]
	assert.Equal(t, kiosk.DispAnswered, got.Disposition)
	assert.Equal(t, kiosk.CauseInterrupted, got.Cause)
	assert.Equal(t, t0.Add(65*time.Second), got.Ended, "closed at the last heartbeat")
	assert.Equal(t, 60*time.Second, got.Billsec)
	assert.Equal(t, 65*time.Second, got.Duration)
	got = byID["c2"]
	assert.Equal(t, kiosk.DispFailed, got.Disposition)
	assert.Equal(t, kiosk.CauseInterrupted, got.Cause)
	assert.Equal(t, c2.Started, got.Ended, "no heartbeat: closed at its start")
	assert.Zero(t, got.Billsec)
	assert.Equal(t, kiosk.CauseCallerHangup, byID["c3"].Cause, "ended call untouched")

	n, err = db.RecoverInterrupted(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "idempotent")
	assert.Equal(t, 6, journalLen(t, db), "3 starts, 3 ends, nothing twice")
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK)

	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.CallEnded(ctx, answered(c1, time.Minute, kiosk.CauseLimit))),
		"a late end of a recovered call is refused")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.CallProgress(ctx, "c1", t0)))
}

func TestUsage(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	week := t0 // Monday
	ends := []kiosk.CallRecord{
		answered(call("a", 1, week.Add(-time.Hour)), 100*time.Second, kiosk.CauseLimit), // last week
		answered(call("b", 1, week), 90*time.Second, kiosk.CauseLimit),                  // at since: counted
		answered(call("c", 1, week.Add(time.Hour)), 30400*time.Millisecond, kiosk.CauseCallerHangup),
		answered(call("d", 2, week.Add(time.Hour)), 60*time.Second, kiosk.CauseLimit), // another child
	}
	help := answered(call("e", 1, week.Add(2*time.Hour)), 60*time.Second, kiosk.CauseLimit)
	help.Help = true
	noAnswer := call("f", 1, week.Add(3*time.Hour))
	noAnswer.Ended = noAnswer.Started.Add(45 * time.Second)
	noAnswer.Disposition = kiosk.DispNoAnswer
	noAnswer.Cause = kiosk.CauseNoAnswer
	ends = append(ends, help, noAnswer)
	for _, r := range ends {
		require.NoError(t, db.CallEnded(ctx, r))
	}
	// An open call does not count.
	require.NoError(t, db.CallStarted(ctx, call("g", 1, week.Add(4*time.Hour))))
	require.NoError(t, db.CallDenied(ctx, call("h", 1, week.Add(5*time.Hour))))

	tests := []struct {
		name  string
		child kiosk.ChildID
		since time.Time
		want  kiosk.Usage
	}{
		{"this week", 1, week, kiosk.Usage{Calls: 2, Seconds: 90 + 30}},
		{"two weeks", 1, week.Add(-7 * 24 * time.Hour), kiosk.Usage{Calls: 3, Seconds: 100 + 90 + 30}},
		{"other child", 2, week, kiosk.Usage{Calls: 1, Seconds: 60}},
		{"nobody", 9, week, kiosk.Usage{}},
		{"after all", 1, week.Add(24 * time.Hour), kiosk.Usage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Usage(ctx, tc.child, tc.since)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	dbs := []*sqlite.DB{openDB(t, path, clk), openDB(t, path, clk)}
	const per = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*per)
	for i, db := range dbs {
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < per; k++ {
					id := fmt.Sprintf("db%d-g%d-%d", i, g, k)
					if k%2 == 0 {
						errs <- db.CallEnded(ctx, answered(call(id, 1, t0), time.Minute, kiosk.CauseLimit))
					} else {
						errs <- db.Audit(ctx, "test", "append", id)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, db := range dbs {
		res, err := db.Verify(ctx)
		require.NoError(t, err)
		assert.Equal(t, sqlite.VerifyResult{Entries: 4 * per, OK: true, HeadSeq: int64(4 * per), Head: res.Head}, res)
	}
}
