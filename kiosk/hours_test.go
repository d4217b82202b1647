package kiosk_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// Week of Monday 2025-03-03 in Asia/Shanghai; Wednesday 2025-03-05 is a
// closure day (exams).
func hoursAt(day, hh, mm, ss int) time.Time {
	return time.Date(2025, time.March, day, hh, mm, ss, 0, kiosk.DefaultLocation())
}

func hoursMustParse(t testing.TB, lines ...string) []kiosk.Window {
	t.Helper()
	var ws []kiosk.Window
	for _, l := range lines {
		w, err := kiosk.ParseWindow(l)
		require.NoError(t, err, "parse %q", l)
		ws = append(ws, w...)
	}
	return ws
}

func hoursFixture(t testing.TB) kiosk.Hours {
	return kiosk.Hours{
		Windows: hoursMustParse(t, "mon-fri 16:30-18:00", "fri 20:00-01:00", "sat,sun 09:00-11:00"),
		Closures: []kiosk.Closure{
			{From: hoursAt(5, 0, 0, 0), To: hoursAt(6, 0, 0, 0), Note: "exams"},
		},
	}
}

func TestHoursFixtureDates(t *testing.T) {
	require.Equal(t, time.Monday, hoursAt(3, 0, 0, 0).Weekday())
	require.Equal(t, "Asia/Shanghai", kiosk.DefaultLocation().String(), "tzdata is expected on the test machine")
}

func TestHoursOpen(t *testing.T) {
	week := hoursFixture(t)
	tuesdayCut := week
	tuesdayCut.Closures = []kiosk.Closure{{From: hoursAt(4, 16, 0, 0), To: hoursAt(4, 17, 0, 0)}}
	allDay := kiosk.Hours{Windows: hoursMustParse(t, "daily 00:00-24:00")}
	fullTurn := kiosk.Hours{Windows: []kiosk.Window{{Day: time.Monday, Start: 8 * 60, End: 8 * 60}}}

	tests := []struct {
		name  string
		hours kiosk.Hours
		at    time.Time
		want  bool
	}{
		{"before window start", week, hoursAt(3, 16, 29, 59), false},
		{"window start inclusive", week, hoursAt(3, 16, 30, 0), true},
		{"last second of window", week, hoursAt(3, 17, 59, 59), true},
		{"window end exclusive", week, hoursAt(3, 18, 0, 0), false},
		{"same instant in UTC", week, hoursAt(3, 16, 30, 0).UTC(), true},
		{"instant in UTC before start", week, hoursAt(3, 16, 29, 0).UTC(), false},
		{"crossing window starts friday 20:00", week, hoursAt(7, 20, 0, 0), true},
		{"crossing window friday 23:59:59", week, hoursAt(7, 23, 59, 59), true},
		{"crossing window saturday 00:00", week, hoursAt(8, 0, 0, 0), true},
		{"crossing window saturday 00:30", week, hoursAt(8, 0, 30, 0), true},
		{"crossing window saturday 00:59:59", week, hoursAt(8, 0, 59, 59), true},
		{"crossing window ends saturday 01:00", week, hoursAt(8, 1, 0, 0), false},
		{"no crossing into thursday", week, hoursAt(6, 0, 30, 0), false},
		{"no crossing into monday from sunday 11:00", week, hoursAt(10, 0, 30, 0), false},
		{"weekend window", week, hoursAt(9, 10, 59, 0), true},
		{"closure day in window", week, hoursAt(5, 16, 30, 0), false},
		{"closure end exclusive", week, hoursAt(6, 16, 30, 0), true},
		{"tuesday closure hour", tuesdayCut, hoursAt(4, 16, 59, 59), false},
		{"tuesday closure end", tuesdayCut, hoursAt(4, 17, 0, 0), true},
		{"nil loc is Shanghai", week, time.Date(2025, time.March, 3, 8, 30, 0, 0, time.UTC), true},
		{"empty windows never open", kiosk.Hours{}, hoursAt(3, 12, 0, 0), false},
		{"daily all day sunday 23:59:59", allDay, hoursAt(9, 23, 59, 59), true},
		{"daily all day monday 00:00", allDay, hoursAt(10, 0, 0, 0), true},
		{"24h window from monday 08:00", fullTurn, hoursAt(3, 8, 0, 0), true},
		{"24h window tuesday 07:59", fullTurn, hoursAt(4, 7, 59, 0), true},
		{"24h window tuesday 08:00 closed", fullTurn, hoursAt(4, 8, 0, 0), false},
		{"24h window monday 07:59 closed", fullTurn, hoursAt(3, 7, 59, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.hours.Open(tc.at), "Open(%s)", tc.at)
		})
	}
}

