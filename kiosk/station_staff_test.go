package kiosk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/sim"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/kiosktest"
)

const (
	uidTeacher  = "5A000001"
	uidTech     = "5A000002"
	uidRetired  = "5A000003"
	uidLostCard = "5A000004"
)

// staffRoster is the fixture roster with staff cards (kiosk.StaffRoster).
type staffRoster struct {
	*kiosktest.Roster
	staff map[string]kiosk.Staff
}

func (r *staffRoster) StaffByUID(_ context.Context, uid string) (kiosk.Staff, error) {
	s, ok := r.staff[uid]
	if !ok {
		return kiosk.Staff{}, kiosk.Errorf(kiosk.ENOTFOUND, "no staff card")
	}
	return s, nil
}

// auditJournal records 'audit' entries (kiosk.Auditor).
type auditJournal struct {
	*kiosktest.Journal
	mu      sync.Mutex
	entries [][3]string // actor, action, detail
}

func (j *auditJournal) Audit(_ context.Context, actor, action, detail string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, [3]string{actor, action, detail})
	return nil
}

func (j *auditJournal) snapshot() [][3]string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([][3]string(nil), j.entries...)
}

// fakeTV is a TVControl with one TV "tv1".
type fakeTV struct {
	mu       sync.Mutex
	running  *kiosk.TVStart
	started  time.Time
	starts   []kiosk.TVStart
	startErr error
}

func (f *fakeTV) TVs() []kiosk.TVState {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := kiosk.TVState{Name: "tv1", Room: "活动室", Curfew: "21:00", Programmes: []string{"CCTV-少儿", "新闻联播"}}
	if r := f.running; r != nil {
		s.Running, s.Programme, s.Category, s.Class, s.Headcount, s.Teacher = true, r.Programme, r.Category, r.Class, r.Headcount, r.Teacher
		s.Started = f.started
	}
	return []kiosk.TVState{s}
}

func (f *fakeTV) StartTV(_ context.Context, r kiosk.TVStart) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, r)
	if f.startErr != nil {
		return f.startErr
	}
	if f.running != nil {
		return kiosk.Errorf(kiosk.ECONFLICT, "电视 tv1 正在播放")
	}
	f.running, f.started = &r, time.Date(2026, 3, 2, 19, 5, 0, 0, time.UTC)
	return nil
}

func (f *fakeTV) StopTV(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running == nil {
		return kiosk.Errorf(kiosk.ENOTFOUND, "电视 tv1 没有在播放")
	}
	f.running = nil
	return nil
}

func (f *fakeTV) startCalls() []kiosk.TVStart {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]kiosk.TVStart(nil), f.starts...)
}

type staffFixture struct {
	*fixture
	audit *auditJournal
	tv    *fakeTV
}

// newStaffFixture is newFixture's station with staff cards, an audit
// journal and, when withTV, a TV panel.
func newStaffFixture(t *testing.T, opts kiosk.StationOpts, withTV bool) *staffFixture {
	t.Helper()
	base := newFixture(t, defaultPolicy(), opts)
	roster := &staffRoster{Roster: base.roster, staff: map[string]kiosk.Staff{
		uidTeacher:  {ID: 1, Name: "王老师", Role: kiosk.StaffTeacher, Enabled: true},
		uidTech:     {ID: 2, Name: "刘工", Role: kiosk.StaffTechnician, Enabled: true},
		uidRetired:  {ID: 3, Name: "陈老师", Role: kiosk.StaffManager, Enabled: false},
		uidLostCard: {ID: 1, Name: "王老师", Role: kiosk.StaffTeacher, Enabled: false},
	}}
	j := &auditJournal{Journal: base.journal}
	if opts.Linger == 0 {
		opts.Linger = 50 * time.Millisecond
	}
	booths := []kiosk.Booth{{ID: "b1", Name: "一号", Extension: "101"}, {ID: "b2", Name: "二号", Extension: "102"}}
	base.lights = map[string]*sim.Light{"b1": sim.NewLight("l1"), "b2": sim.NewLight("l2")}
	base.st = kiosk.NewStation(defaultPolicy(), booths, roster, j,
		map[string]kiosk.Light{"b1": base.lights["b1"], "b2": base.lights["b2"]}, opts)
	base.st.Attach(base.dialer)
	f := &staffFixture{fixture: base, audit: j, tv: &fakeTV{}}
	if withTV {
		f.st.AttachTV(f.tv, kiosk.TVPanelOpts{
			Categories: []string{"新闻", "少儿", "科普", "安全教育", "影片"},
			Classes: func(context.Context) ([]string, error) {
				return []string{"三年级1班", "五年级1班", "四年级2班", "全体"}, nil
			},
		})
	}
	return f
}

