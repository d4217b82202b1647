package sqlite_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// staffAudit returns the action and actor of every 'audit' entry whose
// action starts with prefix, in journal order.
func staffAudit(t *testing.T, db *sqlite.DB, prefix string) [][2]string {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	var out [][2]string
	for _, e := range es {
		if e.Kind != sqlite.KindAudit {
			continue
		}
		var b struct{ Actor, Action, Detail string }
		require.NoError(t, json.Unmarshal(e.Body, &b))
		if strings.HasPrefix(b.Action, prefix) {
			out = append(out, [2]string{b.Action, b.Actor})
		}
	}
	return out
}

func TestStaffRegister(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)

	_, err := db.AddStaff(ctx, "kioskctl:root", "王老师", kiosk.StaffTeacher, "wang")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "an unknown console username is refused: %v", err)
	_, err = db.AddUser(ctx, "kioskctl:root", sqlite.NewUser{Username: "wang", Role: sqlite.RoleManager, Password: "correct horse battery"})
	require.NoError(t, err)
	wang, err := db.AddStaff(ctx, "kioskctl:root", " 王老师 ", kiosk.StaffTeacher, "Wang")
	require.NoError(t, err)
	assert.Equal(t, "王老师", wang.Name, "trimmed")
	assert.Equal(t, "wang", wang.Username, "usernames are lowercase")
	assert.True(t, wang.Enabled)
	_, err = db.AddStaff(ctx, "kioskctl:root", "王老师", kiosk.StaffManager, "")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "names are unique")
	_, err = db.AddStaff(ctx, "kioskctl:root", "赵师傅", "janitor", "")
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "unknown role")
	_, err = db.AddStaff(ctx, "kioskctl:root", "  ", kiosk.StaffTeacher, "")
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "empty name")
	_, err = db.AddStaff(ctx, "kioskctl:root", "李\n老师", kiosk.StaffTeacher, "")
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "one line")
	_, err = db.AddStaff(ctx, "kioskctl:root", "刘工", kiosk.StaffTechnician, "")
	require.NoError(t, err)

	require.NoError(t, db.AddStaffCard(ctx, "kioskctl:root", "王老师", "5A000001"))
	require.NoError(t, db.AddStaffCard(ctx, "kioskctl:root", "王老师", "5A000001"), "adding twice is a no-op")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.AddStaffCard(ctx, "kioskctl:root", "刘工", "5A000001")),
		"another member's card")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.AddStaffCard(ctx, "kioskctl:root", "nobody", "5A000002")))
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(db.AddStaffCard(ctx, "kioskctl:root", "王老师", "")))

	st, err := db.StaffByUID(ctx, "5A000001")
	require.NoError(t, err)
	assert.Equal(t, wang.ID, st.ID)
	assert.Equal(t, kiosk.StaffTeacher, st.Role)
	assert.True(t, st.Enabled)
	_, err = db.StaffByUID(ctx, "5A0000FF")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))

	require.NoError(t, db.DisableStaff(ctx, "manager:li", "王老师"))
	require.NoError(t, db.DisableStaff(ctx, "manager:li", "王老师"), "disabling twice is a no-op")
	st, err = db.StaffByUID(ctx, "5A000001")
	require.NoError(t, err)
	assert.False(t, st.Enabled, "a disabled member's card opens nothing")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.DisableStaff(ctx, "x", "nobody")))

	list, err := db.Staff(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	byName := map[string]kiosk.Staff{}
	for _, s := range list {
		byName[s.Name] = s
	}
	assert.Equal(t, []string{"5A000001"}, byName["王老师"].Cards)
	assert.False(t, byName["王老师"].Enabled)
	assert.Empty(t, byName["刘工"].Cards)
	assert.Equal(t, kiosk.StaffTechnician, byName["刘工"].Role)

	require.NoError(t, db.EnableStaff(ctx, "manager:li", "王老师"))
	st, _ = db.StaffByUID(ctx, "5A000001")
	assert.True(t, st.Enabled)

	// Every change is audited with who made it; no-ops are not.
	assert.Equal(t, [][2]string{
		{"staff_add", "kioskctl:root"}, {"staff_add", "kioskctl:root"},
		{"staff_card_add", "kioskctl:root"},
		{"staff_disable", "manager:li"}, {"staff_enable", "manager:li"},
	}, staffAudit(t, db, "staff_"))
	v, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, v.OK, "the chain holds: %s", v.Problem)
}

// TestStaffCardUIDUnique: a UID is a child's card or a staff card, never
// both, whichever came first and whichever path adds the second.
func TestStaffCardUIDUnique(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	child, err := db.CardByUID(ctx, "04A1B2C3")
	require.NoError(t, err)
	_, err = db.AddStaff(ctx, "test", "王老师", kiosk.StaffTeacher, "")
	require.NoError(t, err)

	// A child's card (enabled or not) cannot become a staff card.
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.AddStaffCard(ctx, "test", "王老师", "04A1B2C3")))
	require.NoError(t, db.DisableCard(ctx, "04A1B2C3"))
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(db.AddStaffCard(ctx, "test", "王老师", "04A1B2C3")),
		"a lost child's card stays the child's")

	// A staff card cannot become a child's card: console, kioskctl, import.
	require.NoError(t, db.AddStaffCard(ctx, "test", "王老师", "5A000001"))
	err = db.AddCard(ctx, "5A000001", child.ChildID)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err))
	assert.Contains(t, kiosk.ErrorMessage(err), "staff card")
	entries := roster()
	entries[0].Cards = append(entries[0].Cards, "5A000001")
	_, err = db.ApplyRoster(ctx, entries, false)
	require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "the import is refused as a whole")
	assert.Contains(t, kiosk.ErrorMessage(err), "line 2: 卡号: card 5A000001 is a staff card")
	_, err = db.CardByUID(ctx, "5A000001")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "nothing was written")

	// The triggers hold for a writer that skips the checks.
	raw := rawDB(t, db.Path())
	_, err = raw.Exec(`INSERT INTO cards (uid, child_id, enabled, created_at, updated_at) VALUES ('5A000001', ?, 1, 'x', 'x')`, int64(child.ChildID))
	require.Error(t, err, "trigger cards_not_staff")
	_, err = raw.Exec(`INSERT INTO staff_cards (uid, staff_id, enabled, created_at, updated_at) VALUES ('DEADBEEF', 1, 1, 'x', 'x')`)
	require.Error(t, err, "trigger staff_cards_not_child")
}
