package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/qinqing/station/kiosk"
)

// Login errors, kiosk's sentinels. Test with errors.Is.
var (
	ErrBadLogin    = kiosk.ErrBadLogin    // unknown user, disabled user or wrong password
	ErrLoginLocked = kiosk.ErrLoginLocked // too many failed logins; see LoginWindow
	ErrNoSession   = kiosk.ErrNoSession   // unknown, malformed or expired session id
)

// Login rate limits (OWASP Authentication Cheat Sheet, "Login
// Throttling"), counting failed logins within LoginWindow; a refused
// attempt is answered ErrLoginLocked without its password being checked,
// and does not count itself:
//
//   - per account and address, strictly: PairFailures failures of one
//     username from one address since the account's last success from that
//     address (or its last reset, see ResetLoginFailures) lock that pair
//     until the oldest of them is older than LoginWindow (at most 15
//     minutes after the last failure). Others, the manager at their own
//     computer included, are not locked out by someone else's guesses;
//   - per address: AddressFailures failures from one address, whatever the
//     usernames, lock the address the same way;
//   - per account across addresses: from AccountFailures failures since the
//     account's last success or reset, each further attempt waits a short
//     delay after the last failure, AccountDelay doubling with each failure
//     up to AccountDelayMax, rather than a long lockout: guessing from many
//     addresses stays slow, and the owner waits seconds, not 15 minutes.
const (
	PairFailures    = 5
	AddressFailures = 10
	AccountFailures = 20
	AccountDelay    = 2 * time.Second
	AccountDelayMax = time.Minute
	LoginWindow     = 15 * time.Minute
)

// accountDelay is the wait after the last of n account failures (n >=
// AccountFailures): AccountDelay, doubled for each failure past
// AccountFailures, at most AccountDelayMax.
func accountDelay(n int) time.Duration {
	d := AccountDelay
	for i := AccountFailures; i < n && d < AccountDelayMax; i++ {
		d *= 2
	}
	return min(d, AccountDelayMax)
}

// Session defaults: a session ends after SessionIdle without a request
// and SessionMax after login, whichever comes first. Sessions are
// pruned a day after their last request, so a max above 24 h acts as 24 h.
const (
	SessionIdle = kiosk.SessionIdle
	SessionMax  = kiosk.SessionMax
	sessionKeep = 24 * time.Hour
	// lastSeenStep is how stale last_seen may get before a request writes
	// it again, to spare a write per request.
	lastSeenStep = 15 * time.Second
)

// Session is kiosk.Session: a console user's login. Its ID is TokenLen
// characters of base32 (160 random bits); the database keeps only its
// SHA-256.
type Session = kiosk.Session

// loginKey is what the per-account limit counts for a typed username,
// valid or not, bounded in length.
func loginKey(username string) string {
	s := strings.ToLower(strings.TrimSpace(username))
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Login checks username and password, rate-limited per account and
// address, per address and per account (see PairFailures), and on success starts a new session with
// a fresh id (so an id known before login is never promoted), records the
// login time, and returns the session with its ID. Every attempt is
// journaled as an 'audit' entry (login, login_failed or login_locked, with
// the typed username and the address; never the password). Errors:
// ErrBadLogin, ErrLoginLocked (a *LoginLockedError saying the wait), or an
// internal error. An unknown or disabled
// user costs the same password hashing as a known one.
func (db *DB) Login(ctx context.Context, username, password, address string) (Session, error) {
	key := loginKey(username)
	address = strings.TrimSpace(address)
	if len(address) > 64 {
		address = address[:64]
	}
	detail := fmt.Sprintf("user=%s addr=%s", sanitizeDetail(key), sanitizeDetail(address))

	// Reserve the attempt as failed before checking the password, in one
	// write transaction with the count, so that parallel attempts cannot
	// all pass under the limit.
	attempt, wait, err := db.reserveAttempt(ctx, key, address)
	if err != nil {
		return Session{}, err
	}
	if wait > 0 {
		_, _ = argon2id.ComparePasswordAndHash(password, dummyHash())
		if err := db.Audit(ctx, key, "login_locked", detail); err != nil {
			return Session{}, err
		}
		return Session{}, &LoginLockedError{Wait: wait}
	}

	var (
		u    User
		hash string
	)
	name, nerr := NormUsername(username)
	found := false
	if nerr == nil {
		var (
			role, created, lastLog string
		)
		err := db.db.QueryRowContext(ctx, `SELECT id, username, display_name, role, disabled, created_at, last_login, password_hash
			FROM users WHERE username = ?`, name).Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.Disabled, &created, &lastLog, &hash)
		switch {
		case err == nil:
			u.Role = Role(role)
			u.Created, _ = parseTime(created)
			u.LastLogin, _ = parseTime(lastLog)
			found = !u.Disabled
		case !errors.Is(err, sql.ErrNoRows):
			return Session{}, fmt.Errorf("login: read user: %w", err)
		}
	}
	if len(password) > 4*MaxPasswordLen {
		found = false
	}
	if !found {
		hash = dummyHash()
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return Session{}, fmt.Errorf("login: compare: %w", err)
	}
	if !ok || !found {
		if err := db.Audit(ctx, key, "login_failed", detail); err != nil {
			return Session{}, err
		}
		return Session{}, ErrBadLogin
	}

	sid := newToken()
	now := db.now()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return Session{}, fmt.Errorf("login: begin: %w", err)
	}
	defer tx.Rollback()
	steps := []struct {
		step  string
		query string
		args  []any
	}{
		{"mark attempt", `UPDATE login_attempts SET outcome = 'ok' WHERE id = ?`, []any{attempt}},
		{"last login", `UPDATE users SET last_login = ? WHERE id = ?`, []any{fmtTime(now), u.ID}},
		{"prune sessions", `DELETE FROM sessions WHERE last_seen < ?`, []any{fmtTime(now.Add(-sessionKeep))}},
		{"insert session", `INSERT INTO sessions (id_hash, user_id, created_at, last_seen, address) VALUES (?, ?, ?, ?, ?)`,
			[]any{tokenHash(sid), u.ID, fmtTime(now), fmtTime(now), address}},
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return Session{}, fmt.Errorf("login: %s: %w", s.step, err)
		}
	}
	if err := db.auditTx(ctx, tx, u.Username, "login", fmt.Sprintf("role=%s addr=%s", u.Role, sanitizeDetail(address))); err != nil {
		return Session{}, err
	}
	if err := tx.Commit(); err != nil {
		return Session{}, fmt.Errorf("login: commit: %w", err)
	}
	u.LastLogin = now.UTC()
	return Session{ID: sid, User: u, Created: now.UTC(), LastSeen: now.UTC(), Address: address}, nil
}

