package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
)

// personal are the strings of child 1 (王小明) of library() and of the
// history written by eraseFixture that no byte of the database may keep
// after the erasure.
var personal = []string{"王小明", "李芳", "+8613812345678", "13812345678", "13800000002", "04A1B2C3", "S-001", "王小明的妈妈"}

// eraseFixture writes a history for child 1 of library(): an answered
// call, a denied attempt and a help call with a follow-up note, a loan
// returned with a note, a consent, a TV session and an audit detail that
// name the child, and a call of child 2; then marks child 1 left. It
// returns the database, the seq and hash of the head before the child
// left, and the rows of child 2's call.
func eraseFixture(t *testing.T) (*sqlite.DB, *clock, int64, string) {
	t.Helper()
	ctx := context.Background()
	db, clk, rules := library(t)
	_, err := db.ApplyRoster(ctx, []kiosk.RosterEntry{{Line: 2, Child: kiosk.Child{ExternalID: "S-001", Name: "王小明", Class: "三年级1班"},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "李芳", Relation: "母亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}}}}}, false)
	require.NoError(t, err)
	start := clk.Now().Add(time.Hour)

	c1 := call("c1", 1, start) // 王小明 calls 李芳 on +8613800000002 (a number changed since)
	require.NoError(t, db.CallStarted(ctx, c1))
	require.NoError(t, db.CallEnded(ctx, answered(c1, 90*time.Second, kiosk.CauseCalleeHangup)))
	d := call("c2", 1, start.Add(time.Minute))
	d.Reason = kiosk.ReasonClosed
	require.NoError(t, db.CallDenied(ctx, d))
	h := call("c3", 1, start.Add(2*time.Minute))
	h.Help, h.Number, h.ContactName, h.ContactID, h.Relation = true, "12355", "", 0, ""
	require.NoError(t, db.CallStarted(ctx, h))
	require.NoError(t, db.CallEnded(ctx, answered(h, time.Minute, kiosk.CauseCallerHangup)))
	require.NoError(t, db.HelpFollowUp(ctx, "mgr", "c3", "王小明哭了，已联系李芳 13800000002", false))
	other := call("c9", 2, start.Add(3*time.Minute))
	other.ChildName, other.Class, other.ContactName, other.Number = "张丽", "五年级2班", "张伟", "+8613912345678"
	require.NoError(t, db.CallStarted(ctx, other))
	require.NoError(t, db.CallEnded(ctx, answered(other, 30*time.Second, kiosk.CauseCalleeHangup)))

	_, err = db.Lend(ctx, sqlite.LendRequest{Child: 1, Barcode: "A001", Rules: books.Same(rules)})
	require.NoError(t, err)
	_, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: "A001", Rules: books.Same(rules), Note: "王小明说封面弄脏了"})
	require.NoError(t, err)
	_, err = db.RecordConsent(ctx, "mgr", sqlite.Consent{ChildID: 1, Date: "2026-03-01", Method: sqlite.ConsentOther,
		Note: "王小明的妈妈李芳签字", Relation: "母亲"})
	require.NoError(t, err)
	s := tvSession("tv-a", start)
	s.Note = "王小明生日"
	require.NoError(t, db.TVStarted(ctx, s))
	require.NoError(t, db.Audit(ctx, "mgr", "view_children", `q="王小明" class="" rows=1`))
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	require.True(t, res.OK, res.Problem)

	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(eraseErr(db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1))),
		"an active child cannot be erased")
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))
	return db, clk, res.HeadSeq, res.Head
}

func eraseErr(_ sqlite.Erasure, err error) error { return err }

