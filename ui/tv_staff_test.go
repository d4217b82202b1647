package ui

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/kiosktest"
)

// staffRoster adds staff cards to a kiosktest roster.
type staffRoster struct {
	*kiosktest.Roster
	staff map[string]kiosk.Staff
}

func (r staffRoster) StaffByUID(_ context.Context, uid string) (kiosk.Staff, error) {
	if s, ok := r.staff[uid]; ok {
		return s, nil
	}
	return kiosk.Staff{}, kiosk.Errorf(kiosk.ENOTFOUND, "no staff card")
}

// recordTV is a kiosk.TVControl with one TV that records starts.
type recordTV struct {
	mu     sync.Mutex
	on     *kiosk.TVStart
	starts []kiosk.TVStart
}

func (r *recordTV) TVs() []kiosk.TVState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := kiosk.TVState{Name: "tv1"}
	if r.on != nil {
		s.Running, s.Programme, s.Teacher = true, r.on.Programme, r.on.Teacher
	}
	return []kiosk.TVState{s}
}

func (r *recordTV) StartTV(_ context.Context, req kiosk.TVStart) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, req)
	r.on = &req
	return nil
}

func (r *recordTV) StopTV(context.Context, string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = nil
	return nil
}

func (r *recordTV) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts)
}

// readUntil reads screens until one of kind k; it fails on an error
// message.
func readUntil(t *testing.T, c *websocket.Conn, k kiosk.ScreenKind) kiosk.Screen {
	t.Helper()
	for {
		sc := readScreen(t, c)
		if sc.Kind == k {
			return sc
		}
	}
}

// TestWSStaffTV runs the staff screen's TV messages against a real
// station: refused without a staff screen, run with a teacher's, refused
// on the screen for a technician.
func TestWSStaffTV(t *testing.T) {
	ctx := context.Background()
	roster := staffRoster{
		Roster: kiosktest.NewRoster(kiosk.RosterEntry{Child: kiosk.Child{Name: "王小明", Class: "三年级1班"}, Cards: []string{"04A1B2C3"}}),
		staff: map[string]kiosk.Staff{
			"5A000001": {ID: 1, Name: "王老师", Role: kiosk.StaffTeacher, Enabled: true},
			"5A000002": {ID: 2, Name: "刘工", Role: kiosk.StaffTechnician, Enabled: true},
		},
	}
	var open kiosk.Hours
	for d := time.Sunday; d <= time.Saturday; d++ {
		open.Windows = append(open.Windows, kiosk.Window{Day: d, Start: 0, End: 1440})
	}
	st := kiosk.NewStation(kiosk.Policy{Hours: open}, []kiosk.Booth{{ID: "b1"}}, roster, kiosktest.NewJournal(), nil, kiosk.StationOpts{})
	tvc := &recordTV{}
	st.AttachTV(tvc, kiosk.TVPanelOpts{Categories: []string{"新闻", "少儿"}})
	_, _, ts := newTestServer(t, Opts{Station: st})
	c := dialWS(t, ts, "?booth=b1")
	assert.Equal(t, kiosk.ScreenIdle, readScreen(t, c).Kind)

	start := `{"v":1,"type":"tv_start","tv":"tv1","programme":"CCTV-少儿","category":"少儿","class":"三年级1班","headcount":18,"teacher":"冒名"}`
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(start)))
	m := readMsg(t, c)
	require.Equal(t, WSError, m.Type, "refused without a staff screen")
	assert.Equal(t, kiosk.EDENIED, m.Code)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"tv_stop","tv":"tv1"}`)))
	m = readMsg(t, c)
	assert.Equal(t, kiosk.EDENIED, m.Code, "stop too")

	// A child's identified screen is no staff screen either.
	require.NoError(t, st.Tap(ctx, "b1", "04A1B2C3"))
	readUntil(t, c, kiosk.ScreenIdentified)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(start)))
	m = readMsg(t, c)
	assert.Equal(t, kiosk.EDENIED, m.Code, "a child's card runs no TV")
	assert.Zero(t, tvc.count())

	require.NoError(t, st.Tap(ctx, "b1", "5A000001"))
	sc := readUntil(t, c, kiosk.ScreenStaff)
	require.NotNil(t, sc.Staff)
	assert.Equal(t, "王老师", sc.Staff.Name)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(start)))
	sc = readUntil(t, c, kiosk.ScreenStaff)
	require.Len(t, sc.Staff.TVs, 1)
	assert.True(t, sc.Staff.TVs[0].Running)
	assert.Equal(t, "王老师", sc.Staff.TVs[0].Teacher, "the teacher is who tapped, not what the page says")
	require.Equal(t, 1, tvc.count())
	assert.Equal(t, kiosk.TVStart{TV: "tv1", Programme: "CCTV-少儿", Category: "少儿", Class: "三年级1班", Headcount: 18, Teacher: "王老师"},
		tvc.starts[0])
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"tv_stop","tv":"tv1"}`)))
	sc = readUntil(t, c, kiosk.ScreenStaff)
	assert.False(t, sc.Staff.TVs[0].Running)

	// A technician's staff screen refuses, on the screen.
	require.NoError(t, st.Tap(ctx, "b1", "5A000002"))
	sc = readUntil(t, c, kiosk.ScreenStaff)
	assert.False(t, sc.Staff.MayRunTV)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(start)))
	sc = readUntil(t, c, kiosk.ScreenStaff)
	assert.True(t, sc.Staff.Error)
	require.NotNil(t, sc.Staff.Notice)
	assert.Contains(t, sc.Staff.Notice.ZH, "技术员不能开关电视")
	assert.Equal(t, 1, tvc.count(), "not started")

	require.NoError(t, st.Close(ctx))
}

// TestWSStaffTVOff: a station without the TV panel's methods answers
// EINVALID.
func TestWSStaffTVOff(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readMsg(t, c)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"tv_stop"}`)))
	m := readMsg(t, c)
	assert.Equal(t, WSError, m.Type)
	assert.Equal(t, kiosk.EINVALID, m.Code)
}
