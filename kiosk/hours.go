package kiosk

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultZone is the time zone used when Hours.Loc or a location argument
// is nil.
const DefaultZone = "Asia/Shanghai"

// ErrWindow is wrapped by every ParseWindow error.
var ErrWindow = errors.New("kiosk: bad opening window")

// hoursDefaultLoc loads DefaultZone once. A Pi image without tzdata (and
// without the time/tzdata import) cannot load it, so it falls back to a
// fixed +08:00 zone, which is exact for China (no DST since 1991).
var hoursDefaultLoc = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation(DefaultZone); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
})

// DefaultLocation returns Asia/Shanghai, or a fixed UTC+08:00 zone named
// "CST" when the system has no time zone database.
func DefaultLocation() *time.Location { return hoursDefaultLoc() }

// Location returns h.Loc, or DefaultLocation() when it is nil.
func (h Hours) Location() *time.Location {
	if h.Loc == nil {
		return DefaultLocation()
	}
	return h.Loc
}

// String formats m as "HH:MM"; 1440 is "24:00".
func (m Minute) String() string {
	return fmt.Sprintf("%02d:%02d", int(m)/60, int(m)%60)
}

// String formats w as ParseWindow reads it: "fri 20:00-01:00".
func (w Window) String() string {
	return hoursDayNames[w.Day] + " " + w.Start.String() + "-" + w.End.String()
}

// crosses reports whether w runs past midnight into the next day. A window
// whose End is not after its Start does (Start == End is 24 hours).
func (w Window) crosses() bool { return w.End <= w.Start }

// Open reports whether the room is open at t, judged on the wall clock in
// h.Location(). Windows include their start minute and exclude their end
// minute (16:30-18:00 is open at 16:30:00 and at 17:59:59, closed at
// 18:00:00). A window crossing midnight (fri 20:00-01:00) is also open on
// the next day before its End (Saturday 00:30). Closures override windows;
// each closure is closed from From (inclusive) to To (exclusive). Hours
// with no Windows are never open.
func (h Hours) Open(t time.Time) bool {
	for _, c := range h.Closures {
		if !t.Before(c.From) && t.Before(c.To) {
			return false
		}
	}
	lt := t.In(h.Location())
	day := lt.Weekday()
	yesterday := (day + 6) % 7
	m := Minute(lt.Hour()*60 + lt.Minute())
	for _, w := range h.Windows {
		switch {
		case w.Day == day && m >= w.Start && (w.crosses() || m < w.End):
			return true
		case w.crosses() && w.Day == yesterday && m < w.End:
			return true
		}
	}
	return false
}

// nextOpeningHorizon bounds NextOpening's search.
const nextOpeningHorizon = 366

// NextOpening returns the first instant at or after t when the room is
// open (t itself when it is open now), in h.Location(). It returns false
// when the room does not open in the next 366 days (no windows, or a
// closure covering the whole horizon).
//
// The answer is exact to the nanosecond: the room can only start being
// open at t, at a window's start, at a closure's end or at a time zone
// offset change (a window starting inside a skipped DST hour opens when
// the clocks jump), so only those instants are tried.
func (h Hours) NextOpening(t time.Time) (time.Time, bool) {
	if len(h.Windows) == 0 {
		return time.Time{}, false
	}
	loc := h.Location()
	lt := t.In(loc)
	limit := lt.AddDate(0, 0, nextOpeningHorizon)
	inRange := func(c time.Time) bool { return !c.Before(lt) && !c.After(limit) }

	cands := []time.Time{lt}
	y, mo, d := lt.Date()
	for i := 0; i <= nextOpeningHorizon; i++ {
		day := time.Date(y, mo, d+i, 0, 0, 0, 0, loc)
		for _, w := range h.Windows {
			if w.Day != day.Weekday() {
				continue
			}
			c := time.Date(y, mo, d+i, int(w.Start)/60, int(w.Start)%60, 0, 0, loc)
			if inRange(c) {
				cands = append(cands, c)
			}
		}
	}
	for _, c := range h.Closures {
		if inRange(c.To) {
			cands = append(cands, c.To.In(loc))
		}
	}
	for z := lt; ; {
		_, end := z.ZoneBounds()
		if end.IsZero() || end.After(limit) || !end.After(z) {
			break
		}
		cands = append(cands, end)
		z = end
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Before(cands[j]) })
	for _, c := range cands {
		if h.Open(c) {
			return c, true
		}
	}
	return time.Time{}, false
}

