package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
)

// LoanRegisterScan is LoanRegister as it was before the indexes of 0014:
// it reads and decodes every loan entry of the journal. The reference the
// indexed LoanRegister must agree with (registers_equiv_test.go).
func (db *DB) LoanRegisterScan(ctx context.Context, from, to time.Time, r books.Rules) ([]register.BookLoan, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT seq, clock_synced, body FROM journal WHERE kind = 'loan' ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("loan register: query: %w", err)
	}
	defer rows.Close()
	var out []register.BookLoan
	byLoan := map[int64]int{}
	for rows.Next() {
		var (
			seq    int64
			synced bool
			raw    string
			b      loanBody
		)
		if err := rows.Scan(&seq, &synced, &raw); err != nil {
			return nil, fmt.Errorf("loan register: scan: %w", err)
		}
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			return nil, fmt.Errorf("loan register: seq %d: %w", seq, err)
		}
		at, err := parseTime(b.At)
		if err != nil {
			return nil, fmt.Errorf("loan register: seq %d: %w", seq, err)
		}
		var due time.Time
		if b.Due != "" {
			if due, err = time.Parse(time.DateOnly, b.Due); err != nil {
				return nil, fmt.Errorf("loan register: seq %d: due: %w", seq, err)
			}
		}
		if b.Event == LoanLend {
			if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && !at.Before(to)) {
				continue
			}
			byLoan[b.LoanID] = len(out)
			out = append(out, register.BookLoan{
				Seq: seq, LoanID: b.LoanID, Lent: at, ChildName: b.ChildName, Class: b.Class,
				Barcode: b.Barcode, Title: b.Title, Author: b.Author, Due: due,
				ConditionOut: books.Condition(b.Condition).ZH(), Handler: b.Handler,
				PriceCents: b.PriceCents, ClockSynced: synced,
			})
			continue
		}
		i, ok := byLoan[b.LoanID]
		if !ok || b.LoanID == 0 {
			continue
		}
		row := &out[i]
		if b.Handler != "" && b.Handler != row.Handler && !strings.Contains(row.Handler, " / "+b.Handler) {
			row.Handler += " / " + b.Handler
		}
		if b.Note != "" {
			row.Note = strings.TrimPrefix(row.Note+"；"+b.Note, "；")
		}
		switch b.Event {
		case LoanRenew:
			row.Due, row.Renewals = due, b.Renewals
		case LoanReturn:
			row.Returned, row.OverdueDays, row.ConditionIn = at, b.OverdueDays, books.Condition(b.Condition).ZH()
		case LoanLost:
			row.Lost, row.PriceCents = true, b.PriceCents
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loan register: rows: %w", err)
	}
	now := db.now()
	for i := range out {
		if out[i].Returned.IsZero() && !out[i].Lost {
			out[i].OverdueDays = r.OverdueDays(out[i].Due, now)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// TVSessionsScan is TVSessions as it was before the index of 0014 (an OR
// of the two kinds, which no index answers): the reference the indexed
// TVSessions must agree with.
func (db *DB) TVSessionsScan(ctx context.Context, from, to time.Time) ([]TVRow, error) {
	lo, hi := fmtTime(from), "~"
	if !to.IsZero() {
		hi = fmtTime(to)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT j.seq, j.body FROM journal j
		WHERE (j.kind = 'tv_end'
		       OR (j.kind = 'tv_start' AND NOT EXISTS (
		           SELECT 1 FROM journal e WHERE e.kind = 'tv_end' AND e.call_id = j.call_id)))
		  AND json_extract(j.body, '$.started') >= ?
		  AND json_extract(j.body, '$.started') < ?
		ORDER BY json_extract(j.body, '$.started'), j.seq`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("tv register: query: %w", err)
	}
	defer rows.Close()
	var out []TVRow
	for rows.Next() {
		var (
			seq  int64
			body string
		)
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, fmt.Errorf("tv register: scan: %w", err)
		}
		s, err := decodeTV([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("tv register: seq %d: %w", seq, err)
		}
		out = append(out, TVRow{Seq: seq, Session: s})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tv register: rows: %w", err)
	}
	return out, nil
}

// TestRegisterQueryPlans: the loans and TV registers find a period's
// entries through the indexes of 0014 (and journal_tv_once), not by
// reading every entry of their kinds. Migration 0014 can run twice.
func TestRegisterQueryPlans(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{})
	require.NoError(t, err)
	defer db.Close()
	mig, err := migrations.ReadFile("migrations/0014_loan_tv_indexes.sql")
	require.NoError(t, err)
	_, err = db.db.ExecContext(ctx, string(mig))
	require.NoError(t, err, "0014 runs again over itself (tests re-run migrations)")
	plan := func(q string) string {
		rows, err := db.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, "2026-10-01T00:00:00.000000000Z", "2026-11-01T00:00:00.000000000Z")
		require.NoError(t, err)
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			lines = append(lines, detail)
		}
		require.NoError(t, rows.Err())
		return strings.Join(lines, "\n")
	}

	loans, tvs := plan(loanPeriodSQL), plan(tvPeriodSQL)
	t.Logf("loans:\n%s\ntv:\n%s", loans, tvs)
	assert.Contains(t, loans, "USING INDEX journal_loan_id", "the period's loans' entries by loan id:\n%s", loans)
	assert.Contains(t, loans, "USING COVERING INDEX journal_loan_event", "the period's lends and their ids from the index alone:\n%s", loans)
	assert.NotContains(t, loans, "journal_kind", "no walk over every loan entry:\n%s", loans)
	assert.NotContains(t, loans, "SCAN journal", "no scan of the journal:\n%s", loans)

	assert.Contains(t, tvs, "USING INDEX journal_tv_started", "the period's entries by start time:\n%s", tvs)
	assert.Contains(t, tvs, "INDEX journal_tv_once", "an end looked up by session id:\n%s", tvs)
	assert.NotContains(t, tvs, "journal_kind", "no walk over every TV entry:\n%s", tvs)
}
