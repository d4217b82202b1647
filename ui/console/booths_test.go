package console

import (
	"context"
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
)

// fakeDesk is a StationDesk whose answers the test sets.
type fakeDesk struct {
	mu     sync.Mutex
	booths []kiosk.Booth
	status []kiosk.BoothStatus
	// next answers EnrolNext; nil blocks until ctx ends.
	next      func() (string, error)
	asked     []string // booths EnrolNext was called for
	timeouts  []time.Duration
	cancelled []string
}

func (f *fakeDesk) Booths() []kiosk.Booth { return f.booths }

func (f *fakeDesk) BoothStatus() []kiosk.BoothStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]kiosk.BoothStatus(nil), f.status...)
}

func (f *fakeDesk) setStatus(st []kiosk.BoothStatus) {
	f.mu.Lock()
	f.status = st
	f.mu.Unlock()
}

func (f *fakeDesk) EnrolNext(ctx context.Context, booth string, timeout time.Duration) (string, error) {
	f.mu.Lock()
	f.asked = append(f.asked, booth)
	f.timeouts = append(f.timeouts, timeout)
	next := f.next
	f.mu.Unlock()
	if next == nil {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return next()
}

func (f *fakeDesk) CancelEnrol(booth string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, booth)
	return nil
}

func (f *fakeDesk) answer(uid string, err error) {
	f.mu.Lock()
	f.next = func() (string, error) { return uid, err }
	f.mu.Unlock()
}

// newBoothEnv is newEnv with a station: two booths, b1 in an answered
// phone call of 王小明, b2 with 张丽 waiting for a line and a faulty
// light.
func newBoothEnv(t *testing.T) (*env, *fakeDesk) {
	t.Helper()
	e := newEnv(t)
	desk := &fakeDesk{booths: []kiosk.Booth{{ID: "b1", Name: "一号话机"}, {ID: "b2", Name: "二号话机"}}}
	desk.setStatus([]kiosk.BoothStatus{
		{Booth: desk.booths[0], State: kiosk.ScreenConnected, Light: kiosk.LightConnected,
			Child: kiosk.Child{ID: e.ids["王小明"], Name: "王小明"},
			Call:  &kiosk.CallStatus{Mode: kiosk.ModePhone, Answered: true, Elapsed: 100 * time.Second, Left: 210 * time.Second, Limit: 5 * time.Minute}},
		{Booth: desk.booths[1], State: kiosk.ScreenQueued, Light: kiosk.LightFault, Fault: "light: no answer",
			Child: kiosk.Child{ID: e.ids["张丽"], Name: "张丽"}, Queued: 1},
	})
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	con, err := New(Opts{Store: e.db, School: school, Loc: loc, Now: e.clk.Now, Station: desk})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", con.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.con, e.srv = con, srv
	return e, desk
}

func (e *env) childURL(name string) string {
	return e.srv.URL + "/console/children/" + itoa(int64(e.ids[name]))
}

func TestBoothRoutesByRole(t *testing.T) {
	e, desk := newBoothEnv(t)
	want := map[string]map[string]int{ // route -> role -> status
		"GET /console/booths": {"manager": 200, "principal": 200, "inspector": 200, "technician": 200},
		"POST /console/booths/{booth}/cancel": {"manager": http.StatusSeeOther, "principal": 403,
			"inspector": 403, "technician": 403},
		"POST /console/children/{id}/cards/enrol": {"manager": 200, "principal": 403, "inspector": 403, "technician": 403},
	}
	n := 0
	for _, rt := range e.con.routes {
		if _, ok := want[rt.method+" "+rt.path]; ok {
			n++
		}
	}
	require.Equal(t, len(want), n, "every booth route is in the table")
	uids := []string{"A0000001", "A0000002", "A0000003", "A0000004"}
	for i, role := range []string{"manager", "principal", "inspector", "technician"} {
		c, csrf := e.login(t, role)
		desk.answer(uids[i], nil)
		for key, byRole := range want {
			method, path, _ := strings.Cut(key, " ")
			path = strings.ReplaceAll(strings.ReplaceAll(path, "{booth}", "b1"), "{id}", itoa(int64(e.ids["王小明"])))
			t.Run(role+" "+key, func(t *testing.T) {
				var form url.Values
				if method == "POST" {
					form = url.Values{"csrf": {csrf}, "booth": {"b2"}}
				}
				res, _ := do(t, c, method, e.srv.URL+path, form)
				assert.Equal(t, byRole[role], res.StatusCode)
			})
		}
	}
	assert.Equal(t, []string{"b2"}, desk.asked, "only the manager put a booth in enrol mode")
	assert.Equal(t, []string{"b1"}, desk.cancelled, "only the manager cancelled")
}

