package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// A video call's setup time and quality survive the journal round trip.
func TestVideoCallRecord(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	start := time.Date(2026, 11, 28, 19, 0, 0, 0, time.UTC)
	r := kiosk.CallRecord{CallID: "v1", Booth: "booth1", ChildName: "王小明", Mode: kiosk.ModeVideo, Screen: "booth1",
		Number: "+8613800000101", Started: start, Limit: time.Minute}
	require.NoError(t, db.CallStarted(ctx, r))
	r.Answered, r.Ended = start.Add(2*time.Second), start.Add(62*time.Second)
	r.Billsec, r.Duration = time.Minute, 62*time.Second
	r.Disposition, r.Cause = kiosk.DispAnswered, kiosk.CausePeerLost
	r.Setup = 420 * time.Millisecond
	r.Quality = &kiosk.CallQuality{
		Screen: kiosk.LegQuality{RTTMs: 1.5, JitterMs: 2.25, PacketsLost: 3, FramesDecoded: 1800, Freezes: 1},
		Parent: kiosk.LegQuality{RTTMs: 80, JitterMs: 12, PacketsLost: 40, FramesDecoded: 1700},
	}
	require.NoError(t, db.CallEnded(ctx, r))
	rows, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kiosk.ModeVideo, rows[0].Mode)
	assert.Equal(t, "booth1", rows[0].Screen)
	assert.Equal(t, 420*time.Millisecond, rows[0].Setup)
	require.NotNil(t, rows[0].Quality)
	assert.Equal(t, *r.Quality, *rows[0].Quality)
	assert.Equal(t, kiosk.CausePeerLost, rows[0].Cause)
}

// Verify reports the head to write down; a tail cut later is caught by
// VerifyAnchor; dropped triggers are caught by Verify.
func TestVerifyHeadAnchorAndTriggers(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, db.CallDenied(ctx, kiosk.CallRecord{CallID: id, Booth: "b1", Reason: kiosk.ReasonClosed}))
	}
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	require.True(t, res.OK)
	assert.Equal(t, int64(3), res.HeadSeq)
	assert.Len(t, res.Head, 64)
	require.NoError(t, db.VerifyAnchor(ctx, res.HeadSeq, res.Head))
	assert.Error(t, db.VerifyAnchor(ctx, res.HeadSeq, strings.Repeat("0", 64)), "a different hash")

	raw, err := sql.Open("sqlite", db.Path())
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`DROP TRIGGER journal_no_delete`)
	require.NoError(t, err)
	_, err = raw.Exec(`DELETE FROM journal WHERE seq = 3`)
	require.NoError(t, err)
	err = db.VerifyAnchor(ctx, res.HeadSeq, res.Head)
	require.Error(t, err, "the cut tail is caught by the anchor")
	assert.Contains(t, err.Error(), "missing")
	res, err = db.Verify(ctx)
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Contains(t, res.Problem, "journal_no_delete")
}
