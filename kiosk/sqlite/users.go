package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"

	"github.com/qinqing/station/kiosk"
)

// Role is kiosk.Role; see there for what each role may do.
type Role = kiosk.Role

// The roles, most powerful first in Roles; see kiosk.Role.
const (
	RoleManager    = kiosk.RoleManager
	RolePrincipal  = kiosk.RolePrincipal
	RoleInspector  = kiosk.RoleInspector
	RoleTechnician = kiosk.RoleTechnician
)

// Roles is kiosk.Roles.
var Roles = kiosk.Roles

// ParseRole is kiosk.ParseRole.
func ParseRole(s string) (Role, error) { return kiosk.ParseRole(s) }

// MinPasswordLen and MaxPasswordLen are kiosk's (characters).
const (
	MinPasswordLen = kiosk.MinPasswordLen
	MaxPasswordLen = kiosk.MaxPasswordLen
)

// passwordParams are the argon2id parameters for new hashes: 19 MiB, two
// passes, one lane (the OWASP Password Storage Cheat Sheet's first
// argon2id configuration), affordable on a Raspberry Pi. Stored hashes
// carry their own parameters, so these may be raised later.
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// dummyHash is compared against when a login names an unknown or disabled
// user, so that such a login costs the same time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := argon2id.CreateHash("qinqing-station-dummy-password", passwordParams)
	if err != nil {
		panic(fmt.Sprintf("sqlite: dummy password hash: %v", err))
	}
	return h
})

// User is kiosk.User: a console user as stored, without the password hash.
type User = kiosk.User

// NewUser is kiosk.NewUser: what AddUser needs.
type NewUser = kiosk.NewUser

// NormUsername lowercases and trims a username and checks its shape:
// 2..32 characters of a-z, 0-9, '.', '_' and '-', starting with a letter
// or digit. EINVALID *kiosk.Error otherwise.
func NormUsername(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 2 || len(s) > 32 {
		return "", kiosk.Errorf(kiosk.EINVALID, "a username has 2 to 32 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && strings.IndexByte("._-", c) >= 0)
		if !ok {
			return "", kiosk.Errorf(kiosk.EINVALID, "a username has only a-z, 0-9, '.', '_' and '-' and starts with a letter or digit")
		}
	}
	return s, nil
}

// CheckPassword returns an EINVALID *kiosk.Error when pw is shorter than
// MinPasswordLen or longer than MaxPasswordLen characters, or is not UTF-8.
func CheckPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return kiosk.Errorf(kiosk.EINVALID, "the password is not valid UTF-8")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen {
		return kiosk.Errorf(kiosk.EINVALID, "the password needs at least %d characters", MinPasswordLen)
	}
	if n > MaxPasswordLen {
		return kiosk.Errorf(kiosk.EINVALID, "the password has more than %d characters", MaxPasswordLen)
	}
	return nil
}

func hashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	h, err := argon2id.CreateHash(pw, passwordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// checkNewUser normalises n and checks its fields; EINVALID *kiosk.Error.
func checkNewUser(n *NewUser) error {
	var err error
	if n.Username, err = NormUsername(n.Username); err != nil {
		return err
	}
	if n.Role, err = ParseRole(string(n.Role)); err != nil {
		return err
	}
	n.DisplayName = strings.TrimSpace(n.DisplayName)
	if utf8.RuneCountInString(n.DisplayName) > 64 || strings.ContainsAny(n.DisplayName, "\r\n\t") {
		return kiosk.Errorf(kiosk.EINVALID, "a display name has at most 64 characters on one line")
	}
	return CheckPassword(n.Password)
}

// AddUser creates a user and journals it as an 'audit' entry (action
// user_add, by actor; the password is never journaled). Errors
// (*kiosk.Error): EINVALID for a bad username, role, display name or
// password; ECONFLICT when the username is taken.
func (db *DB) AddUser(ctx context.Context, actor string, n NewUser) (User, error) {
	if err := checkNewUser(&n); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(n.Password)
	if err != nil {
		return User{}, err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, fmt.Errorf("add user: begin: %w", err)
	}
	defer tx.Rollback()
	u, err := db.insertUser(ctx, tx, actor, n, hash)
	if err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, fmt.Errorf("add user: commit: %w", err)
	}
	return u, nil
}

