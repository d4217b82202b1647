package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/devices/evdev"
	"github.com/qinqing/station/devices/sim"
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
// root once plugged, whose events the test writes, and whose Info names
// the unit plugged (name and id; a different unit after replug).
type fakeInput struct {
	root string
	mu   sync.Mutex
	r    *io.PipeReader
	w    *io.PipeWriter
	name string
	id   evdev.InputID
}

func (f *fakeInput) plug(t *testing.T) {
	dir := filepath.Join(f.root, "dev", "input")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "event7"), nil, 0o644))
	require.NoError(t, os.Symlink(filepath.Join("..", "event7"), filepath.Join(dir, "by-id", "usb-reader-event-kbd")))
}

// unplug removes the node and fails its reads with ENODEV, as the kernel
// does when the USB device goes away.
func (f *fakeInput) unplug(t *testing.T) {
	dir := filepath.Join(f.root, "dev", "input")
	require.NoError(t, os.Remove(filepath.Join(dir, "by-id", "usb-reader-event-kbd")))
	require.NoError(t, os.Remove(filepath.Join(dir, "event7")))
	f.mu.Lock()
	w := f.w
	f.mu.Unlock()
	require.NoError(t, w.CloseWithError(&os.PathError{Op: "read", Path: "/dev/input/event7", Err: syscall.ENODEV}))
}

// replug plugs in a unit called name with USB id id at the same place.
func (f *fakeInput) replug(t *testing.T, name string, id evdev.InputID) {
	f.mu.Lock()
	f.r, f.w = io.Pipe()
	f.name, f.id = name, id
	f.mu.Unlock()
	f.plug(t)
}

