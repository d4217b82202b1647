package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/books"
)

// BenchmarkLoanTVRegisters reads a year of the loans register and a month
// of the TV register from a journal with a decade of a school's loans and
// TV sessions (those of 1,000,000 entries, see ui/console's
// BenchmarkRegisterPages: 20,000 loans lent and returned, 3,000 sessions)
// and nothing else, indexed (LoanRegister, TVSessions) and by reading
// every entry of their kinds (the *Scan references). cpu-ms/op is the
// process's CPU time (user and system, all threads) per read, steadier
// than ns/op on a shared machine:
//
//	go test ./kiosk/sqlite -run '^$' -bench LoanTVRegisters
func BenchmarkLoanTVRegisters(b *testing.B) {
	ctx := context.Background()
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	decade := end.AddDate(-10, 0, 0)
	var now time.Time
	db, err := Open(ctx, filepath.Join(b.TempDir(), "kiosk.db"), Opts{Now: func() time.Time { return now }})
	require.NoError(b, err)
	defer db.Close()
	tx, err := db.db.BeginTx(ctx, nil)
	require.NoError(b, err)
	const loans, sessions = 20000, 3000
	spread := func(i, n int) time.Time {
		return decade.Add(time.Duration(int64(end.Sub(decade)) / int64(n) * int64(i)))
	}
	for i := 0; i < loans; i++ {
		lent := spread(i, loans)
		l := loanBody{Event: LoanLend, LoanID: int64(i + 1), Barcode: fmt.Sprintf("B%06d", i%3000), ISBN: "9787020002207",
			Title: "西游记", Author: "吴承恩", ChildID: int64(i%500 + 1), ChildName: fmt.Sprintf("学生%03d", i%500), Class: "3年级2班",
			Lent: fmtTime(lent), Due: lent.AddDate(0, 0, 14).Format(time.DateOnly), At: fmtTime(lent),
			Condition: "good", PriceCents: 2500, Handler: HandlerKiosk}
		for _, ev := range []string{LoanLend, LoanReturn} {
			l.Event = ev
			if ev == LoanReturn {
				now = lent.Add(9 * 24 * time.Hour)
				l.At = fmtTime(now)
			} else {
				now = lent
			}
			body, err := json.Marshal(l)
			require.NoError(b, err)
			_, err = db.appendTx(ctx, tx, KindLoan, "", body)
			require.NoError(b, err)
		}
	}
	for i := 0; i < sessions; i++ {
		st := spread(i, sessions)
		id := fmt.Sprintf("%032x", i)
		s := tvBody{SessionID: id, TV: "tv1", Room: "活动室", Programme: "新闻联播", Category: "新闻", Class: "3年级2班",
			Headcount: 30, Teacher: "李老师", Started: fmtTime(st), ClockSynced: true}
		now = st
		body, err := json.Marshal(s)
		require.NoError(b, err)
		_, err = db.appendTx(ctx, tx, KindTVStart, id, body)
		require.NoError(b, err)
		now = st.Add(30 * time.Minute)
		s.Ended, s.DurationMS, s.Duration, s.Cause, s.Power = fmtTime(now), 1800000, 1800, "stopped", "on"
		body, err = json.Marshal(s)
		require.NoError(b, err)
		_, err = db.appendTx(ctx, tx, KindTVEnd, id, body)
		require.NoError(b, err)
	}
	require.NoError(b, tx.Commit())
	now = end

	yearFrom, yearTo := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	monthFrom, monthTo := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	r := books.Rules{Location: time.UTC}
	rc := books.Same(r) // one set for every class
	for _, c := range []struct {
		name string
		read func() (int, error)
	}{
		{"loans-year", func() (int, error) { rows, err := db.LoanRegister(ctx, yearFrom, yearTo, rc); return len(rows), err }},
		{"loans-year-scan", func() (int, error) { rows, err := db.LoanRegisterScan(ctx, yearFrom, yearTo, r); return len(rows), err }},
		{"tv-month", func() (int, error) { rows, err := db.TVSessions(ctx, monthFrom, monthTo); return len(rows), err }},
		{"tv-month-scan", func() (int, error) { rows, err := db.TVSessionsScan(ctx, monthFrom, monthTo); return len(rows), err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			n, cpu0 := 0, cpuTime()
			for b.Loop() {
				if n, err = c.read(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "rows")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
