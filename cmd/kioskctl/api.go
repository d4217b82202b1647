package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/ui"
)

// apiError is an error answer of the admin API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
}

func (e *apiError) Error() string {
	msg := e.Message
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return fmt.Sprintf("daemon refused: %s: %s", e.Code, msg)
}

// call sends one admin API request and decodes the JSON answer into out
// (when not nil). The token comes from DATA/admin.token.
func call(ctx context.Context, g *globals, method, path string, body, out any) error {
	return callTimeout(ctx, g, method, path, body, out, 10*time.Second)
}

// callTimeout is call with its own bound on the whole request (device
// tests wait for a technician).
func callTimeout(ctx context.Context, g *globals, method, path string, body, out any, timeout time.Duration) error {
	if err := loopbackOnly(g.addr); err != nil {
		return err
	}
	tok, err := os.ReadFile(filepath.Join(g.data, "admin.token"))
	if err != nil {
		return fmt.Errorf("read admin token (is --data the daemon's data dir?): %w", err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(g.addr, "/")+path, rd)
	if err != nil {
		return usageErr("bad --addr: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("reach kioskd at %s: %w\nis kioskd running, and listening on --addr %s? "+
				"give kioskctl the address of kioskd's -http (or [http] admin) listener with --addr or $KIOSK_ADDR", g.addr, err, g.addr)
		}
		return fmt.Errorf("reach kioskd at %s: %w", g.addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			e.Code, e.Message = resp.Status, strings.TrimSpace(string(data))
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
	}
	return nil
}

func cmdStatus(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var asJSON bool
	if _, err := parse(g, "status", args, 0, 0, jsonFlag(&asJSON)); err != nil {
		return err
	}
	var st map[string]any
	if err := call(ctx, g, "GET", "/api/status", nil, &st); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, st)
	}
	printStatus(stdout, st)
	return nil
}

