// Command kioskctl is the technician's and manager's tool for Qinqing
// Station. It talks to kioskd's loopback admin API (status, tap, dial,
// hangup), and opens the station's database directly for offline work
// (roster import/export, ledger export/verify) and checks config files.
//
// Exit codes: 0 ok, 1 refused or failed, 2 usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
)

const usage = `usage: kioskctl [--addr URL] [--data DIR] COMMAND [ARGS]

Commands talking to the running kioskd (admin API on loopback):
  status [--json]                 daemon health, booths, lights
  tap [--booth ID] UID            present a card at a booth's simulated reader
  dial [--booth ID] N             the identified child picks contact N (1..5)
  hangup [--booth ID]             end the booth's call, queue wait or session
  call-help [--booth ID]          the help tile: call the duty teacher (a real call)
  devices list [--json]           configured readers, lights, buttons, relays and their state
  devices test lights BOOTH       show every light state in turn (~1 s each)
  devices test reader BOOTH [--timeout 30s]
                                  print the next card read, in every card-number format (no tap)
  devices test button BOOTH [--timeout 30s]
                                  wait for a help button press (no help call)
  tv start --programme P --category C --class K --count N --teacher T [--tv NAME] [--note X]
                                  start a TV session (TV on); C is 新闻, 少儿, 科普, 安全教育 or 影片
  tv stop [--tv NAME]             end the TV session (TV off)
  tv status [--json] [--tz ZONE]  the TVs, their power control and sessions (times in --tz,
                                  default Asia/Shanghai)

Commands working on the database in --data (daemon may be running):
  roster import FILE.csv|FILE.xlsx [--dry-run] [--card-format hex|8h10d|reversed]
  roster export [--format csv] [-o FILE]
  roster erase CHILD [--class C] [--yes]
  roster erase --due [--retention 3y|--config FILE] [--yes]
                                  erase a left child's personal data (lists only, without --yes)
  ledger export calls [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format csv|json] [-o FILE]
  ledger verify [--anchor SEQ:HASH]
  contact link CHILD N [--expires 720h|DATE] [--base-url URL] [--config FILE] [--png FILE]
                                  a parent's video link (URL + QR code) for contact N; the base is
                                  --base-url, $KIOSK_PUBLIC_URL, the config's [video] public_url, else --addr
  contact links CHILD N           list contact N's links
  contact revoke LINK-ID          revoke a parent link
  user add USERNAME --role ROLE [--name NAME] [--password-stdin]
                                  a console user (manager, principal, inspector, technician)
  user passwd USERNAME [--password-stdin]
  user disable USERNAME           (ends the user's sessions; users are never deleted)
  user enable USERNAME            enable again; also clears failed logins (as passwd does)
  user list [--json]
  staff add NAME --role teacher|manager|technician [--user USERNAME]
                                  a staff member whose card opens the staff screen (TV) at a booth
  staff card NAME UID [--card-format hex|8h10d|reversed]
                                  bind a card to the member (or enable it again)
  staff disable NAME              their cards open nothing (members are never deleted)
  staff enable NAME
  staff list [--json]             every member with role, status and cards
  devices log [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format csv|json] [-o FILE]
                                  the equipment register (设备维护记录)
  books import FILE.csv [--dry-run]
                                  the library catalogue (ISBN, 书名, 作者, 出版社, 分类, 价格, 册数, 条码)
  books list                      every copy with its status
  books lend CARD BARCODE [--card-format F] [--handler NAME]
  books return BARCODE [--condition good|worn|damaged] [--note TEXT]
  books renew BARCODE
  books lost|damaged|write-off BARCODE [--note TEXT]
  books overdue                   books out past their due date, with the reminder level
  books stocktake FILE            barcodes scanned on the shelves, one a line: what is missing
  books export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format csv] [-o FILE]
                                  the book loans register (图书借阅登记表)
    (lend, return, renew, overdue and export take the loan rules: --term-end YYYY-MM-DD,
     --max N (2), --days N (7), --block-after N (7), --tz ZONE; or --config FILE, the
     kioskd config's [books] with its per-class [[books.rules]])
  tv export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format csv|json] [-o FILE]
                                  the TV register (电视播放节目记录)

Other:
  config check FILE               validate a kioskd config (exit 1 if invalid, every problem listed)
  version                         kioskctl's version (also --version), as kioskd -version prints it
  help                            this list (also -h, --help)

Global flags (before or after the command):
  --addr URL   daemon address (default $KIOSK_ADDR, else http://127.0.0.1:8080)
  --data DIR   data directory with admin.token and kiosk.db (default ./kiosk-data)
`

// version is set at build time with -ldflags "-X main.version=...", the
// same flag that sets kioskd's (go build -ldflags ... ./cmd/... sets both).
var version = "dev"

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// globals are the flags every command accepts.
type globals struct {
	addr string
	data string
}

