package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

func TestRosterErase(t *testing.T) {
	ctx := context.Background()
	data := linkData(t) // 王小明 (三年级1班), 王小明 (一年级1班), 张丽 S-017

	code, _, stderr := kioskctl(t, "--data", data, "roster", "erase", "张丽", "--yes")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "has not left", "an active child cannot be erased")
	code, _, stderr = kioskctl(t, "--data", data, "roster", "erase", "王小明")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "2 children are named")
	code, _, _ = kioskctl(t, "--data", data, "roster", "erase")
	assert.Equal(t, 2, code, "CHILD or --due")

	// 张丽 left in 2020, the 三年级 王小明 just now.
	left := time.Date(2020, 7, 1, 9, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, filepath.Join(data, "kiosk.db"), sqlite.Opts{Now: func() time.Time { return left }})
	require.NoError(t, err)
	require.NoError(t, db.SetChildStatus(ctx, 3, kiosk.ChildLeft))
	require.NoError(t, db.Close())
	db = openTestDB(t, data)
	require.NoError(t, db.SetChildStatus(ctx, 1, kiosk.ChildLeft))

	code, out, stderr := kioskctl(t, "--data", data, "roster", "erase", "--due")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "3\t张丽\t五年级2班  left 2020-07-01")
	assert.NotContains(t, out, "王小明", "left too recently for 3y")
	assert.Contains(t, out, "1 children would be erased (dry run")
	c, err := db.Child(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, "张丽", c.Name, "a dry run erases nothing")

	code, out, stderr = kioskctl(t, "--data", data, "roster", "erase", "--due", "--retention", "5m")
	assert.Equal(t, 2, code, "a bad period: %s", out)
	assert.Contains(t, stderr, "unit")

	code, out, stderr = kioskctl(t, "--data", data, "roster", "erase", "--due", "--yes")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `erased child 3 \(五年级2班\) as C-[0-9a-f]{8}: \d+ ledger entries redacted, 2 contacts and 0 cards removed`, out)
	c, err = db.Child(ctx, 3)
	require.NoError(t, err)
	assert.Regexp(t, `^C-`, c.Name)

	code, out, stderr = kioskctl(t, "--data", data, "roster", "erase", "王小明", "--class", "三年级1班", "--yes", "--vacuum")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "erased child 1 (三年级1班)")
	assert.Contains(t, out, "vacuum")

	code, out, stderr = kioskctl(t, "--data", data, "ledger", "verify")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "ledger ok")
	assert.Contains(t, out, "by 2 erasures")
}

// TestFindChildMessages pins the words findChild and findContact use when
// a name does not settle on one child: contact commands name the roster's
// id, erase the console number.
func TestFindChildMessages(t *testing.T) {
	ctx := context.Background()
	data := newData(t)
	db := openTestDB(t, data)
	_, err := db.ApplyRoster(ctx, []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{ExternalID: "S-001", Name: "王小明", Class: "三年级1班"}, Contacts: []kiosk.Contact{
			{Name: "王建国", Relation: "父亲", Phone: "+8613800000001"}}},
		{Line: 3, Child: kiosk.Child{Name: "王小明", Class: "一年级1班"}, Contacts: []kiosk.Contact{
			{Name: "王伯伯", Relation: "监护人", Phone: "+8613800000004"}}},
	}, false)
	require.NoError(t, err)

	tests := []struct {
		name, class string
		contact     string // findContact's error
		child       string // findChild's error
	}{
		{"王小明", "",
			`2 children are named "王小明", in classes: 一年级1班, 三年级1班 (id S-001); give --class or the id`,
			`2 children are named "王小明", in classes: 一年级1班 (number 2), 三年级1班 (number 1); give --class or the number`},
		{"王小明", "二年级1班",
			`no child "王小明" in class "二年级1班"`,
			`no child "王小明" in class "二年级1班"`},
	}
	for _, tc := range tests {
		t.Run(tc.name+" "+tc.class, func(t *testing.T) {
			_, _, err := findContact(ctx, db, tc.name, tc.class, 1)
			require.Error(t, err, "findContact: want an error")
			assert.Equal(t, tc.contact, err.Error(), "findContact's message")
			_, err = findChild(ctx, db, tc.name, tc.class, byNumber)
			require.Error(t, err, "findChild: want an error")
			assert.Equal(t, tc.child, err.Error(), "findChild's message")
		})
	}
	ch, c, err := findContact(ctx, db, "王小明", "一年级1班", 1)
	require.NoError(t, err, "--class settles it")
	assert.Equal(t, "一年级1班", ch.Class)
	assert.Equal(t, "王伯伯", c.Name)
	ch, err = findChild(ctx, db, "S-001", "", byNumber)
	require.NoError(t, err, "the id settles it")
	assert.Equal(t, "三年级1班", ch.Class)
}
