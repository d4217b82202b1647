package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

const booksUsage = "books: want import, list, lend, return, renew, lost, damaged, write-off, overdue, stocktake or export"

func cmdBooks(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr(booksUsage)
	}
	rest := args[1:]
	switch args[0] {
	case "import":
		return cmdBooksImport(ctx, g, rest, stdout)
	case "list":
		return cmdBooksList(ctx, g, rest, stdout)
	case "lend":
		return cmdBooksLend(ctx, g, rest, stdout)
	case "return":
		return cmdBooksReturn(ctx, g, rest, stdout)
	case "renew":
		return cmdBooksRenew(ctx, g, rest, stdout)
	case "lost", "damaged", "write-off":
		return cmdBooksCopyEvent(ctx, g, args[0], rest, stdout)
	case "overdue":
		return cmdBooksOverdue(ctx, g, rest, stdout)
	case "stocktake":
		return cmdBooksStocktake(ctx, g, rest, stdout)
	case "export":
		return cmdBooksExport(ctx, g, rest, stdout)
	}
	return usageErr("books: unknown subcommand %q", args[0])
}

// ruleFlags are the loan rules a command may be given: the flags, or
// the daemon's configuration file (--config) with its per-class rules.
type ruleFlags struct {
	termEnd, tz string
	max, days   int
	block       int
	config      string
	fs          *flag.FlagSet
}

// ruleFlagNames are the flags --config replaces.
var ruleFlagNames = []string{"term-end", "tz", "max", "days", "block-after"}

func (r *ruleFlags) define(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.termEnd, "term-end", "", "last day of term, YYYY-MM-DD: the hard due date (default none)")
	fs.StringVar(&r.tz, "tz", config.DefaultTimezone, "time zone of the days")
	fs.IntVar(&r.max, "max", 0, "books a child may hold at once (default 2)")
	fs.IntVar(&r.days, "days", 0, "loan days (default 7)")
	fs.IntVar(&r.block, "block-after", 0, "days overdue that stop borrowing (default 7, -1 never)")
	fs.StringVar(&r.config, "config", "", "the kioskd config whose [books] and [[books.rules]] (per class or grade) apply, instead of the rule flags")
}

// rules returns the loan rules of each class and the time zone of the
// days: from --config's [books] section, its [[books.rules]] tables and
// [station] timezone when given (an invalid file is an error listing
// every problem; a rule flag beside it a usage error), else the flags
// for every class.
func (r *ruleFlags) rules(cmd string) (books.RulesByClass, *time.Location, error) {
	if r.config != "" {
		var set []string
		if r.fs != nil {
			r.fs.Visit(func(f *flag.Flag) {
				if slices.Contains(ruleFlagNames, f.Name) {
					set = append(set, "--"+f.Name)
				}
			})
		}
		if len(set) > 0 {
			return nil, nil, usageErr("%s: --config gives the loan rules: drop %s", cmd, strings.Join(set, ", "))
		}
		c, err := loadConfig(r.config)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", cmd, err)
		}
		return c.BookRulesByClass(), c.BookRules().Location, nil
	}
	loc, err := time.LoadLocation(r.tz)
	if err != nil {
		return nil, nil, usageErr("%s: --tz: %v", cmd, err)
	}
	rules := books.Rules{Location: loc, MaxLoans: r.max, LoanDays: r.days, BlockAfterDays: r.block}
	if r.termEnd != "" {
		if rules.TermEnd, err = time.Parse(time.DateOnly, r.termEnd); err != nil {
			return nil, nil, usageErr("%s: --term-end: want YYYY-MM-DD", cmd)
		}
	}
	if err := rules.Validate(); err != nil {
		return nil, nil, usageErr("%s: %s", cmd, kiosk.ErrorMessage(err))
	}
	return books.Same(rules), loc, nil
}

// refusal turns a policy refusal into its message, the rest unchanged.
func refusal(err error) error {
	var e *kiosk.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

func cmdBooksImport(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var dryRun bool
	pos, err := parse(g, "books import", args, 1, 1, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "validate only, write nothing")
	})
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	titles, err := books.ParseCatalogue(f)
	if err != nil {
		return fmt.Errorf("%s: nothing imported:\n%w", pos[0], err)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		ch, err := db.ApplyCatalogue(ctx, titles, dryRun)
		if err != nil {
			return fmt.Errorf("%s: nothing imported:\n%s", pos[0], kiosk.ErrorMessage(err))
		}
		verb := "imported"
		if dryRun {
			verb = "valid (dry run, nothing written)"
		} else if err := db.Audit(ctx, actor(), "books import", filepath.Base(pos[0])); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d titles %s\n", pos[0], len(titles), verb)
		fmt.Fprintf(stdout, "  titles: %d added, %d updated, %d unchanged\n", ch.Titles.Added, ch.Titles.Updated, ch.Titles.Unchanged)
		fmt.Fprintf(stdout, "  copies: %d added, %d unchanged\n", ch.Copies.Added, ch.Copies.Unchanged)
		return nil
	})
}

