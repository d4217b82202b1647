package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCallLookupsUseIndexes checks SQLite's plan for the statements that
// look a call up by its id or a child's calls up by child: each must
// search an index, never scan the calls or the journal. A scan there
// costs a pass over every call ever made, on every call's end and, for
// RecoverInterrupted, once per call at every start of the daemon (SQLite
// ignores a partial index unless the query repeats its WHERE terms:
// callsOnce, journalCallOnce).
func TestCallLookupsUseIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })

	scan := regexp.MustCompile(`^SCAN (journal|calls|[a-z])\b`)
	for _, tc := range []struct {
		name, sql string
		args      []any
		want      []string // an index each plan must search
	}{
		{"project a start", projectStartSQL, []any{1, "x"}, []string{"calls_call_once"}},
		{"drop the start at the end", dropStartSQL, []any{"x"}, []string{"calls_call_once"}},
		{"rebuild the projection", rebuildCallsSQL, nil, []string{"journal_call_once"}},
		{"recover interrupted calls", recoverInterruptedSQL, nil, []string{"journal_call_once"}},
		{"quiet children", quietChildrenSQL, []any{"2026-01-01T00:00:00Z"}, []string{"calls_child"}},
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
				assert.False(t, scan.MatchString(line), "plan scans a table: %q\n%s", line, all)
			}
			for _, idx := range tc.want {
				assert.Contains(t, all, idx, "plan:\n%s", all)
			}
		})
	}
}
