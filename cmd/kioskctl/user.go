package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// cmdUser runs `kioskctl user add|passwd|disable|enable|list` on the database in
// --data. Passwords come from stdin: typed twice at a terminal (echo off),
// or one line with --password-stdin for scripts.
func cmdUser(ctx context.Context, g *globals, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("user: want add, passwd, disable, enable or list")
	}
	switch args[0] {
	case "add":
		return cmdUserAdd(ctx, g, args[1:], stdin, stdout)
	case "passwd":
		return cmdUserPasswd(ctx, g, args[1:], stdin, stdout)
	case "disable":
		return cmdUserDisable(ctx, g, args[1:], stdout)
	case "enable":
		return cmdUserEnable(ctx, g, args[1:], stdout)
	case "list":
		return cmdUserList(ctx, g, args[1:], stdout)
	}
	return usageErr("user: unknown subcommand %q", args[0])
}

func cmdUserAdd(ctx context.Context, g *globals, args []string, stdin io.Reader, stdout io.Writer) error {
	var role, name string
	var fromStdin bool
	pos, err := parse(g, "user add", args, 1, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "manager, principal, inspector or technician (required)")
		fs.StringVar(&name, "name", "", "display name, e.g. 李老师")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password as one line from stdin")
	})
	if err != nil {
		return err
	}
	r, err := sqlite.ParseRole(role)
	if err != nil {
		return usageErr("user add: %s", kiosk.ErrorMessage(err))
	}
	username, err := sqlite.NormUsername(pos[0])
	if err != nil {
		return usageErr("user add: %s", kiosk.ErrorMessage(err))
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		pw, err := readPassword(stdin, stdout, fromStdin)
		if err != nil {
			return err
		}
		u, err := db.AddUser(ctx, actor(), sqlite.NewUser{Username: username, DisplayName: name, Role: r, Password: pw})
		if err != nil {
			return userErr("user add", err)
		}
		fmt.Fprintf(stdout, "user %s added (%s)\n", u.Username, u.Role)
		return nil
	})
}

func cmdUserPasswd(ctx context.Context, g *globals, args []string, stdin io.Reader, stdout io.Writer) error {
	var fromStdin bool
	pos, err := parse(g, "user passwd", args, 1, 1, func(fs *flag.FlagSet) {
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password as one line from stdin")
	})
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		u, err := db.UserByName(ctx, pos[0])
		if err != nil {
			return userErr("user passwd", err)
		}
		pw, err := readPassword(stdin, stdout, fromStdin)
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, actor(), pos[0], pw); err != nil {
			return userErr("user passwd", err)
		}
		fmt.Fprintf(stdout, "password of %s changed; the user's sessions ended and failed logins cleared\n", u.Username)
		if u.Disabled {
			fmt.Fprintf(stdout, "note: %s is disabled and cannot log in; run: kioskctl user enable %s\n", u.Username, u.Username)
		}
		return nil
	})
}

// cmdUserEnable enables a disabled user again (journaled, like disable)
// and clears the account's failed logins, so it also lifts a login lock.
func cmdUserEnable(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	pos, err := parse(g, "user enable", args, 1, 1, nil)
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		u, err := db.UserByName(ctx, pos[0])
		if err != nil {
			return userErr("user enable", err)
		}
		if err := db.EnableUser(ctx, actor(), u.Username); err != nil {
			return userErr("user enable", err)
		}
		if u.Disabled {
			fmt.Fprintf(stdout, "user %s enabled; failed logins cleared\n", u.Username)
		} else {
			fmt.Fprintf(stdout, "user %s was already enabled; failed logins cleared\n", u.Username)
		}
		return nil
	})
}

func cmdUserDisable(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	pos, err := parse(g, "user disable", args, 1, 1, nil)
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		if err := db.DisableUser(ctx, actor(), pos[0]); err != nil {
			return userErr("user disable", err)
		}
		fmt.Fprintf(stdout, "user %s disabled; the user's sessions ended\n", strings.ToLower(pos[0]))
		return nil
	})
}

// userJSON is one user in `user list --json`. Field names are stable.
type userJSON struct {
	Username  string     `json:"username"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Disabled  bool       `json:"disabled"`
	Created   time.Time  `json:"created"`
	LastLogin *time.Time `json:"last_login"`
}

func cmdUserList(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var asJSON bool
	var tz string
	if _, err := parse(g, "user list", args, 0, 0, func(fs *flag.FlagSet) {
		jsonFlag(&asJSON)(fs)
		fs.StringVar(&tz, "tz", config.DefaultTimezone, "time zone of the times shown")
	}); err != nil {
		return err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return usageErr("user list: --tz: %v", err)
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		users, err := db.Users(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			out := make([]userJSON, 0, len(users))
			for _, u := range users {
				j := userJSON{Username: u.Username, Name: u.DisplayName, Role: string(u.Role), Disabled: u.Disabled, Created: u.Created}
				if !u.LastLogin.IsZero() {
					l := u.LastLogin
					j.LastLogin = &l
				}
				out = append(out, j)
			}
			return writeJSON(stdout, out)
		}
		tw := newTable(stdout)
		fmt.Fprintln(tw, "USERNAME\tROLE\tNAME\tSTATUS\tLAST LOGIN")
		for _, u := range users {
			status, last := enabledWord(!u.Disabled), "never"
			if !u.LastLogin.IsZero() {
				last = u.LastLogin.In(loc).Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, u.DisplayName, status, last)
		}
		return tw.Flush()
	})
}

// userErr turns a store error into the command's error: a user's mistake
// (bad input, taken name, unknown user) exits 1 with the message.
func userErr(cmd string, err error) error {
	var ke *kiosk.Error
	if errors.As(err, &ke) {
		return fmt.Errorf("%s: %s", cmd, ke.Message)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// readPassword reads a new password from in: one line when oneLine (for
// scripts), else twice, with prompts and echo off when in is a terminal;
// the two must match. The password is checked against
// sqlite.CheckPassword before anything is written.
func readPassword(in io.Reader, prompt io.Writer, oneLine bool) (string, error) {
	tty := false
	if f, ok := in.(*os.File); ok {
		if restore, err := echoOff(f); err == nil {
			tty = true
			defer restore()
		}
	}
	br := bufio.NewReader(in)
	// want says what stdin lacked when it ends early.
	want := "want the password twice, one line each (or one line with --password-stdin)"
	if oneLine {
		want = "--password-stdin wants the password on one line"
	}
	line := func(p, short string) (string, error) {
		if tty {
			fmt.Fprint(prompt, p)
		}
		s, err := br.ReadString('\n')
		if tty {
			fmt.Fprintln(prompt)
		}
		if errors.Is(err, io.EOF) && s == "" {
			return "", fmt.Errorf("read password: %s: %s", short, want)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	pw, err := line("Password (at least 10 characters): ", "no password on stdin")
	if err != nil {
		return "", err
	}
	if err := sqlite.CheckPassword(pw); err != nil {
		return "", fmt.Errorf("read password: %s", kiosk.ErrorMessage(err))
	}
	if oneLine {
		return pw, nil
	}
	again, err := line("Again: ", "stdin ended after one line, before the confirmation")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("read password: the two passwords differ")
	}
	return pw, nil
}