func (db *DB) insertUser(ctx context.Context, tx *sql.Tx, actor string, n NewUser, hash string) (User, error) {
	now := db.now()
	res, err := tx.ExecContext(ctx, `INSERT INTO users (username, display_name, role, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, n.Username, n.DisplayName, string(n.Role), hash, fmtTime(now), fmtTime(now))
	if isUniqueViolation(err) {
		return User{}, kiosk.Errorf(kiosk.ECONFLICT, "the username %q is taken", n.Username)
	} else if err != nil {
		return User{}, fmt.Errorf("add user: insert: %w", err)
	}
	id, _ := res.LastInsertId()
	if err := db.auditTx(ctx, tx, actor, "user_add", fmt.Sprintf("user=%s role=%s", n.Username, n.Role)); err != nil {
		return User{}, err
	}
	return User{ID: id, Username: n.Username, DisplayName: n.DisplayName, Role: n.Role, Created: now.UTC().Round(0)}, nil
}

// auditTx appends an 'audit' entry inside tx (see Audit).
func (db *DB) auditTx(ctx context.Context, tx *sql.Tx, actor, action, detail string) error {
	body, err := auditBody(actor, action, detail)
	if err != nil {
		return err
	}
	_, err = db.appendTx(ctx, tx, KindAudit, "", body)
	return err
}

const userCols = `id, username, display_name, role, disabled, created_at, last_login`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var (
		u                User
		role             string
		created, lastLog string
	)
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.Disabled, &created, &lastLog); err != nil {
		return User{}, err
	}
	u.Role = Role(role)
	var err error
	if u.Created, err = parseTime(created); err != nil {
		return User{}, err
	}
	if u.LastLogin, err = parseTime(lastLog); err != nil {
		return User{}, err
	}
	return u, nil
}

// UserByName returns the user (enabled or not); ENOTFOUND *kiosk.Error if
// there is none.
func (db *DB) UserByName(ctx context.Context, username string) (User, error) {
	name, err := NormUsername(username)
	if err != nil {
		return User{}, kiosk.Errorf(kiosk.ENOTFOUND, "no user %q", username)
	}
	u, err := scanUser(db.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, kiosk.Errorf(kiosk.ENOTFOUND, "no user %q", name)
	} else if err != nil {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}

// Users lists every user, disabled ones included, ordered by username.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: scan: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return out, nil
}

// SetPassword replaces the user's password, ends every session of the
// user and clears the account's failed logins (see PairFailures: a locked
// out user can log in at once with the new password), journaled (action
// user_passwd). A disabled user stays disabled (EnableUser). Errors
// (*kiosk.Error): ENOTFOUND, EINVALID for a bad password.
func (db *DB) SetPassword(ctx context.Context, actor, username, password string) error {
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return db.changeUser(ctx, actor, username, "user_passwd", `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash)
}

// DisableUser disables the user and ends every session of the user,
// journaled (action user_disable). A user is never deleted, so that the
// audit log keeps naming someone. Disabling the last enabled manager is
// refused (ECONFLICT): nobody could manage the console any more. ENOTFOUND
// for an unknown user; disabling a disabled user changes nothing.
func (db *DB) DisableUser(ctx context.Context, actor, username string) error {
	return db.changeUser(ctx, actor, username, "user_disable", `UPDATE users SET disabled = 1, updated_at = ? WHERE id = ?`)
}

// EnableUser enables a disabled user again and clears the account's failed
// logins (see PairFailures), journaled (action user_enable); on an enabled
// user it only clears the failures, journaled the same way, so that it
// also lifts a login lock. ENOTFOUND for an unknown user.
func (db *DB) EnableUser(ctx context.Context, actor, username string) error {
	return db.changeUser(ctx, actor, username, "user_enable", `UPDATE users SET disabled = 0, updated_at = ? WHERE id = ?`)
}

// changeUser runs update (whose arguments are extra..., updated_at, id) on
// the user, deletes the user's sessions and journals action, in one
// transaction.
func (db *DB) changeUser(ctx context.Context, actor, username, action, update string, extra ...any) error {
	name, err := NormUsername(username)
	if err != nil {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no user %q", username)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", action, err)
	}
	defer tx.Rollback()
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no user %q", name)
	} else if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if action == "user_disable" {
		if u.Disabled {
			return nil
		}
		if u.Role == RoleManager {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'manager' AND disabled = 0 AND id <> ?`, u.ID).Scan(&others); err != nil {
				return fmt.Errorf("%s: count managers: %w", action, err)
			}
			if others == 0 {
				return kiosk.Errorf(kiosk.ECONFLICT, "%s is the last enabled manager", name)
			}
		}
	}
	args := append(extra, fmtTime(db.now()), u.ID)
	if _, err := tx.ExecContext(ctx, update, args...); err != nil {
		return fmt.Errorf("%s: update: %w", action, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
		return fmt.Errorf("%s: end sessions: %w", action, err)
	}
	if action == "user_passwd" || action == "user_enable" {
		if err := db.resetLoginFailures(ctx, tx, name); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
	}
	if err := db.auditTx(ctx, tx, actor, action, "user="+name); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", action, err)
	}
	return nil
}

// HasManager reports whether an enabled manager exists.
func (db *DB) HasManager(ctx context.Context) (bool, error) {
	return hasManager(ctx, db.db)
}

func hasManager(ctx context.Context, q querier) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'manager' AND disabled = 0`).Scan(&n); err != nil {
		return false, fmt.Errorf("has manager: %w", err)
	}
	return n > 0, nil
}

