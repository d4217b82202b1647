package sqlite_test

import (
	"context"
	"encoding/json"
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

func TestConsentHistoryAndCurrent(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	childID, _ := linkFixture(t, db)

	cur, err := db.CurrentConsent(ctx, childID)
	require.NoError(t, err)
	assert.False(t, cur.Given(), "nothing recorded yet")
	n, err := db.MissingConsents(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "both fixture children lack consent")

	before := journalLen(t, db)
	first, err := db.RecordConsent(ctx, "manager1", sqlite.Consent{ChildID: childID, Date: "2025-03-01",
		Method: sqlite.ConsentWritten, Relation: " 母亲 ", Note: "signed form #12"})
	require.NoError(t, err)
	assert.NotZero(t, first.ID)
	assert.Equal(t, "母亲", first.Relation, "trimmed")
	assert.Equal(t, "manager1", first.RecordedBy)
	assert.Equal(t, t0, first.RecordedAt)
	assert.True(t, first.Given())
	assert.Equal(t, before+1, journalLen(t, db), "journaled")

	// The journal entry says who, what and when, and nothing personal.
	es, err := db.Entries(ctx, 0, 100000)
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, sqlite.KindRoster, last.Kind)
	var body map[string]any
	require.NoError(t, json.Unmarshal(last.Body, &body))
	assert.Equal(t, map[string]any{"op": "consent_recorded", "child_id": float64(childID), "consent_id": float64(first.ID),
		"method": "written", "date": "2025-03-01", "by": "manager1"}, body)
	assert.NotContains(t, string(last.Body), "母亲")
	assert.NotContains(t, string(last.Body), "signed")

	// A correction is a new record; the latest wins.
	clk.Set(t0.Add(time.Hour))
	second, err := db.RecordConsent(ctx, "manager2", sqlite.Consent{ChildID: childID, Date: "2025-03-02",
		Method: sqlite.ConsentPhone, Relation: "父亲"})
	require.NoError(t, err)
	cur, err = db.CurrentConsent(ctx, childID)
	require.NoError(t, err)
	assert.Equal(t, second, cur)

	clk.Set(t0.Add(2 * time.Hour))
	w, err := db.WithdrawConsent(ctx, "manager1", childID, "2025-03-10")
	require.NoError(t, err)
	assert.False(t, w.Given())
	assert.Equal(t, "2025-03-02", w.Date, "the withdrawal keeps the consent it ends")
	assert.Equal(t, sqlite.ConsentPhone, w.Method)
	_, err = db.WithdrawConsent(ctx, "manager1", childID, "2025-03-10")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "nothing left to withdraw")

	hist, err := db.ConsentHistory(ctx, childID)
	require.NoError(t, err)
	require.Len(t, hist, 3, "append-only: every record kept")
	assert.Equal(t, first, hist[0])
	assert.Equal(t, second, hist[1])
	assert.Equal(t, w, hist[2])
	assert.Equal(t, before+3, journalLen(t, db))
	es, err = db.Entries(ctx, 0, 100000)
	require.NoError(t, err)
	assert.Contains(t, string(es[len(es)-1].Body), `"op":"consent_withdrawn"`)

	n, err = db.MissingConsents(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "a withdrawn consent counts as missing")

	reg, err := db.ConsentRegister(ctx)
	require.NoError(t, err)
	require.Len(t, reg, 2)
	for _, cc := range reg {
		if cc.Child.ID == childID {
			assert.Equal(t, w, cc.Consent)
		} else {
			assert.Zero(t, cc.Consent.ID, "%s has none", cc.Child.Name)
		}
	}

	_, err = db.RecordConsent(ctx, "manager1", sqlite.Consent{ChildID: childID, Date: "2025-03-10",
		Method: sqlite.ConsentMeeting, Relation: "母亲"})
	require.NoError(t, err)
	n, err = db.MissingConsents(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "consent given again")

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "the chain still verifies")
}

