package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/callbridge/sip/sipdemo"
	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// startDemo runs an in-process demo daemon on loopback port 0 with the
// call limit shortened to limit (one warning at half of it).
func startDemo(t *testing.T, limit time.Duration) *Main {
	t.Helper()
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Tweak = func(c *config.Config) {
		c.Limits.Call = config.D(limit)
		c.Limits.Warnings = []config.Duration{config.D(limit / 2)}
	}
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m
}

// api calls the admin API of m with its token.
func api(t *testing.T, base, dataDir, method, path string, body any) (int, map[string]any) {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	require.NoError(t, err)
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitBooth polls /api/status until the first booth shows state.
func waitBooth(t *testing.T, base, dataDir string, state kiosk.ScreenKind, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		_, st := api(t, base, dataDir, "GET", "/api/status", nil)
		if booths, ok := st["booths"].([]any); ok && len(booths) > 0 {
			last, _ = booths[0].(map[string]any)["state"].(string)
			if last == string(state) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("booth did not reach %s within %s (last %q)", state, within, last)
}

// TestDemoCallCutAtLimit is the newcomer's flow, in-process: the demo
// starts, a card is tapped and contact 1 dialled through the admin API;
// the demo booth phone and trunk (real SIP user agents) answer, the call
// is cut at the limit and lands in the ledger as ANSWERED/limit.
func TestDemoCallCutAtLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a real SIP call on loopback")
	}
	m := startDemo(t, 3*time.Second)
	base := m.HTTPURL()

	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	var hz map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&hz))
	resp.Body.Close()
	assert.Equal(t, "ok", hz["status"])
	comps, _ := hz["components"].(map[string]any)
	for _, c := range []string{"store", "sip", "light:light1", "reader:reader1"} {
		assert.Contains(t, comps, c, "healthz reports %s", c)
	}

	code, _ := api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000001"})
	require.Equal(t, 200, code)
	waitBooth(t, base, m.DataDir, kiosk.ScreenIdentified, 2*time.Second)
	code, _ = api(t, base, m.DataDir, "POST", "/api/dial", map[string]any{"slot": 1})
	require.Equal(t, 200, code)
	waitBooth(t, base, m.DataDir, kiosk.ScreenConnected, 5*time.Second) // the demo trunk rings 2 s
	waitBooth(t, base, m.DataDir, kiosk.ScreenWarning, 3*time.Second)
	waitBooth(t, base, m.DataDir, kiosk.ScreenEnded, 4*time.Second)

	rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, kiosk.DispAnswered, r.Disposition)
	assert.Equal(t, kiosk.CauseLimit, r.Cause)
	assert.Equal(t, 200, r.SIPCode)
	assert.InDelta(t, 3.0, r.Billsec.Seconds(), 0.5, "billsec is the limit")
	assert.Equal(t, "+8613800000101", r.Number)
	assert.Equal(t, "父亲", r.Relation)
	assert.False(t, r.Answered.IsZero())
	assert.Equal(t, []kiosk.LightState{kiosk.LightIdle, kiosk.LightIdentified, kiosk.LightRinging,
		kiosk.LightConnected, kiosk.LightWarning, kiosk.LightIdle}, m.lights["booth1"].History())
	res, err := m.db.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}

// TestDemoRefusals: an unknown card and a contact that does not exist
// are refused, and the refusal is journaled.
func TestDemoRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole daemon")
	}
	m := startDemo(t, 3*time.Second)
	base := m.HTTPURL()
	code, _ := api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "0BADCAFE"})
	require.Equal(t, 200, code)
	waitBooth(t, base, m.DataDir, kiosk.ScreenUnknown, 2*time.Second)

	code, _ = api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000002"})
	require.Equal(t, 200, code)
	code, body := api(t, base, m.DataDir, "POST", "/api/dial", map[string]any{"slot": 4})
	assert.Equal(t, 403, code)
	assert.Equal(t, string(kiosk.ReasonNotApproved), body["reason"])
	rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kiosk.DispDenied, rows[0].Disposition)
	assert.Equal(t, kiosk.ReasonNotApproved, rows[0].Reason)

	code, _ = api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "not-a-uid"})
	assert.Equal(t, 400, code, "a malformed UID is a clear error")
}

