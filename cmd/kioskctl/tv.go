package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
	"github.com/qinqing/station/ui"
)

// cmdTV runs "tv start|stop|status|export": the first three through the
// daemon's admin API (it switches the TV), export from the database.
func cmdTV(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("tv: want start, stop, status or export")
	}
	switch args[0] {
	case "start":
		return cmdTVStart(ctx, g, args[1:], stdout)
	case "stop":
		return cmdTVStop(ctx, g, args[1:], stdout)
	case "status":
		return cmdTVStatus(ctx, g, args[1:], stdout)
	case "export":
		return cmdTVExport(ctx, g, args[1:], stdout)
	}
	return usageErr("tv: unknown subcommand %q", args[0])
}

// tvZone defines --tz on fs: the station's time zone, in which the TV
// commands show times (the daemon answers in whatever zone its host has,
// often UTC on a Pi).
func tvZone(fs *flag.FlagSet, tz *string) {
	fs.StringVar(tz, "tz", config.DefaultTimezone, "time zone of the times shown (the station's)")
}

func loadZone(cmd, tz string) (*time.Location, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, usageErr("%s: --tz: %v", cmd, err)
	}
	return loc, nil
}

func cmdTVStart(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var req tv.Request
	var tz string
	if _, err := parse(g, "tv start", args, 0, 0, func(fs *flag.FlagSet) {
		tvZone(fs, &tz)
		fs.StringVar(&req.TV, "tv", "", "TV name (default: the only TV)")
		fs.StringVar(&req.Programme, "programme", "", "channel or programme, required")
		fs.StringVar(&req.Category, "category", "", "one of "+strings.Join(tv.Categories, ", ")+", required")
		fs.StringVar(&req.Class, "class", "", "class or group watching, required")
		fs.IntVar(&req.Headcount, "count", 0, "how many children watch, required (> 0)")
		fs.StringVar(&req.Teacher, "teacher", "", "organising teacher, required")
		fs.StringVar(&req.Note, "note", "", "remark for the register")
	}); err != nil {
		return err
	}
	// The daemon checks the same rules; checking here first gives a usage
	// exit code (2) and works while the daemon is down.
	if err := req.Validate(); err != nil {
		return usageErr("tv start: %s", kiosk.ErrorMessage(err))
	}
	loc, err := loadZone("tv start", tz)
	if err != nil {
		return err
	}
	var resp ui.TVSessionResponse
	if err := call(ctx, g, "POST", "/api/tv/start", req, &resp); err != nil {
		return err
	}
	s := resp.Session
	fmt.Fprintf(stdout, "tv %s: started %s (%s) for %s, %d children, teacher %s; power %s%s\n",
		s.TV, s.Programme, s.Category, s.Class, s.Headcount, s.Teacher, s.Power, powerNote(s))
	if !s.Curfew.IsZero() {
		fmt.Fprintf(stdout, "ends by itself at %s\n", s.Curfew.In(loc).Format("15:04"))
	}
	return nil
}

func powerNote(s tv.Session) string {
	if s.PowerError != "" {
		return " (FAILED: " + s.PowerError + "; switch the TV by hand)"
	}
	return ""
}

func cmdTVStop(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var req ui.TVStopRequest
	if _, err := parse(g, "tv stop", args, 0, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&req.TV, "tv", "", "TV name (default: the only TV)")
	}); err != nil {
		return err
	}
	var resp ui.TVSessionResponse
	if err := call(ctx, g, "POST", "/api/tv/stop", req, &resp); err != nil {
		return err
	}
	s := resp.Session
	fmt.Fprintf(stdout, "tv %s: stopped %s after %s; power %s%s\n", s.TV, s.Programme,
		s.Duration.Round(time.Second), s.Power, powerNote(s))
	return nil
}

func cmdTVStatus(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var asJSON bool
	var tz string
	if _, err := parse(g, "tv status", args, 0, 0, func(fs *flag.FlagSet) {
		jsonFlag(&asJSON)(fs)
		tvZone(fs, &tz)
	}); err != nil {
		return err
	}
	loc, err := loadZone("tv status", tz)
	if err != nil {
		return err
	}
	var resp ui.TVListResponse
	if err := call(ctx, g, "GET", "/api/tv", nil, &resp); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, resp)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "TV\tROOM\tPOWER\tON\tCURFEW\tSESSION")
	for _, st := range resp.TVs {
		power := st.Power
		if st.PowerError != "" {
			power += " (fault: " + st.PowerError + ")"
		}
		on := "off"
		if st.On {
			on = "on"
		}
		ses := "-"
		if s := st.Session; s != nil {
			ses = fmt.Sprintf("%s %s, %s, %d children, since %s", s.Category, s.Programme, s.Class, s.Headcount, s.Started.In(loc).Format("15:04"))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, dash(st.Room), power, on, dash(st.Curfew), ses)
	}
	return tw.Flush()
}

func cmdTVExport(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf registerFlags
	if _, err := parse(g, "tv export", args, 0, 0, func(fs *flag.FlagSet) {
		rf.define(fs, "csv (the register, UTF-8 with BOM) or json (every field)")
	}); err != nil {
		return err
	}
	start, end, loc, err := rf.resolve("tv export")
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		rows, err := db.TVSessions(ctx, start, end)
		if err != nil {
			return err
		}
		// The register names teachers and classes: exports are audited like
		// the calls register's.
		if err := db.Audit(ctx, actor(), "tv export "+rf.format, fmt.Sprintf("from=%s to=%s rows=%d", rf.from, rf.to, len(rows))); err != nil {
			return err
		}
		w, closeFn, err := output(rf.out, stdout)
		if err != nil {
			return err
		}
		if rf.format == "json" {
			if rows == nil {
				rows = []register.TVSession{}
			}
			return errors.Join(writeJSON(w, rows), closeFn())
		}
		return errors.Join(register.WriteTVCSV(w, rows, loc), closeFn())
	})
}
