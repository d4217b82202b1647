package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/tv"
)

// fakeTV is a TVControl that records what it was asked and answers with
// sessions of its own, or with err.
type fakeTV struct {
	mu      sync.Mutex
	starts  []tv.Request
	stops   []string
	status  []tv.Status
	err     error
	started time.Time
	// powerErr is the sessions' PowerError: the TV did not switch.
	powerErr string
}

func (f *fakeTV) Start(_ context.Context, r tv.Request) (tv.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, r)
	if f.err != nil {
		return tv.Session{}, f.err
	}
	return tv.Session{ID: "s1", TV: r.TV, Programme: r.Programme, Category: r.Category, Class: r.Class,
		Headcount: r.Headcount, Teacher: r.Teacher, Started: f.started, Power: tv.PowerRelay, PowerError: f.powerErr}, nil
}

func (f *fakeTV) Stop(_ context.Context, name string) (tv.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops = append(f.stops, name)
	if f.err != nil {
		return tv.Session{}, f.err
	}
	return tv.Session{ID: "s1", TV: name, Started: f.started, Ended: f.started.Add(42 * time.Minute),
		Duration: 42 * time.Minute, Cause: tv.CauseStop, Power: tv.PowerCEC, PowerError: f.powerErr}, nil
}

func (f *fakeTV) Status() []tv.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tv.Status(nil), f.status...)
}

// withTV replaces e's console by one with the TV control t.
func withTV(t *testing.T, e *env, ctl TVControl) {
	t.Helper()
	con, err := New(Opts{Store: e.db, School: school, Loc: e.con.loc, Now: e.clk.Now, TV: ctl})
	require.NoError(t, err)
	srv := httptest.NewServer(con.Handler())
	t.Cleanup(srv.Close)
	e.con, e.srv = con, srv
}

func TestTVPageRoles(t *testing.T) {
	e := newEnv(t)
	f := &fakeTV{status: []tv.Status{
		{Name: "tv1", Room: "活动室", Power: tv.PowerRelay, Curfew: "21:00"},
		{Name: "tv2", Power: tv.PowerCEC, On: true, Session: &tv.Session{Programme: "新闻联播", Category: "新闻", Class: "五年级2班",
			Headcount: 12, Teacher: "李老师", Started: t0.Add(-30 * time.Minute), Curfew: t0.Add(3 * time.Hour)}},
		{Name: "tv3", Power: tv.PowerNone},
	}}
	withTV(t, e, f)
	tests := []struct {
		role string
		page int
		// mayChange: the role starts and stops sessions (TestTVStartStop
		// posts as a manager); the others' POSTs get 403 here.
		mayChange bool
	}{
		{"manager", http.StatusOK, true},
		{"principal", http.StatusOK, false},
		{"inspector", http.StatusOK, false},
		{"technician", http.StatusForbidden, false},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			c, csrf := e.login(t, tc.role)
			res, body := do(t, c, "GET", e.srv.URL+"/console/tv/control", nil)
			require.Equal(t, tc.page, res.StatusCode)
			if tc.page == http.StatusOK {
				for _, s := range []string{"继电器 Relay", "HDMI-CEC", "None: switch by hand", "活动室", "21:00",
					"《新闻联播》 新闻 · 五年级2班 12 人 · 李老师 · 17:30 起，21:00 自动关闭", "已 30 分钟"} {
					assert.Contains(t, body, s)
				}
				assert.Equal(t, 3, strings.Count(body, `data-test="tv-row"`))
			}
			assert.Equal(t, tc.mayChange, strings.Contains(body, `action="/console/tv/control/start"`))
			assert.Equal(t, tc.mayChange, strings.Contains(body, `action="/console/tv/control/stop"`))
			if tc.mayChange {
				return
			}
			n := len(e.audits(t))
			res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/start", url.Values{"csrf": {csrf}, "tv": {"tv1"},
				"programme": {"x"}, "category": {"新闻"}, "class": {"x"}, "headcount": {"1"}, "teacher": {"x"}})
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/stop", url.Values{"csrf": {csrf}, "tv": {"tv2"}})
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			assert.Len(t, e.audits(t), n)
		})
	}
	assert.Empty(t, f.starts, "no reader started a session")
	assert.Empty(t, f.stops)
	// The start form offers only the idle TVs.
	c, _ := e.login(t, "manager")
	_, body := do(t, c, "GET", e.srv.URL+"/console/tv/control", nil)
	assert.Contains(t, body, "<option>tv1</option><option>tv3</option></select>")
	assert.Contains(t, body, `<option value="三年级1班">`, "the roster's classes are suggested")
}