var statusWords = map[books.Status]string{
	books.StatusShelf: "在架", books.StatusLent: "借出", books.StatusLost: "遗失", books.StatusWrittenOff: "注销",
}

func cmdBooksList(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	if _, err := parse(g, "books list", args, 0, 0, nil); err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		cs, err := db.BookCopies(ctx)
		if err != nil {
			return err
		}
		tw := newTable(stdout)
		fmt.Fprintln(tw, "BARCODE\tSTATUS\tCONDITION\tISBN\tTITLE\tAUTHOR\tPRICE")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Barcode, statusWords[c.Status], c.Condition.ZH(), c.ISBN, c.Title.Title, dash(c.Author), books.FormatPrice(c.PriceCents))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d copies\n", len(cs))
		return nil
	})
}

func cmdBooksLend(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf ruleFlags
	var format cardFormat
	var handler string
	pos, err := parse(g, "books lend", args, 2, 2, func(fs *flag.FlagSet) {
		rf.define(fs)
		format.define(fs)
		fs.StringVar(&handler, "handler", "", "who lends (default the login name)")
	})
	if err != nil {
		return err
	}
	rules, _, err := rf.rules("books lend")
	if err != nil {
		return err
	}
	uid, err := format.uid("books lend", pos[0])
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		card, err := db.CardByUID(ctx, uid)
		if err != nil {
			return refusal(err)
		}
		if !card.Enabled {
			return errors.New("card is disabled")
		}
		if handler == "" {
			handler = actor()
		}
		l, err := db.Lend(ctx, sqlite.LendRequest{Child: card.ChildID, Barcode: pos[1], Rules: rules, Handler: handler})
		if err != nil {
			return refusal(err)
		}
		fmt.Fprintf(stdout, "lent %s 《%s》 to %s (%s), due %s\n", l.Copy.Barcode, l.Copy.Title.Title, l.ChildName, l.Class, l.Due.Format(time.DateOnly))
		return nil
	})
}

func cmdBooksReturn(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf ruleFlags
	var cond, handler, note string
	pos, err := parse(g, "books return", args, 1, 1, func(fs *flag.FlagSet) {
		rf.define(fs)
		fs.StringVar(&cond, "condition", "", "condition now: good/完好, worn/有磨损, damaged/破损 (default unchanged)")
		fs.StringVar(&handler, "handler", "", "who takes it back (default the login name)")
		fs.StringVar(&note, "note", "", "a remark for the register")
	})
	if err != nil {
		return err
	}
	rules, _, err := rf.rules("books return")
	if err != nil {
		return err
	}
	var c books.Condition
	if cond != "" {
		var ok bool
		if c, ok = books.ParseCondition(cond); !ok {
			return usageErr("books return: --condition %q: want good, worn or damaged", cond)
		}
	}
	if handler == "" {
		handler = actor()
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		l, err := db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: pos[0], Rules: rules, Condition: c, Handler: handler, Note: note})
		if err != nil {
			return refusal(err)
		}
		late := "on time"
		if l.OverdueDays > 0 {
			late = fmt.Sprintf("%d days late", l.OverdueDays)
		}
		fmt.Fprintf(stdout, "returned %s 《%s》 from %s (%s), %s\n", l.Copy.Barcode, l.Copy.Title.Title, l.ChildName, l.Class, late)
		return nil
	})
}

func cmdBooksRenew(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf ruleFlags
	var handler string
	pos, err := parse(g, "books renew", args, 1, 1, func(fs *flag.FlagSet) {
		rf.define(fs)
		fs.StringVar(&handler, "handler", "", "who renews (default the login name)")
	})
	if err != nil {
		return err
	}
	rules, _, err := rf.rules("books renew")
	if err != nil {
		return err
	}
	if handler == "" {
		handler = actor()
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		l, err := db.RenewBook(ctx, pos[0], rules, handler)
		if err != nil {
			return refusal(err)
		}
		fmt.Fprintf(stdout, "renewed %s 《%s》, due %s\n", l.Copy.Barcode, l.Copy.Title.Title, l.Due.Format(time.DateOnly))
		return nil
	})
}

