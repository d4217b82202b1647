package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/devices/evdev"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// hardwareConfig has two booths with devices this machine lacks: b1 an
// MFRC522 on a SPI port that does not exist, a GPIO light, a help button
// and a relay on pins periph cannot find; b2 a USB keyboard-wedge reader
// (evdev) whose node is missing until the test plugs in a fake.
const hardwareConfig = `
[hours]
windows = ["daily 00:00-24:00"]

[[sip.extension]]
user = "101"
password = "password-101"

[[sip.trunk]]
name = "t"
uri = "sip:127.0.0.1:5070"

[[booth]]
id = "b1"
reader = "nfc1"
light = "led1"
extension = "101"

[[booth]]
id = "b2"
reader = "usb2"
light = "lamp2"
screen = true

[[devices.reader]]
name = "nfc1"
kind = "mfrc522"
spi = "SPI9.0"
rst = "GPIO25"

[[devices.reader]]
name = "usb2"
kind = "evdev"
path = "/dev/input/by-id/usb-reader-event-kbd"
card_format = "8h10d"

[[devices.light]]
name = "led1"
kind = "gpio"
red = "GPIO17"
green = "GPIO27"
blue = "GPIO22"

[[devices.light]]
name = "lamp2"
kind = "sim"

[[devices.button]]
name = "help1"
booth = "b1"
pin = "GPIO23"

[[devices.relay]]
name = "tv1"
pin = "GPIO5"
`

// fakeInput is a fake /dev/input for the evdev reader: a node file under
// root once plugged, whose events the test writes.
type fakeInput struct {
	root string
	mu   sync.Mutex
	r    *io.PipeReader
	w    *io.PipeWriter
}

func (f *fakeInput) plug(t *testing.T) {
	dir := filepath.Join(f.root, "dev", "input")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "event7"), nil, 0o644))
	require.NoError(t, os.Symlink(filepath.Join("..", "event7"), filepath.Join(dir, "by-id", "usb-reader-event-kbd")))
}

func (f *fakeInput) open(path string) (evdev.Node, error) {
	if filepath.Base(path) != "event7" {
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fakeNode{f.r}, nil
}

type fakeNode struct{ r *io.PipeReader }

func (n *fakeNode) Read(p []byte) (int, error) { return n.r.Read(p) }
func (n *fakeNode) Close() error               { return n.r.Close() } // Halt unblocks Read
func (n *fakeNode) Grab() error                { return nil }
func (n *fakeNode) Info() (evdev.Info, error) {
	info := evdev.Info{Name: "USB RFID reader", ID: evdev.InputID{Bustype: 3, Vendor: 0xffff, Product: 0x0035}}
	info.Events |= 1<<evdev.EvSyn | 1<<evdev.EvKey
	for c := uint16(evdev.KeyEsc); c <= evdev.KeyEnter; c++ {
		info.SetKey(c)
	}
	return info, nil
}

// typeCard writes the key events of a reader typing digits and Enter.
func (f *fakeInput) typeCard(t *testing.T, digits string) {
	t.Helper()
	var b []byte
	at := time.Now()
	key := func(code uint16) {
		for _, v := range []int32{evdev.KeyPressed, evdev.KeyReleased} {
			b = evdev.NativeLayout.Append(b, evdev.InputEvent{Time: at, Type: evdev.EvKey, Code: code, Value: v})
			b = evdev.NativeLayout.Append(b, evdev.InputEvent{Time: at, Type: evdev.EvSyn})
		}
		at = at.Add(5 * time.Millisecond)
	}
	for _, c := range digits {
		if c == '0' {
			key(evdev.Key0)
		} else {
			key(evdev.Key1 + uint16(c-'1'))
		}
	}
	key(evdev.KeyEnter)
	done := make(chan error, 1)
	go func() { _, err := f.w.Write(b); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the evdev reader did not read the typed card within 5 s")
	}
}

func startHardware(t *testing.T) (*Main, *fakeInput) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.toml")
	require.NoError(t, os.WriteFile(path, []byte(hardwareConfig), 0o600))
	in := &fakeInput{root: filepath.Join(dir, "root")}
	in.r, in.w = io.Pipe()
	require.NoError(t, os.MkdirAll(filepath.Join(in.root, "dev", "input", "by-id"), 0o755))

	m := NewMain()
	m.ConfigPath = path
	m.DataDir = filepath.Join(dir, "data")
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.devOpts = devOpts{HealthEvery: 20 * time.Millisecond, LightStep: time.Millisecond, EvdevRoot: in.root, EvdevOpen: in.open,
		EvdevBackoff: cardreader.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}}
	require.NoError(t, m.Run(context.Background()), "missing hardware never stops the start")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
		in.w.Close()
	})
	return m, in
}

