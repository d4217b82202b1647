package main

import (
	"time"
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
