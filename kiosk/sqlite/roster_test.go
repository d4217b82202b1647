package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// rawDB opens the file with no pragmas and no triggers bypassed: what a
// curious person with the sqlite3 shell would get.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { raw.Close() })
	return raw
}

// fixture roster: fictional children and numbers.
func roster() []kiosk.RosterEntry {
	return []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "王小明", Gender: "男", Class: "三年级1班"},
			Contacts: []kiosk.Contact{
				{Slot: 1, Name: "王建国", Relation: "父亲", Phone: "+8613800000001", Modes: []kiosk.Mode{kiosk.ModePhone}},
				{Slot: 2, Name: "李芳", Relation: "母亲", Phone: "+8613800000002", Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}},
			},
			Cards: []string{"04A1B2C3"}},
		{Line: 3, Child: kiosk.Child{ExternalID: "S-017", Name: "张丽", Gender: "女", Class: "五年级2班", CallLimit: 3 * time.Minute},
			Contacts: []kiosk.Contact{
				{Name: "张奶奶", Relation: "奶奶", Phone: "+8613800000003"},
			},
			Cards: []string{"DEADBEEF", "0011223344"}},
	}
}

func journalLen(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	return len(es)
}

func TestApplyRoster(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)

	// A dry run says what would change and changes nothing.
	ch, err := db.ApplyRoster(ctx, roster(), true)
	require.NoError(t, err)
	assert.Equal(t, sqlite.Counts{Added: 2}, ch.Children)
	es, err := db.RosterEntries(ctx)
	require.NoError(t, err)
	assert.Empty(t, es, "dry run wrote nothing")
	assert.Equal(t, 0, journalLen(t, db), "dry run journaled nothing")

	ch, err = db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.RosterChanges{
		Children: sqlite.Counts{Added: 2},
		Contacts: sqlite.Counts{Added: 3},
		Cards:    sqlite.Counts{Added: 3},
	}, ch)
	n := journalLen(t, db)
	assert.Equal(t, 8, n, "one roster entry per change")

	card, err := db.CardByUID(ctx, "DEADBEEF")
	require.NoError(t, err)
	assert.True(t, card.Enabled)
	c, err := db.Child(ctx, card.ChildID)
	require.NoError(t, err)
	assert.Equal(t, kiosk.Child{ID: card.ChildID, ExternalID: "S-017", Name: "张丽", Gender: "女", Class: "五年级2班",
		Status: kiosk.ChildActive, CallLimit: 3 * time.Minute}, c)
	cs, err := db.Contacts(ctx, card.ChildID)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, 1, cs[0].Slot, "slot from position")
	assert.Equal(t, []kiosk.Mode{kiosk.ModePhone}, cs[0].Modes, "phone by default")

	// Re-import: nothing changes, nothing journaled.
	ch, err = db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.RosterChanges{
		Children: sqlite.Counts{Unchanged: 2},
		Contacts: sqlite.Counts{Unchanged: 3},
		Cards:    sqlite.Counts{Unchanged: 3},
	}, ch)
	assert.Equal(t, n, journalLen(t, db), "unchanged re-import journals nothing")

	// Export round trip.
	es, err = db.RosterEntries(ctx)
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, "三年级1班", es[0].Child.Class, "ordered by class")
	assert.Equal(t, []string{"0011223344", "DEADBEEF"}, es[1].Cards)
	ch, err = db.ApplyRoster(ctx, es, false)
	require.NoError(t, err)
	assert.Equal(t, 2, ch.Children.Unchanged, "exported roster re-imports unchanged")
	assert.Equal(t, n, journalLen(t, db))

	// Changes: new phone in slot 2, slot 1 gone, a new card, a class change
	// for the child matched by external id.
	next := roster()
	next[0].Contacts = []kiosk.Contact{{Slot: 2, Name: "李芳", Relation: "母亲", Phone: "+8613800000009", Modes: []kiosk.Mode{kiosk.ModePhone}}}
	next[0].Cards = []string{"04A1B2C3", "04A1B2C4"}
	next[1].Child.Class = "六年级2班"
	next[1].Cards = nil // cards not in the file stay
	ch, err = db.ApplyRoster(ctx, next, false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.RosterChanges{
		Children: sqlite.Counts{Updated: 1, Unchanged: 1},
		Contacts: sqlite.Counts{Updated: 1, Removed: 1, Unchanged: 1},
		Cards:    sqlite.Counts{Added: 1, Unchanged: 1},
	}, ch)
	assert.Equal(t, n+4, journalLen(t, db))
	c, err = db.Child(ctx, card.ChildID)
	require.NoError(t, err)
	assert.Equal(t, "六年级2班", c.Class)
	_, err = db.CardByUID(ctx, "DEADBEEF")
	assert.NoError(t, err, "a card missing from the file is kept")
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "chain valid after roster changes: %+v", res)
}

