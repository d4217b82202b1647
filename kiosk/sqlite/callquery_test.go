package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// TestCallQuery checks CountCalls and EachCall against Calls' rows
// filtered in Go, as the console filtered them before: every filter, the
// phone mode matching rows without a mode, and OFFSET/LIMIT windows.
func TestCallQuery(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{Now: func() time.Time { return at.Add(3 * time.Hour) }})
	require.NoError(t, err)
	defer db.Close()
	fillCalls(t, db, at)
	for i := 0; i < 12; i++ {
		r := kiosk.CallRecord{CallID: fmt.Sprintf("x%d", i), Booth: []string{"b2", "b3"}[i%2], ChildID: kiosk.ChildID(i%4 + 1),
			ChildName: "李小红", Class: []string{"四年级2班", "三年级1班", ""}[i%3], Mode: []kiosk.Mode{"", kiosk.ModeVideo, kiosk.ModePhone}[i%3],
			Started: at.Add(time.Duration(i)*37*time.Minute + time.Second), ClockSynced: true}
		require.NoError(t, db.CallStarted(ctx, r))
	}
	all, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 26)

	match := func(q CallQuery) []CallRow {
		var out []CallRow
		for _, r := range all {
			mode := r.Mode
			if mode == "" {
				mode = kiosk.ModePhone
			}
			if (!q.From.IsZero() && r.Started.Before(q.From)) || (!q.To.IsZero() && !r.Started.Before(q.To)) ||
				(q.Mode != "" && mode != q.Mode) || (q.Class != "" && r.Class != q.Class) ||
				(q.Booth != "" && r.Booth != q.Booth) || (q.Child != 0 && r.ChildID != q.Child) {
				continue
			}
			out = append(out, r)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    CallQuery
	}{
		{"all", CallQuery{}},
		{"period", CallQuery{From: at.Add(time.Hour), To: at.Add(5 * time.Hour)}},
		{"from", CallQuery{From: at.Add(2 * time.Hour)}},
		{"phone, with rows without a mode", CallQuery{Mode: kiosk.ModePhone}},
		{"video", CallQuery{Mode: kiosk.ModeVideo}},
		{"class", CallQuery{Class: "四年级2班"}},
		{"booth", CallQuery{Booth: "b3", Mode: kiosk.ModePhone}},
		{"child", CallQuery{Child: 2, To: at.Add(6 * time.Hour)}},
		{"nothing", CallQuery{Class: "no such class"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := match(tc.q)
			n, err := db.CountCalls(ctx, tc.q)
			require.NoError(t, err)
			assert.Equal(t, len(want), n)
			for _, w := range [][2]int{{0, -1}, {0, 3}, {2, 3}, {len(want) - 1, 5}, {len(want) + 3, 2}} {
				var got []CallRow
				require.NoError(t, db.EachCall(ctx, tc.q, w[0], w[1], func(r CallRow) error {
					got = append(got, r)
					return nil
				}))
				lo := min(max(w[0], 0), len(want))
				hi := len(want)
				if w[1] >= 0 {
					hi = min(lo+w[1], hi)
				}
				if lo == hi {
					assert.Empty(t, got, "offset %d limit %d", w[0], w[1])
					continue
				}
				assert.Equal(t, want[lo:hi], got, "offset %d limit %d", w[0], w[1])
			}
		})
	}
	t.Run("fn's error stops the walk", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := db.EachCall(ctx, CallQuery{}, 0, -1, func(CallRow) error { calls++; return stop })
		assert.ErrorIs(t, err, stop)
		assert.Equal(t, 1, calls)
	})
}