func TestValidateFlag(t *testing.T) {
	m := NewMain()
	var out bytes.Buffer
	m.Stdout = &out
	require.NoError(t, m.ParseFlags([]string{"-config", filepath.Join("..", "..", "firmware-config", "kiosk.example.toml"), "-validate"}))
	assert.Equal(t, 0, m.validate())
	m = NewMain()
	require.NoError(t, m.ParseFlags([]string{"-config", filepath.Join("..", "..", "testdata", "config", "bad_values.toml"), "-validate"}))
	assert.Equal(t, 2, m.validate())

	assert.Error(t, NewMain().ParseFlags(nil), "no -config and no -demo")
	assert.Error(t, NewMain().ParseFlags([]string{"-demo", "extra"}))
}

func TestRefusesInvalidConfig(t *testing.T) {
	m := NewMain()
	m.ConfigPath = filepath.Join("..", "..", "testdata", "config", "references.toml")
	m.DataDir = t.TempDir()
	m.Stdout = io.Discard
	err := m.Run(context.Background())
	var ps *config.Problems
	require.ErrorAs(t, err, &ps, "invalid config stops the start")
	assert.Greater(t, len(*ps), 1, "every problem is listed")
	_, statErr := os.Stat(filepath.Join(m.DataDir, "kiosk.db"))
	assert.True(t, os.IsNotExist(statErr), "nothing started")
}

// TestLedgerSurvivesRestart: data written by one run is there, verified,
// in the next.
func TestDemoRestartKeepsLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole daemon twice")
	}
	m := startDemo(t, 3*time.Second)
	dir := m.DataDir
	code, _ := api(t, m.HTTPURL(), dir, "POST", "/api/tap", map[string]any{"uid": "DE000002"})
	require.Equal(t, 200, code)
	api(t, m.HTTPURL(), dir, "POST", "/api/dial", map[string]any{"slot": 5})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, m.Close(ctx))

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	assert.Len(t, rows, 1)
	res, err := db.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, res.OK)
}