func TestHoursOpenUsesLoc(t *testing.T) {
	// 16:30-18:00 in UTC is 00:30-02:00 in Shanghai.
	h := kiosk.Hours{Loc: time.UTC, Windows: hoursMustParse(t, "mon 16:30-18:00")}
	assert.True(t, h.Open(time.Date(2025, 3, 3, 16, 30, 0, 0, time.UTC)))
	assert.False(t, h.Open(hoursAt(3, 16, 30, 0)), "16:30 Shanghai is 08:30 UTC")
	assert.Equal(t, time.UTC, h.Location())
}

func TestHoursNextOpening(t *testing.T) {
	week := hoursFixture(t)
	tuesdayCut := week
	tuesdayCut.Closures = []kiosk.Closure{{From: hoursAt(4, 16, 0, 0), To: hoursAt(4, 17, 0, 0)}}
	forever := week
	forever.Closures = []kiosk.Closure{{From: hoursAt(1, 0, 0, 0), To: hoursAt(1, 0, 0, 0).AddDate(2, 0, 0)}}
	justInHorizon := week
	justInHorizon.Closures = []kiosk.Closure{{From: hoursAt(1, 0, 0, 0), To: hoursAt(3, 17, 0, 0).AddDate(0, 0, 365)}}

	tests := []struct {
		name   string
		hours  kiosk.Hours
		at     time.Time
		want   time.Time
		wantOK bool
	}{
		{"morning to afternoon", week, hoursAt(3, 10, 0, 0), hoursAt(3, 16, 30, 0), true},
		{"mid-second before start", week, hoursAt(3, 16, 29, 30).Add(500 * time.Millisecond), hoursAt(3, 16, 30, 0), true},
		{"at start is now", week, hoursAt(3, 16, 30, 0), hoursAt(3, 16, 30, 0), true},
		{"open now", week, hoursAt(3, 17, 0, 0), hoursAt(3, 17, 0, 0), true},
		{"at end goes to next day", week, hoursAt(3, 18, 0, 0), hoursAt(4, 16, 30, 0), true},
		{"skips closure day", week, hoursAt(4, 18, 0, 0), hoursAt(6, 16, 30, 0), true},
		{"inside closure", week, hoursAt(5, 12, 0, 0), hoursAt(6, 16, 30, 0), true},
		{"crossing tail is now", week, hoursAt(8, 0, 30, 0), hoursAt(8, 0, 30, 0), true},
		{"after crossing tail", week, hoursAt(8, 1, 0, 0), hoursAt(8, 9, 0, 0), true},
		{"sunday after window to monday", week, hoursAt(9, 11, 0, 0), hoursAt(10, 16, 30, 0), true},
		{"closure ends inside window", tuesdayCut, hoursAt(4, 16, 45, 0), hoursAt(4, 17, 0, 0), true},
		{"never: no windows", kiosk.Hours{}, hoursAt(3, 10, 0, 0), time.Time{}, false},
		{"never: closed beyond the horizon", forever, hoursAt(3, 10, 0, 0), time.Time{}, false},
		{"closure ends inside the horizon", justInHorizon, hoursAt(3, 17, 0, 0), hoursAt(3, 17, 0, 0).AddDate(0, 0, 365), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.hours.NextOpening(tc.at)
			require.Equal(t, tc.wantOK, ok)
			if tc.wantOK {
				assert.True(t, tc.want.Equal(got), "want %s, got %s", tc.want, got)
				assert.Equal(t, kiosk.DefaultLocation(), got.Location(), "answer in the station's zone")
				assert.True(t, tc.hours.Open(got), "the answer is open")
			}
		})
	}
}

func TestHoursNextOpeningDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata for Europe/Berlin: %v", err)
	}
	// 2025-03-30 02:00 CET jumps to 03:00 CEST: 02:30 never happens, so a
	// window from 02:30 opens as the clocks jump.
	h := kiosk.Hours{Loc: berlin, Windows: hoursMustParse(t, "sun 02:30-04:00")}
	got, ok := h.NextOpening(time.Date(2025, 3, 30, 0, 0, 0, 0, berlin))
	require.True(t, ok)
	assert.True(t, time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC).Equal(got), "got %s", got)

	// Autumn: 03:00 CEST falls back to 02:00 CET; a 09:00 window is
	// unaffected.
	h = kiosk.Hours{Loc: berlin, Windows: hoursMustParse(t, "sun 09:00-10:00")}
	got, ok = h.NextOpening(time.Date(2025, 10, 26, 0, 0, 0, 0, berlin))
	require.True(t, ok)
	assert.True(t, time.Date(2025, 10, 26, 8, 0, 0, 0, time.UTC).Equal(got), "got %s", got)
}

func TestHoursToday(t *testing.T) {
	week := hoursFixture(t)
	tuesdayCut := week
	tuesdayCut.Closures = []kiosk.Closure{{From: hoursAt(4, 16, 0, 0), To: hoursAt(4, 17, 0, 0)}}
	middleCut := week
	middleCut.Closures = []kiosk.Closure{{From: hoursAt(4, 17, 0, 0), To: hoursAt(4, 17, 15, 0)}}
	tests := []struct {
		name  string
		hours kiosk.Hours
		at    time.Time
		want  []string
	}{
		{"weekday", week, hoursAt(3, 8, 0, 0), []string{"16:30-18:00"}},
		{"friday with crossing window", week, hoursAt(7, 23, 0, 0), []string{"16:30-18:00", "20:00-01:00"}},
		{"saturday does not list the tail", week, hoursAt(8, 0, 30, 0), []string{"09:00-11:00"}},
		{"closure day", week, hoursAt(5, 12, 0, 0), nil},
		{"closure cuts the start", tuesdayCut, hoursAt(4, 12, 0, 0), []string{"17:00-18:00"}},
		{"closure cuts the middle", middleCut, hoursAt(4, 12, 0, 0), []string{"16:30-17:00", "17:15-18:00"}},
		{"all day", kiosk.Hours{Windows: hoursMustParse(t, "daily 00:00-24:00")}, hoursAt(9, 12, 0, 0), []string{"00:00-24:00"}},
		{"until midnight", kiosk.Hours{Windows: hoursMustParse(t, "sun 20:00-00:00")}, hoursAt(9, 12, 0, 0), []string{"20:00-24:00"}},
		{"sorted by start", kiosk.Hours{Windows: hoursMustParse(t, "mon 16:00-17:00", "mon 08:00-09:00")}, hoursAt(3, 12, 0, 0), []string{"08:00-09:00", "16:00-17:00"}},
		{"instant in UTC uses station day", week, time.Date(2025, 3, 4, 16, 30, 0, 0, time.UTC), nil}, // Wed 00:30 CST
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.hours.Today(tc.at))
		})
	}
}

func TestWeekStart(t *testing.T) {
	sh := kiosk.DefaultLocation()
	tests := []struct {
		name string
		at   time.Time
		loc  *time.Location
		want time.Time
	}{
		{"monday 00:00 starts a week", hoursAt(10, 0, 0, 0), sh, hoursAt(10, 0, 0, 0)},
		{"sunday 23:59:59 is the week before", hoursAt(9, 23, 59, 59), sh, hoursAt(3, 0, 0, 0)},
		{"sunday 23:59 is the week before", hoursAt(9, 23, 59, 0), sh, hoursAt(3, 0, 0, 0)},
		{"wednesday", hoursAt(5, 13, 0, 0), sh, hoursAt(3, 0, 0, 0)},
		{"monday 00:00 local given in UTC", hoursAt(10, 0, 0, 0).UTC(), sh, hoursAt(10, 0, 0, 0)},
		{"nil loc is Shanghai", time.Date(2025, 3, 9, 16, 0, 0, 0, time.UTC), nil, hoursAt(10, 0, 0, 0)},
		{"UTC loc differs from Shanghai", time.Date(2025, 3, 9, 16, 0, 0, 0, time.UTC), time.UTC, time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)},
		{"across a month", time.Date(2025, 3, 1, 12, 0, 0, 0, sh), sh, time.Date(2025, 2, 24, 0, 0, 0, 0, sh)},
		{"across a year", time.Date(2025, 1, 1, 12, 0, 0, 0, sh), sh, time.Date(2024, 12, 30, 0, 0, 0, 0, sh)},
	}
	if berlin, err := time.LoadLocation("Europe/Berlin"); err == nil {
		tests = append(tests,
			struct {
				name string
				at   time.Time
				loc  *time.Location
				want time.Time
			}{"DST week: sunday after spring forward", time.Date(2025, 3, 30, 12, 0, 0, 0, berlin), berlin, time.Date(2025, 3, 24, 0, 0, 0, 0, berlin)},
			struct {
				name string
				at   time.Time
				loc  *time.Location
				want time.Time
			}{"DST week: monday after spring forward", time.Date(2025, 3, 31, 0, 0, 0, 0, berlin), berlin, time.Date(2025, 3, 31, 0, 0, 0, 0, berlin)},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := kiosk.WeekStart(tc.at, tc.loc)
			assert.True(t, tc.want.Equal(got), "want %s, got %s", tc.want, got)
			assert.Equal(t, time.Monday, got.Weekday())
		})
	}
}