func TestEraseChild(t *testing.T) {
	ctx := context.Background()
	db, _, anchorSeq, anchor := eraseFixture(t)
	before, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, before, 4)

	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(eraseErr(db.EraseChild(ctx, "mgr", sqlite.EraseManual, 99))))
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(eraseErr(db.EraseChild(ctx, "", sqlite.EraseManual, 1))))
	e, err := db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1)
	require.NoError(t, err)
	assert.Regexp(t, `^C-[0-9a-f]{8}$`, e.Pseudonym)
	// Redacted: roster child_added, contact_added, card_added and
	// child_updated (not child_status or consent_recorded: nothing
	// personal in them), 5 call entries, the help note, 2 loan entries,
	// the TV start, the audit detail.
	assert.Equal(t, 14, e.Redacted, "entries redacted")
	assert.Equal(t, 3, e.Calls, "register rows of c1, c2, c3 recomputed")
	assert.Equal(t, 1, e.Contacts)
	assert.Equal(t, 1, e.Cards)
	assert.Equal(t, 1, e.Consents)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(eraseErr(db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1))), "erased once")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	require.True(t, res.OK, "the chain still verifies: %s at %d", res.Problem, res.BrokenSeq)
	assert.Equal(t, e.Redacted, res.Redacted)
	assert.Equal(t, 1, res.Erasures)
	assert.Equal(t, e.Seq, res.HeadSeq, "the erasure entry is the head")
	require.NoError(t, db.VerifyAnchor(ctx, anchorSeq, anchor), "an anchor written down before the erasure still holds")

	// Registers keep their rows and figures, under the pseudonym.
	after, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, after, 4, "no register row lost")
	for i, r := range after {
		b := before[i]
		assert.Equal(t, b.Seq, r.Seq)
		assert.Equal(t, b.Billsec, r.Billsec)
		assert.Equal(t, b.Disposition, r.Disposition)
		assert.Equal(t, b.Class, r.Class)
		if r.ChildID != 1 {
			assert.Equal(t, b.CallRecord, r.CallRecord, "another child's call is untouched")
			continue
		}
		assert.Equal(t, e.Pseudonym, r.ChildName)
		assert.Empty(t, r.ContactName)
		if r.Help {
			assert.Equal(t, "12355", r.Number, "a help call keeps the hotline")
		} else {
			assert.Empty(t, r.Number)
			assert.Equal(t, "母亲", r.Relation, "the relation stays for statistics")
		}
	}
	require.NoError(t, db.RebuildCalls(ctx))
	rebuilt, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, after, rebuilt, "the projection is what a rebuild from the redacted journal gives")

	u, err := db.Usage(ctx, 1, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, kiosk.Usage{Calls: 1, Seconds: 90}, u, "per-child figures are kept")
	cases, err := db.HelpCases(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, cases, 1)
	require.Len(t, cases[0].Notes, 1)
	assert.Equal(t, e.Pseudonym+"哭了，已联系*** ***", cases[0].Notes[0].Text)
	log, err := db.RosterLog(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	var ops []string
	for _, rc := range log {
		if rc.ChildID == 1 {
			ops = append(ops, rc.Op)
			assert.Equal(t, e.Pseudonym, rc.ChildName, "op %s", rc.Op)
			assert.Empty(t, rc.Phone, "op %s", rc.Op)
			assert.Empty(t, rc.Card, "op %s", rc.Op)
		}
	}
	assert.Contains(t, ops, "erase", "the erasure is in the roster changes register")
	loans, err := db.LoanRegister(ctx, time.Time{}, time.Time{}, books.Same(books.Rules{Location: cst}))
	require.NoError(t, err)
	require.Len(t, loans, 1, "the loan keeps its row")
	assert.Equal(t, e.Pseudonym, loans[0].ChildName)
	tvs, err := db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, tvs, 1)
	assert.Equal(t, e.Pseudonym+"生日", tvs[0].Note, "free text names the pseudonym")
	assert.Equal(t, 20, tvs[0].Headcount)

	c, err := db.Child(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, kiosk.Child{ID: 1, Name: e.Pseudonym, Class: "三年级1班", Status: kiosk.ChildLeft}, c)
	cs, err := db.Contacts(ctx, 1)
	require.NoError(t, err)
	assert.Empty(t, cs)
	_, err = db.CardByUID(ctx, "04A1B2C3")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "the card is free again")
	hist, err := db.ConsentHistory(ctx, 1)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, "2026-03-01", hist[0].Date, "the consent's date and method stay")
	assert.Equal(t, sqlite.ConsentOther, hist[0].Method)
	assert.Empty(t, hist[0].Note)
	assert.Empty(t, hist[0].Relation)
	assert.Error(t, db.SetChildStatus(ctx, 1, kiosk.ChildActive), "an erased child stays left")
	assert.Error(t, db.AddCard(ctx, "0A0B0C0D", 1), "no new card for an erased child")

	// Child 2 keeps everything.
	c2, err := db.Child(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, "张丽", c2.Name)

	// No byte of the file keeps the erased strings, without a VACUUM:
	// secure_delete zeroed the old cells, the checkpoint emptied the WAL.
	path := db.Path()
	require.NoError(t, db.Close())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	if wal, err := os.ReadFile(path + "-wal"); err == nil {
		raw = append(raw, wal...)
	}
	for _, p := range personal {
		i := bytes.Index(raw, []byte(p))
		if !assert.Equal(t, -1, i, "%q is gone from the database file", p) {
			t.Logf("page %d: %q", i/4096, raw[max(i-200, 0):min(i+200, len(raw))])
		}
	}
	assert.NotEqual(t, -1, bytes.Index(raw, []byte("张丽")), "the check can fail: child 2's name is there")
}