// printStatus prints the status answer for people: one line per
// component and per booth.
func printStatus(w io.Writer, st map[string]any) {
	health, _ := st["health"].(map[string]any)
	if health == nil {
		health = st
	}
	fmt.Fprintf(w, "status: %v  version: %v  uptime: %vs  clock synced: %v\n",
		health["status"], health["version"], health["uptime_s"], health["clock_synced"])
	if comps, ok := health["components"].(map[string]any); ok {
		names := make([]string, 0, len(comps))
		for n := range comps {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			c, _ := comps[n].(map[string]any)
			line := fmt.Sprintf("  %-22s %v", n, c["status"])
			if r, ok := c["reason"].(string); ok && r != "" {
				line += "  (" + r + ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	if booths, ok := st["booths"].([]any); ok {
		for _, b := range booths {
			m, _ := b.(map[string]any)
			fmt.Fprintf(w, "booth %v: screen %v, light %v\n", m["id"], m["state"], m["light"])
		}
	}
}

func cmdTap(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var booth string
	pos, err := parse(g, "tap", args, 1, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&booth, "booth", "", "booth id (default: the first booth)")
	})
	if err != nil {
		return err
	}
	var resp ui.ActionResponse
	if err := call(ctx, g, "POST", "/api/tap", map[string]any{"booth": booth, "uid": pos[0]}, &resp); err != nil {
		return err
	}
	if shows := screenWords(resp.State); shows != "" {
		fmt.Fprintf(stdout, "tapped at booth %s: %s\n", resp.Booth, shows)
		return nil
	}
	fmt.Fprintln(stdout, "tapped")
	return nil
}

// screenWords says what a booth's screen shows in state k, for the line
// kioskctl prints after an action; "" when the daemon did not say.
func screenWords(k kiosk.ScreenKind) string {
	switch k {
	case "":
		return ""
	case kiosk.ScreenIdle:
		return "idle (tap your card)"
	case kiosk.ScreenIdentified:
		return "identified (the child's contacts)"
	case kiosk.ScreenUnknown:
		return "unknown card (please see your teacher)"
	case kiosk.ScreenClosed:
		return "closed (outside opening hours)"
	case kiosk.ScreenDenied:
		return "refused (the screen gives the reason)"
	case kiosk.ScreenQueued:
		return "waiting for a line"
	case kiosk.ScreenCalling:
		return "calling"
	case kiosk.ScreenConnected, kiosk.ScreenWarning:
		return "in a call"
	case kiosk.ScreenEnded:
		return "call ended"
	case kiosk.ScreenStaff:
		return "staff screen"
	case kiosk.ScreenEnrol:
		return "card enrolment"
	}
	return "screen " + string(k)
}

func cmdDial(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var booth string
	pos, err := parse(g, "dial", args, 1, 1, func(fs *flag.FlagSet) {
		fs.StringVar(&booth, "booth", "", "booth id (default: the first booth)")
	})
	if err != nil {
		return err
	}
	slot, err := strconv.Atoi(pos[0])
	if err != nil || slot < 1 || slot > 5 {
		return usageErr("dial: N must be a contact number 1..5, not %q", pos[0])
	}
	var resp ui.ActionResponse
	if err := call(ctx, g, "POST", "/api/dial", map[string]any{"booth": booth, "slot": slot}, &resp); err != nil {
		return err
	}
	// A refusal by policy is an error answer (exit 1, with its reason);
	// a dial the station accepted may still leave the screen elsewhere
	// than calling (waiting for a line, refused by the screen).
	shows := screenWords(resp.State)
	switch {
	case shows == "":
		fmt.Fprintf(stdout, "dialling contact %d\n", slot)
	case resp.State == kiosk.ScreenCalling:
		fmt.Fprintf(stdout, "calling contact %d at booth %s\n", slot, resp.Booth)
	default:
		fmt.Fprintf(stdout, "dialled contact %d; booth %s: %s\n", slot, resp.Booth, shows)
	}
	return nil
}

// cmdBoothAction runs command name (hangup, call-help) as POST
// /api/{action} on a booth and says what the booth's screen shows after.
func cmdBoothAction(ctx context.Context, g *globals, name, action string, args []string, stdout io.Writer) error {
	var booth string
	if _, err := parse(g, name, args, 0, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&booth, "booth", "", "booth id (default: the first booth)")
	}); err != nil {
		return err
	}
	var resp ui.ActionResponse
	if err := call(ctx, g, "POST", "/api/"+action, map[string]any{"booth": booth}, &resp); err != nil {
		return err
	}
	shows := screenWords(resp.State)
	switch {
	case shows == "":
		fmt.Fprintln(stdout, "ok")
	case action == "hangup" && resp.State == kiosk.ScreenIdle:
		// A call that ends shows its duration (ended) first: an idle
		// screen right after the hang-up means there was no call, at
		// most a child identified or waiting, now sent back to idle.
		fmt.Fprintf(stdout, "no call in progress; booth %s is idle\n", resp.Booth)
	case action == "hangup" && resp.State == kiosk.ScreenEnded:
		fmt.Fprintf(stdout, "call ended at booth %s\n", resp.Booth)
	case action == "hangup" && (resp.State == kiosk.ScreenCalling || resp.State == kiosk.ScreenConnected || resp.State == kiosk.ScreenWarning):
		// The call's end arrives from the SIP or video side a moment later.
		fmt.Fprintf(stdout, "hanging up the call at booth %s\n", resp.Booth)
	default:
		fmt.Fprintf(stdout, "ok; booth %s: %s\n", resp.Booth, shows)
	}
	return nil
}

// loopbackOnly refuses an --addr that is not on this machine: the admin
// token must never travel the network (the daemon answers the admin API
// on loopback only anyway).
func loopbackOnly(addr string) error {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" {
		return usageErr("bad --addr %q: want http://127.0.0.1:PORT", addr)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return usageErr("--addr %s is not a loopback address: the admin API (and its token) stays on this machine", addr)
}
