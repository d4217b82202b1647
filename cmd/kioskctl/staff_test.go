package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

func staffCmd(t *testing.T, data string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := dispatch(context.Background(), &globals{data: data}, append([]string{"staff"}, args...), &out)
	return out.String(), err
}

func TestStaffCommands(t *testing.T) {
	data := newData(t)
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	_, err = db.ApplyRoster(context.Background(), []kiosk.RosterEntry{{Child: kiosk.Child{Name: "王小明", Class: "三年级1班"},
		Cards: []string{"04A1B2C3"}}}, false)
	require.NoError(t, err)
	_, err = db.AddUser(context.Background(), "test", sqlite.NewUser{Username: "liu", Role: sqlite.RoleTechnician, Password: "a long enough password"})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	out, err := staffCmd(t, data, "add", "王老师", "--role", "teacher")
	require.NoError(t, err)
	assert.Contains(t, out, "staff 王老师 added (teacher 值班教师)")
	_, err = staffCmd(t, data, "add", "刘工", "--role", "技术员", "--user", "liu")
	require.NoError(t, err, "the Chinese role word works too")
	out, err = staffCmd(t, data, "card", "王老师", "5a:00:00:01")
	require.NoError(t, err)
	assert.Contains(t, out, "card 5A000001 is 王老师's staff card", "the UID is normalised")
	out, err = staffCmd(t, data, "disable", "刘工")
	require.NoError(t, err)
	assert.Contains(t, out, "staff 刘工 disabled")

	out, err = staffCmd(t, data, "list")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	// By name, in the database's (code point) order.
	assert.Regexp(t, `^刘工\s+technician 技术员\s+liu\s+disabled\s+-$`, lines[1])
	assert.Regexp(t, `^王老师\s+teacher 值班教师\s+-\s+enabled\s+5A000001$`, lines[2])
	out, err = staffCmd(t, data, "list", "--json")
	require.NoError(t, err)
	var list []staffJSON
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 2)
	assert.Equal(t, []string{"5A000001"}, list[1].Cards)

	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"a child's card", []string{"card", "王老师", "04A1B2C3"}, "a child's card", false},
		{"another member's card", []string{"card", "刘工", "5A000001"}, "another staff member", false},
		{"unknown member", []string{"card", "nobody", "5A000009"}, "no staff member", false},
		{"bad uid", []string{"card", "王老师", "xyz"}, "staff card:", true},
		{"no role", []string{"add", "赵老师"}, "unknown staff role", true},
		{"taken", []string{"add", "王老师", "--role", "manager"}, "exists", false},
		{"unknown console user", []string{"add", "赵工", "--role", "technician", "--user", "nosuchuser"}, `no console user "nosuchuser"`, false},
		{"unknown subcommand", []string{"remove", "王老师"}, "unknown subcommand", true},
		{"no subcommand", nil, "want add", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := staffCmd(t, data, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var ee *exitError
			assert.Equal(t, tc.usage, errors.As(err, &ee) && ee.code == 2, "usage error (exit 2): %v", err)
		})
	}
}