// The journal's update trigger lets through only the body an erasure
// registered; Verify catches a redacted body changed by any other way.
func TestEraseTamper(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string, seq int64)
	}{
		{"body changed with the triggers dropped", func(t *testing.T, path string, seq int64) {
			raw := rawDB(t, path)
			_, err := raw.Exec(`DROP TRIGGER journal_no_update`)
			require.NoError(t, err)
			_, err = raw.Exec(`UPDATE journal SET body = replace(body, '"billsec":90', '"billsec":900') WHERE seq = ?`, seq)
			require.NoError(t, err)
			_, err = raw.Exec(`CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'x'); END`)
			require.NoError(t, err)
		}},
		{"a forged redaction registered after a later entry", func(t *testing.T, path string, seq int64) {
			raw := rawDB(t, path)
			var last int64
			require.NoError(t, raw.QueryRow(`SELECT MAX(seq) FROM journal`).Scan(&last))
			_, err := raw.Exec(`INSERT INTO journal_redactions (seq, erasure_seq, body)
				SELECT seq, ?, replace(body, '"billsec":90', '"billsec":900') FROM journal WHERE seq = ?`, last, seq)
			require.NoError(t, err)
			_, err = raw.Exec(`UPDATE journal SET body = (SELECT body FROM journal_redactions WHERE seq = ? AND erasure_seq = ?)
				WHERE seq = ?`, seq, last, seq)
			require.NoError(t, err, "the trigger takes a registered body: Verify is the check")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, clk, _, _ := eraseFixture(t)
			_, err := db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1)
			require.NoError(t, err)
			require.NoError(t, db.SetChildStatus(ctx, 2, kiosk.ChildLeft), "a later roster entry")
			rows, err := db.Calls(ctx, time.Time{}, time.Time{})
			require.NoError(t, err)
			seq := rows[0].Seq // c1's end entry, redacted
			require.Equal(t, "c1", rows[0].CallID)
			path := db.Path()
			require.NoError(t, db.Close())

			tc.tamper(t, path, seq)

			db = openDB(t, path, clk)
			res, err := db.Verify(ctx)
			require.NoError(t, err)
			assert.False(t, res.OK)
			assert.Equal(t, seq, res.BrokenSeq, "names the redacted entry: %s", res.Problem)
			assert.Contains(t, res.Problem, "erasure entry")
		})
	}
}

