package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

// periods returns the [from, to) windows to compare registers over, from
// the times the register filters on: both sides open, each side open,
// and windows whose edges fall exactly on, just before and just after
// those times (an edge on a time includes it at from and excludes it at
// to), plus civil days and months in loc.
func periods(times []time.Time, rnd *rand.Rand, loc *time.Location) [][2]time.Time {
	var zero time.Time
	out := [][2]time.Time{{zero, zero}}
	edge := func() time.Time {
		t := times[rnd.IntN(len(times))]
		return t.Add([]time.Duration{0, 0, -time.Nanosecond, time.Nanosecond, -time.Hour, 36 * time.Hour}[rnd.IntN(6)])
	}
	for i := 0; i < 60; i++ {
		a, b := edge(), edge()
		if b.Before(a) {
			a, b = b, a
		}
		out = append(out, [2]time.Time{a, b}, [2]time.Time{a, zero}, [2]time.Time{zero, b})
	}
	for i := 0; i < 10; i++ {
		d := times[rnd.IntN(len(times))].In(loc)
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		month := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, loc)
		out = append(out, [2]time.Time{day, day.AddDate(0, 0, 1)}, [2]time.Time{month, month.AddDate(0, 1, 0)})
	}
	return out
}

// TestLoanRegisterMatchesScan: the indexed LoanRegister (0014) returns
// exactly what reading every loan entry returned, on a generated library
// history with loans open, returned, renewed, lost and damaged while out,
// copies damaged and written off on the shelf, and the clock set back
// once (lend times out of journal order), over periods with edges on and
// around the lend times.
func TestLoanRegisterMatchesScan(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	start := time.Date(2025, 9, 1, 8, 0, 0, 0, cst)
	clk.Set(start)
	var roster []kiosk.RosterEntry
	for i := 0; i < 8; i++ {
		roster = append(roster, kiosk.RosterEntry{Line: i + 2, Child: kiosk.Child{Name: fmt.Sprintf("学生%02d", i), Class: fmt.Sprintf("%d年级1班", i%3+1)}})
	}
	_, err := db.ApplyRoster(ctx, roster, false)
	require.NoError(t, err)
	csv := "ISBN,书名,作者,价格,册数,条码\n"
	var barcodes []string
	for i := 0; i < 4; i++ {
		var codes []string
		for j := 0; j < 10; j++ {
			codes = append(codes, fmt.Sprintf("A%d%02d", i, j))
		}
		barcodes = append(barcodes, codes...)
		csv += fmt.Sprintf("%s,书%d,作者%d,%d.50,,%s\n", []string{"9787020002207", "9791090636071", "9787532136377", "9787101003048"}[i], i, i, 10+i, strings.Join(codes, ";"))
	}
	cat, err := books.ParseCatalogue(strings.NewReader(csv))
	require.NoError(t, err)
	_, err = db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	rules := books.Rules{MaxLoans: 4, Renewals: 2, BlockAfterDays: -1, Location: cst}

	rnd := rand.New(rand.NewPCG(5, 14))
	done := map[string]int{}
	for step := 0; step < 600; step++ {
		now := clk.Now().Add(time.Duration(rnd.IntN(36*60)) * time.Minute)
		if step == 300 {
			now = now.AddDate(0, 0, -60) // the clock set back: lends out of journal order
		}
		clk.Set(now)
		code := barcodes[rnd.IntN(len(barcodes))]
		var (
			op  string
			err error
		)
		switch n := rnd.IntN(100); {
		case n < 50:
			op = sqlite.LoanLend
			_, err = db.Lend(ctx, sqlite.LendRequest{Child: kiosk.ChildID(rnd.IntN(8) + 1), Barcode: code, Rules: books.Same(rules), Handler: []string{"", "李老师"}[rnd.IntN(2)]})
		case n < 82:
			op = sqlite.LoanReturn
			_, err = db.ReturnBook(ctx, sqlite.ReturnRequest{Barcode: code, Rules: books.Same(rules), Condition: []books.Condition{"", books.ConditionWorn}[rnd.IntN(2)],
				Note: []string{"", "封面破损"}[rnd.IntN(2)], Handler: []string{"", "王老师"}[rnd.IntN(2)]})
		case n < 90:
			op = sqlite.LoanRenew
			_, err = db.RenewBook(ctx, code, books.Same(rules), "")
		case n < 95:
			op = sqlite.LoanDamaged
			_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: code, Event: op, Handler: "陈主任", Note: "水渍"})
		case n < 98:
			op = sqlite.LoanLost
			_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: code, Event: op, Handler: "陈主任", Note: "家长已赔"})
		default:
			op = sqlite.LoanWriteOff
			_, err = db.RecordCopyEvent(ctx, sqlite.CopyEvent{Barcode: code, Event: op, Handler: "陈主任"})
		}
		var ke *kiosk.Error
		if err != nil && !errors.As(err, &ke) {
			require.NoError(t, err, "step %d: %s %s", step, op, code)
		}
		if err == nil {
			done[op]++
		}
	}
	t.Logf("events: %v", done)
	for _, op := range []string{sqlite.LoanLend, sqlite.LoanReturn, sqlite.LoanRenew, sqlite.LoanDamaged, sqlite.LoanLost, sqlite.LoanWriteOff} {
		require.NotZero(t, done[op], "the history has %s events", op)
	}

	all, err := db.LoanRegisterScan(ctx, time.Time{}, time.Time{}, rules)
	require.NoError(t, err)
	var lent []time.Time
	var open, returned, lost, renewed, noted int
	for _, r := range all {
		lent = append(lent, r.Lent)
		switch {
		case r.Lost:
			lost++
		case r.Returned.IsZero():
			open++
		default:
			returned++
		}
		if r.Renewals > 0 {
			renewed++
		}
		if r.Note != "" {
			noted++
		}
	}
	require.NotZero(t, open*returned*lost*renewed*noted, "open %d, returned %d, lost %d, renewed %d, noted %d", open, returned, lost, renewed, noted)
	require.False(t, sort.SliceIsSorted(lent, func(i, j int) bool { return lent[i].Before(lent[j]) }), "some lends are out of time order")

	nonEmpty := 0
	for _, p := range periods(lent, rnd, cst) {
		want, err := db.LoanRegisterScan(ctx, p[0], p[1], rules)
		require.NoError(t, err)
		got, err := db.LoanRegister(ctx, p[0], p[1], books.Same(rules))
		require.NoError(t, err)
		if !assert.Equal(t, want, got, "loans lent in [%s, %s)", p[0], p[1]) {
			break
		}
		if len(want) > 0 && len(want) < len(all) {
			nonEmpty++
		}
	}
	assert.Greater(t, nonEmpty, 50, "most periods hold some loans but not all")
}