// Today returns the opening hours of t's local day for the screen, as
// "HH:MM-HH:MM" strings in start order: the windows that start on that
// day, with closures cut out of them ("16:30-18:00"; a window crossing
// midnight shows its end on the next day, "20:00-01:00"; a window running
// to midnight shows "24:00"). The tail of yesterday's window crossing
// midnight is not listed. It returns nil when the room does not open that
// day.
func (h Hours) Today(t time.Time) []string {
	loc := h.Location()
	lt := t.In(loc)
	y, mo, d := lt.Date()
	midnight := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	type span struct{ from, to time.Time }
	var spans []span
	for _, w := range h.Windows {
		if w.Day != lt.Weekday() {
			continue
		}
		end := time.Date(y, mo, d, int(w.End)/60, int(w.End)%60, 0, 0, loc)
		if w.crosses() {
			end = time.Date(y, mo, d+1, int(w.End)/60, int(w.End)%60, 0, 0, loc)
		}
		spans = append(spans, span{time.Date(y, mo, d, int(w.Start)/60, int(w.Start)%60, 0, 0, loc), end})
	}
	for _, c := range h.Closures {
		var kept []span
		for _, s := range spans {
			if !c.From.After(s.from) && !c.To.Before(s.to) {
				continue // covered
			}
			if !c.To.After(s.from) || !c.From.Before(s.to) {
				kept = append(kept, s) // disjoint
				continue
			}
			if c.From.After(s.from) {
				kept = append(kept, span{s.from, c.From})
			}
			if c.To.Before(s.to) {
				kept = append(kept, span{c.To, s.to})
			}
		}
		spans = kept
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	var out []string
	for _, s := range spans {
		to := s.to.In(loc).Format("15:04")
		if s.to.Equal(time.Date(y, mo, d+1, 0, 0, 0, 0, loc)) && s.from.Before(s.to) && !s.from.Before(midnight) {
			to = "24:00"
		}
		out = append(out, s.from.In(loc).Format("15:04")+"-"+to)
	}
	return out
}

// WeekStart returns Monday 00:00 local time of t's week in loc
// (DefaultLocation() when loc is nil): the start of the quota week.
// Sunday 23:59 belongs to the week that began six days earlier; Monday
// 00:00 starts a new one. In a zone where Monday 00:00 does not exist (a
// DST jump at midnight), it is the first instant of Monday.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = DefaultLocation()
	}
	lt := t.In(loc)
	back := (int(lt.Weekday()) + 6) % 7
	y, mo, d := lt.Date()
	return time.Date(y, mo, d-back, 0, 0, 0, 0, loc)
}

var hoursDayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

var hoursDayWords = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseWindow parses one line of opening hours into weekly windows, one
// per day and time range, in the order written:
//
//	"mon-fri 16:30-18:00"          Monday to Friday
//	"sat,sun 09:00-11:00"          a list of days
//	"fri 20:00-01:00"              crosses midnight: open until Saturday 01:00
//	"daily 00:00-24:00"            every day, all day
//	"mon-fri 12:00-13:00,16:30-18:00"  several ranges
//
// Days are mon..sun or monday..sunday (any case), "daily", "weekdays"
// (mon-fri) or "weekends" (sat,sun); a range may wrap (fri-mon). Times are
// HH:MM from 00:00 to 24:00; the start is before 24:00 and differs from
// the end; an end before the start crosses midnight. Ranges must not
// overlap (CheckOverlap). Errors wrap ErrWindow and quote the input.
func ParseWindow(s string) ([]Window, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return nil, fmt.Errorf("%w %q: want \"DAYS HH:MM-HH:MM\"", ErrWindow, s)
	}
	days, err := hoursParseDays(fields[0])
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrWindow, s, err)
	}
	var out []Window
	for _, r := range strings.Split(strings.Join(fields[1:], ""), ",") {
		start, end, err := hoursParseRange(r)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrWindow, s, err)
		}
		for _, d := range days {
			out = append(out, Window{Day: d, Start: start, End: end})
		}
	}
	if a, b, ok := overlap(out); ok {
		return nil, fmt.Errorf("%w %q: %w", ErrWindow, s, &OverlapError{A: a, B: b})
	}
	return out, nil
}

