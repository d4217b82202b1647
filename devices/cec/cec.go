// Package cec switches a TV over HDMI-CEC with cec-client, the command
// line tool of libCEC (Debian and Raspberry Pi OS package cec-utils).
//
// Detect looks for the binary on PATH and asks it for adapters
// ("cec-client -l"); a Dev then sends one command per switch in single
// command mode ("echo 'on 0' | cec-client -s -d 1 PORT"; "standby 0" to
// switch off; 0 is the TV's CEC logical address). A missing binary or
// adapter is reported by Detect's sentinel errors so that the daemon can
// fall back to a relay or to no power control. Every run is bounded by a
// timeout: cec-client can hang on a bad bus.
package cec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Errors returned by Detect; test with errors.Is.
var (
	ErrNoBinary  = errors.New("cec: cec-client not found on PATH (install cec-utils)")
	ErrNoAdapter = errors.New("cec: cec-client found no CEC adapter")
)

// Opts are optional settings; the zero value of each field means its
// default.
type Opts struct {
	// Binary is the program's name or path. Default "cec-client", looked
	// up on PATH.
	Binary string
	// Timeout bounds each run of cec-client. Default 15 s (opening an
	// adapter takes a few seconds).
	Timeout time.Duration
	// Target is the CEC logical address of the TV. Default "0".
	Target string
	// Logger receives switch failures. Default discards.
	Logger *slog.Logger
	// Name identifies the TV in logs and errors. Default "cec".
	Name string
}

func (o *Opts) fill() {
	if o.Binary == "" {
		o.Binary = "cec-client"
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Target == "" {
		o.Target = "0"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = "cec"
	}
}

// Adapter is one CEC adapter as "cec-client -l" lists it.
type Adapter struct {
	Port string // "com port:", e.g. "RPI" or "/dev/ttyACM0"
	Type string // "type:", e.g. "Raspberry Pi"; "" when not listed
}

// ParseList reads the output of "cec-client -l": one adapter per "com
// port:" line, with the "type:" line that follows it. "Found devices:
// NONE" gives none.
func ParseList(out []byte) []Adapter {
	var (
		as []Adapter
		sc = bufio.NewScanner(bytes.NewReader(out))
	)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch {
		case k == "com port" && v != "":
			as = append(as, Adapter{Port: v})
		case k == "type" && len(as) > 0 && as[len(as)-1].Type == "":
			as[len(as)-1].Type = v
		}
	}
	return as
}

// Dev is a TV switched over CEC through one adapter. It is safe for
// concurrent use; switches are serialised.
type Dev struct {
	opts    Opts
	path    string
	adapter Adapter

	mu   sync.Mutex
	last error
}

// Detect finds cec-client on PATH and its first adapter. It returns
// ErrNoBinary (wrapped) when the program is missing, ErrNoAdapter when it
// lists none, or the run's error (wrapped) when it fails. opts may be nil.
func Detect(ctx context.Context, opts *Opts) (*Dev, error) {
	var o Opts
	if opts != nil {
		o = *opts
	}
	o.fill()
	path, err := exec.LookPath(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", o.Name, ErrNoBinary, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-l").Output()
	if err != nil {
		return nil, fmt.Errorf("%s: list adapters (%s -l): %w", o.Name, path, err)
	}
	as := ParseList(out)
	if len(as) == 0 {
		return nil, fmt.Errorf("%s: %w", o.Name, ErrNoAdapter)
	}
	return &Dev{opts: o, path: path, adapter: as[0]}, nil
}

// Adapter returns the adapter in use.
func (d *Dev) Adapter() Adapter { return d.adapter }

// On wakes the TV ("on TARGET").
func (d *Dev) On() error { return d.send("on " + d.opts.Target) }

// Off puts the TV in standby ("standby TARGET").
func (d *Dev) Off() error { return d.send("standby " + d.opts.Target) }

// send runs cec-client in single command mode with cmd on its standard
// input, bounded by Opts.Timeout.
func (d *Dev) send(cmd string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.Timeout)
	defer cancel()
	c := exec.CommandContext(ctx, d.path, "-s", "-d", "1", d.adapter.Port)
	c.Stdin = strings.NewReader(cmd + "\n")
	out, err := c.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s: %q via %s: %w (%s)", d.opts.Name, cmd, d.adapter.Port, err, strings.TrimSpace(lastLine(out)))
		if d.last == nil {
			d.opts.Logger.Warn("cec command failed", "tv", d.opts.Name, "err", err)
		}
	}
	d.last = err
	return err
}

func lastLine(b []byte) string {
	s := strings.TrimRight(string(b), "\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Health is ok, or fault with the reason while the last command failed.
func (d *Dev) Health() kiosk.Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last != nil {
		return kiosk.Health{Status: kiosk.HealthFault, Reason: d.last.Error()}
	}
	return kiosk.Health{Status: kiosk.HealthOK}
}