func TestEnrolCard(t *testing.T) {
	ctx := context.Background()
	e, desk := newBoothEnv(t)
	c, csrf := e.login(t, "manager")
	ming := e.childURL("王小明")
	enrol := func(booth string) (*http.Response, string) {
		return do(t, c, "POST", ming+"/cards/enrol", url.Values{"csrf": {csrf}, "booth": {booth}})
	}
	lastAudit := func() kiosk.AuditEntry { return e.audits(t)[0] }

	// The child's page offers the booths.
	_, body := do(t, c, "GET", ming, nil)
	assert.Contains(t, body, `action="/console/children/`+itoa(int64(e.ids["王小明"]))+`/cards/enrol"`)
	assert.Contains(t, body, `<option value="b2">二号话机</option>`)
	assert.Contains(t, body, "在此读卡器刷卡登记")
	assert.NotContains(t, body, "控制台无法直接读取刷卡器", "with a station, the console can read a reader")

	desk.answer("A1B2C3D4", nil)
	res, body := enrol("b2")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "卡已登记并启用")
	assert.Equal(t, []string{"b2"}, desk.asked)
	assert.Equal(t, []time.Duration{60 * time.Second}, desk.timeouts, "the booth waits 60 s")
	cards, err := e.db.ChildCards(ctx, e.ids["王小明"])
	require.NoError(t, err)
	var enrolled *kiosk.Card
	for i := range cards {
		if cards[i].UID == "A1B2C3D4" {
			enrolled = &cards[i]
		}
	}
	require.NotNil(t, enrolled, "the card is the child's")
	assert.True(t, enrolled.Enabled)
	a := lastAudit()
	assert.Equal(t, "card_enrol", a.Action)
	assert.Equal(t, "manager", a.Actor)
	assert.Contains(t, a.Detail, "booth=b2")
	assert.Contains(t, a.Detail, "card=…C3D4")
	assert.NotContains(t, a.Detail, "A1B2C3D4", "the audit masks the card")

	cases := []struct {
		name   string
		uid    string
		err    error
		booth  string
		status int
		says   string
		result string
	}{
		{"the child's card", "A1B2C3D4", nil, "b1", http.StatusConflict, "已经是该学生的卡", "result=known"},
		{"another child's card", "DEADBEEF", nil, "b1", http.StatusConflict, "五年级2班", "result=other_child"},
		{"no tap in time", "", kiosk.Errorf(kiosk.EGONE, "no card"), "b1", http.StatusGatewayTimeout, "60 秒内没有在 一号话机 刷卡", "result=timeout"},
		{"booth in a call", "", &kiosk.Error{Code: kiosk.ECONFLICT, Message: "the booth is in a call"}, "b1", http.StatusConflict, "the booth is in a call", "result=conflict"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			desk.answer(tc.uid, tc.err)
			before := len(cards)
			res, body := enrol(tc.booth)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Contains(t, body, tc.says)
			assert.NotContains(t, body, "张丽", "never the other child's name")
			a := lastAudit()
			assert.Equal(t, "card_enrol_failed", a.Action)
			assert.Contains(t, a.Detail, tc.result)
			cs, err := e.db.ChildCards(ctx, e.ids["王小明"])
			require.NoError(t, err)
			assert.Len(t, cs, before, "no card added")
		})
	}

	t.Run("no such booth", func(t *testing.T) {
		asked := len(desk.asked)
		res, _ := enrol("b9")
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Len(t, desk.asked, asked, "the station was not asked")
	})

	t.Run("manager leaves the page", func(t *testing.T) {
		desk.mu.Lock()
		desk.next = nil // blocks until the request ends
		desk.mu.Unlock()
		before := len(e.audits(t))
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(rctx, "POST", ming+"/cards/enrol",
			strings.NewReader(url.Values{"csrf": {csrf}, "booth": {"b1"}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, err = c.Do(req)
		require.Error(t, err, "the client gave up")
		require.Eventually(t, func() bool { return len(e.audits(t)) == before+1 }, 5*time.Second, 10*time.Millisecond,
			"the abandoned attempt is audited")
		a := lastAudit()
		assert.Equal(t, "card_enrol_failed", a.Action)
		assert.Contains(t, a.Detail, "result=cancelled")
	})
}

func TestEnrolButtonByRole(t *testing.T) {
	e, _ := newBoothEnv(t)
	for _, role := range []string{"principal", "inspector"} {
		c, _ := e.login(t, role)
		res, body := do(t, c, "GET", e.childURL("王小明"), nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.NotContains(t, body, "/cards/enrol", "%s sees no enrol button", role)
		assert.NotContains(t, body, "在此读卡器刷卡登记")
	}
	// Without a station there is no button either.
	plain := newEnv(t)
	c, _ := plain.login(t, "manager")
	_, body := do(t, c, "GET", plain.childURL("王小明"), nil)
	assert.NotContains(t, body, "/cards/enrol")
	assert.Contains(t, body, "控制台无法直接读取刷卡器")
	for _, rt := range plain.con.routes {
		assert.NotContains(t, rt.path, "/booths", "no booth routes without a station")
	}
	_, body = do(t, c, "GET", plain.srv.URL+"/console/today", nil)
	assert.NotContains(t, body, "/console/booths")
}

func TestBoothsLive(t *testing.T) {
	e, desk := newBoothEnv(t)

	// Today frames the live view.
	m, csrf := e.login(t, "manager")
	res, body := do(t, m, "GET", e.srv.URL+"/console/today", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<iframe class="booths-frame" src="/console/booths"`)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-src 'self'")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", "Today itself is never framed")

	before := len(e.audits(t))
	res, body = do(t, m, "GET", e.srv.URL+"/console/booths", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<meta http-equiv="refresh" content="5">`, "reloads by itself, no script")
	assert.NotContains(t, body, "<script")
	cspHdr := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, cspHdr, "frame-ancestors 'self'", "only the console may frame it")
	assert.NotContains(t, cspHdr, "frame-ancestors 'none'")
	assert.Contains(t, cspHdr, "default-src 'none'")
	assert.Equal(t, "SAMEORIGIN", res.Header.Get("X-Frame-Options"))
	for _, s := range []string{"一号话机", "通话中 in a call", "王小明", "电话 phone", "1:40", "3:30",
		"二号话机", "排队等线路", "张丽", "第 1 位", "light: no answer", "排队等线路 1 人"} {
		assert.Contains(t, body, s)
	}
	after := e.audits(t)
	require.Len(t, after, before+1, "names shown: audited")
	assert.Equal(t, "view_booths", after[0].Action)
	assert.Equal(t, "children b1="+itoa(int64(e.ids["王小明"]))+" b2="+itoa(int64(e.ids["张丽"])), after[0].Detail)

	_, _ = do(t, m, "GET", e.srv.URL+"/console/booths", nil)
	assert.Len(t, e.audits(t), before+1, "a refresh showing the same children is not audited again")

	// 张丽's call is over; b1 waits for a card to enrol.
	st := desk.BoothStatus()
	st[0] = kiosk.BoothStatus{Booth: desk.booths[0], State: kiosk.ScreenEnrol, Enrolling: true}
	desk.setStatus(st)
	_, body = do(t, m, "GET", e.srv.URL+"/console/booths", nil)
	assert.Contains(t, body, "等待登记新卡")
	assert.Contains(t, body, `action="/console/booths/b1/cancel"`, "the manager may cancel")
	assert.Len(t, e.audits(t), before+2, "other children shown: audited")
	res, _ = do(t, m, "POST", e.srv.URL+"/console/booths/b1/cancel", url.Values{"csrf": {csrf}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/booths", res.Header.Get("Location"))
	assert.Equal(t, []string{"b1"}, desk.cancelled)
	assert.Equal(t, "card_enrol_cancel", e.audits(t)[0].Action)
	res, _ = do(t, m, "POST", e.srv.URL+"/console/booths/b9/cancel", url.Values{"csrf": {csrf}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	t.Run("technician", func(t *testing.T) {
		c, _ := e.login(t, "technician")
		before := len(e.audits(t))
		res, body := do(t, c, "GET", e.srv.URL+"/console/booths", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "排队等线路", "states and faults are shown")
		assert.Contains(t, body, "light: no answer")
		assert.NotContains(t, body, "张丽", "no children's names")
		assert.NotContains(t, body, "学生 Child")
		assert.NotContains(t, body, "/cancel", "no enrolment controls")
		assert.Len(t, e.audits(t), before, "nothing of children's shown, nothing audited")
		_, body = do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Contains(t, body, `src="/console/booths"`, "technicians see the booths live too")
	})
	t.Run("inspector", func(t *testing.T) {
		c, _ := e.login(t, "inspector")
		_, body := do(t, c, "GET", e.srv.URL+"/console/booths", nil)
		assert.Contains(t, body, "张丽", "a name, for a role that sees children's data")
		assert.NotContains(t, body, "/cancel")
	})
}
