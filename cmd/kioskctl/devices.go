package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

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

// equipmentColumns are the equipment register's CSV columns (设备维护记录).
var equipmentColumns = []string{"序号", "日期", "时间", "设备", "类型", "展位/booth", "事件", "说明"}

// equipmentEvents are the register's event words.
var equipmentEvents = map[string]string{
	sqlite.EquipAttached:      "接入 attached",
	sqlite.EquipFault:         "故障 fault",
	sqlite.EquipRecovered:     "恢复 recovered",
	sqlite.EquipReplaced:      "更换 replaced",
	sqlite.EquipConfigChanged: "配置变更 config changed",
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
	db, err := openDB(ctx, g)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.EquipmentLog(ctx, start, end)
	if err != nil {
		return err
	}
	w, closeFn, err := output(rf.out, stdout)
	if err != nil {
		return err
	}
	if rf.format == "json" {
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
	}
	return errors.Join(writeEquipmentCSV(w, rows, loc), closeFn())
}

// writeEquipmentCSV writes the register as UTF-8 CSV with a BOM (Excel
// then reads the Chinese headers right). A time taken before the clock
// was synced is marked "(未校时)".
func writeEquipmentCSV(w io.Writer, rows []sqlite.EquipmentEntry, loc *time.Location) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(equipmentColumns); err != nil {
		return err
	}
	for _, r := range rows {
		at := r.At.In(loc)
		clock := at.Format("15:04:05")
		if !r.ClockSynced {
			clock += " (未校时)"
		}
		ev := equipmentEvents[r.Event]
		if ev == "" {
			ev = r.Event
		}
		if err := cw.Write([]string{strconv.FormatInt(r.Seq, 10), at.Format("2006-01-02"), clock, r.Device,
			strings.ReplaceAll(r.Kind, "/", " "), r.Booth, ev, r.Detail}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