// register defines --addr and --data on fs, defaulting to what was given
// before the command, else to $KIOSK_ADDR and ./kiosk-data.
func (g *globals) register(fs *flag.FlagSet) {
	addr, data := g.addr, g.data
	if addr == "" {
		addr = os.Getenv("KIOSK_ADDR")
	}
	if addr == "" {
		addr = "http://127.0.0.1:8080"
	}
	if data == "" {
		data = "./kiosk-data"
	}
	fs.StringVar(&g.addr, "addr", addr, "daemon address")
	fs.StringVar(&g.data, "data", data, "data directory")
}

// run executes one kioskctl invocation and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g globals
	fs := flag.NewFlagSet("kioskctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	} else if err == nil && *showVersion {
		printVersion(stdout)
		return 0
	} else if err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	err := dispatch(ctx, &g, fs.Args(), stdout)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "kioskctl: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.code == 2 {
			fmt.Fprint(stderr, "run 'kioskctl help' for usage\n")
		}
		return ee.code
	}
	return 1
}

func dispatch(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "status":
		return cmdStatus(ctx, g, rest, stdout)
	case "tap":
		return cmdTap(ctx, g, rest, stdout)
	case "dial":
		return cmdDial(ctx, g, rest, stdout)
	case "hangup":
		return cmdBoothAction(ctx, g, "hangup", "hangup", rest, stdout)
	case "help":
		return flag.ErrHelp
	case "call-help":
		return cmdBoothAction(ctx, g, "call-help", "help", rest, stdout)
	case "-h", "--help":
		return flag.ErrHelp
	case "version":
		if _, err := parse(g, "version", rest, 0, 0, nil); err != nil {
			return err
		}
		printVersion(stdout)
		return nil
	case "roster":
		if len(rest) == 0 {
			return usageErr("roster: want import or export")
		}
		switch rest[0] {
		case "import":
			return cmdRosterImport(ctx, g, rest[1:], stdout)
		case "export":
			return cmdRosterExport(ctx, g, rest[1:], stdout)
		case "erase":
			return cmdRosterErase(ctx, g, rest[1:], stdout) // erase.go
		}
		return usageErr("roster: unknown subcommand %q", rest[0])
	case "ledger":
		if len(rest) == 0 {
			return usageErr("ledger: want export or verify")
		}
		switch rest[0] {
		case "export":
			return cmdLedgerExport(ctx, g, rest[1:], stdout)
		case "verify":
			return cmdLedgerVerify(ctx, g, rest[1:], stdout)
		}
		return usageErr("ledger: unknown subcommand %q", rest[0])
	case "contact":
		return cmdContact(ctx, g, rest, stdout)
	case "user":
		return cmdUser(ctx, g, rest, os.Stdin, stdout)
	case "devices":
		return cmdDevices(ctx, g, rest, stdout)
	case "books":
		return cmdBooks(ctx, g, rest, stdout)
	case "tv":
		return cmdTV(ctx, g, rest, stdout)
	case "staff":
		return cmdStaff(ctx, g, rest, stdout) // staff.go
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			return usageErr("config: want check FILE")
		}
		return cmdConfigCheck(rest[1:], stdout)
	}
	return usageErr("unknown command %q", cmd)
}

// parse parses a command's flags, with the globals accepted too, and
// checks the number of positional arguments.
func parse(g *globals, name string, args []string, min, max int, define func(fs *flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.register(fs)
	if define != nil {
		define(fs)
	}
	// Allow flags after positional arguments: kioskctl tap UID --booth b1.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr("%s: %v", name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		what := "missing arguments"
		if len(pos) > min {
			what = fmt.Sprintf("too many arguments (%s)", strings.Join(pos, " "))
		}
		if syn := synopsis(name); syn != "" {
			return nil, usageErr("%s: %s; usage: kioskctl %s", name, what, syn)
		}
		return nil, usageErr("%s: %s", name, what)
	}
	return pos, nil
}

// synopsis returns the usage line of the command named name ("tap",
// "books lend") without its description, or "" if usage has none.
// Alternatives in usage ("books lost|damaged|write-off") match each word.
func synopsis(name string) string {
	words := strings.Fields(name)
	for _, line := range strings.Split(usage, "\n") {
		f := strings.Fields(line)
		if len(f) < len(words) || !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") {
			continue
		}
		match := true
		for i, w := range words {
			if !slices.Contains(strings.Split(f[i], "|"), w) {
				match = false
				break
			}
		}
		if match {
			syn, _, _ := strings.Cut(strings.TrimSpace(line), "   ")
			return syn
		}
	}
	return ""
}

// printVersion prints what kioskd -version prints, for kioskctl.
func printVersion(w io.Writer) {
	fmt.Fprintln(w, "kioskctl", version)
}
