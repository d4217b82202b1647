package main

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// The Go runtime settings kioskd runs with. Its CPU work is small and
// bound by latency: RTP and SRTP packets relayed one at a time (phone and
// video calls), card taps, short SQLite transactions. For such a process
// two of the runtime's defaults cost more than its own work; per video
// call on the development VM (BENCHMARKS.md, "Video calls") they take a
// call from 1.6 % of a core to 6 %:
//
//   - GOMAXPROCS=1. With more Ps than busy goroutines, each hand-off of a
//     packet from one goroutine to the next (pion's socket reader, its
//     DTLS/SRTP demultiplexer, its SRTP session) wakes an idle thread that
//     finds nothing to run and sleeps again. With one P the hand-offs run
//     back to back on one thread. The one CPU-bound job, ledger verify,
//     is as fast (2.0 s for 1,000,000 entries).
//   - GODEBUG=schedtrace=2147483647. The runtime's monitor thread (sysmon)
//     sleeps deeply while every P is idle; the next system call wakes it
//     and sets it polling every 20 µs until all are idle again, so a
//     process idle between packets pays a wake-up and several polls for
//     each packet. While a scheduler trace is on, sysmon never sleeps
//     deeply and backs off to one poll per 10 ms. At the longest period,
//     2^31-1 ms (24.8 days), the trace is one line on stderr that often.
//
// Both must be in the environment when the runtime starts, so kioskd
// re-executes itself with whichever is missing (reexecTuned). A
// GOMAXPROCS or a schedtrace already in the environment is kept, and
// KIOSKD_GO_RUNTIME=default keeps the runtime's defaults.
const (
	goRuntimeVar    = "KIOSKD_GO_RUNTIME" // "default": no tuning; "tuned": set by the re-exec
	tunedProcs      = "1"
	tunedSchedtrace = "schedtrace=2147483647"
)

// tunedEnv returns env with the settings above added where missing and
// the KIOSKD_GO_RUNTIME=tuned marker, and whether it added any. It adds
// none when KIOSKD_GO_RUNTIME is "default" or "tuned"; another value is
// dropped and counts as unset.
func tunedEnv(env []string) ([]string, bool) {
	lookup := func(key string) (string, int) {
		for i, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == key {
				return v, i
			}
		}
		return "", -1
	}
	mark, mi := lookup(goRuntimeVar)
	if mark == "default" || mark == "tuned" {
		return env, false
	}
	out := append([]string(nil), env...)
	changed := false
	if _, i := lookup("GOMAXPROCS"); i < 0 {
		out = append(out, "GOMAXPROCS="+tunedProcs)
		changed = true
	}
	switch v, i := lookup("GODEBUG"); {
	case i < 0:
		out = append(out, "GODEBUG="+tunedSchedtrace)
		changed = true
	case strings.Trim(v, ", ") == "":
		out[i] = "GODEBUG=" + tunedSchedtrace
		changed = true
	case !hasGODEBUG(v, "schedtrace"):
		out[i] = "GODEBUG=" + strings.TrimSuffix(v, ",") + "," + tunedSchedtrace
		changed = true
	}
	if !changed {
		return env, false
	}
	if mi >= 0 {
		out = slices.Delete(out, mi, mi+1) // an unknown value counts as unset
	}
	return append(out, goRuntimeVar+"=tuned"), true
}

// hasGODEBUG reports whether the comma-separated GODEBUG value v sets key.
func hasGODEBUG(v, key string) bool {
	for _, kv := range strings.Split(v, ",") {
		if k, _, _ := strings.Cut(strings.TrimSpace(kv), "="); k == key {
			return true
		}
	}
	return false
}

// goRuntime describes the runtime settings in effect, for the banner.
func goRuntime() string {
	s := "GOMAXPROCS=" + strconv.Itoa(runtime.GOMAXPROCS(0))
	if v := os.Getenv("GODEBUG"); v != "" {
		s += " GODEBUG=" + v
	}
	return s
}
