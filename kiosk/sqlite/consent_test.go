package sqlite_test

import (
	"context"
	"encoding/json"
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