func TestParseWindow(t *testing.T) {
	w := func(d time.Weekday, s, e int) kiosk.Window {
		return kiosk.Window{Day: d, Start: kiosk.Minute(s), End: kiosk.Minute(e)}
	}
	good := []struct {
		in   string
		want []kiosk.Window
	}{
		{"mon-fri 16:30-18:00", []kiosk.Window{
			w(time.Monday, 990, 1080), w(time.Tuesday, 990, 1080), w(time.Wednesday, 990, 1080),
			w(time.Thursday, 990, 1080), w(time.Friday, 990, 1080)}},
		{"sat,sun 09:00-11:00", []kiosk.Window{w(time.Saturday, 540, 660), w(time.Sunday, 540, 660)}},
		{"fri 20:00-01:00", []kiosk.Window{w(time.Friday, 1200, 60)}},
		{"daily 00:00-24:00", []kiosk.Window{
			w(time.Monday, 0, 1440), w(time.Tuesday, 0, 1440), w(time.Wednesday, 0, 1440), w(time.Thursday, 0, 1440),
			w(time.Friday, 0, 1440), w(time.Saturday, 0, 1440), w(time.Sunday, 0, 1440)}},
		{"  Mon   9:05-9:10 ", []kiosk.Window{w(time.Monday, 545, 550)}},
		{"monday 12:00 - 13:00", []kiosk.Window{w(time.Monday, 720, 780)}},
		{"fri-mon 08:00-09:00", []kiosk.Window{
			w(time.Friday, 480, 540), w(time.Saturday, 480, 540), w(time.Sunday, 480, 540), w(time.Monday, 480, 540)}},
		{"mon-tue,thu 12:00-13:00,16:30-18:00", []kiosk.Window{
			w(time.Monday, 720, 780), w(time.Tuesday, 720, 780), w(time.Thursday, 720, 780),
			w(time.Monday, 990, 1080), w(time.Tuesday, 990, 1080), w(time.Thursday, 990, 1080)}},
		{"weekdays 16:30-18:00", []kiosk.Window{
			w(time.Monday, 990, 1080), w(time.Tuesday, 990, 1080), w(time.Wednesday, 990, 1080),
			w(time.Thursday, 990, 1080), w(time.Friday, 990, 1080)}},
		{"WEEKENDS 09:00-11:00", []kiosk.Window{w(time.Saturday, 540, 660), w(time.Sunday, 540, 660)}},
		{"sun 20:00-00:00", []kiosk.Window{w(time.Sunday, 1200, 0)}},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			got, err := kiosk.ParseWindow(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	bad := []string{
		"", "mon", "16:30-18:00", "mon 16:30", "xyz 10:00-11:00", "mon-xyz 10:00-11:00",
		"mon 25:00-26:00", "mon 10:60-11:00", "mon 10:00-10:00", "mon 24:00-01:00",
		"mon 10:00-24:01", "mon,mon 10:00-11:00", "mon-fri,wed 10:00-11:00", "mon 1000-1100",
		"mon 10:00-11:00,", "mon -1:00-02:00", "mon 10:0-11:00", "mon 100:00-101:00",
		"mon 10:00-11:00-12:00", "mon +1:00-02:00", "daily,mon 10:00-11:00", "周一 10:00-11:00",
		"mon 16:30-18:00,17:00-19:00", "mon 17:00-19:00,16:30-18:00", "mon 09:00-12:00,10:00-11:00",
		"daily 12:00-12:30,20:00-13:00", "fri,sat 20:00-02:00,01:00-03:00",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			got, err := kiosk.ParseWindow(in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, kiosk.ErrWindow), "error wraps ErrWindow: %v", err)
			assert.Contains(t, err.Error(), "\""+in+"\"", "error quotes the input")
			assert.Nil(t, got)
		})
	}
}