// TestLedgerRowPerOutcome places one click-to-call per trunk behaviour
// through the whole daemon (station, SIP bridge, real SIP peers, SQLite)
// and asserts the ledger row each outcome leaves.
func TestLedgerRowPerOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real SIP calls on loopback")
	}
	ring := 200 * time.Millisecond
	tests := []struct {
		name   string
		trunk  sipdemo.TrunkConfig
		hangup kiosk.ScreenKind // hang up from the screen once the booth shows this
		disp   kiosk.Disposition
		cause  kiosk.EndCause
		code   int
	}{
		{name: "busy", trunk: sipdemo.TrunkConfig{RingDelay: ring, Reject: 486}, disp: kiosk.DispBusy, cause: kiosk.CauseBusy, code: 486},
		{name: "declined", trunk: sipdemo.TrunkConfig{RingDelay: ring, Reject: 603}, disp: kiosk.DispBusy, cause: kiosk.CauseBusy, code: 603},
		{name: "carrier failure", trunk: sipdemo.TrunkConfig{RingDelay: ring, Reject: 503}, disp: kiosk.DispFailed, cause: kiosk.CauseFailed, code: 503},
		{name: "no answer", trunk: sipdemo.TrunkConfig{RingDelay: ring, NoAnswer: true}, disp: kiosk.DispNoAnswer, cause: kiosk.CauseNoAnswer},
		{name: "parent hangs up", trunk: sipdemo.TrunkConfig{RingDelay: ring, ByeAfter: 500 * time.Millisecond}, disp: kiosk.DispAnswered, cause: kiosk.CauseCalleeHangup, code: 200},
		{name: "staff hang up from kioskctl", trunk: sipdemo.TrunkConfig{RingDelay: ring}, hangup: kiosk.ScreenConnected, disp: kiosk.DispAnswered, cause: kiosk.CauseOperator, code: 200},
		{name: "staff cancel while ringing", trunk: sipdemo.TrunkConfig{RingDelay: ring, NoAnswer: true}, hangup: kiosk.ScreenCalling, disp: kiosk.DispCancelled, cause: kiosk.CauseOperator},
		{name: "parent's audio stops", trunk: sipdemo.TrunkConfig{RingDelay: ring, Silent: true}, disp: kiosk.DispAnswered, cause: kiosk.CauseRTPTimeout, code: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMain()
			m.Demo = true
			m.DataDir = t.TempDir()
			m.HTTPAddr, m.SIPAddr = "127.0.0.1:0", "127.0.0.1:0"
			m.Stdout = io.Discard
			m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			m.Tweak = func(c *config.Config) {
				c.SIP.RingTimeout = config.D(1500 * time.Millisecond)
				c.SIP.RTPTimeout = config.D(time.Second)
			}
			require.NoError(t, m.Run(context.Background()))
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				m.Close(ctx)
			}()
			m.demo.trunk.Set(tc.trunk)
			base := m.HTTPURL()
			code, _ := api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000003"})
			require.Equal(t, 200, code)
			code, _ = api(t, base, m.DataDir, "POST", "/api/dial", map[string]any{"slot": 2})
			require.Equal(t, 200, code)
			if tc.hangup != "" {
				waitBooth(t, base, m.DataDir, tc.hangup, 5*time.Second)
				time.Sleep(100 * time.Millisecond)
				code, _ = api(t, base, m.DataDir, "POST", "/api/hangup", map[string]any{})
				require.Equal(t, 200, code)
			}
			waitBooth(t, base, m.DataDir, kiosk.ScreenEnded, 6*time.Second)

			rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
			require.NoError(t, err)
			require.Len(t, rows, 1)
			r := rows[0]
			assert.Equal(t, tc.disp, r.Disposition)
			assert.Equal(t, tc.cause, r.Cause)
			assert.Equal(t, tc.code, r.SIPCode)
			assert.Equal(t, "外婆", r.Relation)
			if tc.disp == kiosk.DispAnswered {
				assert.Greater(t, r.Billsec, time.Duration(0))
			} else {
				assert.Zero(t, r.Billsec, "no billsec without an answer")
			}
			assert.False(t, r.Ended.IsZero())
			res, err := m.db.Verify(context.Background())
			require.NoError(t, err)
			assert.True(t, res.OK)
		})
	}
}

// A second daemon on the same data dir refuses to start, and writes
// nothing: the first one's calls are not closed as crashed.
func TestDataDirLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole daemon")
	}
	m := startDemo(t, 3*time.Second)
	second := NewMain()
	second.Demo = true
	second.DataDir = m.DataDir
	second.HTTPAddr, second.SIPAddr = "127.0.0.1:0", "127.0.0.1:0"
	second.Stdout = io.Discard
	second.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	err := second.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "in use by another kioskd")
}

// A port in use stops the start before the ledger is touched.
func TestHTTPPortInUse(t *testing.T) {
	m := startDemo(t, 3*time.Second)
	second := NewMain()
	second.Demo = true
	second.DataDir = t.TempDir()
	second.HTTPAddr = strings.TrimPrefix(m.HTTPURL(), "http://")
	second.SIPAddr = "127.0.0.1:0"
	second.Stdout = io.Discard
	second.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	err := second.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	_, statErr := os.Stat(filepath.Join(second.DataDir, "kiosk.db"))
	assert.True(t, os.IsNotExist(statErr), "no ledger created")
}

// A SIP port in use is reported as such (not as a later, puzzling error).
func TestSIPPortInUse(t *testing.T) {
	m := startDemo(t, 3*time.Second)
	second := NewMain()
	second.Demo = true
	second.DataDir = t.TempDir()
	second.HTTPAddr = "127.0.0.1:0"
	second.SIPAddr = m.bridge.Addr("udp")
	second.Stdout = io.Discard
	second.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	err := second.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sip: ")
	assert.Contains(t, err.Error(), "address already in use")
	_, statErr := os.Stat(filepath.Join(second.DataDir, "kiosk.db"))
	assert.True(t, os.IsNotExist(statErr), "found before the ledger is touched")
}

