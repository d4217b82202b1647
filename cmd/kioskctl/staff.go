package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// staffUsage is `kioskctl staff`'s help.
const staffUsage = `usage: kioskctl [--data DIR] staff SUBCOMMAND

Staff cards: a teacher's or manager's card tapped at a booth opens the
staff screen (start and stop the TV there); a technician's shows the TVs
only. A card UID is a child's card or a staff card, never both.

  staff add NAME --role teacher|manager|technician [--user USERNAME]
                           a staff member (--user: their console login, if any)
  staff card NAME UID [--card-format hex|8h10d|reversed]
                           bind a card to the member (or enable it again)
  staff disable NAME       their cards open nothing (members are never deleted)
  staff enable NAME
  staff list [--json]      every member with role, status and cards
`

// cmdStaff runs `kioskctl staff add|card|disable|enable|list` on the
// database in --data; every change is journaled with who ran it.
func cmdStaff(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, staffUsage)
		if len(args) == 0 {
			return usageErr("staff: want add, card, disable, enable or list")
		}
		return nil
	}
	switch args[0] {
	case "add":
		return cmdStaffAdd(ctx, g, args[1:], stdout)
	case "card":
		return cmdStaffCard(ctx, g, args[1:], stdout)
	case "disable", "enable":
		return cmdStaffEnable(ctx, g, args[0], args[1:], stdout)
	case "list":
		return cmdStaffList(ctx, g, args[1:], stdout)
	}
	return usageErr("staff: unknown subcommand %q", args[0])
}

func cmdStaffAdd(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var role, user string
	pos, err := parse(g, "staff add", args, 1, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "teacher (值班教师), manager (管理员) or technician (技术员); required")
		fs.StringVar(&user, "user", "", "the member's console username, if any")
	})
	if err != nil {
		return err
	}
	r, err := kiosk.ParseStaffRole(role)
	if err != nil {
		return usageErr("staff add: %s", kiosk.ErrorMessage(err))
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		st, err := db.AddStaff(ctx, actor(), pos[0], r, user)
		if err != nil {
			return userErr("staff add", err)
		}
		fmt.Fprintf(stdout, "staff %s added (%s %s)\n", st.Name, st.Role, st.Role.Words().ZH)
		return nil
	})
}

func cmdStaffCard(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var format cardFormat
	pos, err := parse(g, "staff card", args, 2, 2, format.define)
	if err != nil {
		return err
	}
	uid, err := format.uid("staff card", pos[1])
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		if err := db.AddStaffCard(ctx, actor(), pos[0], uid); err != nil {
			return userErr("staff card", err)
		}
		fmt.Fprintf(stdout, "card %s is %s's staff card\n", uid, strings.TrimSpace(pos[0]))
		return nil
	})
}

func cmdStaffEnable(ctx context.Context, g *globals, verb string, args []string, stdout io.Writer) error {
	pos, err := parse(g, "staff "+verb, args, 1, 1, nil)
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		var err error
		if verb == "disable" {
			err = db.DisableStaff(ctx, actor(), pos[0])
		} else {
			err = db.EnableStaff(ctx, actor(), pos[0])
		}
		if err != nil {
			return userErr("staff "+verb, err)
		}
		fmt.Fprintf(stdout, "staff %s %sd\n", strings.TrimSpace(pos[0]), verb)
		return nil
	})
}

// staffJSON is one member in `staff list --json`.
type staffJSON struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Username string   `json:"username,omitempty"`
	Enabled  bool     `json:"enabled"`
	Cards    []string `json:"cards"`
}

func cmdStaffList(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var asJSON bool
	if _, err := parse(g, "staff list", args, 0, 0, jsonFlag(&asJSON)); err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		list, err := db.Staff(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]staffJSON, 0, len(list))
			for _, s := range list {
				out = append(out, staffJSON{Name: s.Name, Role: string(s.Role), Username: s.Username, Enabled: s.Enabled,
					Cards: append([]string{}, s.Cards...)})
			}
			return writeJSON(stdout, out)
		}
		tw := newTable(stdout)
		fmt.Fprintln(tw, "NAME\tROLE\tUSER\tSTATUS\tCARDS")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", s.Name, s.Role, s.Role.Words().ZH, dash(s.Username), enabledWord(s.Enabled), dash(strings.Join(s.Cards, " ")))
		}
		return tw.Flush()
	})
}