func TestWindowOverlap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  string // "" when the windows do not overlap
	}{
		{"touching", []string{"mon 16:30-18:00", "mon 18:00-19:00"}, ""},
		{"other day", []string{"mon 16:30-18:00", "tue 17:00-19:00"}, ""},
		{"daily all day", []string{"daily 00:00-24:00"}, ""},
		{"crossing then morning", []string{"fri 20:00-01:00", "sat 01:00-03:00"}, ""},
		{"sunday night into monday", []string{"sun 20:00-02:00", "mon 01:00-03:00"}, "sun 20:00-02:00 overlaps mon 01:00-03:00"},
		{"same day", []string{"mon-fri 16:30-18:00", "wed 17:00-19:00"}, "wed 16:30-18:00 overlaps wed 17:00-19:00"},
		{"inside", []string{"sat 09:00-12:00", "sat 10:00-11:00"}, "sat 09:00-12:00 overlaps sat 10:00-11:00"},
		{"crossing midnight", []string{"fri 20:00-02:00", "sat 01:00-03:00"}, "fri 20:00-02:00 overlaps sat 01:00-03:00"},
		{"same window twice", []string{"mon 10:00-11:00", "mon 10:00-11:00"}, "mon 10:00-11:00 overlaps mon 10:00-11:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := kiosk.CheckOverlap(hoursMustParse(t, tc.lines...))
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err, "want %s", tc.want)
			assert.ErrorIs(t, err, kiosk.ErrWindow)
			var oe *kiosk.OverlapError
			assert.ErrorAs(t, err, &oe)
			assert.Equal(t, tc.want, err.Error())
		})
	}
	_, err := kiosk.ParseWindow("mon 16:30-18:00, 17:00-19:00")
	require.Error(t, err, "one line's ranges overlap")
	var oe *kiosk.OverlapError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, kiosk.Window{Day: time.Monday, Start: 17 * 60, End: 19 * 60}, oe.B)
	assert.Contains(t, err.Error(), "mon 16:30-18:00 overlaps mon 17:00-19:00")
}

func TestWindowString(t *testing.T) {
	ws := hoursMustParse(t, "fri 20:00-01:00", "daily 00:00-24:00")
	assert.Equal(t, "fri 20:00-01:00", ws[0].String())
	assert.Equal(t, "mon 00:00-24:00", ws[1].String())
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"mon-fri 16:30-18:00", "sat,sun 09:00-11:00", "fri 20:00-01:00", "daily 00:00-24:00", "mon 1:2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, err := kiosk.ParseWindow(s)
		if err != nil {
			require.ErrorIs(t, err, kiosk.ErrWindow)
			return
		}
		require.NotEmpty(t, ws)
		for _, w := range ws {
			require.True(t, w.Start >= 0 && w.Start < 1440 && w.End >= 0 && w.End <= 1440 && w.Start != w.End, "window %+v", w)
			again, err := kiosk.ParseWindow(w.String())
			require.NoError(t, err, "String() parses back: %q", w.String())
			require.Equal(t, []kiosk.Window{w}, again)
		}
	})
}

func BenchmarkNextOpening(b *testing.B) {
	h := hoursFixture(b)
	// Worst case: a long closure makes NextOpening try many candidates.
	h.Closures = append(h.Closures, kiosk.Closure{From: hoursAt(1, 0, 0, 0), To: hoursAt(1, 0, 0, 0).AddDate(0, 6, 0)})
	at := hoursAt(3, 10, 0, 0)
	for b.Loop() {
		if _, ok := h.NextOpening(at); !ok {
			b.Fatal("no opening")
		}
	}
}
