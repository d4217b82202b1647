package main

import (
	"flag"
	"time"

	"github.com/qinqing/station/config"
)

// days reads the --from and --to days of an export (YYYY-MM-DD, local to
// loc, --to inclusive) into [start, end); a zero start or end is an open
// side. A date that does not parse, or a --from after --to, is a usage
// error naming the command.
func days(cmd, from, to string, loc *time.Location) (start, end time.Time, err error) {
	if from != "" {
		if start, err = time.ParseInLocation(time.DateOnly, from, loc); err != nil {
			return start, end, usageErr("%s: --from: want YYYY-MM-DD", cmd)
		}
	}
	if to != "" {
		t, err := time.ParseInLocation(time.DateOnly, to, loc)
		if err != nil {
			return start, end, usageErr("%s: --to: want YYYY-MM-DD", cmd)
		}
		end = t.AddDate(0, 0, 1)
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return start, end, usageErr("%s: --from %s is after --to %s", cmd, from, to)
	}
	return start, end, nil
}

// registerFlags are the flags of a register export: --from, --to, --format
// (csv or json), -o and --tz.
type registerFlags struct {
	from, to, format, out, tz string
}

// define adds the flags to fs; formatHelp describes --format.
func (r *registerFlags) define(fs *flag.FlagSet, formatHelp string) {
	fs.StringVar(&r.from, "from", "", "first day, YYYY-MM-DD (default: everything)")
	fs.StringVar(&r.to, "to", "", "last day, YYYY-MM-DD, inclusive (default: everything)")
	fs.StringVar(&r.format, "format", "csv", formatHelp)
	fs.StringVar(&r.out, "o", "", "output file (default stdout)")
	fs.StringVar(&r.tz, "tz", config.DefaultTimezone, "time zone of the dates")
}

// resolve checks --format and --tz and reads the days (see days).
func (r *registerFlags) resolve(cmd string) (start, end time.Time, loc *time.Location, err error) {
	if r.format != "csv" && r.format != "json" {
		return start, end, nil, usageErr("%s: unknown format %q (want csv or json)", cmd, r.format)
	}
	if loc, err = time.LoadLocation(r.tz); err != nil {
		return start, end, nil, usageErr("%s: --tz: %v", cmd, err)
	}
	start, end, err = days(cmd, r.from, r.to, loc)
	return start, end, loc, err
}
