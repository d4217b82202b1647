package sqlite_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

func TestPreviewRoster(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.ApplyRoster(ctx, roster()[:1], false)
	require.NoError(t, err)
	n := journalLen(t, db)

	es := roster()
	es[0].Contacts = es[0].Contacts[:1] // 王小明 loses his mother's number
	es = append(es, kiosk.RosterEntry{Line: 4, Child: kiosk.Child{Name: "赵六", Class: "一班"},
		Contacts: []kiosk.Contact{{Name: "赵五", Relation: "父亲", Phone: "+8613800000021"}}, Cards: []string{"04A1B2C3"}})
	p, err := db.PreviewRoster(ctx, es)
	require.NoError(t, err)
	require.Len(t, p.Entries, 3, "one per entry")
	assert.Equal(t, sqlite.RosterChanges{Children: sqlite.Counts{Unchanged: 1}, Contacts: sqlite.Counts{Unchanged: 1, Removed: 1},
		Cards: sqlite.Counts{Unchanged: 1}}, p.Entries[0])
	assert.Equal(t, sqlite.RosterChanges{Children: sqlite.Counts{Added: 1}, Contacts: sqlite.Counts{Added: 1},
		Cards: sqlite.Counts{Added: 2}}, p.Entries[1])
	assert.Equal(t, sqlite.RosterChanges{}, p.Entries[2], "an entry with a problem")
	require.Len(t, p.Problems, 1)
	assert.True(t, strings.HasPrefix(p.Problems[0], "line 4: 卡号: card 04A1B2C3 belongs to another child"), p.Problems[0])
	assert.Equal(t, n, journalLen(t, db), "a preview journals nothing")

	p, err = db.PreviewRoster(ctx, es[:2])
	require.NoError(t, err)
	assert.Empty(t, p.Problems)
	ch, err := db.ApplyRoster(ctx, es[:2], true)
	require.NoError(t, err)
	assert.Equal(t, ch, p.Total, "the total is ApplyRoster's dry run")
	assert.Equal(t, n, journalLen(t, db))
}