func TestConsentInvalid(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	childID, _ := linkFixture(t, db)
	ok := sqlite.Consent{ChildID: childID, Date: "2025-03-01", Method: sqlite.ConsentWritten, Relation: "母亲"}
	long := make([]rune, sqlite.MaxConsentNote+1)
	for i := range long {
		long[i] = '字'
	}
	for _, tc := range []struct {
		name  string
		actor string
		edit  func(*sqlite.Consent)
		code  string
	}{
		{"no actor", "", func(*sqlite.Consent) {}, kiosk.EINVALID},
		{"bad date", "m", func(c *sqlite.Consent) { c.Date = "2025-3-1" }, kiosk.EINVALID},
		{"impossible date", "m", func(c *sqlite.Consent) { c.Date = "2025-02-30" }, kiosk.EINVALID},
		{"future date", "m", func(c *sqlite.Consent) { c.Date = "2025-03-20" }, kiosk.EINVALID},
		{"unknown method", "m", func(c *sqlite.Consent) { c.Method = "email" }, kiosk.EINVALID},
		{"other without note", "m", func(c *sqlite.Consent) { c.Method = sqlite.ConsentOther; c.Note = " " }, kiosk.EINVALID},
		{"note too long", "m", func(c *sqlite.Consent) { c.Note = string(long) }, kiosk.EINVALID},
		{"no relation", "m", func(c *sqlite.Consent) { c.Relation = "" }, kiosk.EINVALID},
		{"withdrawn before given", "m", func(c *sqlite.Consent) { c.Withdrawn = "2025-02-01" }, kiosk.EINVALID},
		{"unknown child", "m", func(c *sqlite.Consent) { c.ChildID = 9999 }, kiosk.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			before := journalLen(t, db)
			_, err := db.RecordConsent(ctx, tc.actor, c)
			assert.Equal(t, tc.code, kiosk.ErrorCode(err), "%v", err)
			assert.Equal(t, before, journalLen(t, db), "nothing journaled")
		})
	}
	_, err := db.WithdrawConsent(ctx, "m", childID, "2025-03-01")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "no consent to withdraw")

	require.NoError(t, db.SetChildStatus(ctx, childID, kiosk.ChildLeft))
	_, err = db.RecordConsent(ctx, "m", ok)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "a child who left")
}

func TestConsentsAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	childID, _ := linkFixture(t, db)
	_, err := db.RecordConsent(ctx, "m", sqlite.Consent{ChildID: childID, Date: "2025-03-01", Method: sqlite.ConsentWritten, Relation: "母亲"})
	require.NoError(t, err)
	raw := rawDB(t, db.Path())
	_, err = raw.Exec(`UPDATE consents SET method = 'phone'`)
	assert.ErrorContains(t, err, "append-only")
	_, err = raw.Exec(`DELETE FROM consents`)
	assert.ErrorContains(t, err, "append-only")
}

// consentRows counts the child's consent records.
func consentRows(t *testing.T, db *sqlite.DB, id kiosk.ChildID) int {
	t.Helper()
	h, err := db.ConsentHistory(context.Background(), id)
	require.NoError(t, err)
	return len(h)
}

func TestConsentRepeatRefused(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	childID, _ := linkFixture(t, db)
	k := sqlite.Consent{ChildID: childID, Date: "2025-03-01", Method: sqlite.ConsentWritten, Relation: "母亲", Note: "form #12"}
	_, err := db.RecordConsent(ctx, "m", k)
	require.NoError(t, err)

	before := journalLen(t, db)
	for _, tc := range []struct {
		name string
		edit func(*sqlite.Consent)
	}{
		{"the same form again", func(*sqlite.Consent) {}},
		{"relation with spaces", func(c *sqlite.Consent) { c.Relation = " 母亲 " }},
		{"another note only", func(c *sqlite.Consent) { c.Note = "form #13" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := k
			tc.edit(&c)
			_, err := db.RecordConsent(ctx, "m2", c)
			assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "a repeat of the current record: %v", err)
			assert.Contains(t, kiosk.ErrorMessage(err), "重复登记", "the manager reads why")
		})
	}
	assert.Equal(t, 1, consentRows(t, db, childID), "one record")
	assert.Equal(t, before, journalLen(t, db), "nothing journaled for a repeat")

	// Only the current record counts: a correction, a correction back,
	// a withdrawal and the same consent given again are all new records.
	other := k
	other.Method = sqlite.ConsentPhone
	_, err = db.RecordConsent(ctx, "m", other)
	require.NoError(t, err, "a correction")
	_, err = db.RecordConsent(ctx, "m", k)
	require.NoError(t, err, "a correction back to the first record")
	_, err = db.WithdrawConsent(ctx, "m", childID, "2025-03-05")
	require.NoError(t, err)
	_, err = db.RecordConsent(ctx, "m", k)
	require.NoError(t, err, "given again after the withdrawal")
	assert.Equal(t, 5, consentRows(t, db, childID))

	// The database refuses a repeat from any writer, not only RecordConsent.
	raw := rawDB(t, db.Path())
	_, err = raw.Exec(`INSERT INTO consents (child_id, given_on, method, note, relation, recorded_by, recorded_at)
		VALUES (?, '2025-03-01', 'written', '', '母亲', 'sqlite3', '2025-03-10T08:30:00.000000000Z')`, int64(childID))
	assert.ErrorContains(t, err, "repeats the current record")
	assert.Equal(t, 5, consentRows(t, db, childID))
}

