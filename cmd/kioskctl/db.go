package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/rostercsv"
	"github.com/qinqing/station/kiosk/sqlite"
)

// openDB opens the station's database in --data. The daemon may be
// running: SQLite in WAL mode lets both work on it.
func openDB(ctx context.Context, g *globals) (*sqlite.DB, error) {
	path := filepath.Join(g.data, "kiosk.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no station database at %s (is --data right?): %w", path, err)
	}
	return sqlite.Open(ctx, path, sqlite.Opts{})
}

// withDB opens the station's database in --data (openDB), calls fn with it
// and closes it when fn returns or panics. Its error is openDB's (fn is
// not called) or fn's, each returned as it is, so that commands print the
// same messages with or without it; an error of closing is dropped, as
// every command's deferred Close always did.
//
// A command parses and checks its arguments before it calls withDB: a
// usage error (exit 2) comes first and needs no database.
func withDB(ctx context.Context, g *globals, fn func(db *sqlite.DB) error) error {
	db, err := openDB(ctx, g)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

// actor names who runs kioskctl, for the audit entries.
func actor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "kioskctl:" + name
}

// output returns the -o file (or stdout) and a function to close it.
func output(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

func cmdRosterImport(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var dryRun bool
	var format cardFormat
	pos, err := parse(g, "roster import", args, 1, 1, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "validate only, write nothing")
		format.define(fs)
	})
	if err != nil {
		return err
	}
	cf, err := format.parse("roster import")
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := rostercsv.ParseAny(f, rostercsv.Opts{CardFormat: cf}) // CSV or XLSX, by content
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", pos[0], err)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		ch, err := db.ApplyRoster(ctx, entries, dryRun)
		if err != nil {
			return fmt.Errorf("%s: nothing imported: %w", pos[0], err)
		}
		verb := "imported"
		if dryRun {
			verb = "valid (dry run, nothing written)"
		} else if err := db.Audit(ctx, actor(), "roster import", filepath.Base(pos[0])); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d rows %s\n", pos[0], len(entries), verb)
		fmt.Fprintf(stdout, "  children: %d added, %d updated, %d unchanged\n", ch.Children.Added, ch.Children.Updated, ch.Children.Unchanged)
		fmt.Fprintf(stdout, "  contacts: %d added, %d updated, %d unchanged, %d removed\n", ch.Contacts.Added, ch.Contacts.Updated, ch.Contacts.Unchanged, ch.Contacts.Removed)
		fmt.Fprintf(stdout, "  cards:    %d added, %d unchanged\n", ch.Cards.Added, ch.Cards.Unchanged)
		return nil
	})
}

func cmdRosterExport(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var format, out string
	if _, err := parse(g, "roster export", args, 0, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "csv", "csv (UTF-8 with BOM, the import's columns)")
		fs.StringVar(&out, "o", "", "output file (default stdout)")
	}); err != nil {
		return err
	}
	if format != "csv" {
		return usageErr("roster export: unknown format %q (want csv)", format)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		entries, err := db.RosterEntries(ctx)
		if err != nil {
			return err
		}
		if err := db.Audit(ctx, actor(), "roster export", fmt.Sprintf("%d children", len(entries))); err != nil {
			return err
		}
		w, closeFn, err := output(out, stdout)
		if err != nil {
			return err
		}
		if err := rostercsv.Write(w, entries, rostercsv.Opts{}); err != nil {
			closeFn()
			return err
		}
		return closeFn()
	})
}

func cmdLedgerExport(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf registerFlags
	pos, err := parse(g, "ledger export", args, 1, 1, func(fs *flag.FlagSet) {
		rf.define(fs, "csv (the register, numbers masked) or json (every field)")
	})
	if err != nil {
		return err
	}
	if pos[0] != "calls" {
		return usageErr("ledger export: unknown register %q (want calls)", pos[0])
	}
	start, end, loc, err := rf.resolve("ledger export")
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		rows, err := db.Calls(ctx, start, end)
		if err != nil {
			return err
		}
		if err := db.Audit(ctx, actor(), "ledger export calls "+rf.format,
			fmt.Sprintf("from=%s to=%s rows=%d", rf.from, rf.to, len(rows))); err != nil {
			return err
		}
		w, closeFn, err := output(rf.out, stdout)
		if err != nil {
			return err
		}
		if rf.format == "json" {
			err = register.WriteCallsJSON(w, rows)
		} else {
			err = register.WriteCallsCSV(w, rows, loc)
		}
		return errors.Join(err, closeFn())
	})
}

func cmdLedgerVerify(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var anchor string
	if _, err := parse(g, "ledger verify", args, 0, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&anchor, "anchor", "", "SEQ:HASH printed by an earlier verify: check the journal still holds it")
	}); err != nil {
		return err
	}
	var aSeq int64
	var aHash string
	if anchor != "" {
		seqStr, hash, ok := strings.Cut(anchor, ":")
		n, err := strconv.ParseInt(seqStr, 10, 64)
		if !ok || err != nil || n < 1 || len(hash) != 64 {
			return usageErr("ledger verify: --anchor wants SEQ:HASH as printed by verify, e.g. 59:3fa2...")
		}
		aSeq, aHash = n, hash
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		res, err := db.Verify(ctx)
		if err != nil {
			return err
		}
		if !res.OK {
			if res.BrokenSeq == 0 {
				return fmt.Errorf("ledger broken: %s", res.Problem)
			}
			return fmt.Errorf("ledger broken at entry %d (of %d checked): %s", res.BrokenSeq, res.Entries, res.Problem)
		}
		if aSeq > 0 {
			if err := db.VerifyAnchor(ctx, aSeq, aHash); err != nil {
				return fmt.Errorf("ledger broken: %s", kiosk.ErrorMessage(err))
			}
		}
		fmt.Fprintf(stdout, "ledger ok: %d entries, hash chain intact\n", res.Entries)
		if res.Erasures > 0 {
			fmt.Fprintf(stdout, "%d entries redacted by %d erasures of children's personal data (roster changes register, op erase)\n", res.Redacted, res.Erasures)
		}
		fmt.Fprintf(stdout, "head: %d:%s\n", res.HeadSeq, res.Head)
		fmt.Fprintln(stdout, "(write the head down with the date: 'ledger verify --anchor' with it later proves nothing was cut off)")
		return nil
	})
}

func cmdConfigCheck(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageErr("config check: want one FILE")
	}
	if _, err := loadConfig(args[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: valid\n", args[0])
	return nil
}

// loadConfig reads the config file at path. Its problems come back under
// "invalid config:", one a line (file:line: message); a file that cannot
// be read comes back as it is.
func loadConfig(path string) (config.Config, error) {
	c, err := config.Load(path)
	var ps *config.Problems
	if errors.As(err, &ps) {
		return c, fmt.Errorf("invalid config:\n%w", err)
	}
	return c, err
}
