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
	const bad = "wrong password!"
	tests := []struct {
		name string
		// attempt returns the username and address of the i-th bad try.
		attempt func(i int) (string, string)
		limit   int
		// then is the good login that is refused while locked.
		user, addr string
	}{
		{"per account and address", func(i int) (string, string) { return "li", "192.0.2.1" }, sqlite.PairFailures, "li", "192.0.2.1"},
		{"per address", func(i int) (string, string) { return fmt.Sprintf("nobody%d", i), "192.0.2.9" }, sqlite.AddressFailures, "li", "192.0.2.9"},
		{"unknown account is limited the same", func(i int) (string, string) { return "ghost", "192.0.2.1" }, sqlite.PairFailures, "ghost", "192.0.2.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, clk := newDB(t)
			addUser(t, db, "li", sqlite.RoleManager)
			for i := 0; i < tc.limit; i++ {
				clk.Set(t0.Add(time.Duration(i) * time.Minute))
				u, a := tc.attempt(i)
				_, err := db.Login(ctx, u, bad, a)
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

	t.Run("guesses from elsewhere do not lock the owner out", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		for i := 0; i < sqlite.PairFailures; i++ {
			clk.Set(t0.Add(time.Duration(i) * time.Second))
			_, err := db.Login(ctx, "li", bad, "203.0.113.7")
			require.ErrorIs(t, err, sqlite.ErrBadLogin, "try %d", i)
		}
		_, err := db.Login(ctx, "li", goodPassword, "203.0.113.7")
		require.ErrorIs(t, err, sqlite.ErrLoginLocked, "the guessing address is locked")
		_, err = db.Login(ctx, "li", goodPassword, "192.0.2.1")
		assert.NoError(t, err, "the owner at another address logs in")
	})

	t.Run("per account across addresses: a short growing delay", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		at := t0
		for i := 0; i < sqlite.AccountFailures; i++ {
			at = t0.Add(time.Duration(i) * time.Second)
			clk.Set(at)
			_, err := db.Login(ctx, "li", bad, fmt.Sprintf("192.0.2.%d", i))
			require.ErrorIs(t, err, sqlite.ErrBadLogin, "try %d: one guess per address is under every other limit", i)
		}
		// From the threshold on, each failure is followed by a delay that
		// doubles: 2 s, then 4 s, then 8 s...
		for n, delay := range []time.Duration{sqlite.AccountDelay, 2 * sqlite.AccountDelay, 4 * sqlite.AccountDelay} {
			clk.Set(at.Add(delay - time.Millisecond))
			_, err := db.Login(ctx, "li", goodPassword, "198.51.100.1")
			require.ErrorIs(t, err, sqlite.ErrLoginLocked, "failure %d: refused before %v", sqlite.AccountFailures+n, delay)
			at = at.Add(delay)
			clk.Set(at)
			_, err = db.Login(ctx, "li", bad, fmt.Sprintf("198.51.100.%d", 10+n))
			require.ErrorIs(t, err, sqlite.ErrBadLogin, "failure %d: checked again after %v", sqlite.AccountFailures+n, delay)
		}
		clk.Set(at.Add(8 * sqlite.AccountDelay))
		_, err := db.Login(ctx, "li", goodPassword, "198.51.100.1")
		require.NoError(t, err, "seconds later, not 15 minutes, the owner logs in")
	})

	t.Run("success resets the account count", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		for i := 0; i < 2*sqlite.PairFailures; i++ {
			clk.Set(t0.Add(time.Duration(i) * time.Second))
			pw := bad
			if i%(sqlite.PairFailures-1) == sqlite.PairFailures-2 {
				pw = goodPassword
			}
			_, err := db.Login(ctx, "li", pw, "192.0.2.1")
			assert.NotErrorIs(t, err, sqlite.ErrLoginLocked, "try %d", i)
		}
	})

	for _, reset := range []struct {
		name string
		do   func(db *sqlite.DB) error
	}{
		{"passwd", func(db *sqlite.DB) error { return db.SetPassword(ctx, "kioskctl:root", "li", goodPassword) }},
		{"enable", func(db *sqlite.DB) error { return db.EnableUser(ctx, "kioskctl:root", "li") }},
	} {
		t.Run(reset.name+" clears the account's failures", func(t *testing.T) {
			db, clk := newDB(t)
			addUser(t, db, "li", sqlite.RoleManager)
			for i := 0; i < sqlite.AccountFailures; i++ {
				clk.Set(t0.Add(time.Duration(i) * time.Second))
				addr := "192.0.2.1"
				if i >= sqlite.PairFailures {
					addr = fmt.Sprintf("198.51.100.%d", i)
				}
				_, err := db.Login(ctx, "li", bad, addr)
				require.ErrorIs(t, err, sqlite.ErrBadLogin, "try %d", i)
			}
			_, err := db.Login(ctx, "li", goodPassword, "192.0.2.1")
			require.ErrorIs(t, err, sqlite.ErrLoginLocked, "locked per account and address, and delayed per account")
			clk.Set(clk.Now().Add(time.Millisecond))
			require.NoError(t, reset.do(db))
			clk.Set(clk.Now().Add(time.Millisecond))
			_, err = db.Login(ctx, "li", goodPassword, "192.0.2.1")
			assert.NoError(t, err, "the failures are cleared")
		})
	}
}

