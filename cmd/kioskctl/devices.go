package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui"
)

// cmdDevices runs "devices list|test|log".
func cmdDevices(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageErr("devices: want list, test or log")
	}
	switch args[0] {
	case "list":
		return cmdDevicesList(ctx, g, args[1:], stdout)
	case "test":
		if len(args) < 2 {
			return usageErr("devices test: want lights, reader or button")
		}
		switch args[1] {
		case "lights", "reader", "button":
			return cmdDevicesTest(ctx, g, args[1], args[2:], stdout)
		}
		return usageErr("devices test: unknown test %q (want lights, reader or button)", args[1])
	case "log":
		return cmdDevicesLog(ctx, g, args[1:], stdout)
	}
	return usageErr("devices: unknown subcommand %q", args[0])
}

func cmdDevicesList(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var asJSON bool
	if _, err := parse(g, "devices list", args, 0, 0, jsonFlag(&asJSON)); err != nil {
		return err
	}
	var resp ui.DevicesResponse
	if err := call(ctx, g, "GET", "/api/devices", nil, &resp); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(stdout, resp)
	}
	tw := newTable(stdout)
	fmt.Fprintln(tw, "TYPE\tNAME\tKIND\tBOOTH\tSTATUS\tWHERE\tREASON")
	for _, d := range resp.Devices {
		status := d.Health.Status
		if d.Simulated {
			status += " (simulated)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Type, d.Name, d.Kind, dash(d.Booth), status, dash(d.Where), dash(d.Health.Reason))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdDevicesTest(ctx context.Context, g *globals, what string, args []string, stdout io.Writer) error {
	timeout := 30 * time.Second
	pos, err := parse(g, "devices test "+what, args, 1, 1, func(fs *flag.FlagSet) {
		if what != "lights" {
			fs.DurationVar(&timeout, "timeout", timeout, "how long to wait (at most 5m)")
		}
	})
	if err != nil {
		return err
	}
	if timeout <= 0 || timeout > 5*time.Minute {
		return usageErr("devices test %s: --timeout must be from 1s to 5m", what)
	}
	req := ui.DeviceTestRequest{Booth: pos[0]}
	if err := checkTestTarget(ctx, g, pos[0], what); err != nil {
		return err
	}
	switch what {
	case "lights":
		fmt.Fprintf(stdout, "booth %s: watch the light, each state shows for about 1 s\n", pos[0])
		var resp ui.LightsTestResponse
		if err := callTimeout(ctx, g, "POST", "/api/devices/test/lights", req, &resp, 60*time.Second); err != nil {
			return err
		}
		for _, s := range resp.States {
			fmt.Fprintf(stdout, "  shown: %s\n", s)
		}
		fmt.Fprintln(stdout, "done: the light is back to the booth's state")
	case "reader":
		req.Timeout = timeout.String()
		fmt.Fprintf(stdout, "booth %s: present a card within %v (it will not be tapped)\n", pos[0], timeout)
		var resp ui.ReaderTestResponse
		if err := callTimeout(ctx, g, "POST", "/api/devices/test/reader", req, &resp, timeout+10*time.Second); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "uid:      %s\nhex:      %s\n8h10d:    %s\nreversed: %s\n", resp.UID, dash(resp.Hex), dash(resp.Dec8H10D), dash(resp.Reversed))
	case "button":
		req.Timeout = timeout.String()
		fmt.Fprintf(stdout, "booth %s: press the help button within %v (no help call is placed)\n", pos[0], timeout)
		var resp ui.ButtonTestResponse
		if err := callTimeout(ctx, g, "POST", "/api/devices/test/button", req, &resp, timeout+10*time.Second); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pressed: %s\n", resp.Button)
	}
	return nil
}

// testDevice are the device types (ui.DeviceInfo.Type) each test needs,
// in words.
var testDevice = map[string]struct{ typ, words string }{
	"lights": {"light", "light (指示灯)"},
	"reader": {"reader", "card reader (读卡器)"},
	"button": {"button", "help button (求助按钮)"},
}

// checkTestTarget asks the daemon (GET /api/status and /api/devices)
// whether booth exists and has the device the test needs, so that a typo
// or a missing part fails at once, before the test tells anyone to watch
// a light or press a button, and without waiting out a timeout. Exit 1
// with the booths or the booth's devices listed.
func checkTestTarget(ctx context.Context, g *globals, booth, what string) error {
	var st ui.Status
	if err := call(ctx, g, "GET", "/api/status", nil, &st); err != nil {
		return err
	}
	var ids []string
	for _, b := range st.Booths {
		ids = append(ids, b.ID)
	}
	if !slices.Contains(ids, booth) {
		return fmt.Errorf("devices test %s: unknown booth %q (booths: %s)", what, booth, strings.Join(ids, ", "))
	}
	var devs ui.DevicesResponse
	if err := call(ctx, g, "GET", "/api/devices", nil, &devs); err != nil {
		return err
	}
	need := testDevice[what]
	var has []string
	for _, d := range devs.Devices {
		if d.Booth != booth {
			continue
		}
		if d.Type == need.typ {
			return nil
		}
		has = append(has, d.Type+" "+d.Name)
	}
	return fmt.Errorf("devices test %s: booth %s has no %s (it has: %s)", what, booth, need.words, dash(strings.Join(has, ", ")))
}

func cmdDevicesLog(ctx context.Context, g *globals, args []string, stdout io.Writer) error {
	var rf registerFlags
	if _, err := parse(g, "devices log", args, 0, 0, func(fs *flag.FlagSet) {
		rf.define(fs, "csv (UTF-8 with BOM, for Excel) or json")
	}); err != nil {
		return err
	}
	start, end, loc, err := rf.resolve("devices log")
	if err != nil {
		return err
	}
	return withDB(ctx, g, func(db *sqlite.DB) error {
		if rf.format == "csv" {
			// The console's register (/console/equipment.csv) and this one
			// are the same rows written by the same code.
			rows, err := db.EquipmentRegister(ctx, start, end)
			if err != nil {
				return err
			}
			w, closeFn, err := output(rf.out, stdout)
			if err != nil {
				return err
			}
			return errors.Join(register.WriteEquipmentCSV(w, rows, loc), closeFn())
		}
		rows, err := db.EquipmentLog(ctx, start, end)
		if err != nil {
			return err
		}
		w, closeFn, err := output(rf.out, stdout)
		if err != nil {
			return err
		}
		type row struct {
			Seq         int64     `json:"seq"`
			At          time.Time `json:"at"`
			ClockSynced bool      `json:"clock_synced"`
			Device      string    `json:"device"`
			Kind        string    `json:"kind"`
			Booth       string    `json:"booth"`
			Event       string    `json:"event"`
			Detail      string    `json:"detail"`
			Hash        string    `json:"hash,omitempty"`
		}
		list := make([]row, 0, len(rows))
		for _, r := range rows {
			list = append(list, row{r.Seq, r.At.In(loc), r.ClockSynced, r.Device, r.Kind, r.Booth, r.Event, r.Detail, r.Hash})
		}
		return errors.Join(writeJSON(w, list), closeFn())
	})
}
