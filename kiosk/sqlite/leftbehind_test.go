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

// TestApplyRosterKeepsLimits: a roster file has no limit column, so an
// import keeps the call limits a manager set on a child and its contacts
// (it used to reset them all to 0, the station default).
func TestApplyRosterKeepsLimits(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	card, err := db.CardByUID(ctx, "04A1B2C3")
	require.NoError(t, err)
	id := card.ChildID

	// A manager sets limits on the child's form.
	cur, err := db.Child(ctx, id)
	require.NoError(t, err)
	cs, err := db.Contacts(ctx, id)
	require.NoError(t, err)
	cur.CallLimit = 8 * time.Minute
	cs[0].CallLimit = 3 * time.Minute
	cs[1].CallLimit = 12 * time.Minute
	_, _, err = db.SaveChild(ctx, "manager", id, kiosk.RosterEntry{Line: 2, Child: cur, Contacts: cs})
	require.NoError(t, err)

	// The same file again: nothing changes, the limits stay.
	n := journalLen(t, db)
	ch, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.Counts{Unchanged: 2}, ch.Children, "limits are not in the file: unchanged")
	assert.Equal(t, sqlite.Counts{Unchanged: 3}, ch.Contacts)
	assert.Equal(t, n, journalLen(t, db), "nothing journaled")

	// A file that changes the gender and slot 2's number keeps the limits.
	next := roster()
	next[0].Child.Gender = ""
	next[0].Contacts[1].Phone = "+8613800000099"
	next[0].Contacts = append(next[0].Contacts, kiosk.Contact{Slot: 3, Name: "王奶奶", Relation: "奶奶", Phone: "+8613800000077"})
	ch, err = db.ApplyRoster(ctx, next, false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.Counts{Updated: 1, Unchanged: 1}, ch.Children)
	got, err := db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "", got.Gender)
	assert.Equal(t, 8*time.Minute, got.CallLimit, "the child's limit is kept")
	assert.EqualValues(t, (8 * time.Minute).Milliseconds(), lastRosterBodyOp(t, db, "child_updated")["call_limit_ms"], "journaled with the kept limit")
	cs, err = db.Contacts(ctx, id)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	assert.Equal(t, []time.Duration{3 * time.Minute, 12 * time.Minute, 0},
		[]time.Duration{cs[0].CallLimit, cs[1].CallLimit, cs[2].CallLimit}, "contacts' limits kept by slot; a new contact gets the default")
	assert.Equal(t, "+8613800000099", cs[1].Phone)

	// An entry that carries limits (an export of the database) sets them.
	es, err := db.RosterEntries(ctx)
	require.NoError(t, err)
	for i := range es {
		if es[i].Child.ID == id {
			es[i].Child.CallLimit = 0
			es[i].Contacts[0].CallLimit = time.Minute
		}
	}
	_, err = db.ApplyRoster(ctx, es, false)
	require.NoError(t, err)
	got, err = db.Child(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, got.CallLimit, "HasLimits: the entry's limit is written")
	cs, err = db.Contacts(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, time.Minute, cs[0].CallLimit)
}

// lastRosterBodyOp returns the body of the last 'roster' entry with op.
func lastRosterBodyOp(t *testing.T, db *sqlite.DB, op string) map[string]any {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	for i := len(es) - 1; i >= 0; i-- {
		var m map[string]any
		if es[i].Kind == sqlite.KindRoster && json.Unmarshal(es[i].Body, &m) == nil && m["op"] == op {
			return m
		}
	}
	t.Fatalf("no roster entry with op %s", op)
	return nil
}

