// Command kioskd is the Qinqing Station daemon: it runs the family phones
// and the kiosk screen of a Children's Home calling room, and keeps the
// call ledger (台账).
//
//	kioskd -demo                 everything simulated, on loopback
//	kioskd -config kiosk.toml    a real station
//	kioskd -config kiosk.toml -validate
//
// This package only wires the adapters together; see Main.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/qinqing/station/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, errHelp) {
			os.Exit(0)
		}
		if errors.Is(err, errFlags) {
			os.Exit(2) // the flag package printed the error and the usage
		}
		fmt.Fprintln(os.Stderr, "kioskd:", err)
		os.Exit(2)
	}
	switch {
	case m.Version:
		fmt.Println("kioskd", version)
		return
	case m.ValidateOnly:
		os.Exit(m.validate())
	}
	if err := reexecTuned(); err != nil { // goruntime.go
		fmt.Fprintln(os.Stderr, "kioskd: running with the Go runtime's default settings:", err)
	}
	if err := m.Run(ctx); err != nil {
		code := startFailed(ctx, err)
		if code != 0 {
			fmt.Fprintln(os.Stderr, "kioskd:", err)
		} else {
			fmt.Fprintln(os.Stderr, "kioskd: stopped while starting")
		}
		os.Exit(code)
	}
	<-ctx.Done()
	stop() // a second signal kills at once
	m.Logger.Info("shutting down: hanging up calls", "deadline_s", 5)
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		fmt.Fprintln(os.Stderr, "kioskd: shutdown:", err)
		os.Exit(1)
	}
}

// startFailed is the exit status for err from Run: 0 when a stop signal
// came during the start (systemctl stop right after start: the steps
// still running fail with "context canceled", which is no failure), 2
// for an invalid config (every problem is listed), else 1.
func startFailed(ctx context.Context, err error) int {
	var ps *config.Problems
	switch {
	case ctx.Err() != nil:
		return 0
	case errors.As(err, &ps):
		return 2
	}
	return 1
}
