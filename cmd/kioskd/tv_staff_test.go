package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
)

// Staff cards of the staff walks (fictional).
const (
	uidTeacher = "5A000001" // 王老师, teacher
	uidTech    = "5A000002" // 刘工, technician
)

// startStaffDemo runs the demo daemon with a TV "tv1" in the 活动室 on
// relay "tv1", whose pin GPIO5 is a gpiotest pin (high: the TV is on),
// with programme presets and the 21:00 curfew; the daemon's clocks stand
// at 16:40 on a Monday. The staff register holds a teacher and a
// technician with cards.
func startStaffDemo(t *testing.T) (*Main, *gpiotest.Pin, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 10, 12, 16, 40, 0, 0, time.FixedZone("CST", 8*3600))}
	pin := &gpiotest.Pin{N: "GPIO5", L: gpio.High}
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.now = clock.Now
	m.tvOpts = tvOpts{Now: clock.Now, Every: time.Hour}
	m.devOpts = devOpts{PinLookup: func(name string) gpio.PinIO {
		if name == "GPIO5" {
			return pin
		}
		return nil
	}}
	m.Tweak = func(c *config.Config) {
		c.Devices.Relays = append(c.Devices.Relays, config.RelayDevice{Name: "tv1", Pin: "GPIO5"})
		c.TVs = append(c.TVs, config.TV{Name: "tv1", Relay: "tv1", CEC: false, Curfew: "21:00", Room: "活动室",
			Programmes: []string{"CCTV-少儿", "新闻联播", "安全教育专题片"}})
	}
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	ctx := context.Background()
	for _, s := range []struct {
		name, uid string
		role      kiosk.StaffRole
	}{{"王老师", uidTeacher, kiosk.StaffTeacher}, {"刘工", uidTech, kiosk.StaffTechnician}} {
		_, err := m.db.AddStaff(ctx, "test", s.name, s.role, "")
		require.NoError(t, err)
		require.NoError(t, m.db.AddStaffCard(ctx, "test", s.name, s.uid))
	}
	return m, pin, clock
}

// staffAudit returns the 'audit' entries of staff taps.
func staffAudit(t *testing.T, db *sqlite.DB) []map[string]string {
	t.Helper()
	es, err := db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	var out []map[string]string
	for _, e := range es {
		var b map[string]string
		if e.Kind == sqlite.KindAudit && json.Unmarshal(e.Body, &b) == nil && strings.HasPrefix(b["action"], "staff_tap") {
			out = append(out, b)
		}
	}
	return out
}

// TestTVFromStaffCard: a teacher taps a staff card at the demo booth's
// (simulated) reader, starts a TV session over the kiosk page's
// websocket: the relay turns the TV on and the register has the session
// with the teacher; stopping turns it off. A technician's card is refused.
func TestTVFromStaffCard(t *testing.T) {
	m, pin, clock := startStaffDemo(t)
	ctx := context.Background()
	assert.Equal(t, gpio.Low, pin.Read(), "the relay starts off")
	page := dialScreen(t, m)
	page.until(kiosk.ScreenIdle)

	// The tap goes through the booth's reader, as a real card's would.
	require.NoError(t, stationUI{m}.Tap(ctx, config.DemoBooth, uidTeacher))
	sc := page.until(kiosk.ScreenStaff)
	require.NotNil(t, sc.Staff)
	assert.Equal(t, "王老师", sc.Staff.Name)
	assert.True(t, sc.Staff.MayRunTV)
	require.Len(t, sc.Staff.TVs, 1)
	assert.Equal(t, []string{"CCTV-少儿", "新闻联播", "安全教育专题片"}, sc.Staff.TVs[0].Programmes)
	assert.Equal(t, tv.Categories, sc.Staff.Categories)
	assert.Equal(t, []string{"全体", "三年级1班", "四年级2班", "五年级1班"}, sc.Staff.Classes,
		"全体, then the demo roster's classes by grade")
	assert.Equal(t, "21:00", sc.Staff.TVs[0].Curfew)

	require.NoError(t, page.conn.WriteJSON(map[string]any{"v": 1, "type": "tv_start", "tv": "tv1", "programme": "CCTV-少儿",
		"category": "少儿", "class": "三年级1班", "headcount": 18}))
	sc = page.until(kiosk.ScreenStaff)
	require.NotNil(t, sc.Staff.Notice, "the outcome is shown")
	assert.False(t, sc.Staff.Error, "%s", sc.Staff.Notice.ZH)
	require.True(t, sc.Staff.TVs[0].Running)
	assert.Equal(t, "16:40", sc.Staff.TVs[0].Since)
	assert.Equal(t, gpio.High, pin.Read(), "the relay turned the TV on")

	rows, err := m.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, "CCTV-少儿", r.Programme)
	assert.Equal(t, "少儿", r.Category)
	assert.Equal(t, "三年级1班", r.Class)
	assert.Equal(t, 18, r.Headcount)
	assert.Equal(t, "王老师", r.Teacher, "the teacher is who tapped")
	assert.Equal(t, "活动室", r.Room)
	assert.Equal(t, tv.PowerRelay, r.Power)

	clock.Add(45 * time.Minute)
	require.NoError(t, page.conn.WriteJSON(map[string]any{"v": 1, "type": "tv_stop", "tv": "tv1"}))
	sc = page.until(kiosk.ScreenStaff)
	assert.False(t, sc.Staff.TVs[0].Running)
	assert.Equal(t, gpio.Low, pin.Read(), "the relay turned the TV off")
	rows, err = m.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, tv.CauseStop, rows[0].Cause)
	assert.Equal(t, 45*time.Minute, rows[0].Duration)

	// A technician sees the panel and is refused, on the screen.
	require.NoError(t, stationUI{m}.Tap(ctx, config.DemoBooth, uidTech))
	sc = page.until(kiosk.ScreenStaff)
	assert.Equal(t, "刘工", sc.Staff.Name)
	require.NoError(t, page.conn.WriteJSON(map[string]any{"v": 1, "type": "tv_start", "tv": "tv1", "programme": "新闻联播",
		"category": "新闻", "class": "全体", "headcount": 30}))
	sc = page.until(kiosk.ScreenStaff)
	assert.True(t, sc.Staff.Error)
	assert.Contains(t, sc.Staff.Notice.ZH, "技术员不能开关电视")
	assert.Equal(t, gpio.Low, pin.Read(), "still off")

	// The page's 退出 ends the staff screen; then a start is refused.
	require.NoError(t, page.conn.WriteJSON(map[string]any{"v": 1, "type": "hangup"}))
	page.until(kiosk.ScreenIdle)
	require.NoError(t, page.conn.WriteJSON(map[string]any{"v": 1, "type": "tv_start", "tv": "tv1", "programme": "新闻联播",
		"category": "新闻", "class": "全体", "headcount": 30}))
	e := page.untilError()
	assert.Equal(t, kiosk.EDENIED, e.Code, "no staff screen, no TV")

	// A child's card still identifies the child.
	require.NoError(t, stationUI{m}.Tap(ctx, config.DemoBooth, "DE000001"))
	assert.Equal(t, "王小明", page.until(kiosk.ScreenIdentified).Child)

	audit := staffAudit(t, m.db)
	require.Len(t, audit, 2)
	assert.Equal(t, "staff:王老师", audit[0]["actor"])
	assert.Equal(t, "booth="+config.DemoBooth+" role=teacher", audit[0]["detail"])
	for _, a := range audit {
		assert.NotContains(t, a["detail"], "5A00000", "no card UID in the audit")
	}
}
