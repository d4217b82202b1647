package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// contactUsage is the help of `kioskctl contact`.
const contactUsage = `usage:
  kioskctl contact link CHILD N [--class C] [--expires 720h|30d|YYYY-MM-DD] [--base-url URL] [--config FILE] [--png FILE]
  kioskctl contact links CHILD N [--class C]
  kioskctl contact revoke LINK-ID

CHILD is the child's id column (external id) or exact name; when several
children have the name, --class picks one. N is the contact's slot, 1..5.

A parent link is printed once, as a URL {base}/p/{token} and a QR code:
the token is not stored and cannot be shown again (make a new link and
revoke the old one instead). The base is --base-url, else
$KIOSK_PUBLIC_URL, else the --config file's [video] public_url, else the
daemon's --addr ($KIOSK_ADDR, http://127.0.0.1:8080), which on loopback
only works on this machine: parents open the link on their own phones, so
the base must be reachable from the internet, usually the county hub's
address or a public name that forwards to the station.
`

// cmdContact runs `kioskctl contact SUBCOMMAND`.
func cmdContact(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("contact: want link, links or revoke\n%s", contactUsage)
	}
	switch args[0] {
	case "link":
		return cmdContactLink(ctx, g, args[1:], stdout)
	case "links":
		return cmdContactLinks(ctx, g, args[1:], stdout)
	case "revoke":
		return cmdContactRevoke(ctx, g, args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, contactUsage)
		return nil
	}
	return usageErr("contact: unknown subcommand %q\n%s", args[0], contactUsage)
}

// plain turns a *kiosk.Error into its message for people; other errors
// are returned as they are.
func plain(err error) error {
	var ke *kiosk.Error
	if errors.As(err, &ke) && ke.Code != kiosk.EINTERNAL {
		return errors.New(ke.Message)
	}
	return err
}

// parseSlot parses a contact slot 1..5 (a usage error otherwise).
func parseSlot(name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, usageErr("%s: contact N must be 1..5, not %q", name, s)
	}
	return n, nil
}

// A childKey is what a command accepts instead of a name when several
// children share the name: findChild's error lists each child's class
// with its key and asks for --class or the key.
type childKey int

const (
	byID     childKey = iota // the roster's id column (external id), where a child has one
	byNumber                 // the console's child number
)

func (k childKey) String() string {
	if k == byNumber {
		return "number"
	}
	return "id"
}

// where returns c's class with its key, for the list of several children.
func (k childKey) where(c kiosk.Child) string {
	if k == byNumber {
		return fmt.Sprintf("%s (number %d)", c.Class, c.ID)
	}
	if c.ExternalID != "" {
		return c.Class + " (id " + c.ExternalID + ")"
	}
	return c.Class
}

// findChild finds one child by external id, exact name or console number
// (sqlite's ChildByName), narrowed by class when given. It is an error
// when no child of the name is in class, and when several children are
// left (listed by class and key).
func findChild(ctx context.Context, db *sqlite.DB, nameOrID, class string, key childKey) (kiosk.Child, error) {
	cs, err := db.ChildByName(ctx, nameOrID)
	if err != nil {
		return kiosk.Child{}, plain(err)
	}
	if class != "" {
		var in []kiosk.Child
		for _, c := range cs {
			if c.Class == class {
				in = append(in, c)
			}
		}
		if len(in) == 0 {
			return kiosk.Child{}, fmt.Errorf("no child %q in class %q", nameOrID, class)
		}
		cs = in
	}
	if len(cs) > 1 {
		var where []string
		for _, c := range cs {
			where = append(where, key.where(c))
		}
		return kiosk.Child{}, fmt.Errorf("%d children are named %q, in classes: %s; give --class or the %s",
			len(cs), nameOrID, strings.Join(where, ", "), key)
	}
	return cs[0], nil
}

// findContact finds the child as findChild does, telling children of one
// name apart by their id, and its contact in slot.
func findContact(ctx context.Context, db *sqlite.DB, nameOrID, class string, slot int) (kiosk.Child, kiosk.Contact, error) {
	ch, err := findChild(ctx, db, nameOrID, class, byID)
	if err != nil {
		return kiosk.Child{}, kiosk.Contact{}, err
	}
	c, err := db.ContactBySlot(ctx, ch.ID, slot)
	if err != nil {
		return kiosk.Child{}, kiosk.Contact{}, plain(err)
	}
	return ch, c, nil
}