func TestApplyRosterProblems(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		edit  func([]kiosk.RosterEntry) []kiosk.RosterEntry
		wants []string
	}{
		{"card of another child", func(es []kiosk.RosterEntry) []kiosk.RosterEntry {
			es[1].Cards = append(es[1].Cards, "04A1B2C3")
			return es
		}, []string{"line 3: 卡号"}},
		{"same child twice", func(es []kiosk.RosterEntry) []kiosk.RosterEntry {
			dup := es[0]
			dup.Line = 9
			dup.Cards = nil
			return append(es, dup)
		}, []string{"line 9: 姓名: same child as line 2"}},
		{"six contacts and empty name", func(es []kiosk.RosterEntry) []kiosk.RosterEntry {
			for i := 0; i < 4; i++ {
				es[1].Contacts = append(es[1].Contacts, kiosk.Contact{Name: "x", Phone: "+8613800000010"})
			}
			es[1].Contacts = append(es[1].Contacts, kiosk.Contact{Name: "y", Phone: "+8613800000011"})
			es = append(es, kiosk.RosterEntry{Line: 4})
			return es
		}, []string{"line 3: 联系人", "line 4: 姓名: empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := newDB(t)
			_, err := db.ApplyRoster(ctx, tc.edit(roster()), false)
			require.Error(t, err)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			for _, w := range tc.wants {
				assert.Contains(t, kiosk.ErrorMessage(err), w)
			}
			es, err := db.RosterEntries(ctx)
			require.NoError(t, err)
			assert.Empty(t, es, "all or nothing: no child added")
			assert.Equal(t, 0, journalLen(t, db), "nothing journaled")
		})
	}

	t.Run("card bound in an earlier import", func(t *testing.T) {
		db, _ := newDB(t)
		_, err := db.ApplyRoster(ctx, roster(), false)
		require.NoError(t, err)
		n := journalLen(t, db)
		es := roster()
		es = append(es, kiosk.RosterEntry{Line: 7, Child: kiosk.Child{Name: "赵一", Class: "一年级1班"}, Cards: []string{"DEADBEEF"}})
		_, err = db.ApplyRoster(ctx, es, false)
		require.Error(t, err)
		assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
		assert.Contains(t, kiosk.ErrorMessage(err), "line 7: 卡号: card DEADBEEF belongs to another child")
		all, err := db.RosterEntries(ctx)
		require.NoError(t, err)
		assert.Len(t, all, 2, "the new child was not added")
		assert.Equal(t, n, journalLen(t, db))
	})
}

func TestCardsAndStatus(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	card, err := db.CardByUID(ctx, "04A1B2C3")
	require.NoError(t, err)
	id := card.ChildID
	n := journalLen(t, db)

	require.NoError(t, db.DisableCard(ctx, "04A1B2C3"))
	card, err = db.CardByUID(ctx, "04A1B2C3")
	require.NoError(t, err)
	assert.False(t, card.Enabled, "disabled, not deleted")
	require.NoError(t, db.DisableCard(ctx, "04A1B2C3"), "disabling twice is a no-op")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.DisableCard(ctx, "FFFFFFFF")))

	// Re-import keeps the lost card disabled.
	_, err = db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	card, _ = db.CardByUID(ctx, "04A1B2C3")
	assert.False(t, card.Enabled, "import does not re-enable a lost card")

	require.NoError(t, db.AddCard(ctx, "04A1B2C3", id), "re-enable")
	card, _ = db.CardByUID(ctx, "04A1B2C3")
	assert.True(t, card.Enabled)
	require.NoError(t, db.AddCard(ctx, "CAFEF00D", id))
	require.NoError(t, db.AddCard(ctx, "CAFEF00D", id), "adding twice is a no-op")
	other, _ := db.CardByUID(ctx, "DEADBEEF")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.AddCard(ctx, "CAFEF00D", other.ChildID)))
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.AddCard(ctx, "CAFEF00E", 999)))

	require.NoError(t, db.SetChildStatus(ctx, id, kiosk.ChildLeft))
	c, err := db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.ChildLeft, c.Status)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(db.SetChildStatus(ctx, id, "gone")))
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.SetChildStatus(ctx, 999, kiosk.ChildLeft)))

	// disable, enable, add, status: four entries.
	assert.Equal(t, n+4, journalLen(t, db))
	es, err := db.Entries(ctx, int64(n), 0)
	require.NoError(t, err)
	for _, e := range es {
		assert.Equal(t, sqlite.KindRoster, e.Kind)
	}
}
