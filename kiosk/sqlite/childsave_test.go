package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

func TestSaveChild(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	ming, err := db.ChildByName(ctx, "王小明")
	require.NoError(t, err)
	li, err := db.ChildByName(ctx, "张丽")
	require.NoError(t, err)
	entries := func() int {
		es, err := db.Entries(ctx, 0, 1<<20)
		require.NoError(t, err)
		return len(es)
	}

	// A change of class, which ApplyRoster would take for a new child
	// (王小明 has no id), keeps the child, its contacts' ids and numbers.
	before, err := db.Contacts(ctx, ming[0].ID)
	require.NoError(t, err)
	e := kiosk.RosterEntry{Line: 2, Child: kiosk.Child{Name: "王小明", Gender: "男", Class: "四年级1班", CallLimit: 7 * time.Minute},
		Contacts: []kiosk.Contact{before[0]}}
	e.Contacts[0].Relation = "爸爸"
	id, ch, err := db.SaveChild(ctx, "manager", ming[0].ID, e)
	require.NoError(t, err)
	assert.Equal(t, ming[0].ID, id)
	assert.Equal(t, sqlite.RosterChanges{Children: sqlite.Counts{Updated: 1}, Contacts: sqlite.Counts{Updated: 1, Removed: 1}}, ch)
	got, err := db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.Child{ID: id, Name: "王小明", Gender: "男", Class: "四年级1班", Status: kiosk.ChildActive, CallLimit: 7 * time.Minute}, got)
	after, err := db.Contacts(ctx, id)
	require.NoError(t, err)
	require.Len(t, after, 1)
	assert.Equal(t, []any{before[0].ID, before[0].Phone, "爸爸"}, []any{after[0].ID, after[0].Phone, after[0].Relation})
	audit, err := db.AuditLog(ctx, 0, 1)
	require.NoError(t, err)
	require.Len(t, audit, 1)
	assert.Equal(t, []string{"manager", sqlite.AuditChildEdit}, []string{audit[0].Actor, audit[0].Action})
	assert.Contains(t, audit[0].Detail, "contacts_removed=1")

	// Problems: nothing written, one line each.
	n := entries()
	for _, tc := range []struct {
		name string
		id   kiosk.ChildID
		e    kiosk.RosterEntry
		want string
	}{
		{"id of another child", id, kiosk.RosterEntry{Line: 2, Child: kiosk.Child{ExternalID: "S-017", Name: "王小明", Class: "四年级1班"}, Contacts: after},
			"line 2: 编号: 另一名学生已使用此编号"},
		{"a second 王小明 without id", 0, kiosk.RosterEntry{Line: 2, Child: kiosk.Child{Name: "王小明", Class: "四年级1班"},
			Contacts: []kiosk.Contact{{Slot: 1, Name: "甲", Relation: "父亲", Phone: "+8613900000001"}}}, "line 2: 姓名: 本班已有同名学生"},
		{"no class", 0, kiosk.RosterEntry{Line: 2, Child: kiosk.Child{Name: "赵六"}}, "line 2: 班级: empty"},
		{"contact without phone", id, kiosk.RosterEntry{Line: 2, Child: kiosk.Child{Name: "王小明", Class: "四年级1班"},
			Contacts: []kiosk.Contact{{Slot: 1, Name: "王建国", Relation: "父亲"}}}, "line 2: 电话1: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := db.SaveChild(ctx, "manager", tc.id, tc.e)
			require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "%v", err)
			assert.Contains(t, kiosk.ErrorMessage(err), tc.want)
			assert.Equal(t, n, entries(), "nothing journaled")
		})
	}
	_, _, err = db.SaveChild(ctx, "", id, e)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "who is required")
	_, _, err = db.SaveChild(ctx, "manager", 9999, e)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))

	// Two children of one name in one class, both with ids: allowed.
	twin := kiosk.RosterEntry{Line: 2, Child: kiosk.Child{ExternalID: "S-200", Name: "王小明", Class: "四年级1班"},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "王二", Relation: "父亲", Phone: "+8613900000002"}}}
	_, _, err = db.SaveChild(ctx, "manager", 0, twin)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "the first 王小明 has no id")
	e.Child.ExternalID = "S-100"
	_, _, err = db.SaveChild(ctx, "manager", id, e)
	require.NoError(t, err)
	tid, ch, err := db.SaveChild(ctx, "manager", 0, twin)
	require.NoError(t, err)
	assert.NotEqual(t, id, tid)
	assert.Equal(t, 1, ch.Children.Added)
	// An empty id clears it (ApplyRoster would keep it), unless that
	// makes the twins indistinguishable.
	e.Child.ExternalID = ""
	_, _, err = db.SaveChild(ctx, "manager", id, e)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))

	// A left child may be corrected and stays left; an erased child never.
	require.NoError(t, db.SetChildStatus(ctx, li[0].ID, kiosk.ChildLeft))
	le := kiosk.RosterEntry{Line: 2, Child: kiosk.Child{ExternalID: "S-017", Name: "张莉", Gender: "女", Class: "五年级2班"},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "张奶奶", Relation: "奶奶", Phone: "+8613800000003"}}}
	_, _, err = db.SaveChild(ctx, "manager", li[0].ID, le)
	require.NoError(t, err)
	got, err = db.Child(ctx, li[0].ID)
	require.NoError(t, err)
	assert.Equal(t, []any{"张莉", kiosk.ChildLeft}, []any{got.Name, got.Status})
	erased, err := db.ChildErased(ctx, li[0].ID)
	require.NoError(t, err)
	assert.False(t, erased)
	_, err = db.EraseChild(ctx, "manager", sqlite.EraseManual, li[0].ID)
	require.NoError(t, err)
	erased, err = db.ChildErased(ctx, li[0].ID)
	require.NoError(t, err)
	assert.True(t, erased)
	n = entries()
	_, _, err = db.SaveChild(ctx, "manager", li[0].ID, le)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err))
	assert.Equal(t, n, entries(), "nothing journaled")

	v, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, v.OK, "the chain verifies: %s", v.Problem)
}