// OverlapError names two opening windows open at a same minute of the
// week, A before B in the order given; it wraps ErrWindow.
type OverlapError struct{ A, B Window }

// Error reads "mon 16:30-18:00 overlaps mon 17:00-19:00".
func (e *OverlapError) Error() string { return e.A.String() + " overlaps " + e.B.String() }

func (e *OverlapError) Unwrap() error { return ErrWindow }

// CheckOverlap returns nil, or an *OverlapError naming the first two
// windows of ws (in order) open at the same minute of the week. A window crossing midnight
// counts on the next day too ("fri 20:00-02:00" overlaps "sat
// 01:00-03:00"); windows that only touch (16:30-18:00 and 18:00-19:00) do
// not overlap. ParseWindow runs it on each line; a config with several
// lines runs it on all of them.
func CheckOverlap(ws []Window) error {
	if a, b, ok := overlap(ws); ok {
		return &OverlapError{A: a, B: b}
	}
	return nil
}

// overlap finds the first pair of ws open at a same minute. Each window is
// an arc [start, start+length) on the week's circle of 7*1440 minutes.
func overlap(ws []Window) (a, b Window, ok bool) {
	const week = 7 * 1440
	arc := func(w Window) (start, length int) {
		length = int(w.End - w.Start)
		if w.crosses() {
			length += 1440
		}
		return int(w.Day)*1440 + int(w.Start), length
	}
	for i := range ws {
		s1, l1 := arc(ws[i])
		for j := i + 1; j < len(ws); j++ {
			s2, l2 := arc(ws[j])
			if ((s2-s1)%week+week)%week < l1 || ((s1-s2)%week+week)%week < l2 {
				return ws[i], ws[j], true
			}
		}
	}
	return Window{}, Window{}, false
}

func hoursParseDays(s string) ([]time.Weekday, error) {
	switch strings.ToLower(s) {
	case "daily":
		return []time.Weekday{1, 2, 3, 4, 5, 6, 0}, nil
	case "weekdays":
		return []time.Weekday{1, 2, 3, 4, 5}, nil
	case "weekends":
		return []time.Weekday{6, 0}, nil
	}
	var out []time.Weekday
	seen := map[time.Weekday]bool{}
	for _, part := range strings.Split(strings.ToLower(s), ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := hoursDayWords[from]
		if !ok {
			return nil, fmt.Errorf("unknown day %q", from)
		}
		b := a
		if isRange {
			if b, ok = hoursDayWords[to]; !ok {
				return nil, fmt.Errorf("unknown day %q", to)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			if seen[d] {
				return nil, fmt.Errorf("day %s listed twice", hoursDayNames[d])
			}
			seen[d] = true
			out = append(out, d)
			if d == b {
				break
			}
		}
	}
	return out, nil
}

func hoursParseRange(s string) (start, end Minute, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("time range %q: want HH:MM-HH:MM", s)
	}
	if start, err = hoursParseClock(a); err != nil {
		return 0, 0, err
	}
	if end, err = hoursParseClock(b); err != nil {
		return 0, 0, err
	}
	if start == 24*60 {
		return 0, 0, fmt.Errorf("time range %q: start 24:00 is not a time of day", s)
	}
	if start == end {
		return 0, 0, fmt.Errorf("time range %q: start equals end", s)
	}
	return start, end, nil
}

func hoursParseClock(s string) (Minute, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) ||
		strings.ContainsAny(hh+mm, "+-") {
		return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return Minute(h*60 + m), nil
}