// parseExpires parses --expires: "" (never), a positive Go duration
// ("720h") or a number of days ("30d"), a date YYYY-MM-DD (the link works
// through that day in loc) or an RFC 3339 time. A date or time that has
// passed by now is an error naming what the user typed.
func parseExpires(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.AddDate(0, 0, n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: not a positive duration", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		end := t.AddDate(0, 0, 1)
		if !end.After(now) {
			return time.Time{}, fmt.Errorf("--expires %s: a link given a date works through the end of that day (%s), which has passed; give today's date or a later one",
				s, loc)
		}
		return end, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("--expires %s: that time has passed", s)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a duration (720h, 30d), YYYY-MM-DD or an RFC 3339 time", s)
}

// publicBase returns the links' base URL, without a trailing slash, and
// whether it is on loopback (only good on this machine): the first set of
// flagValue (--base-url), $KIOSK_PUBLIC_URL, cfgPath's [video] public_url
// (when a config file is given) and addr (the daemon's --addr, which
// serves /p/ too). It must be an absolute http or https URL.
func publicBase(flagValue, cfgPath, addr string) (base string, local bool, err error) {
	base = flagValue
	if base == "" {
		base = os.Getenv("KIOSK_PUBLIC_URL")
	}
	if base == "" && cfgPath != "" {
		c, err := loadConfig(cfgPath)
		if err != nil {
			return "", false, err
		}
		base = c.Video.PublicURL
	}
	if base == "" {
		base = addr
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false, usageErr("base URL %q: want http(s)://host[:port][/path]", base)
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	local = h == "localhost" || ip != nil && ip.IsLoopback()
	return strings.TrimRight(base, "/"), local, nil
}

func cmdContactLink(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var class, expires, baseURL, cfgPath, png, tz string
	pos, err := parse(g, "contact link", args, 2, 2, func(fs *flag.FlagSet) {
		fs.StringVar(&class, "class", "", "the child's class, when several children have the name")
		fs.StringVar(&expires, "expires", "", "expiry: 720h, 30d, YYYY-MM-DD (through that day) or RFC 3339 (default never)")
		fs.StringVar(&baseURL, "base-url", "", "public base URL parents' phones can reach (default $KIOSK_PUBLIC_URL, else the --config file's [video] public_url, else --addr)")
		fs.StringVar(&cfgPath, "config", "", "the kioskd config whose [video] public_url is the base")
		fs.StringVar(&png, "png", "", "write the QR code to this PNG file instead of the terminal")
		fs.StringVar(&tz, "tz", config.DefaultTimezone, "time zone of dates")
	})
	if err != nil {
		return err
	}
	slot, err := parseSlot("contact link", pos[1])
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return usageErr("contact link: --tz: %v", err)
	}
	now := time.Now()
	exp, err := parseExpires(expires, now, loc)
	if err != nil {
		return usageErr("contact link: %v", err)
	}
	base, local, err := publicBase(baseURL, cfgPath, g.addr)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return usageErr("contact link: %v", err)
		}
		return fmt.Errorf("contact link: %w", err)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		ch, c, err := findContact(ctx, db, pos[0], class, slot)
		if err != nil {
			return err
		}
		token, link, err := db.CreateLink(ctx, c.ID, exp)
		if err != nil {
			return plain(err)
		}
		if err := db.Audit(ctx, actor(), "contact link", fmt.Sprintf("link %d child %d contact %d slot %d expires %s",
			link.ID, ch.ID, c.ID, c.Slot, expiryText(link.Expires, loc))); err != nil {
			return err
		}
		pageURL := base + "/p/" + token
		fmt.Fprintf(stdout, "link %d for %s (%s), contact %d %s %s, expires %s\n",
			link.ID, ch.Name, ch.Class, c.Slot, c.Relation, c.Name, expiryText(link.Expires, loc))
		fmt.Fprintf(stdout, "%s\n", pageURL)
		if !c.Allows(kiosk.ModeVideo) {
			fmt.Fprintf(stdout, "note: this contact is not approved for video calls yet; the page opens, calls are refused until the roster allows video\n")
		}
		if local {
			fmt.Fprintf(stdout, "note: %s only works on this machine; parents' phones need --base-url, $KIOSK_PUBLIC_URL or [video] public_url (the county hub or a public name)\n", base)
		}
		q, err := qrcode.New(pageURL, qrcode.Medium)
		if err != nil {
			return fmt.Errorf("contact link: QR code: %w", err)
		}
		if png != "" {
			if err := q.WriteFile(512, png); err != nil {
				return fmt.Errorf("contact link: write %s: %w", png, err)
			}
			fmt.Fprintf(stdout, "QR code written to %s\n", png)
			return nil
		}
		fmt.Fprint(stdout, q.ToSmallString(false))
		fmt.Fprintf(stdout, "The URL is shown only now; to replace it, make a new link and revoke link %d.\n", link.ID)
		return nil
	})
}

// expiryText is an expiry for people: "never" or a time in loc.
func expiryText(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

func cmdContactLinks(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var class, tz string
	pos, err := parse(g, "contact links", args, 2, 2, func(fs *flag.FlagSet) {
		fs.StringVar(&class, "class", "", "the child's class, when several children have the name")
		fs.StringVar(&tz, "tz", config.DefaultTimezone, "time zone of the times shown")
	})
	if err != nil {
		return err
	}
	slot, err := parseSlot("contact links", pos[1])
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return usageErr("contact links: --tz: %v", err)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		_, c, err := findContact(ctx, db, pos[0], class, slot)
		if err != nil {
			return err
		}
		ls, err := db.Links(ctx, c.ID)
		if err != nil {
			return plain(err)
		}
		now := time.Now()
		tw := newTable(stdout)
		fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tSTATUS")
		for _, l := range ls {
			status := "active"
			switch {
			case l.Revoked:
				status = "revoked"
			case !l.Expires.IsZero() && !now.Before(l.Expires):
				status = "expired"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", l.ID, l.Created.In(loc).Format("2006-01-02 15:04"), expiryText(l.Expires, loc), status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(ls) == 0 {
			fmt.Fprintln(stdout, "(no links)")
		}
		return nil
	})
}

func cmdContactRevoke(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	pos, err := parse(g, "contact revoke", args, 1, 1, nil)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usageErr("contact revoke: LINK-ID must be a link number, not %q", pos[0])
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		l, err := db.Link(ctx, id)
		if err != nil {
			return plain(err)
		}
		if l.Revoked {
			fmt.Fprintf(stdout, "link %d was already revoked\n", id)
			return nil
		}
		if err := db.RevokeLink(ctx, id); err != nil {
			return plain(err)
		}
		if err := db.Audit(ctx, actor(), "contact revoke", fmt.Sprintf("link %d contact %d", id, l.Contact)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "link %d revoked\n", id)
		return nil
	})
}
