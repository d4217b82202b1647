// Package sqlite is the SQLite adapter of Qinqing Station: the roster
// (children, approved contacts, cards) and the append-only, hash-chained
// journal of calls, roster changes and audit events.
//
// It is the only package that holds SQL. It uses modernc.org/sqlite (driver
// name "sqlite", no cgo). The database is one file in WAL mode with
// synchronous=FULL, foreign keys on and a 5 s busy timeout, set on every
// pooled connection through the DSN, as is secure_delete (freed content
// is zeroed); write transactions start with BEGIN IMMEDIATE so that two
// processes (kioskd and `kioskctl roster import`) can write to the same
// file safely. The schema is migrated at Open from
// the numbered .sql files embedded in migrations/.
//
// A left child's personal data is erased by "chained redaction" (see
// erase.go): the redacted entries' bodies are replaced, and an erasure
// entry in the chain records each one's hash before and after, so that
// Verify stays true and a redacted entry stays tamper-evident.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeoutMS is how long a connection waits for another writer (this
// process or another) before failing with SQLITE_BUSY.
const busyTimeoutMS = 5000

// timeFormat is how every time is stored: UTC, fixed width, nanoseconds,
// so that stored times sort as strings.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// Opts are the optional dependencies of Open; the zero value means the
// defaults.
type Opts struct {
	// Now is the wall clock used for journal entries' "at" and the
	// roster's created/updated times; default time.Now.
	Now func() time.Time
	// ClockSynced reports whether the wall clock is synced (NTP); it is
	// recorded with each journal entry. Default: always true.
	ClockSynced func() bool
	// Logger receives the adapter's logs; default discards. Nothing
	// personal (names, numbers, card UIDs) is logged at info level.
	Logger *slog.Logger
	// Rand is the source of journal entry ids; default crypto/rand.
	Rand io.Reader
}

// DB is the station's database. It is safe for concurrent use, and other
// processes may open the same file at the same time.
type DB struct {
	db     *sql.DB
	path   string
	now    func() time.Time
	synced func() bool
	log    *slog.Logger
	rand   io.Reader
}

// Open opens (creating it and its parent directory if missing) the
// database at path and applies any pending migrations. Errors name the
// failing step.
func Open(ctx context.Context, path string, opts Opts) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClockSynced == nil {
		opts.ClockSynced = func() bool { return true }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open database %s: path must not contain ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open database: create dir: %w", err)
	}
	dsn := path + "?_pragma=busy_timeout(" + strconv.Itoa(busyTimeoutMS) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)" +
		// Freed cells and pages are zeroed, so that a child's erased data
		// (erase.go) and every older version of an updated row do not
		// linger in the file.
		"&_pragma=secure_delete(ON)" +
		"&_txlock=immediate"
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := &DB{
		db:     sdb,
		path:   path,
		now:    opts.Now,
		synced: opts.ClockSynced,
		log:    opts.Logger.With("component", "store"),
		rand:   opts.Rand,
	}
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database. Calls after Close fail.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// migrate applies the embedded migrations numbered above the stored
// schema_version, all in one transaction, so that two processes opening a
// new file at once do not both migrate it.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: list: %w", err)
	}
	type mig struct {
		version int
		name    string
	}
	var migs []mig
	for _, n := range names {
		base := filepath.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return fmt.Errorf("migrate: bad migration name %q", base)
		}
		migs = append(migs, mig{v, n})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: schema_version: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	applied := 0
	for _, m := range migs {
		if m.version <= cur {
			continue
		}
		b, err := migrations.ReadFile(m.name)
		if err != nil {
			return fmt.Errorf("migrate: read %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, string(b)); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (?)`, m.version); err != nil {
			return fmt.Errorf("migrate: set version %d: %w", m.version, err)
		}
		applied++
		cur = m.version
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	if applied > 0 {
		db.log.Info("schema migrated", "version", cur, "applied", applied)
	}
	return nil
}

// fmtTime formats t for storage; the zero time is "".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// parseTime parses a stored time; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	// modernc's *sqlite.Error carries the extended code; the message is
	// stable across versions and avoids importing the lib constants.
	var se interface{ Code() int }
	if errors.As(err, &se) {
		c := se.Code()
		return c == 2067 || c == 1555 // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
