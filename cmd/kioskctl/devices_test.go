package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// fakeDaemon serves canned device API answers and records the requests.
func fakeDaemon(t *testing.T, data string) (string, *[]string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(data, "admin.token"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600))
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer 0123456789abcdef0123456789abcdef", r.Header.Get("Authorization"))
		var req ui.DeviceTestRequest
		if r.Method == "POST" {
			require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		}
		seen = append(seen, r.Method+" "+r.URL.Path+" "+req.Booth+" "+req.Timeout)
		var out any
		switch r.URL.Path {
		case "/api/status":
			out = ui.Status{Booths: []ui.BoothStatus{{ID: "b1"}, {ID: "b2"}}}
		case "/api/devices":
			out = ui.DevicesResponse{Devices: []ui.DeviceInfo{
				{Name: "nfc1", Type: "reader", Kind: "mfrc522", Booth: "b1", Where: "SPI9.0", Simulated: true,
					Health: kiosk.Health{Status: "fault", Reason: "mfrc522 nfc1: open SPI port SPI9.0: no port"}},
				{Name: "led1", Type: "light", Kind: "gpio", Booth: "b1", Health: kiosk.Health{Status: "ok"}},
				{Name: "help1", Type: "button", Kind: "gpio", Booth: "b1", Health: kiosk.Health{Status: "ok"}},
				{Name: "led2", Type: "light", Kind: "sim", Booth: "b2", Health: kiosk.Health{Status: "ok"}},
			}}
		case "/api/devices/test/lights":
			out = ui.LightsTestResponse{Booth: req.Booth, States: []kiosk.LightState{kiosk.LightOff, kiosk.LightIdle}}
		case "/api/devices/test/reader":
			out = ui.ReaderTestResponse{Booth: req.Booth, UID: "026F6C3A", Hex: "026F6C3A", Dec8H10D: "0040856634", Reversed: "3A6C6F02"}
		case "/api/devices/test/button":
			w.WriteHeader(http.StatusNotFound)
			out = map[string]string{"code": "not_found", "message": "no button was pressed at booth \"b1\" in time"}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &seen
}

func TestDevicesCommands(t *testing.T) {
	data := t.TempDir()
	addr, seen := fakeDaemon(t, data)
	g := []string{"--data", data, "--addr", addr, "devices"}

	code, out, stderr := kioskctl(t, append(g, "list")...)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `reader\s+nfc1\s+mfrc522\s+b1\s+fault \(simulated\)\s+SPI9.0\s+mfrc522 nfc1: open SPI port`, out)
	assert.Regexp(t, `light\s+led1\s+gpio\s+b1\s+ok\s+-\s+-`, out)

	code, out, stderr = kioskctl(t, append(g, "list", "--json")...)
	require.Equal(t, 0, code, stderr)
	var resp ui.DevicesResponse
	require.NoError(t, json.Unmarshal([]byte(out), &resp))
	assert.Len(t, resp.Devices, 4)

	code, out, stderr = kioskctl(t, append(g, "test", "lights", "b1")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "shown: off\n  shown: idle")

	code, out, stderr = kioskctl(t, append(g, "test", "reader", "b1", "--timeout", "45s")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "8h10d:    0040856634\nreversed: 3A6C6F02")

	code, _, stderr = kioskctl(t, append(g, "test", "button", "b1")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no button was pressed")

	check := []string{"GET /api/status  ", "GET /api/devices  "}
	want := []string{"GET /api/devices  ", "GET /api/devices  "}
	want = append(append(want, check...), "POST /api/devices/test/lights b1 ")
	want = append(append(want, check...), "POST /api/devices/test/reader b1 45s")
	want = append(append(want, check...), "POST /api/devices/test/button b1 30s")
	assert.Equal(t, want, *seen)

	// An unknown booth, or a booth without the part, fails before any
	// instruction is printed and without starting the test.
	*seen = nil
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"test", "lights", "nosuch"}, `unknown booth "nosuch" (booths: b1, b2)`},
		{[]string{"test", "button", "b2"}, "booth b2 has no help button (求助按钮) (it has: light led2)"},
		{[]string{"test", "reader", "b2", "--timeout", "5m"}, "booth b2 has no card reader"},
	} {
		code, out, stderr := kioskctl(t, append(g, tc.args...)...)
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stderr, tc.msg)
		assert.Empty(t, out, "no instructions printed")
	}
	for _, s := range *seen {
		assert.True(t, strings.HasPrefix(s, "GET "), "no test started: %s", s)
	}
}

func TestDevicesUsage(t *testing.T) {
	for _, args := range [][]string{
		{"devices"}, {"devices", "frob"}, {"devices", "test"}, {"devices", "test", "door", "b1"},
		{"devices", "test", "reader"}, {"devices", "test", "reader", "b1", "--timeout", "1h"},
		{"devices", "log", "--format", "xml"}, {"devices", "log", "--from", "2026-12-01", "--to", "2026-11-01"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := kioskctl(t, args...)
			assert.Equal(t, 2, code, stderr)
		})
	}
}

func TestDevicesLog(t *testing.T) {
	data := newData(t)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	at := time.Date(2026, 11, 29, 1, 30, 0, 0, time.UTC) // 09:30 in Shanghai
	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "nfc1", Kind: "reader/mfrc522", Booth: "b1",
		Event: sqlite.EquipFault, Detail: "open SPI port SPI9.0: no port", At: at}))
	require.NoError(t, db.Equipment(ctx, sqlite.EquipmentEvent{Device: "nfc1", Kind: "reader/mfrc522", Booth: "b1",
		Event: sqlite.EquipRecovered, At: at.AddDate(0, 0, 2)}))
	require.NoError(t, db.Close())

	code, out, stderr := kioskctl(t, "--data", data, "devices", "log", "--to", "2026-11-30")
	require.Equal(t, 0, code, stderr)
	// The console's register (/console/equipment.csv): the same columns,
	// numbering, times and words.
	assert.Equal(t, "\uFEFF序号,日期,时间,设备,类型,话机,事件,说明\r\n"+
		"1,2026-11-29,09:30:00,nfc1,reader/mfrc522,b1,故障,open SPI port SPI9.0: no port\r\n", out)
	var want bytes.Buffer
	db, err = sqlite.Open(ctx, filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	reg, err := db.EquipmentRegister(ctx, time.Time{}, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	require.NoError(t, register.WriteEquipmentCSV(&want, reg, mustZone(t, "Asia/Shanghai")))
	assert.Equal(t, want.String(), out, "kioskctl writes the register with kiosk/register, as the console does")

	code, out, stderr = kioskctl(t, "--data", data, "devices", "log", "--format", "json")
	require.Equal(t, 0, code, stderr)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, "recovered", rows[1]["event"])
}
