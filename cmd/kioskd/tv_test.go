package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/devices/relay"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

type tvClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tvClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *tvClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type tvRig struct {
	db   *sqlite.DB
	pin  *gpiotest.Pin
	devs *hwDevices
	clk  *tvClock
	loc  *time.Location
}

// newTVRig opens a ledger and makes an active-high relay "tv1" on a
// gpiotest pin; PATH holds only cecScript as cec-client ("" for none).
func newTVRig(t *testing.T, cecScript string) *tvRig {
	t.Helper()
	bin := t.TempDir()
	if cecScript != "" {
		require.NoError(t, os.WriteFile(filepath.Join(bin, "cec-client"), []byte("#!/bin/sh\n"+cecScript), 0o755))
	}
	t.Setenv("PATH", bin+":/bin:/usr/bin")
	loc := time.FixedZone("CST", 8*3600)
	clk := &tvClock{t: time.Date(2026, 3, 2, 20, 30, 0, 0, loc)}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kiosk.db"), sqlite.Opts{Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	pin := &gpiotest.Pin{N: "GPIO5", L: gpio.High}
	rl, err := relay.New("GPIO5", &relay.Opts{Name: "tv1", Logger: slog.New(slog.DiscardHandler), Now: clk.Now,
		Lookup: func(string) gpio.PinIO { return pin }})
	require.NoError(t, err)
	devs := &hwDevices{devs: []*device{{typ: typeRelay, name: "tv1", kind: "gpio", relay: rl, health: rl.Health, halt: rl.Halt}}}
	return &tvRig{db: db, pin: pin, devs: devs, clk: clk, loc: loc}
}

func (r *tvRig) wire(t *testing.T, tvs ...config.TV) *tvWiring {
	t.Helper()
	w, err := newTVs(context.Background(), &config.Config{TVs: tvs}, r.db, r.devs, r.loc, slog.New(slog.DiscardHandler),
		tvOpts{Now: r.clk.Now, Every: time.Hour, CECTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { w.close(context.Background()) })
	return w
}

var lesson = tv.Request{Programme: "CCTV-14", Category: "少儿", Class: "三年级2班", Headcount: 20, Teacher: "王老师"}

// TestTVCurfewRelayOff: CEC is absent (no cec-client on PATH), so the
// relay switches the TV; at the curfew the session ends by itself, the
// relay's pin goes low (off) and the register says so.
func TestTVCurfewRelayOff(t *testing.T) {
	ctx := context.Background()
	r := newTVRig(t, "")
	w := r.wire(t, config.TV{Name: "tv1", Relay: "tv1", Curfew: "21:00", Room: "活动室"})
	assert.Equal(t, "relay tv1", w.power["tv1"], "no cec-client: the relay is used")
	assert.Equal(t, gpio.Low, r.pin.Read(), "the relay starts off")

	_, err := w.admin().Start(ctx, lesson)
	require.NoError(t, err)
	assert.Equal(t, gpio.High, r.pin.Read(), "the session turned the TV on")
	comps := map[string]kiosk.Health{}
	w.health(comps)
	assert.Equal(t, kiosk.Health{Status: "ok", Reason: "power relay tv1"}, comps["tv:tv1"])

	r.clk.Advance(29 * time.Minute) // 20:59
	ended, err := w.svc.Check(ctx)
	require.NoError(t, err)
	assert.Empty(t, ended)
	assert.Equal(t, gpio.High, r.pin.Read(), "still on before the curfew")

	r.clk.Advance(time.Minute) // 21:00
	ended, err = w.svc.Check(ctx)
	require.NoError(t, err)
	require.Len(t, ended, 1)
	assert.Equal(t, gpio.Low, r.pin.Read(), "the curfew turned the relay off")

	rows, err := r.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, tv.CauseCurfew, rows[0].Cause, "journaled as ended by curfew")
	assert.Equal(t, tv.PowerRelay, rows[0].Power)
	assert.Equal(t, 30*time.Minute, rows[0].Duration)
	assert.Equal(t, "活动室", rows[0].Room)
}

func TestTVPowerChoice(t *testing.T) {
	const withAdapter = `if [ "$1" = "-l" ]; then printf 'Found devices: 1\n\ncom port:            RPI\ntype:                Raspberry Pi\n'; fi`
	for _, tc := range []struct {
		name   string
		script string
		tv     config.TV
		want   string
	}{
		{"cec absent, relay", "", config.TV{Name: "tv1", Relay: "tv1"}, "relay tv1"},
		{"cec absent, no relay", "", config.TV{Name: "tv1"}, "none"},
		{"cec wanted but absent, relay", "", config.TV{Name: "tv1", Relay: "tv1", CEC: true}, "relay tv1"},
		{"cec found without adapter", `echo "Found devices: NONE"`, config.TV{Name: "tv1", Relay: "tv1"}, "relay tv1"},
		{"cec found with adapter", withAdapter, config.TV{Name: "tv1", Relay: "tv1"}, "cec RPI"},
		{"cec off", withAdapter, config.TV{Name: "tv1", Relay: "tv1", CEC: false}, "relay tv1"},
		{"relay missing", "", config.TV{Name: "tv1", Relay: "tv9"}, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTVRig(t, tc.script)
			w := r.wire(t, tc.tv)
			assert.Equal(t, tc.want, w.power["tv1"])
			st := w.svc.Status()
			require.Len(t, st, 1)
			assert.Equal(t, map[string]string{"relay tv1": tv.PowerRelay, "cec RPI": tv.PowerCEC, "none": tv.PowerNone}[tc.want], st[0].Power)
		})
	}
}

// TestTVRecoverAtStart: a session left open by a crash is closed as
// interrupted when the TVs are wired, before any new session.
func TestTVRecoverAtStart(t *testing.T) {
	ctx := context.Background()
	r := newTVRig(t, "")
	require.NoError(t, r.db.TVStarted(ctx, tv.Session{ID: "crashed", TV: "tv1", Programme: "x", Category: "新闻",
		Class: "c", Headcount: 3, Teacher: "t", Started: r.clk.Now()}))
	require.NoError(t, r.db.TVHeartbeat(ctx, "crashed", r.clk.Now().Add(10*time.Minute)))
	w := r.wire(t, config.TV{Name: "tv1", Relay: "tv1", Curfew: "none"})
	rows, err := r.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, tv.CauseInterrupted, rows[0].Cause)
	assert.Equal(t, 10*time.Minute, rows[0].Duration)

	// Close ends a running session as shutdown and leaves the TV off.
	_, err = w.admin().Start(ctx, lesson)
	require.NoError(t, err)
	require.NoError(t, w.close(ctx))
	assert.Equal(t, gpio.Low, r.pin.Read())
	rows, err = r.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, tv.CauseShutdown, rows[1].Cause)
}

func TestNoTVs(t *testing.T) {
	r := newTVRig(t, "")
	w, err := newTVs(context.Background(), &config.Config{}, r.db, r.devs, r.loc, slog.New(slog.DiscardHandler), tvOpts{})
	require.NoError(t, err)
	assert.Nil(t, w)
	assert.Nil(t, w.admin(), "no TVs: the API answers 404")
	assert.NoError(t, w.close(context.Background()))
}
