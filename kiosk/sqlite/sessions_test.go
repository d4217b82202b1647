package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/sqlite"
)

func addUser(t *testing.T, db *sqlite.DB, name string, role sqlite.Role) {
	t.Helper()
	_, err := db.AddUser(context.Background(), "test", sqlite.NewUser{Username: name, Role: role, Password: goodPassword})
	require.NoError(t, err)
}

func TestLoginSession(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	addUser(t, db, "li", sqlite.RolePrincipal)

	s1, err := db.Login(ctx, "LI", goodPassword, "192.0.2.1")
	require.NoError(t, err)
	assert.Len(t, s1.ID, sqlite.TokenLen)
	assert.Equal(t, "li", s1.User.Username)
	s2, err := db.Login(ctx, "li", goodPassword, "192.0.2.1")
	require.NoError(t, err)
	assert.NotEqual(t, s1.ID, s2.ID, "every login gets a fresh session id")

	got, err := db.SessionByID(ctx, s1.ID, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, sqlite.RolePrincipal, got.User.Role)
	assert.Equal(t, t0, got.User.LastLogin)

	var n int
	require.NoError(t, rawDB(t, db.Path()).QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = ?`, s1.ID).Scan(&n))
	assert.Zero(t, n, "the session id itself is not stored")

	_, err = db.SessionByID(ctx, "not-a-token", 0, 0)
	assert.ErrorIs(t, err, sqlite.ErrNoSession)

	// Idle timeout: a request 29 min later keeps it alive, 31 min after
	// that it is gone.
	clk.Set(t0.Add(29 * time.Minute))
	_, err = db.SessionByID(ctx, s1.ID, 0, 0)
	require.NoError(t, err)
	clk.Set(t0.Add(29*time.Minute + sqlite.SessionIdle + time.Second))
	_, err = db.SessionByID(ctx, s1.ID, 0, 0)
	assert.ErrorIs(t, err, sqlite.ErrNoSession, "idle timeout")

	// Absolute timeout, even when used all the time.
	clk.Set(t0)
	s3, err := db.Login(ctx, "li", goodPassword, "192.0.2.1")
	require.NoError(t, err)
	for at := time.Duration(0); at < sqlite.SessionMax; at += 20 * time.Minute {
		clk.Set(t0.Add(at))
		_, err = db.SessionByID(ctx, s3.ID, 0, 0)
		require.NoError(t, err, "alive at %v", at)
	}
	clk.Set(t0.Add(sqlite.SessionMax + time.Second))
	_, err = db.SessionByID(ctx, s3.ID, 0, time.Duration(0))
	assert.ErrorIs(t, err, sqlite.ErrNoSession, "absolute timeout")

	// Logout.
	s4, err := db.Login(ctx, "li", goodPassword, "192.0.2.1")
	require.NoError(t, err)
	require.NoError(t, db.Logout(ctx, s4.ID))
	_, err = db.SessionByID(ctx, s4.ID, 0, 0)
	assert.ErrorIs(t, err, sqlite.ErrNoSession)
	require.NoError(t, db.Logout(ctx, s4.ID), "a second logout is no error")

	acts := auditActions(t, db, goodPassword, s1.ID, s2.ID, s3.ID, s4.ID)
	assert.Contains(t, acts, "login")
	assert.Contains(t, acts, "logout")
}

func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// attempt returns the username and address of the i-th bad try.
		attempt func(i int) (string, string)
		limit   int
		// then is the good login that is refused while locked.
		user, addr string
	}{
		{"per account", func(i int) (string, string) { return "li", fmt.Sprintf("192.0.2.%d", i) }, sqlite.AccountFailures, "li", "198.51.100.1"},
		{"per address", func(i int) (string, string) { return fmt.Sprintf("nobody%d", i), "192.0.2.9" }, sqlite.AddressFailures, "li", "192.0.2.9"},
		{"unknown account is limited the same", func(i int) (string, string) { return "ghost", fmt.Sprintf("192.0.2.%d", i) }, sqlite.AccountFailures, "ghost", "198.51.100.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, clk := newDB(t)
			addUser(t, db, "li", sqlite.RoleManager)
			for i := 0; i < tc.limit; i++ {
				clk.Set(t0.Add(time.Duration(i) * time.Minute))
				u, a := tc.attempt(i)
				_, err := db.Login(ctx, u, "wrong password!", a)
				require.ErrorIs(t, err, sqlite.ErrBadLogin, "try %d", i)
			}
			last := t0.Add(time.Duration(tc.limit-1) * time.Minute)
			clk.Set(last.Add(time.Minute))
			_, err := db.Login(ctx, tc.user, goodPassword, tc.addr)
			require.ErrorIs(t, err, sqlite.ErrLoginLocked, "locked even with the right password")
			// Locked tries do not extend the lock: once the first failure
			// is older than the window, one more try is allowed.
			clk.Set(t0.Add(sqlite.LoginWindow + time.Second))
			_, err = db.Login(ctx, tc.user, goodPassword, tc.addr)
			if tc.user == "ghost" {
				assert.ErrorIs(t, err, sqlite.ErrBadLogin, "unlocked: checked again")
			} else {
				assert.NoError(t, err, "unlocked after the window")
			}
		})
	}

	t.Run("success resets the account count", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		for i := 0; i < 2*sqlite.AccountFailures; i++ {
			clk.Set(t0.Add(time.Duration(i) * time.Second))
			pw := "wrong password!"
			if i%(sqlite.AccountFailures-1) == sqlite.AccountFailures-2 {
				pw = goodPassword
			}
			_, err := db.Login(ctx, "li", pw, fmt.Sprintf("192.0.2.%d", i))
			assert.NotErrorIs(t, err, sqlite.ErrLoginLocked, "try %d", i)
		}
	})
}