// SetupTokenTTL is how long a setup token stays valid after it was issued.
const SetupTokenTTL = 24 * time.Hour

// SetupToken issues the one-time token with which the first manager is
// created in the console (/console/setup/{token}), for kioskd to print at
// start. When no enabled manager exists it makes a new token (TokenLen
// characters, see TokenBytes), replacing any earlier one, and returns it
// with created true; only its hash is stored, so each start prints a fresh
// one. When a manager exists it returns "", false and removes any stale
// token. Issuing is journaled (action setup_token, without the token).
func (db *DB) SetupToken(ctx context.Context) (token string, created bool, err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return "", false, fmt.Errorf("setup token: begin: %w", err)
	}
	defer tx.Rollback()
	has, err := hasManager(ctx, tx)
	if err != nil {
		return "", false, err
	}
	if has {
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_token`); err != nil {
			return "", false, fmt.Errorf("setup token: drop stale: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return "", false, fmt.Errorf("setup token: commit: %w", err)
		}
		return "", false, nil
	}
	token = newToken()
	if _, err := tx.ExecContext(ctx, `INSERT INTO setup_token (id, token_hash, created_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
		tokenHash(token), fmtTime(db.now())); err != nil {
		return "", false, fmt.Errorf("setup token: store: %w", err)
	}
	if err := db.auditTx(ctx, tx, "kioskd", "setup_token", "no manager yet: setup token issued"); err != nil {
		return "", false, err
	}
	if err := tx.Commit(); err != nil {
		return "", false, fmt.Errorf("setup token: commit: %w", err)
	}
	return token, true, nil
}

// checkSetupToken checks token inside tx; EGONE *kiosk.Error when it is
// unknown, expired, or a manager exists.
func (db *DB) checkSetupToken(ctx context.Context, q querier, token string) error {
	if !validToken(token) {
		return kiosk.Errorf(kiosk.EGONE, "this setup link is not valid")
	}
	var created string
	err := q.QueryRowContext(ctx, `SELECT created_at FROM setup_token WHERE id = 1 AND token_hash = ?`, tokenHash(token)).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return kiosk.Errorf(kiosk.EGONE, "this setup link is not valid")
	} else if err != nil {
		return fmt.Errorf("setup token: %w", err)
	}
	at, err := parseTime(created)
	if err != nil {
		return fmt.Errorf("setup token: %w", err)
	}
	if db.now().Sub(at) > SetupTokenTTL {
		return kiosk.Errorf(kiosk.EGONE, "this setup link has expired; restart kioskd for a new one")
	}
	has, err := hasManager(ctx, q)
	if err != nil {
		return err
	}
	if has {
		return kiosk.Errorf(kiosk.EGONE, "a manager already exists")
	}
	return nil
}

// CheckSetupToken reports whether token may still create the first
// manager: nil, or an EGONE *kiosk.Error.
func (db *DB) CheckSetupToken(ctx context.Context, token string) error {
	return db.checkSetupToken(ctx, db.db, token)
}

// ConsumeSetupToken creates the first manager from n (its Role is set to
// manager) with the setup token, and invalidates the token, in one
// transaction, journaled (actions user_add and setup_token_used, actor
// "setup"). Errors (*kiosk.Error): EGONE for an unknown, expired or used
// token or when a manager exists; EINVALID for bad fields.
func (db *DB) ConsumeSetupToken(ctx context.Context, token string, n NewUser) (User, error) {
	n.Role = RoleManager
	if err := checkNewUser(&n); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(n.Password)
	if err != nil {
		return User{}, err
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, fmt.Errorf("consume setup token: begin: %w", err)
	}
	defer tx.Rollback()
	if err := db.checkSetupToken(ctx, tx, token); err != nil {
		return User{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM setup_token`); err != nil {
		return User{}, fmt.Errorf("consume setup token: delete: %w", err)
	}
	u, err := db.insertUser(ctx, tx, "setup", n, hash)
	if err != nil {
		return User{}, err
	}
	if err := db.auditTx(ctx, tx, "setup", "setup_token_used", "user="+u.Username); err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, fmt.Errorf("consume setup token: commit: %w", err)
	}
	return u, nil
}

// auditBody is the JSON of an 'audit' entry, the same shape Audit writes.
func auditBody(actor, action, detail string) ([]byte, error) {
	b, err := json.Marshal(struct {
		Actor  string `json:"actor"`
		Action string `json:"action"`
		Detail string `json:"detail"`
	}{actor, action, detail})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return b, nil
}