func (f *fakeInput) open(path string) (evdev.Node, error) {
	if filepath.Base(path) != "event7" {
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &fakeNode{r: f.r, name: f.name, id: f.id}, nil
}

type fakeNode struct {
	r    *io.PipeReader
	name string
	id   evdev.InputID
}

func (n *fakeNode) Read(p []byte) (int, error) { return n.r.Read(p) }
func (n *fakeNode) Close() error               { return n.r.Close() } // Halt unblocks Read
func (n *fakeNode) Grab() error                { return nil }
func (n *fakeNode) Info() (evdev.Info, error) {
	info := evdev.Info{Name: n.name, ID: n.id}
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
	f.mu.Lock()
	w := f.w
	f.mu.Unlock()
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
	go func() { _, err := w.Write(b); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the evdev reader did not read the typed card within 5 s")
	}
}

func startHardware(t *testing.T) (*Main, *fakeInput) {
	t.Helper()
	return startHardwareWith(t, nil)
}

// startHardwareWith is startHardware with opts applied to the device
// options before the start (a pin lookup, say).
func startHardwareWith(t *testing.T, opts func(*devOpts)) (*Main, *fakeInput) {
	t.Helper()
	return startHardwareConfig(t, hardwareConfig, opts)
}

// startHardwareConfig is startHardwareWith for the configuration doc: its
// evdev device at /dev/input/by-id/usb-reader-event-kbd is the fake.
func startHardwareConfig(t *testing.T, doc string, opts func(*devOpts)) (*Main, *fakeInput) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.toml")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
	in := &fakeInput{root: filepath.Join(dir, "root"), name: "USB RFID reader", id: evdev.InputID{Bustype: 3, Vendor: 0xffff, Product: 0x0035}}
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
	if opts != nil {
		opts(&m.devOpts)
	}
	require.NoError(t, m.Run(context.Background()), "missing hardware never stops the start")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
		in.mu.Lock()
		in.w.Close()
		in.mu.Unlock()
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
	// Let b2's unplugged reader be found faulty first (its light turns
	// fault), so that the light test's sequence is not interleaved with it.
	require.Eventually(t, func() bool { return m.lights["b2"].State() == kiosk.LightFault },
		5*time.Second, 20*time.Millisecond, "b2's reader is found missing")

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

// equipmentOf returns device's events and details in the equipment register.
func equipmentOf(t *testing.T, m *Main, device string) (events, details []string) {
	t.Helper()
	log, err := m.db.EquipmentLog(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	for _, e := range log {
		if e.Device == device {
			events, details = append(events, e.Event), append(details, e.Detail)
		}
	}
	return events, details
}

// TestReaderReplacedIsJournaled: the evdev reader is unplugged and another
// model (another vendor:product) is plugged in under the same by-id name;
// the equipment register says "replaced", old -> new, and the new unit
// taps.
func TestReaderReplacedIsJournaled(t *testing.T) {
	m, in := startHardware(t)
	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "usb2")
		return len(ev) == 1
	}, 10*time.Second, 20*time.Millisecond, "the missing reader is a fault")
	in.plug(t)
	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "usb2")
		return len(ev) == 2
	}, 10*time.Second, 20*time.Millisecond, "the plugged reader recovers")
	ev, det := equipmentOf(t, m, "usb2")
	require.Equal(t, []string{"fault", "recovered"}, ev)
	assert.Equal(t, `ffff:0035 "USB RFID reader"`, det[1], "the first identity seen is in the detail")

	in.unplug(t)
	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "usb2")
		return len(ev) == 3
	}, 10*time.Second, 20*time.Millisecond, "the unplug is a fault")
	in.replug(t, "IC Reader", evdev.InputID{Bustype: 3, Vendor: 0x08ff, Product: 0x0009})
	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "usb2")
		return len(ev) == 4
	}, 10*time.Second, 20*time.Millisecond, "the new unit is journaled")
	ev, det = equipmentOf(t, m, "usb2")
	assert.Equal(t, []string{"fault", "recovered", "fault", "replaced"}, ev)
	assert.Equal(t, `ffff:0035 "USB RFID reader" -> 08ff:0009 "IC Reader"`, det[3])
	require.Eventually(t, func() bool { return screen(t, m, "b2").Reason == "" },
		5*time.Second, 20*time.Millisecond, "a replaced reader clears the booth fault")

	time.Sleep(600 * time.Millisecond) // the absence time since the test's start
	in.typeCard(t, "0040856634")
	require.Eventually(t, func() bool { return screen(t, m, "b2").Kind == kiosk.ScreenUnknown },
		5*time.Second, 20*time.Millisecond, "the new unit taps")
}

// memJournal is an equipment register in memory.
type memJournal struct {
	mu     sync.Mutex
	events []sqlite.EquipmentEvent
}

func (j *memJournal) Equipment(_ context.Context, e sqlite.EquipmentEvent) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
	return nil
}

func (j *memJournal) LastDevicesHash(context.Context) (string, error) { return "", nil }