func cmdBooksCopyEvent(ctx context.Context, g *globals, what string, args []string, stdout io.Writer) error {
	var handler, note string
	pos, err := parse(g, "books "+what, args, 1, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&handler, "handler", "", "the manager who records it (default the login name)")
		fs.StringVar(&note, "note", "", "a remark for the register")
	})
	if err != nil {
		return err
	}
	event := map[string]string{"lost": sqlite.LoanLost, "damaged": sqlite.LoanDamaged, "write-off": sqlite.LoanWriteOff}[what]
	if handler == "" {
		handler = actor()
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		c, err := db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: pos[0], Event: event, Handler: handler, Note: note})
		if err != nil {
			return refusal(err)
		}
		fmt.Fprintf(stdout, "%s 《%s》: %s, %s (price %s)\n", c.Barcode, c.Title.Title, statusWords[c.Status], c.Condition.ZH(), books.FormatPrice(c.PriceCents))
		return nil
	})
}

func cmdBooksOverdue(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf ruleFlags
	if _, err := parse(g, "books overdue", args, 0, 0, rf.define); err != nil {
		return err
	}
	rules, _, err := rf.rules("books overdue")
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		ls, err := db.OverdueLoans(ctx, rules)
		if err != nil {
			return err
		}
		tw := newTable(stdout)
		fmt.Fprintln(tw, "CLASS\tNAME\tBARCODE\tTITLE\tDUE\tDAYS\tREMINDER")
		for _, l := range ls {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", l.Class, l.ChildName, l.Copy.Barcode, l.Copy.Title.Title, l.Due.Format(time.DateOnly), l.OverdueDays, l.Reminder)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d overdue\n", len(ls))
		return nil
	})
}

// cmdBooksStocktake reads the barcodes scanned on the shelves, one per
// line (a keyboard-wedge scanner into a text file), and lists what is
// missing. It writes nothing.
func cmdBooksStocktake(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	pos, err := parse(g, "books stocktake", args, 1, 1, nil)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var scanned []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			scanned = append(scanned, s)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", pos[0], err)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		res, err := db.StockTake(ctx, scanned)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d copies counted\n", res.Counted)
		for _, c := range res.Missing {
			fmt.Fprintf(stdout, "missing    %s 《%s》\n", c.Barcode, c.Title)
		}
		for _, c := range res.Misplaced {
			fmt.Fprintf(stdout, "on shelf but %s  %s 《%s》\n", statusWords[c.Status], c.Barcode, c.Title)
		}
		for _, s := range res.Unknown {
			fmt.Fprintf(stdout, "unknown    %s\n", s)
		}
		for _, s := range res.Ambiguous {
			fmt.Fprintf(stdout, "cover ISBN %s: several copies, scan the labels\n", s)
		}
		return nil
	})
}

func cmdBooksExport(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf ruleFlags
	var from, to, format, out string
	if _, err := parse(g, "books export", args, 0, 0, func(fs *flag.FlagSet) {
		rf.define(fs)
		fs.StringVar(&from, "from", "", "first loan day, YYYY-MM-DD (default: everything)")
		fs.StringVar(&to, "to", "", "last loan day, YYYY-MM-DD, inclusive (default: everything)")
		fs.StringVar(&format, "format", "csv", "csv (图书借阅登记表, UTF-8 with BOM)")
		fs.StringVar(&out, "o", "", "output file (default stdout)")
	}); err != nil {
		return err
	}
	if format != "csv" {
		return usageErr("books export: unknown format %q (want csv)", format)
	}
	rules, loc, err := rf.rules("books export")
	if err != nil {
		return err
	}
	start, end, err := days("books export", from, to, loc)
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		rows, err := db.LoanRegister(ctx, start, end, rules)
		if err != nil {
			return err
		}
		if err := db.Audit(ctx, actor(), "books export "+format, fmt.Sprintf("from=%s to=%s rows=%d", from, to, len(rows))); err != nil {
			return err
		}
		w, closeFn, err := output(out, stdout)
		if err != nil {
			return err
		}
		return errors.Join(register.WriteBookLoansCSV(w, rows, loc), closeFn())
	})
}
