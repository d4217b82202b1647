package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
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
	if err := call(ctx, g, "POST", "/api/tap", map[string]any{"booth": booth, "uid": pos[0]}, nil); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "tapped")
	return nil
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
	if err := call(ctx, g, "POST", "/api/dial", map[string]any{"booth": booth, "slot": slot}, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dialling contact %d\n", slot)
	return nil
}

func cmdBoothAction(ctx context.Context, g *globals, action string, args []string, stdout io.Writer) error {
	var booth string
	if _, err := parse(g, action, args, 0, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&booth, "booth", "", "booth id (default: the first booth)")
	}); err != nil {
		return err
	}
	if err := call(ctx, g, "POST", "/api/"+action, map[string]any{"booth": booth}, nil); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ok")
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
