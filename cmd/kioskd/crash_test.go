package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// daemon is a kioskd process started by a test.
type daemon struct {
	cmd  *exec.Cmd
	base string
	done chan error
}

// buildKioskd builds the daemon binary once per test.
func buildKioskd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kioskd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

var screenURL = regexp.MustCompile(`kiosk screen:\s+(http://\S+)/`)

// startDaemon runs kioskd -demo on loopback port 0 with data in dir and
// waits for its banner.
func startDaemon(t *testing.T, bin, dir string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, "-demo", "-data", dir, "-http", "127.0.0.1:0", "-sip", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	d := &daemon{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := screenURL.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		d.done <- cmd.Wait()
	}()
	select {
	case d.base = <-found:
	case err := <-d.done:
		t.Fatalf("kioskd exited before its banner: %v", err)
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no banner from kioskd within 10 s")
	}
	return d
}

// TestCrashAndShutdown runs the daemon as a process: a call in progress
// survives kill -9 as an entry closed `interrupted` at restart (no entry
// lost, none doubled, chain intact), and a call in progress at SIGTERM is
// hung up and closed as `shutdown`, with exit 0 within 5 s.
func TestCrashAndShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds and runs kioskd as a process")
	}
	bin := buildKioskd(t)
	dir := t.TempDir()

	d := startDaemon(t, bin, dir)
	code, _ := api(t, d.base, dir, "POST", "/api/tap", map[string]any{"uid": "DE000001"})
	require.Equal(t, 200, code)
	code, _ = api(t, d.base, dir, "POST", "/api/dial", map[string]any{"slot": 1})
	require.Equal(t, 200, code)
	waitBooth(t, d.base, dir, kiosk.ScreenConnected, 6*time.Second)
	time.Sleep(5500 * time.Millisecond) // at least one heartbeat after the answer
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
	<-d.done

	d = startDaemon(t, bin, dir)
	code, _ = api(t, d.base, dir, "POST", "/api/tap", map[string]any{"uid": "DE000002"})
	require.Equal(t, 200, code)
	code, _ = api(t, d.base, dir, "POST", "/api/dial", map[string]any{"slot": 1})
	require.Equal(t, 200, code)
	waitBooth(t, d.base, dir, kiosk.ScreenConnected, 6*time.Second)
	stopped := time.Now()
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-d.done:
		require.NoError(t, err, "exit status 0 after SIGTERM")
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		t.Fatal("kioskd did not exit within 5 s of SIGTERM")
	}
	t.Logf("SIGTERM to exit: %s", time.Since(stopped))

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 2, "one row per call: none lost, none doubled")
	crashed, stopped2 := rows[0], rows[1]
	assert.Equal(t, "王小明", crashed.ChildName)
	assert.Equal(t, kiosk.CauseInterrupted, crashed.Cause)
	assert.Equal(t, kiosk.DispAnswered, crashed.Disposition, "answered before the crash")
	// Heartbeats come every 5 s: billsec runs from the answer to the last
	// one, at most 5 s before the kill, which came 5.5 s after the answer.
	assert.Greater(t, crashed.Billsec, 500*time.Millisecond, "billsec runs to the last heartbeat")
	assert.LessOrEqual(t, crashed.Billsec, 6*time.Second)
	assert.Equal(t, "张小红", stopped2.ChildName)
	assert.Equal(t, kiosk.CauseShutdown, stopped2.Cause)
	assert.Equal(t, kiosk.DispAnswered, stopped2.Disposition)

	entries, err := db.Entries(context.Background(), 0, 10000)
	require.NoError(t, err)
	kinds := map[sqlite.Kind]int{}
	for _, e := range entries {
		kinds[e.Kind]++
	}
	assert.Equal(t, 2, kinds[sqlite.KindCallStart])
	assert.Equal(t, 2, kinds[sqlite.KindCallEnd])
	res, err := db.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}