// The console is mounted, asks for a login, and the first start offers
// a one-time link to create the first manager.
func TestConsoleMounted(t *testing.T) {
	m := startDemo(t, 3*time.Second)
	require.NotEmpty(t, m.setup, "no manager yet: a setup link is offered")
	assert.Contains(t, m.setup, "/console/setup/")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(m.HTTPURL() + "/console/today")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Location"), "/console/login")
	resp, err = http.Get(m.setup)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "the setup page opens")
}

// The child's hang-up button (the screen's websocket) is recorded as the
// child hanging up; kioskctl's hangup is recorded as staff (see above).
func TestChildHangsUpFromScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a real SIP call on loopback")
	}
	m := startDemo(t, time.Minute)
	m.demo.trunk.Set(sipdemo.TrunkConfig{RingDelay: 100 * time.Millisecond})
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(m.HTTPURL(), "http", "ws", 1)+"/ws?booth=booth1", nil)
	require.NoError(t, err)
	defer ws.Close()
	code, _ := api(t, m.HTTPURL(), m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000001"})
	require.Equal(t, 200, code)
	require.NoError(t, ws.WriteJSON(map[string]any{"v": 1, "type": "pick", "slot": 1}))
	waitBooth(t, m.HTTPURL(), m.DataDir, kiosk.ScreenConnected, 5*time.Second)
	require.NoError(t, ws.WriteJSON(map[string]any{"v": 1, "type": "hangup"}))
	waitBooth(t, m.HTTPURL(), m.DataDir, kiosk.ScreenEnded, 5*time.Second)
	rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kiosk.DispAnswered, rows[0].Disposition)
	assert.Equal(t, kiosk.CauseCallerHangup, rows[0].Cause)
}

// TestStopWhileStarting: a stop signal during the start (its context
// cancelled) makes the steps still running fail with context canceled;
// that is a clean stop (exit 0), not a failed start. An invalid config
// is still 2 and any other failure 1.
func TestStopWhileStarting(t *testing.T) {
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.Run(ctx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		m.Close(cctx)
	})
	require.Error(t, err, "the start needs its context")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, startFailed(ctx, err))

	live := context.Background()
	assert.Equal(t, 1, startFailed(live, errors.New("sip: listen: address already in use")))
	assert.Equal(t, 2, startFailed(live, fmt.Errorf("config: %w", &config.Problems{})))
}

func TestBadFlagPrintedOnce(t *testing.T) {
	err := NewMain().ParseFlags([]string{"-deom"})
	assert.ErrorIs(t, err, errFlags, "the flag package printed it: main exits 2 without printing it again")
}

// TestValidateUnreadableFile runs kioskd -validate as the tester did (this
// test binary re-executed as kioskd): a config file that cannot be read is
// the start's read error, "kioskd: read config PATH: ..." and exit 1, not
// an invalid config; a config with problems still exits 2 with each
// problem as file:line.
func TestValidateUnreadableFile(t *testing.T) {
	if args, ok := os.LookupEnv("KIOSKD_TEST_MAIN_ARGS"); ok {
		os.Args = append([]string{"kioskd"}, strings.Split(args, "\n")...)
		main()
		os.Exit(0)
	}
	missing := filepath.Join(t.TempDir(), "nope.toml")
	bad := filepath.Join("..", "..", "testdata", "config", "bad_values.toml")
	for _, tc := range []struct {
		name   string
		config string
		code   int
		stderr string // the start of stderr
	}{
		{"missing file", missing, 1, "kioskd: read config " + missing + ": "},
		{"directory", t.TempDir(), 1, "kioskd: read config "},
		{"invalid config", bad, 2, bad + ":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestValidateUnreadableFile$")
			cmd.Env = append(os.Environ(), "KIOSKD_TEST_MAIN_ARGS=-config\n"+tc.config+"\n-validate")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "kioskd -validate fails; stdout: %s", stdout.String())
			assert.Equal(t, tc.code, exit.ExitCode(), "exit status; stderr: %s", stderr.String())
			assert.True(t, strings.HasPrefix(stderr.String(), tc.stderr), "stderr starts %q: %s", tc.stderr, stderr.String())
			assert.Empty(t, stdout.String(), "no \"valid\" line")
		})
	}
}
