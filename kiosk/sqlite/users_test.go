package sqlite_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

const goodPassword = "correct horse battery"

// auditActions returns the actions of the audit entries, in order, and
// fails if any entry's body holds one of secrets.
func auditActions(t *testing.T, db *sqlite.DB, secrets ...string) []string {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		if e.Kind != sqlite.KindAudit {
			continue
		}
		for _, s := range secrets {
			assert.NotContains(t, string(e.Body), s, "audit entry %d must not hold a secret", e.Seq)
		}
		var b struct{ Action string }
		require.NoError(t, json.Unmarshal(e.Body, &b))
		out = append(out, b.Action)
	}
	return out
}

func TestAddUser(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	u, err := db.AddUser(ctx, "kioskctl:root", sqlite.NewUser{Username: " Li.Hua ", DisplayName: "李华", Role: "Manager", Password: goodPassword})
	require.NoError(t, err)
	assert.Equal(t, "li.hua", u.Username, "usernames are lowercased")
	assert.Equal(t, sqlite.RoleManager, u.Role)
	assert.Equal(t, "李华", u.Name())

	tests := []struct {
		name string
		n    sqlite.NewUser
		code string
	}{
		{"taken", sqlite.NewUser{Username: "LI.HUA", Role: "inspector", Password: goodPassword}, kiosk.ECONFLICT},
		{"short password", sqlite.NewUser{Username: "wang", Role: "inspector", Password: "123456789"}, kiosk.EINVALID},
		{"bad role", sqlite.NewUser{Username: "wang", Role: "janitor", Password: goodPassword}, kiosk.EINVALID},
		{"bad username", sqlite.NewUser{Username: "王", Role: "inspector", Password: goodPassword}, kiosk.EINVALID},
		{"username starting with a dot", sqlite.NewUser{Username: ".wang", Role: "inspector", Password: goodPassword}, kiosk.EINVALID},
		{"two-line display name", sqlite.NewUser{Username: "wang", DisplayName: "a\nb", Role: "inspector", Password: goodPassword}, kiosk.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.AddUser(ctx, "test", tc.n)
			assert.Equal(t, tc.code, kiosk.ErrorCode(err), "error %v", err)
		})
	}
	users, err := db.Users(ctx)
	require.NoError(t, err)
	require.Len(t, users, 1, "refused users were not written")
	assert.Equal(t, []string{"user_add"}, auditActions(t, db, goodPassword))
	var hash string
	require.NoError(t, rawDB(t, db.Path()).QueryRow(`SELECT password_hash FROM users`).Scan(&hash))
	assert.True(t, strings.HasPrefix(hash, "$argon2id$v=19$"), "argon2id PHC string, got %q", hash)
}

func TestDisableAndPasswd(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, err := db.AddUser(ctx, "t", sqlite.NewUser{Username: "boss", Role: sqlite.RoleManager, Password: goodPassword})
	require.NoError(t, err)
	err = db.DisableUser(ctx, "t", "boss")
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "the last manager cannot be disabled")

	_, err = db.AddUser(ctx, "t", sqlite.NewUser{Username: "insp", Role: sqlite.RoleInspector, Password: goodPassword})
	require.NoError(t, err)
	s, err := db.Login(ctx, "insp", goodPassword, "192.0.2.1")
	require.NoError(t, err)

	require.NoError(t, db.SetPassword(ctx, "t", "insp", "another long password"))
	_, err = db.SessionByID(ctx, s.ID, 0, 0)
	assert.ErrorIs(t, err, sqlite.ErrNoSession, "a password change ends the sessions")
	_, err = db.Login(ctx, "insp", goodPassword, "192.0.2.1")
	assert.ErrorIs(t, err, sqlite.ErrBadLogin, "the old password no longer works")
	s, err = db.Login(ctx, "insp", "another long password", "192.0.2.1")
	require.NoError(t, err)

	require.NoError(t, db.DisableUser(ctx, "t", "insp"))
	_, err = db.SessionByID(ctx, s.ID, 0, 0)
	assert.ErrorIs(t, err, sqlite.ErrNoSession, "disabling ends the sessions")
	_, err = db.Login(ctx, "insp", "another long password", "192.0.2.1")
	assert.ErrorIs(t, err, sqlite.ErrBadLogin, "a disabled user cannot log in")
	u, err := db.UserByName(ctx, "INSP")
	require.NoError(t, err)
	assert.True(t, u.Disabled)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.DisableUser(ctx, "t", "nobody")))
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(db.SetPassword(ctx, "t", "boss", "short")))

	require.NoError(t, db.SetPassword(ctx, "t", "insp", "a third long password"))
	_, err = db.Login(ctx, "insp", "a third long password", "192.0.2.1")
	assert.ErrorIs(t, err, sqlite.ErrBadLogin, "a new password does not enable a disabled user")
	require.NoError(t, db.EnableUser(ctx, "t", "INSP"))
	u, err = db.UserByName(ctx, "insp")
	require.NoError(t, err)
	assert.False(t, u.Disabled, "enabled again")
	_, err = db.Login(ctx, "insp", "a third long password", "192.0.2.1")
	assert.NoError(t, err, "an enabled user logs in")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.EnableUser(ctx, "t", "nobody")))

	acts := auditActions(t, db, goodPassword, "another long password", "a third long password", s.ID)
	assert.Contains(t, acts, "user_passwd")
	assert.Contains(t, acts, "user_disable")
	assert.Contains(t, acts, "user_enable")
	assert.Contains(t, acts, "login_failed")
}

func TestSetupToken(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	tok, created, err := db.SetupToken(ctx)
	require.NoError(t, err)
	require.True(t, created)
	assert.Len(t, tok, sqlite.TokenLen)
	tok2, created, err := db.SetupToken(ctx)
	require.NoError(t, err)
	require.True(t, created, "each start without a manager issues a new token")
	assert.NotEqual(t, tok, tok2)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(db.CheckSetupToken(ctx, tok)), "the earlier token was replaced")
	require.NoError(t, db.CheckSetupToken(ctx, tok2))

	_, err = db.ConsumeSetupToken(ctx, tok2, sqlite.NewUser{Username: "boss", Password: "short"})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	require.NoError(t, db.CheckSetupToken(ctx, tok2), "a refused form does not use the token up")

	u, err := db.ConsumeSetupToken(ctx, tok2, sqlite.NewUser{Username: "boss", Role: sqlite.RoleInspector, Password: goodPassword})
	require.NoError(t, err)
	assert.Equal(t, sqlite.RoleManager, u.Role, "the setup token makes a manager")
	_, err = db.ConsumeSetupToken(ctx, tok2, sqlite.NewUser{Username: "boss2", Password: goodPassword})
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "a token works once")

	tok3, created, err := db.SetupToken(ctx)
	require.NoError(t, err)
	assert.False(t, created, "no token once a manager exists")
	assert.Empty(t, tok3)
	assert.NotContains(t, strings.Join(auditActions(t, db, tok, tok2), ","), "secret")

	// Expiry.
	db2, clk2 := newDB(t)
	tok, _, err = db2.SetupToken(ctx)
	require.NoError(t, err)
	clk2.Set(t0.Add(sqlite.SetupTokenTTL + time.Second))
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(db2.CheckSetupToken(ctx, tok)))
	_ = clk
}