// LoginLockedError is Login's refusal while a limit holds (see
// PairFailures); errors.Is(err, ErrLoginLocked) holds for it.
type LoginLockedError struct {
	// Wait is how long until the limits that refused the attempt let one
	// more through, at least a second: up to LoginWindow for the account
	// and address or the address, up to AccountDelayMax for the account.
	Wait time.Duration
}

func (e *LoginLockedError) Error() string { return ErrLoginLocked.Error() }
func (e *LoginLockedError) Unwrap() error { return ErrLoginLocked }

// RetryAfter is Wait; the console reads it through an interface.
func (e *LoginLockedError) RetryAfter() time.Duration { return e.Wait }

// reserveAttempt prunes old attempts, counts recent failures for key and
// address (see PairFailures) and records this attempt: as 'locked' (and
// returns the wait until the limits let one more through, at least a
// second) when a limit is reached, else as 'bad' (wait 0) until Login
// marks it 'ok'. An 'ok' row with address "" is a reset
// (ResetLoginFailures).
func (db *DB) reserveAttempt(ctx context.Context, key, address string) (id int64, wait time.Duration, err error) {
	now := db.now()
	since := fmtTime(now.Add(-LoginWindow))
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("login: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE at < ?`, fmtTime(now.Add(-24*time.Hour))); err != nil {
		return 0, 0, fmt.Errorf("login: prune attempts: %w", err)
	}
	var (
		byPair, byAccount, byAddress int
		lastBad                      string
	)
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM login_attempts
		WHERE username = ? AND address = ? AND outcome = 'bad' AND at >= ?
		  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = ? AND outcome = 'ok' AND address IN (?, '')), '')`,
		key, address, since, key, address).Scan(&byPair)
	if err != nil {
		return 0, 0, fmt.Errorf("login: count account and address failures: %w", err)
	}
	err = tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(MAX(at), '') FROM login_attempts
		WHERE username = ? AND outcome = 'bad' AND at >= ?
		  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = ? AND outcome = 'ok'), '')`,
		key, since, key).Scan(&byAccount, &lastBad)
	if err != nil {
		return 0, 0, fmt.Errorf("login: count account failures: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_attempts WHERE address = ? AND outcome = 'bad' AND at >= ?`,
		address, since).Scan(&byAddress); err != nil {
		return 0, 0, fmt.Errorf("login: count address failures: %w", err)
	}
	// A window limit holds until enough of the counted failures are older
	// than LoginWindow: the (n-limit+1)-th oldest one sets the wait.
	windowWait := func(step, q string, n, limit int, args ...any) error {
		if n < limit {
			return nil
		}
		var at string
		if err := tx.QueryRowContext(ctx, q+` ORDER BY at LIMIT 1 OFFSET ?`, append(args, n-limit)...).Scan(&at); err != nil {
			return fmt.Errorf("login: %s: %w", step, err)
		}
		t, err := parseTime(at)
		if err != nil {
			return fmt.Errorf("login: %s: %w", step, err)
		}
		// Counted at the window's very edge: still locked now.
		wait = max(wait, t.Add(LoginWindow).Sub(now), time.Nanosecond)
		return nil
	}
	if err := windowWait("oldest account and address failure", `SELECT at FROM login_attempts
		WHERE username = ? AND address = ? AND outcome = 'bad' AND at >= ?
		  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = ? AND outcome = 'ok' AND address IN (?, '')), '')`,
		byPair, PairFailures, key, address, since, key, address); err != nil {
		return 0, 0, err
	}
	if err := windowWait("oldest address failure", `SELECT at FROM login_attempts WHERE address = ? AND outcome = 'bad' AND at >= ?`,
		byAddress, AddressFailures, address, since); err != nil {
		return 0, 0, err
	}
	if byAccount >= AccountFailures {
		last, err := parseTime(lastBad)
		if err != nil {
			return 0, 0, fmt.Errorf("login: last failure: %w", err)
		}
		wait = max(wait, last.Add(accountDelay(byAccount)).Sub(now))
	}
	outcome := "bad"
	if wait > 0 {
		outcome = "locked"
		wait = max(wait, time.Second)
	} else {
		wait = 0
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (at, username, address, outcome) VALUES (?, ?, ?, ?)`,
		fmtTime(now), key, address, outcome)
	if err != nil {
		return 0, 0, fmt.Errorf("login: record attempt: %w", err)
	}
	id, _ = res.LastInsertId()
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("login: commit attempt: %w", err)
	}
	return id, wait, nil
}

// resetLoginFailures restarts the account's failure counts (per account
// and per account and address) inside tx, as a successful login would:
// an 'ok' attempt with no address. Per-address counts are kept.
func (db *DB) resetLoginFailures(ctx context.Context, tx *sql.Tx, username string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (at, username, address, outcome) VALUES (?, ?, '', 'ok')`,
		fmtTime(db.now()), loginKey(username)); err != nil {
		return fmt.Errorf("reset login failures: %w", err)
	}
	return nil
}

