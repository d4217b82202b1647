package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTunedEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		want    []string // added, in order
		changed bool
	}{
		{name: "nothing set", env: []string{"HOME=/x"},
			want: []string{"HOME=/x", "GOMAXPROCS=1", "GODEBUG=schedtrace=2147483647", "KIOSKD_GO_RUNTIME=tuned"}, changed: true},
		{name: "GOMAXPROCS kept", env: []string{"GOMAXPROCS=4"},
			want: []string{"GOMAXPROCS=4", "GODEBUG=schedtrace=2147483647", "KIOSKD_GO_RUNTIME=tuned"}, changed: true},
		{name: "other GODEBUG settings kept", env: []string{"GODEBUG=http2debug=1,", "GOMAXPROCS=2"},
			want: []string{"GODEBUG=http2debug=1,schedtrace=2147483647", "GOMAXPROCS=2", "KIOSKD_GO_RUNTIME=tuned"}, changed: true},
		{name: "a schedtrace of the operator's kept", env: []string{"GODEBUG=gctrace=1, schedtrace=1000"},
			want: []string{"GODEBUG=gctrace=1, schedtrace=1000", "GOMAXPROCS=1", "KIOSKD_GO_RUNTIME=tuned"}, changed: true},
		{name: "all there: no re-exec", env: []string{"GOMAXPROCS=1", "GODEBUG=schedtrace=5"},
			want: []string{"GOMAXPROCS=1", "GODEBUG=schedtrace=5"}},
		{name: "empty GODEBUG", env: []string{"GODEBUG=", "GOMAXPROCS=1"},
			want: []string{"GODEBUG=schedtrace=2147483647", "GOMAXPROCS=1", "KIOSKD_GO_RUNTIME=tuned"}, changed: true},
		{name: "an unknown KIOSKD_GO_RUNTIME counts as unset", env: []string{"KIOSKD_GO_RUNTIME=bogus", "GODEBUG=gctrace=1"},
			want: []string{"GODEBUG=gctrace=1,schedtrace=2147483647", "GOMAXPROCS=1", "KIOSKD_GO_RUNTIME=tuned"}, changed: true},
		{name: "opted out", env: []string{"KIOSKD_GO_RUNTIME=default"}, want: []string{"KIOSKD_GO_RUNTIME=default"}},
		{name: "already re-executed", env: []string{"KIOSKD_GO_RUNTIME=tuned"}, want: []string{"KIOSKD_GO_RUNTIME=tuned"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.env)
			got, changed := tunedEnv(tc.env)
			assert.Equal(t, tc.changed, changed)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, in, tc.env, "the caller's slice is not modified")
		})
	}
}

// TestDaemonRunsTuned starts kioskd as a process and reads its
// environment and banner: it re-executed itself (same PID) with one P and
// the sysmon setting, and KIOSKD_GO_RUNTIME=default keeps the defaults.
func TestDaemonRunsTuned(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds and runs kioskd as a process")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the re-exec is Linux only")
	}
	bin := buildKioskd(t)
	base := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "GOMAXPROCS" || k == "GODEBUG" || k == goRuntimeVar
	})
	for _, tc := range []struct {
		name    string
		extra   []string
		runtime string
		environ []string
	}{
		{name: "tuned", runtime: "GOMAXPROCS=1 GODEBUG=schedtrace=2147483647",
			environ: []string{"GOMAXPROCS=1", "GODEBUG=schedtrace=2147483647", "KIOSKD_GO_RUNTIME=tuned"}},
		{name: "defaults", extra: []string{"KIOSKD_GO_RUNTIME=default"}, runtime: "GOMAXPROCS=" + strconv.Itoa(runtime.NumCPU())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "-demo", "-data", t.TempDir(), "-http", "127.0.0.1:0", "-sip", "127.0.0.1:0")
			cmd.Env = append(slices.Clone(base), tc.extra...)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			pid := cmd.Process.Pid
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_ = cmd.Wait()
			})
			line := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go runtime:"); ok {
						line <- strings.TrimSpace(v)
					}
				}
			}()
			select {
			case got := <-line:
				assert.Equal(t, tc.runtime, got, "the banner names the runtime settings in effect")
			case <-time.After(15 * time.Second):
				t.Fatal("no banner within 15 s")
			}
			raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			require.NoError(t, err)
			env := strings.Split(string(raw), "\x00")
			for _, kv := range tc.environ {
				assert.Contains(t, env, kv, "the process (same PID) runs with it")
			}
			if tc.environ == nil {
				assert.NotContains(t, env, "KIOSKD_GO_RUNTIME=tuned", "no re-exec")
			}
		})
	}
}