func TestStaffTapShowsStaffScreen(t *testing.T) {
	ctx := context.Background()
	f := newStaffFixture(t, kiosk.StationOpts{}, true)
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()

	// A child is identified; the teacher's tap takes the booth over.
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	waitScreen(t, ch, kiosk.ScreenIdentified)
	require.NoError(t, f.st.Tap(ctx, "b1", "5a:00:00:01"))
	sc := waitScreen(t, ch, kiosk.ScreenStaff)
	require.NotNil(t, sc.Staff)
	assert.Empty(t, sc.Child, "no child on the staff screen")
	assert.Empty(t, sc.Tiles)
	assert.Equal(t, "王老师", sc.Staff.Name)
	assert.Equal(t, kiosk.StaffTeacher, sc.Staff.Role)
	assert.Equal(t, "值班教师", sc.Staff.RoleWords.ZH)
	assert.True(t, sc.Staff.MayRunTV)
	require.Len(t, sc.Staff.TVs, 1)
	assert.False(t, sc.Staff.TVs[0].Running)
	assert.Equal(t, []string{"CCTV-少儿", "新闻联播"}, sc.Staff.TVs[0].Programmes)
	assert.Equal(t, []string{"新闻", "少儿", "科普", "安全教育", "影片"}, sc.Staff.Categories)
	assert.Equal(t, []string{"全体", "三年级1班", "四年级2班", "五年级1班"}, sc.Staff.Classes,
		"全体 first, then the roster's classes by grade")
	assert.Equal(t, kiosk.LightIdentified, f.lights["b1"].State())
	assert.Equal(t, [][3]string{{"staff:王老师", "staff_tap", "booth=b1 role=teacher"}}, f.audit.snapshot(),
		"the tap is audited: who and where, never the card")

	// The child can no longer call from here.
	err = f.st.Pick(ctx, "b1", 1)
	assert.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err), "the child's identification ended with the staff tap")

	// A child's card still works as before.
	require.NoError(t, f.st.Tap(ctx, "b1", uidHong))
	sc = waitScreen(t, ch, kiosk.ScreenIdentified)
	assert.Equal(t, "张小红", sc.Child)
	assert.Nil(t, sc.Staff)
}

func TestStaffTapRefused(t *testing.T) {
	ctx := context.Background()
	f := newStaffFixture(t, kiosk.StationOpts{}, true)
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()
	for _, uid := range []string{uidRetired, uidLostCard} {
		require.NoError(t, f.st.Tap(ctx, "b1", uid))
		sc := waitScreen(t, ch, kiosk.ScreenDenied)
		assert.Equal(t, kiosk.ReasonCardDisabled, sc.Reason, "%s: a disabled member or card opens nothing", uid)
		assert.Nil(t, sc.Staff)
		assert.Equal(t, kiosk.LightDenied, f.lights["b1"].State())
		waitScreen(t, ch, kiosk.ScreenIdle)
	}
	assert.Equal(t, [][3]string{
		{"staff:陈老师", "staff_tap_refused", "booth=b1 role=manager"},
		{"staff:王老师", "staff_tap_refused", "booth=b1 role=teacher"},
	}, f.audit.snapshot())
	err = f.st.StartTV(ctx, "b1", kiosk.TVStart{Programme: "新闻联播", Category: "新闻", Class: "全体", Headcount: 10})
	assert.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err), "no staff screen: no TV")
	assert.Empty(t, f.tv.startCalls())
}

func TestStaffScreenTimesOut(t *testing.T) {
	ctx := context.Background()
	f := newStaffFixture(t, kiosk.StationOpts{Identified: 20 * time.Millisecond}, false)
	ch, cancel, err := f.st.Subscribe("b2")
	require.NoError(t, err)
	defer cancel()
	require.NoError(t, f.st.Tap(ctx, "b2", uidTeacher))
	sc := waitScreen(t, ch, kiosk.ScreenStaff)
	assert.Empty(t, sc.Staff.TVs, "no TV attached")
	waitScreen(t, ch, kiosk.ScreenIdle)
	err = f.st.StartTV(ctx, "b2", kiosk.TVStart{})
	assert.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err), "the staff screen is gone")

	// Without a TV the panel says so; hang-up (the page's 退出) ends the
	// screen at once.
	require.NoError(t, f.st.Tap(ctx, "b2", uidTeacher))
	waitScreen(t, ch, kiosk.ScreenStaff)
	err = f.st.StartTV(ctx, "b2", kiosk.TVStart{})
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	sc = waitScreen(t, ch, kiosk.ScreenStaff)
	assert.Equal(t, "没有配置电视", sc.Staff.Notice.ZH)
	require.NoError(t, f.st.Hangup(ctx, "b2"))
	waitScreen(t, ch, kiosk.ScreenIdle)
}