func TestTVStartStop(t *testing.T) {
	e := newEnv(t)
	f := &fakeTV{started: t0, status: []tv.Status{{Name: "tv1", Power: tv.PowerRelay}}}
	withTV(t, e, f)
	c, csrf := e.login(t, "manager")

	res, _ := do(t, c, "POST", e.srv.URL+"/console/tv/control/start", url.Values{"csrf": {csrf}, "tv": {"tv1"},
		"programme": {" CCTV-少儿 动画城 "}, "category": {"少儿"}, "class": {"三年级1班"}, "headcount": {"２３"},
		"teacher": {"王老师"}, "note": {"周五晚"}})
	seeNotice(t, c, res, "/console/tv/control?done=tv_started", "tv_started")
	require.Len(t, f.starts, 1, "one start: the page after the redirect posts nothing")
	assert.Equal(t, tv.Request{TV: "tv1", Programme: "CCTV-少儿 动画城", Category: "少儿", Class: "三年级1班", Headcount: 23,
		Teacher: "王老师", Note: "周五晚"}, f.starts[0], "every field of the form reaches the service")
	a := lastAudit(t, e)
	assert.Equal(t, "tv_start", a.Action)
	assert.Equal(t, "manager", a.Actor)
	assert.Contains(t, a.Detail, "tv=tv1 session=s1 category=少儿")
	assert.Contains(t, a.Detail, "headcount=23 power=relay")

	res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/stop", url.Values{"csrf": {csrf}, "tv": {"tv1"}})
	assert.Equal(t, "tv_stop", lastAudit(t, e).Action)
	assert.Contains(t, lastAudit(t, e).Detail, "minutes=42")
	seeNotice(t, c, res, "/console/tv/control?done=tv_stopped", "tv_stopped")
	assert.Equal(t, []string{"tv1"}, f.stops)

	// A TV that did not switch: the notice says to switch it by hand.
	f.mu.Lock()
	f.powerErr = "relay: no answer"
	f.mu.Unlock()
	res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/start", url.Values{"csrf": {csrf}, "tv": {"tv1"},
		"programme": {"新闻联播"}, "category": {"新闻"}, "class": {"三年级1班"}, "headcount": {"3"}, "teacher": {"王老师"}})
	seeNotice(t, c, res, "/console/tv/control?done=tv_started_by_hand", "tv_started_by_hand")
	res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/stop", url.Values{"csrf": {csrf}, "tv": {"tv1"}})
	seeNotice(t, c, res, "/console/tv/control?done=tv_stopped_by_hand", "tv_stopped_by_hand")
	f.mu.Lock()
	f.powerErr = ""
	f.mu.Unlock()

	tests := []struct {
		name   string
		err    error
		form   url.Values
		status int
		says   string
	}{
		{"session rules", kiosk.Errorf(kiosk.EINVALID, "请填写组织教师；人数必须大于0"), url.Values{"programme": {"新闻联播"}}, http.StatusBadRequest, "请填写组织教师"},
		{"busy", kiosk.Errorf(kiosk.ECONFLICT, "电视 tv1 正在播放"), url.Values{"programme": {"新闻联播"}}, http.StatusConflict, "正在播放"},
		{"no such tv", kiosk.Errorf(kiosk.ENOTFOUND, "没有名为 \"tv9\" 的电视"), url.Values{"tv": {"tv9"}}, http.StatusNotFound, "tv9"},
		{"head count not a number", nil, url.Values{"headcount": {"很多"}, "programme": {"新闻联播"}}, http.StatusBadRequest, "人数须为数字"},
		{"internal", errors.New("disk full"), url.Values{"programme": {"新闻联播"}}, http.StatusInternalServerError, "Internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.err = tc.err
			f.mu.Unlock()
			n := len(e.audits(t))
			tc.form.Set("csrf", csrf)
			res, body := do(t, c, "POST", e.srv.URL+"/console/tv/control/start", tc.form)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Contains(t, body, tc.says)
			if p := tc.form.Get("programme"); p != "" && tc.status < 500 {
				assert.Contains(t, body, `value="`+p+`"`, "the form keeps what was typed")
			}
			assert.Len(t, e.audits(t), n, "a failed start is not audited")
		})
	}
	f.mu.Lock()
	f.err = kiosk.Errorf(kiosk.ENOTFOUND, "电视 tv1 没有在播放")
	f.mu.Unlock()
	res, body := do(t, c, "POST", e.srv.URL+"/console/tv/control/stop", url.Values{"csrf": {csrf}, "tv": {"tv1"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, "没有在播放")
}

// TestTVWithService runs the page over the real tv.Service journaling
// into SQLite: the session lands in the TV register.
func TestTVWithService(t *testing.T) {
	e := newEnv(t)
	pw := &fakePower{}
	svc, err := tv.New([]tv.TV{{Name: "tv1", Room: "活动室", Power: pw, PowerKind: tv.PowerRelay}}, e.db,
		tv.Opts{Now: e.clk.Now, Location: e.con.loc, ClockSynced: func() bool { return true }})
	require.NoError(t, err)
	withTV(t, e, svc)
	c, csrf := e.login(t, "manager")
	res, _ := do(t, c, "POST", e.srv.URL+"/console/tv/control/start", url.Values{"csrf": {csrf}, "tv": {"tv1"},
		"programme": {"安全教育专题"}, "category": {"安全教育"}, "class": {"住宿生"}, "headcount": {"30"}, "teacher": {"张老师"}})
	body := seeNotice(t, c, res, "/console/tv/control?done=tv_started", "tv_started")
	assert.Contains(t, body, "<b>播放中 On</b>")
	assert.Equal(t, []bool{true}, pw.switches())
	e.clk.Set(t0.Add(20 * time.Minute)) // within the console session's idle time
	res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/stop", url.Values{"csrf": {csrf}, "tv": {"tv1"}})
	seeNotice(t, c, res, "/console/tv/control?done=tv_stopped", "tv_stopped")
	assert.Equal(t, []bool{true, false}, pw.switches())
	ses, err := e.db.TVSessions(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, ses, 1)
	assert.Equal(t, "安全教育专题", ses[0].Programme)
	assert.Equal(t, "住宿生", ses[0].Class)
	assert.Equal(t, 30, ses[0].Headcount)
}

type fakePower struct {
	mu  sync.Mutex
	ons []bool
}

func (p *fakePower) On() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ons = append(p.ons, true)
	return nil
}
func (p *fakePower) Off() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ons = append(p.ons, false)
	return nil
}
func (p *fakePower) switches() []bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bool(nil), p.ons...)
}

func TestTVNotConfigured(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	res, body := do(t, c, "GET", e.srv.URL+"/console/tv/control", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `data-test="no-tv"`)
	res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/start", url.Values{"csrf": {csrf}, "tv": {"tv1"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = do(t, c, "POST", e.srv.URL+"/console/tv/control/stop", url.Values{"csrf": {csrf}, "tv": {"tv1"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}