// TestLeftBehindRoster: the kind of left-behind is written by an import
// that carries it, kept by one that does not, cleared by the form, read
// back by Child, SearchChildren and RosterEntries, journaled, and erased
// with the child's other personal fields.
func TestLeftBehindRoster(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	file := func(kinds ...kiosk.LeftBehindKind) []kiosk.RosterEntry {
		es := roster()
		for i := range es {
			es[i].HasLeftBehind = kinds != nil
			if kinds != nil {
				es[i].Child.LeftBehind = kinds[i]
			}
		}
		return es
	}
	ch, err := db.ApplyRoster(ctx, file(kiosk.LeftBehindBoth, kiosk.LeftBehindUnknown), false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.Counts{Added: 2}, ch.Children)
	assert.NotContains(t, lastRosterBodyOp(t, db, "child_added"), "left_behind", "not recorded: not in the entry")
	card, err := db.CardByUID(ctx, "04A1B2C3")
	require.NoError(t, err)
	ming := card.ChildID
	c, err := db.Child(ctx, ming)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindBoth, c.LeftBehind)

	// A file without the column keeps it.
	ch, err = db.ApplyRoster(ctx, file(), false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.Counts{Unchanged: 2}, ch.Children)
	c, err = db.Child(ctx, ming)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindBoth, c.LeftBehind, "no 留守类型 column: kept")

	// A file with the column changes it, journaled.
	ch, err = db.ApplyRoster(ctx, file(kiosk.LeftBehindMother, kiosk.LeftBehindOther), false)
	require.NoError(t, err)
	assert.Equal(t, sqlite.Counts{Updated: 2}, ch.Children)
	assert.Equal(t, "other", lastRosterBodyOp(t, db, "child_updated")["left_behind"])
	all, err := db.SearchChildren(ctx, kiosk.ChildQuery{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []kiosk.LeftBehindKind{kiosk.LeftBehindMother, kiosk.LeftBehindOther},
		[]kiosk.LeftBehindKind{all[0].LeftBehind, all[1].LeftBehind}, "SearchChildren reads the kind")
	es, err := db.RosterEntries(ctx)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindMother, es[0].Child.LeftBehind)
	assert.True(t, es[0].HasLeftBehind && es[0].HasLimits, "an export carries every field")

	// A dry run writes nothing.
	_, err = db.ApplyRoster(ctx, file(kiosk.LeftBehindFather, kiosk.LeftBehindFather), true)
	require.NoError(t, err)
	c, err = db.Child(ctx, ming)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindMother, c.LeftBehind, "dry run")

	// An unknown kind is a problem of its line, nothing written.
	bad := file(kiosk.LeftBehindKind("orphan"), kiosk.LeftBehindBoth)
	_, err = db.ApplyRoster(ctx, bad, false)
	require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	assert.Contains(t, kiosk.ErrorMessage(err), "line 2: 留守类型: ")
	c, err = db.Child(ctx, ming)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindMother, c.LeftBehind, "all or nothing")

	// The form clears it (unknown), journaled with the audit entry.
	cs, err := db.Contacts(ctx, ming)
	require.NoError(t, err)
	c.LeftBehind = kiosk.LeftBehindUnknown
	_, ch, err = db.SaveChild(ctx, "manager", ming, kiosk.RosterEntry{Line: 2, Child: c, Contacts: cs})
	require.NoError(t, err)
	assert.Equal(t, 1, ch.Children.Updated)
	c, err = db.Child(ctx, ming)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindUnknown, c.LeftBehind)
	c.LeftBehind = kiosk.LeftBehindOne
	_, _, err = db.SaveChild(ctx, "manager", ming, kiosk.RosterEntry{Line: 2, Child: c, Contacts: cs})
	require.NoError(t, err)
	assert.Equal(t, "one_away", lastRosterBodyOp(t, db, "child_updated")["left_behind"])
	c.LeftBehind = "orphan"
	_, _, err = db.SaveChild(ctx, "manager", ming, kiosk.RosterEntry{Line: 2, Child: c, Contacts: cs})
	require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "SaveChild refuses an unknown kind")

	// A new child from the form.
	id, _, err := db.SaveChild(ctx, "manager", 0, kiosk.RosterEntry{Line: 2,
		Child:    kiosk.Child{Name: "李小华", Class: "一年级1班", LeftBehind: kiosk.LeftBehindFather},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "李强", Relation: "父亲", Phone: "+8613800000055"}}})
	require.NoError(t, err)
	c, err = db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindFather, c.LeftBehind)

	// Erasure removes the kind.
	require.NoError(t, db.SetChildStatus(ctx, id, kiosk.ChildLeft))
	_, err = db.EraseChild(ctx, "manager", "retention", id)
	require.NoError(t, err)
	c, err = db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.LeftBehindUnknown, c.LeftBehind, "erased with the personal fields")
	// ... and from the journal's history: only 李小华 was ever father_away.
	journal, err := db.Entries(ctx, 0, 100000)
	require.NoError(t, err)
	for _, e := range journal {
		assert.NotContains(t, string(e.Body), "father_away", "entry %d keeps the erased child's kind", e.Seq)
	}
	v, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, v.OK, "the chain still verifies: %s", v.Problem)
}