// component returns the /healthz component name.
func component(t *testing.T, m *Main, name string) map[string]any {
	t.Helper()
	resp, err := http.Get(m.HTTPURL() + "/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var h struct {
		Components map[string]map[string]any `json:"components"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
	return h.Components[name]
}

func screen(t *testing.T, m *Main, booth string) kiosk.Screen {
	t.Helper()
	sc, err := m.station.Screen(booth)
	require.NoError(t, err)
	return sc
}

func TestMissingHardwareDegrades(t *testing.T) {
	m, _ := startHardware(t)

	nfc := component(t, m, "reader:nfc1")
	assert.Equal(t, "fault", nfc["status"], "the MFRC522 on a missing SPI port is a fault")
	resp, err := http.Get(m.HTTPURL() + "/healthz")
	require.NoError(t, err)
	var overall struct{ Status string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&overall))
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "a booth's dead device degrades the daemon; it does not fail it")
	assert.Equal(t, "degraded", overall.Status)
	assert.Contains(t, nfc["reason"], "SPI9.0")
	led := component(t, m, "light:led1")
	assert.Equal(t, "degraded", led["status"], "a missing GPIO light is replaced by a simulated one")
	assert.Equal(t, "fault", component(t, m, "button:help1")["status"])
	assert.Equal(t, "fault", component(t, m, "relay:tv1")["status"])
	require.Eventually(t, func() bool { return component(t, m, "reader:usb2")["status"] == "fault" },
		5*time.Second, 20*time.Millisecond, "the unplugged evdev reader is a fault after its first look")

	sc := screen(t, m, "b1")
	assert.Equal(t, kiosk.ScreenIdle, sc.Kind)
	assert.Equal(t, kiosk.ReasonDeviceFault, sc.Reason, "the booth asks children to use another booth")
	assert.Equal(t, []string{"light", "reader"}, sc.Simulated, "the screen says what is simulated")
	assert.Equal(t, kiosk.LightFault, m.station.Lights()["b1"])
	require.NotNil(t, m.lights["b1"], "a simulated light stands in for the GPIO one")
	assert.Equal(t, kiosk.LightFault, m.lights["b1"].State())
	require.Eventually(t, func() bool { return screen(t, m, "b2").Reason == kiosk.ReasonDeviceFault },
		5*time.Second, 20*time.Millisecond)

	// kioskctl tap goes through the booth's simulated reader.
	code, _ := api(t, m.HTTPURL(), m.Config.Storage.DataDir, "POST", "/api/tap", map[string]any{"booth": "b1", "uid": "04A1B2C3"})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, kiosk.ScreenUnknown, screen(t, m, "b1").Kind, "the simulated reader still taps")

	// The equipment register has the faults and the config.
	var log []sqlite.EquipmentEntry
	require.Eventually(t, func() bool {
		var err error
		log, err = m.db.EquipmentLog(context.Background(), time.Time{}, time.Time{})
		require.NoError(t, err)
		return len(log) >= 6
	}, 5*time.Second, 20*time.Millisecond)
	events := map[string]string{}
	for _, e := range log {
		events[e.Device] = e.Event
	}
	assert.Equal(t, map[string]string{"devices": "config_changed", "nfc1": "fault", "led1": "fault", "help1": "fault",
		"tv1": "fault", "usb2": "fault", "lamp2": "attached"}, events)

	// GET /api/devices lists them.
	code, body := api(t, m.HTTPURL(), m.Config.Storage.DataDir, "GET", "/api/devices", nil)
	require.Equal(t, http.StatusOK, code)
	devs, _ := body["devices"].([]any)
	assert.Len(t, devs, 6)
}

func TestReaderRecoversAndTestsWithoutTapping(t *testing.T) {
	m, in := startHardware(t)
	require.Eventually(t, func() bool { return screen(t, m, "b2").Reason == kiosk.ReasonDeviceFault },
		5*time.Second, 20*time.Millisecond)

	in.plug(t)
	require.Eventually(t, func() bool { return component(t, m, "reader:usb2")["status"] == "ok" },
		10*time.Second, 20*time.Millisecond, "the reader is found when plugged in")
	require.Eventually(t, func() bool { return screen(t, m, "b2").Reason == "" },
		5*time.Second, 20*time.Millisecond, "the booth fault clears")
	assert.Equal(t, []string{"light"}, screen(t, m, "b2").Simulated, "only the sim light is left simulated")

	// A reader test takes the next card, in every format, without a tap.
	type result struct {
		code int
		body map[string]any
	}
	got := make(chan result, 1)
	go func() {
		code, body := api(t, m.HTTPURL(), m.Config.Storage.DataDir, "POST", "/api/devices/test/reader", map[string]any{"booth": "b2", "timeout": "10s"})
		got <- result{code, body}
	}()
	require.Eventually(t, func() bool {
		m.devs.mu.Lock()
		defer m.devs.mu.Unlock()
		return m.devs.readerWait["b2"] != nil
	}, 5*time.Second, 10*time.Millisecond)
	in.typeCard(t, "0040856634")
	r := <-got
	require.Equal(t, http.StatusOK, r.code, "%v", r.body)
	assert.Equal(t, "026F6C3A", r.body["uid"], "8H10D 0040856634 is 0x026F6C3A")
	assert.Equal(t, "026F6C3A", r.body["hex"])
	assert.Equal(t, "0040856634", r.body["8h10d"])
	assert.Equal(t, "3A6C6F02", r.body["reversed"])
	assert.Equal(t, kiosk.ScreenIdle, screen(t, m, "b2").Kind, "a test read taps nothing")

	// The next card taps as usual (after the absence time, a new presentation).
	time.Sleep(600 * time.Millisecond)
	in.typeCard(t, "0040856634")
	require.Eventually(t, func() bool { return screen(t, m, "b2").Kind == kiosk.ScreenUnknown },
		5*time.Second, 20*time.Millisecond)

	log, err := m.db.EquipmentLog(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	var usb []string
	for _, e := range log {
		if e.Device == "usb2" {
			usb = append(usb, e.Event)
		}
	}
	assert.Equal(t, []string{"fault", "recovered"}, usb)
}

func TestDeviceTests(t *testing.T) {
	m, _ := startHardware(t)
	data := m.Config.Storage.DataDir

	before := len(m.lights["b2"].History())
	code, body := api(t, m.HTTPURL(), data, "POST", "/api/devices/test/lights", map[string]any{"booth": "b2"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	want := lightTestStates
	assert.Len(t, body["states"], len(want))
	hist := m.lights["b2"].History()[before:]
	require.GreaterOrEqual(t, len(hist), len(want))
	assert.Equal(t, want, hist[:len(want)], "every state is shown in order")
	assert.Equal(t, m.station.Lights()["b2"], m.lights["b2"].State(), "the light is back to the booth's state")

	// Reader test through the simulated reader (kioskctl tap): no tap.
	got := make(chan map[string]any, 1)
	go func() {
		_, body := api(t, m.HTTPURL(), data, "POST", "/api/devices/test/reader", map[string]any{"booth": "b1", "timeout": "10s"})
		got <- body
	}()
	require.Eventually(t, func() bool {
		m.devs.mu.Lock()
		defer m.devs.mu.Unlock()
		return m.devs.readerWait["b1"] != nil
	}, 5*time.Second, 10*time.Millisecond)
	code, _ = api(t, m.HTTPURL(), data, "POST", "/api/tap", map[string]any{"booth": "b1", "uid": "04:a1:b2:c3:d4:e5:f6"})
	require.Equal(t, http.StatusOK, code)
	r := <-got
	assert.Equal(t, "04A1B2C3D4E5F6", r["uid"])
	assert.Equal(t, "", r["8h10d"], "a 7-byte UID has no 8H10D form")
	assert.Equal(t, kiosk.ScreenIdle, screen(t, m, "b1").Kind)

	for _, tc := range []struct {
		name, path string
		body       map[string]any
		code       int
	}{
		{"reader test times out", "/api/devices/test/reader", map[string]any{"booth": "b2", "timeout": "50ms"}, http.StatusNotFound},
		{"bad timeout", "/api/devices/test/reader", map[string]any{"booth": "b2", "timeout": "forever"}, http.StatusBadRequest},
		{"button test on a booth without a button", "/api/devices/test/button", map[string]any{"booth": "b2"}, http.StatusNotFound},
		{"button test times out", "/api/devices/test/button", map[string]any{"booth": "b1", "timeout": "50ms"}, http.StatusNotFound},
		{"unknown test", "/api/devices/test/door", map[string]any{"booth": "b1"}, http.StatusNotFound},
		{"unknown booth", "/api/devices/test/lights", map[string]any{"booth": "b9"}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := api(t, m.HTTPURL(), data, "POST", tc.path, tc.body)
			assert.Equal(t, tc.code, code, "%v", body)
		})
	}
}

func TestHaltAtClose(t *testing.T) {
	m, _ := startHardware(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, m.Close(ctx))
	assert.Equal(t, kiosk.LightOff, m.lights["b2"].State(), "lights are off after Close")
	assert.Equal(t, kiosk.LightOff, m.lights["b1"].State())
}