// sanitizeDetail keeps audit details on one line and free of '='-style
// confusion: spaces, controls and '=' become '_'.
func sanitizeDetail(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '=' || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

// SessionByID returns the session whose id (from the cookie) is given, and
// notes the request in its last-seen time. idle and max are the session's
// idle timeout and maximum age; zero means SessionIdle and SessionMax. An
// expired session is deleted. ErrNoSession when the id is malformed,
// unknown or expired or the user is disabled.
func (db *DB) SessionByID(ctx context.Context, id string, idle, max time.Duration) (Session, error) {
	if idle <= 0 {
		idle = SessionIdle
	}
	if max <= 0 {
		max = SessionMax
	}
	if !validToken(id) {
		return Session{}, ErrNoSession
	}
	h := tokenHash(id)
	var (
		s                      Session
		role, created, lastLog string
		sCreated, sSeen        string
	)
	err := db.db.QueryRowContext(ctx, `SELECT u.id, u.username, u.display_name, u.role, u.disabled, u.created_at, u.last_login,
			s.created_at, s.last_seen, s.address
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, h).
		Scan(&s.User.ID, &s.User.Username, &s.User.DisplayName, &role, &s.User.Disabled, &created, &lastLog, &sCreated, &sSeen, &s.Address)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNoSession
	} else if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	s.User.Role = Role(role)
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&s.User.Created, created}, {&s.User.LastLogin, lastLog}, {&s.Created, sCreated}, {&s.LastSeen, sSeen}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return Session{}, fmt.Errorf("session: %w", err)
		}
	}
	now := db.now()
	if s.User.Disabled || now.Sub(s.LastSeen) > idle || now.Sub(s.Created) > max {
		if _, err := db.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, h); err != nil {
			return Session{}, fmt.Errorf("session: delete expired: %w", err)
		}
		return Session{}, ErrNoSession
	}
	if now.Sub(s.LastSeen) >= lastSeenStep {
		if _, err := db.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, fmtTime(now), h); err != nil {
			return Session{}, fmt.Errorf("session: last seen: %w", err)
		}
		s.LastSeen = now.UTC()
	}
	return s, nil
}

// Logout ends the session with the given id, journaled (action logout,
// actor the session's user). An unknown id is not an error.
func (db *DB) Logout(ctx context.Context, id string) error {
	if !validToken(id) {
		return nil
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("logout: begin: %w", err)
	}
	defer tx.Rollback()
	var username string
	err = tx.QueryRowContext(ctx, `SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, tokenHash(id)).Scan(&username)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, tokenHash(id)); err != nil {
		return fmt.Errorf("logout: delete: %w", err)
	}
	if err := db.auditTx(ctx, tx, username, "logout", ""); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("logout: commit: %w", err)
	}
	return nil
}