// TestCheckIdentity drives check with a device whose health and identity
// the test sets, look by look, and reads what the register gets.
func TestCheckIdentity(t *testing.T) {
	type look struct {
		status, identity string
	}
	ok := func(id string) look { return look{kiosk.HealthOK, id} }
	fault := look{kiosk.HealthFault, ""}
	for _, tc := range []struct {
		name  string
		looks []look
		want  []string // "event detail"
	}{
		{"same unit back", []look{ok("A"), fault, ok("A")}, []string{"attached A", "fault dead", "recovered"}},
		{"other unit back", []look{ok("A"), fault, ok("B")}, []string{"attached A", "fault dead", "replaced A -> B"}},
		{"swapped between two looks", []look{ok("A"), ok("A"), ok("B"), ok("B")}, []string{"attached A", "replaced A -> B"}},
		{"fault first, identity learned at recovery", []look{fault, ok("A"), fault, ok("B")},
			[]string{"fault dead", "recovered A", "fault dead", "replaced A -> B"}},
		{"no identity", []look{ok(""), fault, ok("")}, []string{"attached", "fault dead", "recovered"}},
		{"identity appears later", []look{ok(""), ok("A"), ok("B")}, []string{"attached", "replaced A -> B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cur look
			dev := &device{typ: typeReader, name: "r", kind: "sim", booth: "b1",
				health: func() kiosk.Health {
					if cur.status == kiosk.HealthFault {
						return kiosk.Health{Status: kiosk.HealthFault, Reason: "dead"}
					}
					return kiosk.Health{Status: cur.status}
				},
				identity: func() string { return cur.identity }}
			j := &memJournal{}
			d := &hwDevices{log: slog.New(slog.DiscardHandler), journal: j, devs: []*device{dev},
				simulated: map[string]map[string]bool{}}
			for _, l := range tc.looks {
				cur = l
				d.check(context.Background(), false)
			}
			var got []string
			for _, e := range j.events {
				assert.Equal(t, "r", e.Device)
				got = append(got, strings.TrimSpace(e.Event+" "+e.Detail))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestHelpButtonPlacesHelpCall: a debounced press of booth b1's help
// button (a gpiotest pin handed out for GPIO23) places a help call to
// the first help number, which the ledger records.
func TestHelpButtonPlacesHelpCall(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO23", Clock: clockwork.NewRealClock(), EdgesChan: make(chan gpio.Level, 1)}
	m, _ := startHardwareWith(t, func(o *devOpts) {
		o.PinLookup = func(name string) gpio.PinIO {
			if name == "GPIO23" {
				return pin
			}
			return nil
		}
	})
	require.Eventually(t, func() bool { return component(t, m, "button:help1")["status"] == "ok" },
		5*time.Second, 20*time.Millisecond, "the button's pin is found")
	assert.Equal(t, "fault", component(t, m, "relay:tv1")["status"], "other pins are still missing")

	edge := func(l gpio.Level) {
		select {
		case pin.EdgesChan <- l:
		case <-time.After(5 * time.Second):
			t.Fatal("the button did not take the edge within 5 s")
		}
	}
	edge(gpio.Low) // pressed (pull-up, button to ground); held past the debounce
	var help []sqlite.CallRow
	require.Eventually(t, func() bool {
		rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
		require.NoError(t, err)
		help = help[:0]
		for _, r := range rows {
			if r.Help {
				help = append(help, r)
			}
		}
		return len(help) > 0
	}, 5*time.Second, 20*time.Millisecond, "the press places a help call")
	edge(gpio.High) // released
	require.Len(t, help, 1, "one press, one call")
	assert.Equal(t, "b1", help[0].Booth)
	assert.Equal(t, "12355", help[0].Number, "the default first help number")
	assert.NotEqual(t, kiosk.DispDenied, help[0].Disposition, "help calls are never denied")

	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "help1")
		return len(ev) > 0
	}, 5*time.Second, 20*time.Millisecond)
	ev, _ := equipmentOf(t, m, "help1")
	assert.Equal(t, []string{"attached"}, ev, "the working button is attached, never a fault")
}

// While a light test holds a booth's light, the station's changes are not
// shown; at the end the booth's state is.
func TestHeldLight(t *testing.T) {
	inner := sim.NewLight("l")
	h := &heldLight{Light: inner}
	require.NoError(t, h.Set(kiosk.LightIdle))
	h.hold()
	require.NoError(t, h.Set(kiosk.LightFault))
	assert.Equal(t, kiosk.LightIdle, inner.State(), "held: the station's change waits")
	require.NoError(t, h.Light.Set(kiosk.LightWarning))
	assert.Equal(t, kiosk.LightWarning, inner.State(), "the test drives the light")
	require.NoError(t, h.release(kiosk.LightFault))
	assert.Equal(t, kiosk.LightFault, inner.State(), "released: the booth's state is shown")
	require.NoError(t, h.Set(kiosk.LightIdle))
	assert.Equal(t, kiosk.LightIdle, inner.State())
}