func TestStaffStartStopTV(t *testing.T) {
	ctx := context.Background()
	f := newStaffFixture(t, kiosk.StationOpts{}, true)
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()

	err = f.st.StartTV(ctx, "b1", kiosk.TVStart{TV: "tv1", Programme: "新闻联播", Category: "新闻", Class: "全体", Headcount: 10})
	assert.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err), "refused without a staff screen")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(f.st.StopTV(ctx, "b9", "tv1")))

	require.NoError(t, f.st.Tap(ctx, "b1", uidTeacher))
	waitScreen(t, ch, kiosk.ScreenStaff)
	require.NoError(t, f.st.StartTV(ctx, "b1", kiosk.TVStart{TV: "tv1", Programme: "CCTV-少儿", Category: "少儿",
		Class: "三年级1班", Headcount: 18, Teacher: "someone else"}))
	sc := waitScreen(t, ch, kiosk.ScreenStaff)
	require.Len(t, f.tv.startCalls(), 1)
	assert.Equal(t, kiosk.TVStart{TV: "tv1", Programme: "CCTV-少儿", Category: "少儿", Class: "三年级1班", Headcount: 18,
		Teacher: "王老师"}, f.tv.startCalls()[0], "the teacher is the member who tapped")
	require.NotNil(t, sc.Staff.Notice)
	assert.Equal(t, "已开始播放：CCTV-少儿", sc.Staff.Notice.ZH)
	assert.False(t, sc.Staff.Error)
	require.Len(t, sc.Staff.TVs, 1)
	tv := sc.Staff.TVs[0]
	assert.True(t, tv.Running)
	assert.Equal(t, "CCTV-少儿", tv.Programme)
	assert.Equal(t, "03:05", tv.Since, "19:05 UTC in the station's zone (UTC+8)")

	// Starting it again is refused on the screen, with the TV's words.
	require.NoError(t, f.st.StartTV(ctx, "b1", kiosk.TVStart{TV: "tv1", Programme: "x", Category: "新闻", Class: "全体", Headcount: 1}))
	sc = waitScreen(t, ch, kiosk.ScreenStaff)
	assert.True(t, sc.Staff.Error)
	assert.Equal(t, "电视 tv1 正在播放", sc.Staff.Notice.ZH)

	require.NoError(t, f.st.StopTV(ctx, "b1", "tv1"))
	sc = waitScreen(t, ch, kiosk.ScreenStaff)
	assert.False(t, sc.Staff.TVs[0].Running)
	assert.Equal(t, "已结束播放，电视已关闭", sc.Staff.Notice.ZH)

	// An internal error of the TV control is returned and shown.
	f.tv.startErr = assert.AnError
	err = f.st.StartTV(ctx, "b1", kiosk.TVStart{TV: "tv1", Programme: "x", Category: "新闻", Class: "全体", Headcount: 1})
	require.ErrorIs(t, err, assert.AnError)
	sc = waitScreen(t, ch, kiosk.ScreenStaff)
	assert.True(t, sc.Staff.Error)
}

func TestStaffTechnicianMayNotRunTV(t *testing.T) {
	ctx := context.Background()
	f := newStaffFixture(t, kiosk.StationOpts{}, true)
	ch, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()
	require.NoError(t, f.st.Tap(ctx, "b1", uidTech))
	sc := waitScreen(t, ch, kiosk.ScreenStaff)
	assert.False(t, sc.Staff.MayRunTV, "a technician sees the TVs only")
	require.Len(t, sc.Staff.TVs, 1)

	require.NoError(t, f.st.StartTV(ctx, "b1", kiosk.TVStart{TV: "tv1", Programme: "新闻联播", Category: "新闻", Class: "全体", Headcount: 10}))
	sc = waitScreen(t, ch, kiosk.ScreenStaff)
	assert.True(t, sc.Staff.Error)
	assert.Equal(t, "技术员不能开关电视，请找值班教师或管理员", sc.Staff.Notice.ZH)
	assert.Empty(t, f.tv.startCalls(), "the TV control was not asked")
	require.NoError(t, f.st.StopTV(ctx, "b1", "tv1"))
	sc = waitScreen(t, ch, kiosk.ScreenStaff)
	assert.True(t, sc.Staff.Error, "stop is refused too")
}

func TestStaffTapDuringCall(t *testing.T) {
	ctx := context.Background()
	f := newStaffFixture(t, kiosk.StationOpts{}, true)
	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	require.NoError(t, f.st.Pick(ctx, "b1", 1))
	waitDial(t, f.dialer)
	err := f.st.Tap(ctx, "b1", uidTeacher)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "a call is never cut by a staff card")
	sc, err := f.st.Screen("b1")
	require.NoError(t, err)
	assert.Equal(t, kiosk.ScreenCalling, sc.Kind)
}
