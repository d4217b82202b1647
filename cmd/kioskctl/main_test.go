package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// kioskctl runs one invocation and returns its exit code and output.
func kioskctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// newData returns a data dir holding an empty station database.
func newData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return dir
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"unknown command", []string{"frobnicate"}, 2},
		{"dial without N", []string{"dial"}, 2},
		{"dial bad N", []string{"dial", "7"}, 2},
		{"roster without subcommand", []string{"roster"}, 2},
		{"ledger export unknown register", []string{"ledger", "export", "books"}, 2},
		{"ledger export bad format", []string{"ledger", "export", "calls", "--format", "xml"}, 2},
		{"unknown flag", []string{"status", "--frob"}, 2},
		{"help", []string{"--help"}, 0},
		{"help command is usage, never a call", []string{"help", "--booth", "b1"}, 0},
		{"non-loopback addr", []string{"--addr", "http://192.0.2.2:8080", "status"}, 2},
		{"reversed date range", []string{"ledger", "export", "calls", "--from", "2026-12-01", "--to", "2026-11-01"}, 2},
		{"bad anchor", []string{"ledger", "verify", "--anchor", "12"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := kioskctl(t, tc.args...)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr)
		})
	}
}

func TestRosterImportExport(t *testing.T) {
	data := newData(t)
	good := filepath.Join("..", "..", "testdata", "roster", "good_gb18030.csv")

	code, out, stderr := kioskctl(t, "--data", data, "roster", "import", good, "--dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "dry run")
	entries := rosterEntries(t, data)
	assert.Empty(t, entries, "a dry run writes nothing")

	code, out, stderr = kioskctl(t, "--data", data, "roster", "import", good)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "imported")
	entries = rosterEntries(t, data)
	require.NotEmpty(t, entries)

	// Importing the same file again changes nothing.
	code, out, _ = kioskctl(t, "roster", "import", "--data", data, good)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "children: 0 added, 0 updated")
	assert.Equal(t, entries, rosterEntries(t, data))

	// Export, then re-import the export: still nothing changes.
	exported := filepath.Join(t.TempDir(), "roster.csv")
	code, _, stderr = kioskctl(t, "--data", data, "roster", "export", "-o", exported)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(exported)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")), "the export starts with a UTF-8 BOM for Excel")
	code, out, _ = kioskctl(t, "--data", data, "roster", "import", exported)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "children: 0 added, 0 updated")

	code, _, _ = kioskctl(t, "--data", data, "ledger", "verify")
	assert.Equal(t, 0, code, "the roster changes are journaled in an intact chain")
}

func TestRosterImportBadRows(t *testing.T) {
	data := newData(t)
	code, _, stderr := kioskctl(t, "--data", data, "roster", "import", filepath.Join("..", "..", "testdata", "roster", "bad.csv"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "nothing imported")
	assert.Contains(t, stderr, "line 3: ", "each bad row is reported by line")
	assert.Contains(t, stderr, "line 4: ")
	assert.Empty(t, rosterEntries(t, data), "all or nothing")
}

func rosterEntries(t *testing.T, data string) []kiosk.RosterEntry {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	defer db.Close()
	es, err := db.RosterEntries(context.Background())
	require.NoError(t, err)
	for i := range es {
		es[i].Line = 0
	}
	return es
}

func TestLedgerExportAndVerify(t *testing.T) {
	ctx := context.Background()
	data := newData(t)
	db, err := sqlite.Open(ctx, filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	start := time.Date(2026, 11, 27, 17, 0, 0, 0, time.FixedZone("CST", 8*3600))
	rec := kiosk.CallRecord{CallID: "c1", Booth: "booth1", ChildID: 0, ChildName: "王小明", Class: "三年级1班",
		ContactName: "王建国", Relation: "父亲", Number: "+8613812345678", Mode: kiosk.ModePhone, Started: start,
		Limit: time.Minute, ClockSynced: true}
	require.NoError(t, db.CallStarted(ctx, rec))
	rec.Ring, rec.Answered = start.Add(time.Second), start.Add(3*time.Second)
	rec.Ended, rec.Duration, rec.Billsec = start.Add(63*time.Second), 63*time.Second, time.Minute
	rec.Disposition, rec.Cause, rec.SIPCode = kiosk.DispAnswered, kiosk.CauseLimit, 200
	require.NoError(t, db.CallEnded(ctx, rec))
	require.NoError(t, db.Close())

	code, out, stderr := kioskctl(t, "--data", data, "ledger", "export", "calls", "--from", "2026-11-27", "--to", "2026-11-27")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(out, "\xEF\xBB\xBF序号,日期,学生姓名"), "register header after the BOM: %q", out[:min(len(out), 60)])
	assert.Contains(t, out, "138****5678")
	assert.NotContains(t, out, "13812345678", "numbers are masked in the register")
	assert.Contains(t, out, "已接通")

	code, out, _ = kioskctl(t, "--data", data, "ledger", "export", "calls", "--from", "2026-11-28")
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "王小明", "the date filter applies")

	code, out, _ = kioskctl(t, "--data", data, "ledger", "export", "calls", "--format", "json")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"ANSWERED"`)

	code, out, _ = kioskctl(t, "--data", data, "ledger", "verify")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "ledger ok")
	head := regexp.MustCompile(`head: (\d+:[0-9a-f]{64})`).FindStringSubmatch(out)
	require.NotNil(t, head, "verify prints the head to write down: %s", out)
	code, _, stderr = kioskctl(t, "--data", data, "ledger", "verify", "--anchor", head[1])
	assert.Equal(t, 0, code, stderr)
	code, _, stderr = kioskctl(t, "--data", data, "ledger", "verify", "--anchor", "999:"+strings.Repeat("a", 64))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing")
}

func TestConfigCheck(t *testing.T) {
	code, out, _ := kioskctl(t, "config", "check", filepath.Join("..", "..", "firmware-config", "kiosk.example.toml"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "valid")
	code, _, stderr := kioskctl(t, "config", "check", filepath.Join("..", "..", "testdata", "config", "unknown_keys.toml"))
	assert.Equal(t, 1, code)
	assert.Regexp(t, `unknown_keys.toml:\d+: `, stderr, "problems are listed as file:line")
	assert.Contains(t, stderr, "invalid config:")

	code, _, stderr = kioskctl(t, "config", "check", filepath.Join(t.TempDir(), "nope.toml"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "read config")
	assert.NotContains(t, stderr, "invalid config", "a file that cannot be read is not an invalid config")
}

func TestDaemonUnreachable(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "admin.token"), []byte("x\n"), 0o600))
	code, _, stderr := kioskctl(t, "--data", data, "--addr", "http://127.0.0.1:1", "status")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "reach kioskd")
}
