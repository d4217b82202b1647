package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// eraseUsage is the help of `kioskctl roster erase`.
const eraseUsage = `usage:
  kioskctl roster erase CHILD [--class C] [--yes] [--vacuum]
  kioskctl roster erase --due [--retention 3y | --config FILE] [--yes] [--vacuum]

Erases the personal data of a child marked left (离校): the name becomes a
pseudonym (C-7f3a9b21) in the roster and in every register, the guardians'
names and numbers, the cards and the consent notes are removed; the
registers keep their rows and counts and 'ledger verify' stays ok. It
cannot be undone. kioskd does the same by itself for the children who left
longer ago than [privacy] retention.

CHILD is the child's id column (external id), exact name or console
number; --class picks one of several children with the name. Without
--yes nothing is erased: the child (or, with --due, the children whose
retention has passed, by --retention, else the --config file's, else 3y)
is listed.
--vacuum rewrites the database file afterwards, so that no old copy of
the erased text is left in it even from before this version (it blocks
the kiosk for a while: run it when the kiosk is closed).
`

// cmdRosterErase runs `kioskctl roster erase`.
func cmdRosterErase(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var (
		class, retention, cfgPath string
		due, yes, vacuum          bool
	)
	pos, err := parse(g, "roster erase", args, 0, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&class, "class", "", "the child's class, when several children have the name")
		fs.BoolVar(&due, "due", false, "the children whose retention period has passed")
		fs.StringVar(&retention, "retention", "", `with --due: the period after leaving, "3y" or "180d"`)
		fs.StringVar(&cfgPath, "config", "", "with --due: the kioskd config whose [privacy] retention applies")
		fs.BoolVar(&yes, "yes", false, "erase (without it, only list)")
		fs.BoolVar(&vacuum, "vacuum", false, "rewrite the database file afterwards (VACUUM)")
	})
	if err != nil {
		return err
	}
	if due == (len(pos) == 1) {
		return usageErr("roster erase: give CHILD or --due\n%s", eraseUsage)
	}
	if !due && (retention != "" || cfgPath != "") {
		return usageErr("roster erase: --retention and --config go with --due")
	}
	var r config.Retention
	if due {
		if r, err = eraseRetention(retention, cfgPath); err != nil {
			return err
		}
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		var todo []sqlite.DueErasure
		if due {
			if r.Never() {
				fmt.Fprintln(stdout, "retention is 0 (never): no child is due")
				return nil
			}
			var err error
			if todo, err = db.ErasuresDue(ctx, r.Cutoff(time.Now())); err != nil {
				return err
			}
		} else {
			c, err := findChild(ctx, db, pos[0], class, byNumber)
			if err != nil {
				return err
			}
			if c.Status != kiosk.ChildLeft {
				return fmt.Errorf("%s (%s) has not left: mark the child left first (console, child page)", c.Name, c.Class)
			}
			todo = []sqlite.DueErasure{{Child: c}}
		}
		if err := db.Audit(ctx, actor(), "roster erase", fmt.Sprintf("due=%t yes=%t retention=%s rows=%d", due, yes, r, len(todo))); err != nil {
			return err
		}
		if !yes {
			if len(todo) == 0 {
				fmt.Fprintf(stdout, "no left child has been gone longer than %s\n", r)
				return nil
			}
			for _, d := range todo {
				left := ""
				if !d.LeftAt.IsZero() {
					left = "  left " + d.LeftAt.Local().Format("2006-01-02")
				}
				fmt.Fprintf(stdout, "%d\t%s\t%s%s\n", d.Child.ID, d.Child.Name, d.Child.Class, left)
			}
			fmt.Fprintf(stdout, "%d children would be erased (dry run: add --yes to erase; it cannot be undone)\n", len(todo))
			return nil
		}
		for _, d := range todo {
			reason := sqlite.EraseManual
			if due {
				reason = sqlite.EraseRetention
			}
			e, err := db.EraseChild(ctx, actor(), reason, d.Child.ID)
			if err != nil {
				return fmt.Errorf("erase child %d: %w", d.Child.ID, plain(err))
			}
			fmt.Fprintf(stdout, "erased child %d (%s) as %s: %d ledger entries redacted, %d contacts and %d cards removed, %d consent notes cleared (erasure entry %d)\n",
				e.ChildID, d.Child.Class, e.Pseudonym, e.Redacted, e.Contacts, e.Cards, e.Consents, e.Seq)
		}
		if vacuum {
			if err := db.Vacuum(ctx); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "database file rewritten (vacuum)")
		}
		return nil
	})
}

// eraseRetention is the --due period: --retention, else the config
// file's [privacy] retention, else config.DefaultRetention.
func eraseRetention(flagValue, cfgPath string) (config.Retention, error) {
	switch {
	case flagValue != "":
		r, err := config.ParseRetention(flagValue)
		if err != nil {
			return config.Retention{}, usageErr("roster erase: --retention: %v", err)
		}
		return r, nil
	case cfgPath != "":
		c, err := loadConfig(cfgPath)
		if err != nil {
			return config.Retention{}, err
		}
		return c.Privacy.Retention, nil
	}
	return config.DefaultRetention, nil
}
