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

	"github.com/qinqing/station/kiosk/sqlite"
)

// userCmd runs `kioskctl user ARGS` with stdin and returns the error and
// the output.
func userCmd(t *testing.T, data, stdin string, args ...string) (error, string) {
	t.Helper()
	g := &globals{data: data}
	var out bytes.Buffer
	err := cmdUser(context.Background(), g, args, strings.NewReader(stdin), &out)
	return err, out.String()
}

func TestUserCommands(t *testing.T) {
	data := newData(t)
	const pw = "a long enough password"

	err, out := userCmd(t, data, pw+"\n"+pw+"\n", "add", "Li", "--role", "manager", "--name", "李老师")
	require.NoError(t, err)
	assert.Contains(t, out, "user li added (manager)")
	assert.NotContains(t, out, pw, "no prompt or echo when stdin is not a terminal")

	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error
		usage bool   // exit code 2
	}{
		{"passwords differ", pw + "\n" + pw + "x\n", []string{"add", "wang", "--role", "inspector"}, "differ", false},
		{"too short", "short\nshort\n", []string{"add", "wang", "--role", "inspector"}, "at least 10", false},
		{"no role", pw + "\n", []string{"add", "wang", "--password-stdin"}, "unknown role", true},
		{"bad role", pw + "\n", []string{"add", "wang", "--role", "janitor", "--password-stdin"}, "unknown role", true},
		{"bad username", pw + "\n", []string{"add", "w a", "--role", "inspector", "--password-stdin"}, "username", true},
		{"taken", pw + "\n", []string{"add", "LI", "--role", "inspector", "--password-stdin"}, "taken", false},
		{"empty stdin", "", []string{"add", "wang", "--role", "inspector", "--password-stdin"}, "read password", false},
		{"passwd unknown user", pw + "\n", []string{"passwd", "nobody", "--password-stdin"}, "no user", false},
		{"disable last manager", "", []string{"disable", "li"}, "last enabled manager", false},
		{"unknown subcommand", "", []string{"delete", "li"}, "unknown subcommand", true},
		{"no subcommand", "", nil, "want add", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err, _ := userCmd(t, data, tc.stdin, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var ee *exitError
			isUsage := false
			if assertAs(err, &ee) {
				isUsage = ee.code == 2
			}
			assert.Equal(t, tc.usage, isUsage, "usage error (exit 2)?")
		})
	}

	err, _ = userCmd(t, data, pw+"\n", "add", "wang", "--role", "inspector", "--password-stdin")
	require.NoError(t, err)
	err, _ = userCmd(t, data, "new password 123\nnew password 123\n", "passwd", "wang")
	require.NoError(t, err)
	err, _ = userCmd(t, data, "", "disable", "wang")
	require.NoError(t, err)

	err, out = userCmd(t, data, "", "list")
	require.NoError(t, err)
	assert.Regexp(t, `li\s+manager\s+李老师\s+enabled\s+never`, out)
	assert.Regexp(t, `wang\s+inspector\s+disabled`, out)

	err, out = userCmd(t, data, "", "list", "--json")
	require.NoError(t, err)
	var users []userJSON
	require.NoError(t, json.Unmarshal([]byte(out), &users))
	require.Len(t, users, 2)
	assert.Equal(t, "wang", users[1].Username)
	assert.True(t, users[1].Disabled)

	// The database agrees: the new password works for the manager, the
	// disabled inspector cannot log in, and the journal holds no password.
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Login(context.Background(), "li", pw, "127.0.0.1")
	require.NoError(t, err)
	_, err = db.Login(context.Background(), "wang", "new password 123", "127.0.0.1")
	assert.ErrorIs(t, err, sqlite.ErrBadLogin)
	es, err := db.Entries(context.Background(), 0, 1000)
	require.NoError(t, err)
	var actions []string
	for _, e := range es {
		assert.NotContains(t, string(e.Body), "password 123")
		assert.NotContains(t, string(e.Body), pw)
		var b struct{ Actor, Action string }
		require.NoError(t, json.Unmarshal(e.Body, &b))
		if strings.HasPrefix(b.Action, "user_") {
			assert.True(t, strings.HasPrefix(b.Actor, "kioskctl:"), "actor %q", b.Actor)
			actions = append(actions, b.Action)
		}
	}
	assert.Equal(t, []string{"user_add", "user_add", "user_passwd", "user_disable"}, actions)
}

func TestUserViaRun(t *testing.T) {
	code, _, stderr := kioskctl(t, "user", "frob")
	assert.Equal(t, 2, code, stderr)
	code, out, _ := kioskctl(t, "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "user add USERNAME --role ROLE")
}

func assertAs(err error, target **exitError) bool {
	return errors.As(err, target)
}

func TestUserEnableAndUnlock(t *testing.T) {
	data := newData(t)
	const pw = "a long enough password"
	for _, name := range []string{"li", "wang"} {
		err, _ := userCmd(t, data, pw+"\n", "add", name, "--role", "manager", "--password-stdin")
		require.NoError(t, err)
	}
	err, _ := userCmd(t, data, "", "disable", "wang")
	require.NoError(t, err)

	// A new password does not enable a disabled user, and says so.
	err, out := userCmd(t, data, "new password 123\n", "passwd", "wang", "--password-stdin")
	require.NoError(t, err)
	assert.Contains(t, out, "kioskctl user enable wang", "passwd tells how to enable")

	err, out = userCmd(t, data, "", "enable", "WANG")
	require.NoError(t, err)
	assert.Contains(t, out, "user wang enabled")
	err, _ = userCmd(t, data, "", "enable", "nobody")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no user")

	// Locked out by wrong passwords from one address: enable lifts it.
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < sqlite.PairFailures; i++ {
		_, err = db.Login(ctx, "li", "wrong password!", "127.0.0.1")
		require.ErrorIs(t, err, sqlite.ErrBadLogin)
	}
	_, err = db.Login(ctx, "li", pw, "127.0.0.1")
	require.ErrorIs(t, err, sqlite.ErrLoginLocked)
	err, out = userCmd(t, data, "", "enable", "li")
	require.NoError(t, err)
	assert.Contains(t, out, "already enabled; failed logins cleared")
	_, err = db.Login(ctx, "li", pw, "127.0.0.1")
	require.NoError(t, err, "unlocked by user enable")
	_, err = db.Login(ctx, "wang", "new password 123", "127.0.0.1")
	require.NoError(t, err, "the re-enabled user logs in with the new password")

	es, err := db.Entries(ctx, 0, 1000)
	require.NoError(t, err)
	var actions []string
	for _, e := range es {
		var b struct{ Actor, Action string }
		require.NoError(t, json.Unmarshal(e.Body, &b))
		if strings.HasPrefix(b.Action, "user_") {
			assert.True(t, strings.HasPrefix(b.Actor, "kioskctl:"), "actor %q", b.Actor)
			actions = append(actions, b.Action)
		}
	}
	assert.Equal(t, []string{"user_add", "user_add", "user_disable", "user_passwd", "user_enable", "user_enable"}, actions)
}