// recordAtOnce runs record on every db at once, n times each, and
// returns the errors.
func recordAtOnce(dbs []*sqlite.DB, n int, record func(*sqlite.DB) error) []error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		start = make(chan struct{})
	)
	for _, db := range dbs {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := record(db)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}()
		}
	}
	close(start)
	wg.Wait()
	return errs
}

// codes counts errs by kiosk.ErrorCode ("" for success).
func codes(errs []error) map[string]int {
	m := map[string]int{}
	for _, err := range errs {
		m[kiosk.ErrorCode(err)]++
	}
	return m
}

// Two processes (kioskd's console and kioskctl) or two requests record
// the same consent at once: the database stores it once.
func TestConsentRecordedAtOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	childID, _ := linkFixture(t, db)
	other := openDB(t, path, clk) // a second handle: another process's pool
	k := sqlite.Consent{ChildID: childID, Date: "2025-03-01", Method: sqlite.ConsentWritten, Relation: "母亲"}

	for _, tc := range []struct {
		name string
		dbs  []*sqlite.DB
		n    int
	}{
		{"two on one handle", []*sqlite.DB{db}, 2},
		{"one on each of two handles", []*sqlite.DB{db, other}, 1},
		{"four on each of two handles", []*sqlite.DB{db, other}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, entries := consentRows(t, db, childID), journalLen(t, db)
			k.Date = time.Date(2025, 1, 1+rows, 0, 0, 0, 0, time.UTC).Format("2006-01-02") // a new consent each run
			errs := recordAtOnce(tc.dbs, tc.n, func(d *sqlite.DB) error {
				_, err := d.RecordConsent(ctx, "m", k)
				return err
			})
			all := len(tc.dbs) * tc.n
			assert.Equal(t, map[string]int{"": 1, kiosk.ECONFLICT: all - 1}, codes(errs), "one stored, the others refused: %v", errs)
			assert.Equal(t, rows+1, consentRows(t, db, childID), "exactly one row")
			assert.Equal(t, entries+1, journalLen(t, db), "exactly one journal entry")
		})
	}

	t.Run("withdrawals at once", func(t *testing.T) {
		rows := consentRows(t, db, childID)
		var day int
		var mu sync.Mutex
		errs := recordAtOnce([]*sqlite.DB{db, other}, 2, func(d *sqlite.DB) error {
			mu.Lock()
			day++ // each on another date: not a repeat, a second withdrawal
			date := time.Date(2025, 3, 1+day, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
			mu.Unlock()
			_, err := d.WithdrawConsent(ctx, "m", childID, date)
			return err
		})
		assert.Equal(t, map[string]int{"": 1, kiosk.ECONFLICT: 3}, codes(errs), "one withdrawal: %v", errs)
		assert.Equal(t, rows+1, consentRows(t, db, childID))
	})

	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "the chain verifies: %s", res.Problem)
}

// Migration 0016 runs on a file that already holds repeated records
// (written before it, when only the console's lock refused them), runs
// twice, and an erasure still blanks the free text of every record.
func TestConsentRepeatMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	clk := &clock{t: t0}
	db := openDB(t, path, clk)
	childID, _ := linkFixture(t, db)
	raw := rawDB(t, path)
	_, err := raw.Exec(`DROP TRIGGER consents_no_repeat; UPDATE schema_version SET version = 15`)
	require.NoError(t, err)
	k := sqlite.Consent{ChildID: childID, Date: "2025-03-01", Method: sqlite.ConsentWritten, Relation: "母亲", Note: "王小明的妈妈签字"}
	for range 2 {
		_, err = db.RecordConsent(ctx, "m", k)
		require.NoError(t, err, "no trigger before 0016")
	}
	k2 := k
	k2.Relation = "父亲" // differs from k only in the relation, which an erasure blanks
	_, err = db.RecordConsent(ctx, "m", k2)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	db = openDB(t, path, clk)
	_, err = db.RecordConsent(ctx, "m", k2)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "0016 applied over the repeats")
	mig, err := os.ReadFile(filepath.Join("migrations", "0016_consent_no_repeat.sql"))
	require.NoError(t, err)
	_, err = raw.Exec(string(mig))
	require.NoError(t, err, "0016 runs again over itself (tests re-run migrations)")
	_, err = db.RecordConsent(ctx, "m", k2)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "still refused after a re-run")
	assert.Equal(t, 3, consentRows(t, db, childID))

	require.NoError(t, db.SetChildStatus(ctx, childID, kiosk.ChildLeft))
	e, err := db.EraseChild(ctx, "mgr", sqlite.EraseManual, childID)
	require.NoError(t, err, "the erasure blanks relations that alone told records apart")
	assert.Equal(t, 3, e.Consents)
	hist, err := db.ConsentHistory(ctx, childID)
	require.NoError(t, err)
	for _, h := range hist {
		assert.Empty(t, h.Relation+h.Note, "record %d erased", h.ID)
	}
}