// TestTVSessionsMatchesScan: the indexed TVSessions (0014) returns exactly
// what the OR query returned, on generated sessions: ended, still open,
// closed by RecoverTV after a crash (with and without a later heartbeat),
// several at the same start time, and many running across a period's
// start, over periods with edges on and around the start times.
// tvSessionsN is how many sessions TestTVSessionsMatchesScan writes: the
// reference scan is quadratic (111 s under -race at 300).
const tvSessionsN = 80

func TestTVSessionsMatchesScan(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	rnd := rand.New(rand.NewPCG(5, 6))
	at := time.Date(2025, 9, 1, 18, 0, 0, 0, time.UTC)
	var starts []time.Time
	open := map[string]tv.Session{}
	for i := 0; i < tvSessionsN; i++ {
		if rnd.IntN(5) > 0 {
			at = at.Add(time.Duration(rnd.IntN(48*60)) * time.Minute)
		}
		clk.Set(at)
		s := tvSession(fmt.Sprintf("s%03d", i), at)
		s.Class = fmt.Sprintf("%d年级2班", i%4+1)
		require.NoError(t, db.TVStarted(ctx, s))
		starts = append(starts, at)
		open[s.ID] = s
		for id, o := range open {
			if rnd.IntN(3) > 0 {
				continue
			}
			if rnd.IntN(2) == 0 {
				require.NoError(t, db.TVHeartbeat(ctx, id, at.Add(time.Minute)))
				continue
			}
			o.Ended = o.Started.Add(time.Duration(rnd.IntN(5*60)) * time.Minute)
			o.Duration, o.Cause = o.Ended.Sub(o.Started), tv.CauseStop
			require.NoError(t, db.TVEnded(ctx, o))
			delete(open, id)
		}
		if i == tvSessionsN/2 || i == tvSessionsN*5/6 {
			n, err := db.RecoverTV(ctx)
			require.NoError(t, err)
			require.NotZero(t, n, "sessions left open by a crash")
			clear(open)
		}
	}
	require.NotEmpty(t, open, "some sessions are still open")

	all, err := db.TVSessionsScan(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, tvSessionsN)
	var interrupted, across int
	for _, r := range all {
		if r.Session.Cause == tv.CauseInterrupted {
			interrupted++
		}
	}
	require.NotZero(t, interrupted, "crash-closed sessions")

	nonEmpty := 0
	for _, p := range periods(starts, rnd, time.UTC) {
		want, err := db.TVSessionsScan(ctx, p[0], p[1])
		require.NoError(t, err)
		got, err := db.TVSessions(ctx, p[0], p[1])
		require.NoError(t, err)
		if !assert.Equal(t, want, got, "sessions started in [%s, %s)", p[0], p[1]) {
			break
		}
		if len(want) > 0 && len(want) < len(all) {
			nonEmpty++
		}
		for _, r := range all {
			if !p[0].IsZero() && r.Session.Started.Before(p[0]) && (r.Open() || r.Session.Ended.After(p[0])) {
				across++
			}
		}
	}
	assert.Greater(t, nonEmpty, 50, "most periods hold some sessions but not all")
	assert.NotZero(t, across, "sessions running across a period's start (left out: they started before it)")
}
