package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFreeTextKinds: the erasure looks for free text in every kind of
// entry but the calls'; a new kind must be added to freeTextKinds.
func TestFreeTextKinds(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), Opts{})
	require.NoError(t, err)
	defer db.Close()
	var schema string
	require.NoError(t, db.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'journal'`).Scan(&schema))
	list := regexp.MustCompile(`CHECK \(kind IN \(([^)]*)\)\)`).FindStringSubmatch(schema)
	require.NotNil(t, list)
	var kinds []string
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(list[1], -1) {
		kinds = append(kinds, m[1])
	}
	want := []string{string(KindCallStart), string(KindCallEnd), string(KindCallDenied)}
	for _, k := range freeTextKinds {
		want = append(want, string(k))
	}
	assert.ElementsMatch(t, kinds, want, "freeTextKinds and the call kinds are the journal's kinds")
}

// redactBody keeps the members' order and every untouched value byte for
// byte, and leaves a body without personal data as it is.
func TestRedactBody(t *testing.T) {
	s := &subject{id: 7, pseudonym: "C-00000001"}
	s.addTerm("王小明", true)
	s.addTerm("+8613800000002", false)
	body := []byte(`{"call_id":"c1","child_id":7,"child_name":"王小明","quality":{"rtt_ms":12.5},"number":"+8613800000002","help":false,"note":"x"}`)
	assert.Equal(t, `{"call_id":"c1","child_id":7,"child_name":"C-00000001","quality":{"rtt_ms":12.5},"number":"","help":false,"note":"x"}`,
		string(s.redactBody(body, true)))
	free := []byte(`{"actor":"mgr","action":"note","detail":"王小明 called 13800000002 \u003c+8613800000002\u003e"}`)
	assert.Equal(t, `{"actor":"mgr","action":"note","detail":"C-00000001 called *** \u003c***\u003e"}`, string(s.redactBody(free, false)))
	same := []byte(`{"op":"child_status","child_id":7,"status":"left"}`)
	assert.Equal(t, same, s.redactBody(same, true))
	erase := []byte(`{"op":"erase","child_id":7,"pseudonym":"C-1","by":"王小明"}`)
	assert.Equal(t, erase, s.redactBody(erase, true), "an erasure entry is never changed")
}
