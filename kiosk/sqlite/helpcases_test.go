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

func TestHelpCases(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)

	help := call("h1", 1, t0)
	help.Help, help.Reason = true, kiosk.Reason("help")
	require.NoError(t, db.CallStarted(ctx, help))
	require.NoError(t, db.CallStarted(ctx, call("c2", 1, t0.Add(time.Minute))), "an ordinary call is no case")
	open := call("h2", 0, t0.Add(2*time.Minute))
	open.Help, open.ChildName, open.Class = true, "", ""
	require.NoError(t, db.CallStarted(ctx, open))
	require.NoError(t, db.CallEnded(ctx, answered(help, 30*time.Second, kiosk.CauseCallerHangup)))

	cases, err := db.HelpCases(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, cases, 2)
	assert.Equal(t, "h1", cases[0].CallID)
	assert.Equal(t, "王小明", cases[0].ChildName)
	assert.False(t, cases[0].Ended.IsZero(), "the end entry is used once the call ended")
	assert.Equal(t, "h2", cases[1].CallID)
	assert.Zero(t, cases[1].ChildID)

	tests := []struct {
		name   string
		call   string
		note   string
		close  bool
		code   string
		closed bool
	}{
		{"empty note refused", "h1", "  ", false, kiosk.EINVALID, false},
		{"not a help call", "c2", "x", false, kiosk.ENOTFOUND, false},
		{"unknown call", "nope", "x", true, kiosk.ENOTFOUND, false},
		{"note", "h1", "给奶奶回了电话", false, "", false},
		{"close", "h1", "已家访，结案", true, "", true},
		{"closed once", "h1", "again", true, kiosk.ECONFLICT, true},
		{"no note after close", "h1", "later", false, kiosk.ECONFLICT, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(clk.Now().Add(time.Hour))
			err := db.HelpFollowUp(ctx, "boss", tt.call, tt.note, tt.close)
			if tt.code != "" {
				assert.Equal(t, tt.code, kiosk.ErrorCode(err), "err %v", err)
			} else {
				require.NoError(t, err)
			}
		})
	}
	cases, err = db.HelpCases(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, cases[0].Notes, 2)
	assert.Equal(t, "给奶奶回了电话", cases[0].Notes[0].Text)
	assert.Equal(t, "boss", cases[0].ClosedBy)
	assert.True(t, cases[0].Notes[1].Close)
	assert.False(t, cases[0].Closed.IsZero())
	assert.True(t, cases[1].Closed.IsZero(), "the other case stays open")
	assert.Empty(t, cases[1].Notes)

	got, err := db.HelpCases(ctx, t0.Add(time.Minute), time.Time{})
	require.NoError(t, err)
	require.Len(t, got, 1, "from filters on the call's start")
	assert.Equal(t, "h2", got[0].CallID)

	log, err := db.AuditLog(ctx, 0, 10)
	require.NoError(t, err)
	assert.Equal(t, sqlite.ActionHelpClose, log[0].Action, "follow-ups are in the audit log")
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK)
}

func TestRosterLogAndEquipmentRegister(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	_, err := db.ApplyRoster(ctx, []kiosk.RosterEntry{{
		Child:    kiosk.Child{ExternalID: "S1", Name: "王小明", Class: "三年级1班"},
		Contacts: []kiosk.Contact{{Name: "李芳", Relation: "母亲", Phone: "+8613800000002"}},
	}}, false)
	require.NoError(t, err)
	kids, err := db.SearchChildren(ctx, sqlite.ChildQuery{})
	require.NoError(t, err)
	require.Len(t, kids, 1)
	clk.Set(t0.Add(48 * time.Hour))
	require.NoError(t, db.SetChildStatus(ctx, kids[0].ID, kiosk.ChildLeft))

	all, err := db.RosterLog(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, "child_added", all[0].Op)
	assert.Equal(t, "contact_added", all[1].Op)
	assert.Equal(t, "+8613800000002", all[1].Phone)
	assert.Equal(t, "王小明", all[1].ChildName, "the current name fills entries without one")
	assert.Equal(t, "李芳", all[1].Contact)
	assert.Equal(t, "三年级1班", all[2].Class)
	assert.Equal(t, t0.Add(48*time.Hour), all[2].At)

	got, err := db.RosterLog(ctx, t0.Add(time.Hour), time.Time{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "child_status", got[0].Op)

	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "reader1", Kind: "mfrc522", Booth: "b1", Event: sqlite.EquipFault, Detail: "spi"}))
	eq, err := db.EquipmentRegister(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, eq, 1)
	assert.Equal(t, "reader1", eq[0].Device)
	assert.Equal(t, "b1", eq[0].Booth)
	assert.Equal(t, t0.Add(48*time.Hour), eq[0].At)
}