func TestEraseTriggers(t *testing.T) {
	ctx := context.Background()
	db, _, _, _ := eraseFixture(t)
	_, err := db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1)
	require.NoError(t, err)
	raw := rawDB(t, db.Path())
	var redacted, plain int64
	require.NoError(t, raw.QueryRow(`SELECT MIN(seq) FROM journal_redactions`).Scan(&redacted))
	require.NoError(t, raw.QueryRow(`SELECT MIN(seq) FROM journal WHERE seq NOT IN (SELECT seq FROM journal_redactions)`).Scan(&plain))
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE journal SET body = '{}' WHERE seq = ?`, []any{redacted}},
		{`UPDATE journal SET body = body WHERE seq = ?`, []any{plain}},
		{`UPDATE journal SET body = (SELECT body FROM journal_redactions WHERE seq = ?) WHERE seq = ?`, []any{redacted, plain}},
		{`UPDATE journal SET at = '2000-01-01T00:00:00.000000000Z' WHERE seq = ?`, []any{redacted}},
		{`UPDATE journal SET clock_synced = 1 - clock_synced, body = (SELECT body FROM journal_redactions WHERE seq = ?) WHERE seq = ?`, []any{redacted, redacted}},
		{`DELETE FROM journal WHERE seq = ?`, []any{redacted}},
		{`DELETE FROM journal_redactions`, nil},
		{`UPDATE journal_redactions SET body = '{}'`, nil},
		{`UPDATE consents SET note = 'x'`, nil},
		{`UPDATE consents SET method = 'written', note = '', relation = ''`, nil},
	} {
		_, err := raw.Exec(q.sql, q.args...)
		require.Error(t, err, q.sql)
		assert.Contains(t, err.Error(), "append-only", q.sql)
	}
	_, err = raw.Exec(`UPDATE journal SET body = (SELECT body FROM journal_redactions WHERE seq = ?) WHERE seq = ?`, redacted, redacted)
	assert.NoError(t, err, "the registered body itself is accepted (a no-op)")

	// Another child's consent stays append-only, even for an erasure's
	// update.
	_, err = db.RecordConsent(ctx, "mgr", sqlite.Consent{ChildID: 2, Date: "2026-03-01", Method: sqlite.ConsentWritten, Relation: "父亲"})
	require.NoError(t, err)
	_, err = raw.Exec(`UPDATE consents SET note = '', relation = '' WHERE child_id = 2`)
	assert.ErrorContains(t, err, "append-only")
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}

// A child named in another child's erased history (a sibling's free
// text) and a guardian shared with a sibling who stays: the sibling's
// data is kept.
func TestEraseSparesSibling(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.ApplyRoster(ctx, []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "刘一", Class: "一班"}, Contacts: []kiosk.Contact{{Name: "刘母", Relation: "母亲", Phone: "+8613700000001"}}},
		{Line: 3, Child: kiosk.Child{Name: "刘二", Class: "二班"}, Contacts: []kiosk.Contact{{Name: "刘母", Relation: "母亲", Phone: "+8613700000001"}}},
	}, false)
	require.NoError(t, err)
	require.NoError(t, db.Audit(ctx, "mgr", "note", "刘一和刘二的妈妈刘母 13700000001 来过"))
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))
	e, err := db.EraseChild(ctx, "mgr", sqlite.EraseRetention, 1)
	require.NoError(t, err)
	es, err := db.Entries(ctx, 0, 0)
	require.NoError(t, err)
	var detail string
	for _, x := range es {
		if x.Kind == sqlite.KindAudit {
			detail = string(x.Body)
		}
	}
	assert.Contains(t, detail, e.Pseudonym+"和刘二的妈妈刘母 13700000001 来过", "the shared guardian stays in free text")
	cs, err := db.Contacts(ctx, 2)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, "+8613700000001", cs[0].Phone)
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}

func TestErasuresDue(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	_, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	clk.Set(t0.Add(24 * time.Hour))
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))
	require.NoError(t, db.SetChildStatus(ctx, 2, kiosk.ChildLeft))
	clk.Set(t0.Add(48 * time.Hour))
	require.NoError(t, db.SetChildStatus(ctx, 2, kiosk.ChildActive))
	clk.Set(t0.Add(72 * time.Hour))
	require.NoError(t, db.SetChildStatus(ctx, 2, kiosk.ChildLeft))

	due, err := db.ErasuresDue(ctx, t0.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, due, "left at the cutoff is not before it")
	due, err = db.ErasuresDue(ctx, t0.Add(72*time.Hour+time.Second))
	require.NoError(t, err)
	require.Len(t, due, 2)
	assert.Equal(t, kiosk.ChildID(1), due[0].Child.ID)
	assert.Equal(t, t0.Add(24*time.Hour), due[0].LeftAt)
	assert.Equal(t, t0.Add(72*time.Hour), due[1].LeftAt, "the time of the last leaving, after a return")

	_, err = db.EraseChild(ctx, "kioskd", sqlite.EraseRetention, 1)
	require.NoError(t, err)
	due, err = db.ErasuresDue(ctx, t0.Add(100*time.Hour))
	require.NoError(t, err)
	require.Len(t, due, 1, "an erased child is not due again")
	assert.Equal(t, kiosk.ChildID(2), due[0].Child.ID)
}

// Migration 0011 can run again over itself (tests re-run migrations):
// the erasure, its triggers and the chain survive.
func TestEraseMigrationRerun(t *testing.T) {
	ctx := context.Background()
	db, clk, _, _ := eraseFixture(t)
	_, err := db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1)
	require.NoError(t, err)
	path := db.Path()
	mig, err := os.ReadFile(filepath.Join("migrations", "0011_erasure.sql"))
	require.NoError(t, err)
	_, err = rawDB(t, path).Exec(string(mig))
	require.NoError(t, err, "0011 runs again")
	require.NoError(t, db.Close())
	db = openDB(t, path, clk)
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(eraseErr(db.EraseChild(ctx, "mgr", sqlite.EraseManual, 1))))
	_, err = rawDB(t, path).Exec(`UPDATE journal SET body = '{}' WHERE seq = 1`)
	assert.ErrorContains(t, err, "append-only")
}

// A child marked left on an unsynced clock (a Pi at 1970 before NTP) is
// due from the next entry written on a synced clock, never earlier.
func TestErasuresDueUnsyncedClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	var synced atomic.Bool
	synced.Store(true)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), sqlite.Opts{Now: clk.Now, ClockSynced: synced.Load})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	synced.Store(false)
	clk.Set(time.Date(1970, 1, 1, 0, 0, 30, 0, time.UTC))
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))
	due, err := db.ErasuresDue(ctx, t0.AddDate(10, 0, 0))
	require.NoError(t, err)
	assert.Empty(t, due, "no synced time after the leaving yet: not due")

	synced.Store(true)
	clk.Set(t0.Add(time.Hour))
	require.NoError(t, db.System(ctx, "clock_synced", ""))
	due, err = db.ErasuresDue(ctx, t0.AddDate(10, 0, 0))
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, t0.Add(time.Hour), due[0].LeftAt, "the first synced time after it")
}
