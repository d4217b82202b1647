package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// TestCallLookupsUseIndexes checks SQLite's plan for the statements that
// look a call up by its id or a child's calls up by child, that run at
// every start of the daemon, or that run per operation over a table that
// grows with time: each must search an index, never scan the calls, the
// journal or the catalogue. A scan there costs a pass over every call ever
// made, on every call's end and, for RecoverInterrupted, at every start of
// the daemon (SQLite ignores a partial index unless the query repeats its
// WHERE terms: callsOnce, journalCallOnce).
func TestCallLookupsUseIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	// Some history: without statistics the planner still weighs the
	// tables' sizes, and a plan that is right on an empty file may walk
	// the journal on a filled one (RecoverInterrupted did, before its
	// CROSS JOIN).
	at := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	_, err = db.BulkAppendCalls(ctx, func(yield func(BulkCall) bool) {
		for i := range 500 {
			r := kiosk.CallRecord{CallID: fmt.Sprintf("c%d", i), ChildID: kiosk.ChildID(i%50 + 1),
				Started: at.Add(time.Duration(i) * time.Hour), Ended: at.Add(time.Duration(i)*time.Hour + time.Minute)}
			if !yield(BulkCall{Kind: KindCallStart, Record: r}) || !yield(BulkCall{Kind: KindCallEnd, Record: r}) {
				return
			}
		}
	})
	require.NoError(t, err)

	scan := regexp.MustCompile(`^SCAN (journal|calls|book_copies|book_loans|[a-z])\b`)
	for _, tc := range []struct {
		name, sql string
		args      []any
		want      []string // an index each plan must search
		walk      string   // a partial index the plan may read whole: it holds no history
	}{
		{"project a start", projectStartSQL, []any{1, "x"}, []string{"calls_call_once"}, ""},
		{"drop the start at the end", dropStartSQL, []any{"x"}, []string{"calls_call_once"}, ""},
		{"rebuild the projection", rebuildCallsSQL, nil, []string{"journal_call_once"}, ""},
		{"quiet children", quietChildrenSQL, []any{"2026-01-01T00:00:00Z"}, []string{"calls_child"}, ""},
		{"recover interrupted calls: the open ones only", recoverInterruptedSQL, nil, []string{"calls_open", "journal_call_once"}, "calls_open"},
		{"next copy number", copyNumbersSQL, []any{"9787020002207-", "9787020002207."}, []string{"sqlite_autoindex_book_copies_1 (barcode>? AND barcode<?)"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := db.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.sql, tc.args...)
			require.NoError(t, err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Err())
			all := strings.Join(plan, "\n")
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN c") && strings.Contains(tc.sql, "FROM children c") {
					continue // the children themselves: one pass over the roster
				}
				if strings.HasPrefix(line, "SCAN j") && strings.Contains(tc.sql, "FROM journal j\n") {
					continue // the rebuild reads every call entry once
				}
				if tc.walk != "" && strings.Contains(line, " INDEX "+tc.walk) {
					continue
				}
				if !strings.Contains(tc.sql, "FROM journal j\n") { // not the rebuild
					// Every entry of a kind, unbounded: a scan of the journal all the same.
					assert.NotContains(t, line, "journal_kind (kind=?)", "plan reads every entry of a kind:\n%s", all)
				}
				assert.False(t, scan.MatchString(line), "plan scans a table: %q\n%s", line, all)
			}
			if tc.walk != "" {
				assert.Contains(t, plan[0], " INDEX "+tc.walk, "the outer loop reads %s alone:\n%s", tc.walk, all)
			}
			for _, idx := range tc.want {
				assert.Contains(t, all, idx, "plan:\n%s", all)
			}
		})
	}
}