// TestLoginLockedWait checks that a refusal says the real wait of the
// limit that holds: the account and address or the address until the
// counted failure leaves LoginWindow, the account its short delay.
func TestLoginLockedWait(t *testing.T) {
	ctx := context.Background()
	const bad = "wrong password!"
	wait := func(t *testing.T, err error) time.Duration {
		t.Helper()
		require.ErrorIs(t, err, sqlite.ErrLoginLocked)
		var le *sqlite.LoginLockedError
		require.ErrorAs(t, err, &le)
		return le.Wait
	}

	t.Run("per account and address", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		for i := 0; i < sqlite.PairFailures+2; i++ {
			// The last two fail as locked; they do not count.
			clk.Set(t0.Add(time.Duration(i) * time.Minute))
			_, _ = db.Login(ctx, "li", bad, "192.0.2.1")
		}
		clk.Set(t0.Add(10 * time.Minute))
		_, err := db.Login(ctx, "li", goodPassword, "192.0.2.1")
		assert.Equal(t, 5*time.Minute, wait(t, err), "the first failure (t0) leaves the window at t0+15 min")
	})

	t.Run("per address", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		for i := 0; i < sqlite.AddressFailures; i++ {
			clk.Set(t0.Add(time.Duration(i) * time.Second))
			_, err := db.Login(ctx, fmt.Sprintf("nobody%d", i), bad, "192.0.2.9")
			require.ErrorIs(t, err, sqlite.ErrBadLogin)
		}
		clk.Set(t0.Add(time.Minute))
		_, err := db.Login(ctx, "li", goodPassword, "192.0.2.9")
		assert.Equal(t, sqlite.LoginWindow-time.Minute, wait(t, err))
	})

	t.Run("per account: seconds", func(t *testing.T) {
		db, clk := newDB(t)
		addUser(t, db, "li", sqlite.RoleManager)
		at := t0
		for i := 0; i < sqlite.AccountFailures+1; i++ {
			at = t0.Add(time.Duration(i) * 3 * time.Second) // past the 2 s delay
			clk.Set(at)
			_, err := db.Login(ctx, "li", bad, fmt.Sprintf("192.0.2.%d", i))
			require.ErrorIs(t, err, sqlite.ErrBadLogin, "try %d", i)
		}
		clk.Set(at.Add(time.Second))
		_, err := db.Login(ctx, "li", goodPassword, "198.51.100.1")
		assert.Equal(t, 2*sqlite.AccountDelay-time.Second, wait(t, err), "21 failures: a 4 s delay, 1 s gone")
		clk.Set(at.Add(2*sqlite.AccountDelay - time.Millisecond))
		_, err = db.Login(ctx, "li", goodPassword, "198.51.100.1")
		assert.Equal(t, time.Second, wait(t, err), "at least a second")
	})
}
