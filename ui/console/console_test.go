package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// Fictional children and numbers. The numbers' digits after +86 are what
// an inspector must never see.
var (
	fullNumbers = []string{"13800000001", "13800000002", "13800000003"}
	t0          = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) // 18:00 in Shanghai
	password    = "console test password"
	school      = "青石镇中心小学留守儿童之家"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type env struct {
	db  *sqlite.DB
	clk *clock
	con *Console
	srv *httptest.Server
	// child ids by name
	ids map[string]kiosk.ChildID
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: t0}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), sqlite.Opts{Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ApplyRoster(ctx, []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "王小明", Gender: "男", Class: "三年级1班"},
			Contacts: []kiosk.Contact{
				{Slot: 1, Name: "王建国", Relation: "父亲", Phone: "+86" + fullNumbers[0], Modes: []kiosk.Mode{kiosk.ModePhone}},
				{Slot: 2, Name: "李芳", Relation: "母亲", Phone: "+86" + fullNumbers[1], Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}},
			},
			Cards: []string{"04A1B2C3"}},
		{Line: 3, Child: kiosk.Child{ExternalID: "S-017", Name: "张丽", Gender: "女", Class: "五年级2班"},
			Contacts: []kiosk.Contact{{Slot: 1, Name: "张奶奶", Relation: "奶奶", Phone: "+86" + fullNumbers[2]}},
			Cards:    []string{"DEADBEEF"}},
	}, false)
	require.NoError(t, err)
	ids := map[string]kiosk.ChildID{}
	for _, n := range []string{"王小明", "张丽"} {
		cs, err := db.ChildByName(ctx, n)
		require.NoError(t, err)
		ids[n] = cs[0].ID
	}
	cs, err := db.Contacts(ctx, ids["王小明"])
	require.NoError(t, err)
	// Today: an answered phone call of 王小明, a help call, a video call
	// and a denied attempt; 张丽 has not been heard from.
	start := t0.Add(-2 * time.Hour)
	calls := []kiosk.CallRecord{
		{CallID: "c1", Booth: "b1", ChildID: ids["王小明"], ChildName: "王小明", Class: "三年级1班", ContactID: cs[0].ID, ContactName: "王建国", Relation: "父亲",
			Number: cs[0].Phone, Mode: kiosk.ModePhone, Started: start, Answered: start.Add(5 * time.Second), Ended: start.Add(185 * time.Second),
			ClockSynced: true, Billsec: 180 * time.Second, Duration: 185 * time.Second, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCallerHangup},
		{CallID: "c2", Booth: "b2", ChildID: ids["王小明"], ChildName: "王小明", Class: "三年级1班", ContactID: cs[1].ID, ContactName: "李芳", Relation: "母亲",
			Number: cs[1].Phone, Mode: kiosk.ModeVideo, Started: start.Add(time.Hour), Answered: start.Add(time.Hour + 3*time.Second), Ended: start.Add(time.Hour + 63*time.Second),
			ClockSynced: true, Billsec: 60 * time.Second, Duration: 63 * time.Second, Disposition: kiosk.DispAnswered, Cause: kiosk.CauseCalleeHangup},
		{CallID: "c3", Booth: "b1", ChildID: ids["王小明"], ChildName: "王小明", Class: "三年级1班", Number: "12355", Mode: kiosk.ModePhone, Help: true,
			Started: start.Add(30 * time.Minute), Ended: start.Add(31 * time.Minute), ClockSynced: true, Disposition: kiosk.DispNoAnswer, Cause: kiosk.CauseNoAnswer},
	}
	for _, c := range calls {
		require.NoError(t, db.CallEnded(ctx, c))
	}
	require.NoError(t, db.CallDenied(ctx, kiosk.CallRecord{CallID: "d1", Booth: "b1", ChildID: ids["王小明"], ChildName: "王小明", Class: "三年级1班",
		ContactID: cs[0].ID, Number: cs[0].Phone, Mode: kiosk.ModePhone, Started: start.Add(90 * time.Minute), Reason: kiosk.ReasonQuotaCalls, ClockSynced: true}))
	for _, r := range sqlite.Roles {
		_, err := db.AddUser(ctx, "test", sqlite.NewUser{Username: string(r), DisplayName: "测试" + string(r), Role: r, Password: password})
		require.NoError(t, err)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	con, err := New(Opts{Store: db, School: school, Loc: loc, Now: clk.Now,
		Devices: func(context.Context) []DeviceHealth {
			return []DeviceHealth{{Name: "booth b1 reader", OK: true}, {Name: "booth b1 light", OK: false, Detail: "no answer"}}
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", con.Handler())
	mux.Handle("/console", con.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{db: db, clk: clk, con: con, srv: srv, ids: ids}
}

// client is a browser: a cookie jar, no redirects followed.
func (e *env) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func do(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// login logs user in through the login form and returns the browser and
// its CSRF token.
func (e *env) login(t *testing.T, user string) (*http.Client, string) {
	t.Helper()
	c := e.client(t)
	res, body := do(t, c, "GET", e.srv.URL+"/console/login", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	m := csrfRe.FindStringSubmatch(body)
	require.NotNil(t, m, "login form has a token")
	res, _ = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "login of %s", user)
	require.Equal(t, "/console/today", res.Header.Get("Location"))
	res, body = do(t, c, "GET", e.srv.URL+"/console/today", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	m = csrfRe.FindStringSubmatch(body)
	require.NotNil(t, m, "pages carry the session's token")
	return c, m[1]
}

// auditCount returns how many audit entries the journal holds.
func (e *env) audits(t *testing.T) []sqlite.AuditEntry {
	t.Helper()
	es, err := e.db.AuditLog(context.Background(), 0, 100000)
	require.NoError(t, err)
	return es
}

// pathFor fills a route's path with test values.
func (e *env) pathFor(rt route) string {
	p := strings.ReplaceAll(rt.path, "{id}", itoa(int64(e.ids["王小明"])))
	p = strings.ReplaceAll(p, "{call}", "c3")
	return strings.ReplaceAll(p, "{token}", strings.Repeat("a", sqlite.TokenLen))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ownWalk reports whether rt's roles and audit entries are walked by a
// test of its own, which builds the files and library those routes need:
// the book and TV routes (TestBookAndTVRoutes) and the roster import
// (TestRosterImportRoles, TestRosterImportBadRowThenFixed).
func ownWalk(rt route) bool {
	return strings.HasPrefix(rt.path, "/console/books") || strings.HasPrefix(rt.path, "/console/tv/control") ||
		strings.HasPrefix(rt.path, "/console/roster/import")
}

// formFor is a valid form for a POST route.
func (e *env) formFor(t *testing.T, rt route, csrf string) url.Values {
	t.Helper()
	f := url.Values{"csrf": {csrf}}
	switch rt.path {
	case "/console/children/{id}/reveal":
		cs, err := e.db.Contacts(context.Background(), e.ids["王小明"])
		require.NoError(t, err)
		f.Set("contact", itoa(int64(cs[0].ID)))
	case "/console/calls.xlsx":
		f.Set("numbers", "1")
	case "/console/help/{call}":
		f.Set("note", "已回电")
	case "/console/children/{id}/consent":
		f.Set("date", "2026-11-01")
		f.Set("method", "written")
		f.Set("relation", "母亲")
	case "/console/children/{id}/cards":
		f.Set("number", "11:22:33:44")
	case "/console/children/{id}/cards/disable":
		f.Set("card", "04A1B2C3")
	case "/console/children/{id}/links", "/console/children/{id}/links/revoke":
		cs, err := e.db.Contacts(context.Background(), e.ids["王小明"])
		require.NoError(t, err)
		f.Set("contact", itoa(int64(cs[1].ID)))
		f.Set("days", "30")
		_, l, err := e.db.CreateLink(context.Background(), cs[1].ID, time.Time{})
		require.NoError(t, err)
		f.Set("link", itoa(l.ID))
	case "/console/children/{id}/status":
		f.Set("status", "active") // no change: later routes still see an active child
	case "/console/children/new":
		// A new child each time: the walks post it once per console.
		f.Set("name", "赵小燕")
		f.Set("class", "四年级1班")
		f.Set("c1_name", "赵刚")
		f.Set("c1_relation", "父亲")
		f.Set("c1_phone", "139 0000 0011")
		f.Set("c1_modes", "phone")
	case "/console/children/{id}/edit":
		// 王小明 as he is: numbers kept (left blank), nothing changes.
		f.Set("name", "王小明")
		f.Set("class", "三年级1班")
		f.Set("gender", "男")
		f.Set("c1_name", "王建国")
		f.Set("c1_relation", "父亲")
		f.Set("c1_modes", "phone")
		f.Set("c2_name", "李芳")
		f.Set("c2_relation", "母亲")
		f["c2_modes"] = []string{"phone", "video"}
	case "/console/settings":
		// The test console has no config file policy: a whole valid one.
		f.Set("hours.mon", "16:30-18:00")
		f.Set("help.numbers", "12355")
		f.Set("limits.call", "5m")
	}
	return f
}

func TestEveryRouteWithoutSessionRedirectsToLogin(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	paths := []string{"/console", "/console/", "/console/nothing-here"}
	for _, rt := range e.con.routes {
		if rt.access != public {
			paths = append(paths, rt.method+" "+e.pathFor(rt))
		}
	}
	for _, p := range paths {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "GET", p
		}
		t.Run(method+" "+path, func(t *testing.T) {
			var form url.Values
			if method == "POST" {
				form = url.Values{"csrf": {"x"}}
			}
			res, _ := do(t, c, method, e.srv.URL+path, form)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			loc := res.Header.Get("Location")
			if path == "/console" || path == "/console/" {
				// The redirect to Today, which then redirects to login.
				res, _ = do(t, c, "GET", e.srv.URL+loc, nil)
				loc = res.Header.Get("Location")
			}
			assert.Equal(t, "/console/login", loc)
		})
	}
}

func TestRoleAccess(t *testing.T) {
	e := newEnv(t)
	const (
		m = 1 << iota // manager
		p             // principal
		i             // inspector
		x             // technician
	)
	// Who may use each route, written out rather than derived from the
	// code under test.
	want := map[string]int{
		"GET /console/today":                        m | p | i | x,
		"GET /console/children":                     m | p | i,
		"GET /console/children/{id}":                m | p | i,
		"POST /console/children/{id}/reveal":        m | p,
		"GET /console/calls":                        m | p | i,
		"GET /console/calls.csv":                    m | p | i,
		"GET /console/calls.xlsx":                   m | p | i,
		"POST /console/calls.xlsx":                  m | p,
		"GET /console/reports/monthly":              m | p | i,
		"GET /console/reports/quarterly":            m | p | i,
		"GET /console/audit":                        m | p,
		"GET /console/loans":                        m | p | i,
		"GET /console/loans.csv":                    m | p | i,
		"GET /console/loans.xlsx":                   m | p | i,
		"GET /console/loans/overdue":                m | p | i,
		"GET /console/tv":                           m | p | i,
		"GET /console/tv.csv":                       m | p | i,
		"GET /console/tv.xlsx":                      m | p | i,
		"GET /console/equipment":                    m | p | i | x,
		"GET /console/equipment.csv":                m | p | i | x,
		"GET /console/equipment.xlsx":               m | p | i | x,
		"GET /console/roster":                       m | p | i,
		"GET /console/roster.csv":                   m | p | i,
		"GET /console/roster.xlsx":                  m | p | i,
		"GET /console/help":                         m | p,
		"GET /console/helplog":                      m | p,
		"GET /console/helplog.csv":                  m | p,
		"GET /console/helplog.xlsx":                 m | p,
		"POST /console/help/{call}":                 m,
		"GET /console/consent":                      m | p | i,
		"GET /console/consent.csv":                  m | p | i,
		"GET /console/consent.xlsx":                 m | p | i,
		"POST /console/children/{id}/consent":       m,
		"POST /console/children/{id}/cards":         m,
		"POST /console/children/{id}/cards/disable": m,
		"POST /console/children/{id}/links":         m,
		"GET /console/children/{id}/links/new":      m,
		"POST /console/children/{id}/links/revoke":  m,
		"GET /console/children/{id}/status":         m,
		"POST /console/children/{id}/status":        m,
		"GET /console/settings":                     m | p | x,
		"POST /console/settings":                    m,
		"GET /console/children/new":                 m,
		"POST /console/children/new":                m,
		"GET /console/children/{id}/edit":           m,
		"POST /console/children/{id}/edit":          m,
	}
	// Forms that change something answer 303 (Post/Redirect/Get).
	redirects := map[string]bool{
		"POST /console/help/{call}":                 true,
		"POST /console/children/{id}/consent":       true,
		"POST /console/children/{id}/cards":         true,
		"POST /console/children/{id}/cards/disable": true,
		"POST /console/children/{id}/links":         true,
		"POST /console/children/{id}/links/revoke":  true,
		"POST /console/children/{id}/status":        true,
		"POST /console/children/new":                true,
		"POST /console/children/{id}/edit":          true,
	}
	bits := map[sqlite.Role]int{sqlite.RoleManager: m, sqlite.RolePrincipal: p, sqlite.RoleInspector: i, sqlite.RoleTechnician: x}
	covered := 0
	for _, role := range sqlite.Roles {
		c, csrf := e.login(t, string(role))
		for _, rt := range e.con.routes {
			if rt.access == public || rt.path == "/console/logout" || ownWalk(rt) {
				continue
			}
			who, ok := want[rt.method+" "+rt.path]
			require.True(t, ok, "route %s %s needs a row in the access table", rt.method, rt.path)
			covered++
			status := http.StatusForbidden
			if who&bits[role] != 0 {
				status = http.StatusOK
				if redirects[rt.method+" "+rt.path] {
					status = http.StatusSeeOther
				}
				if rt.path == "/console/children/{id}/links/new" {
					status = http.StatusGone // no link waits to be shown
				}
			}
			t.Run(string(role)+" "+rt.method+" "+rt.path, func(t *testing.T) {
				var form url.Values
				if rt.method == "POST" {
					form = e.formFor(t, rt, csrf)
				}
				res, _ := do(t, c, rt.method, e.srv.URL+e.pathFor(rt), form)
				assert.Equal(t, status, res.StatusCode)
			})
		}
	}
	assert.Equal(t, len(want)*len(sqlite.Roles), covered, "every row of the table was tried")
}

func TestTechnicianSeesNoChildData(t *testing.T) {
	e := newEnv(t)
	c, _ := e.login(t, "technician")
	res, body := do(t, c, "GET", e.srv.URL+"/console/today", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "booth b1 light", "device health is shown")
	for _, s := range []string{"王小明", "张丽", "三年级", "未与家人通话", "求助电话"} {
		assert.NotContains(t, body, s)
	}
	assert.NotContains(t, body, "/console/children", "no link to children's data")
	res, _ = do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"])), nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
}

// TestInspectorNeverSeesNumbers walks every page and export an inspector
// may open and checks that no full number appears.
func TestInspectorNeverSeesNumbers(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "inspector")
	q := "?from=2026-11-01&to=2026-11-30"
	paths := []string{
		"/console/today", "/console/children", "/console/children?quiet=1",
		"/console/children/" + itoa(int64(e.ids["王小明"])), "/console/children/" + itoa(int64(e.ids["张丽"])),
		"/console/calls" + q, "/console/calls" + q + "&mode=video", "/console/calls" + q + "&print=1",
		"/console/calls.csv" + q, "/console/calls.csv" + q + "&mode=video",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			res, body := do(t, c, "GET", e.srv.URL+p, nil)
			require.Equal(t, http.StatusOK, res.StatusCode)
			for _, n := range fullNumbers {
				assert.NotContains(t, body, n)
			}
		})
	}
	t.Run("children show name and class only", func(t *testing.T) {
		_, body := do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(e.ids["张丽"])), nil)
		assert.Contains(t, body, "张丽")
		assert.Contains(t, body, "五年级2班")
		for _, s := range []string{"张奶奶", "DEADBEEF", "S-017", "女", "reveal"} {
			assert.NotContains(t, body, s)
		}
		_, body = do(t, c, "GET", e.srv.URL+"/console/children", nil)
		assert.NotContains(t, body, "S-017")
	})
	t.Run("xlsx", func(t *testing.T) {
		res, body := do(t, c, "GET", e.srv.URL+"/console/calls.xlsx"+q, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		rows := xlsxRows(t, []byte(body))
		all := ""
		for _, r := range rows {
			all += strings.Join(r, "|")
		}
		assert.Contains(t, all, "138****0001")
		for _, n := range fullNumbers {
			assert.NotContains(t, all, n)
		}
	})
	t.Run("reveal and numbers export refused", func(t *testing.T) {
		cs, err := e.db.Contacts(context.Background(), e.ids["王小明"])
		require.NoError(t, err)
		res, body := do(t, c, "POST", e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"]))+"/reveal",
			url.Values{"csrf": {csrf}, "contact": {itoa(int64(cs[0].ID))}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.NotContains(t, body, fullNumbers[0])
		res, body = do(t, c, "POST", e.srv.URL+"/console/calls.xlsx", url.Values{"csrf": {csrf}, "numbers": {"1"}, "from": {"2026-11-01"}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		assert.NotContains(t, body, fullNumbers[0])
	})
}

func TestRevealAndCSRF(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "principal")
	child := itoa(int64(e.ids["王小明"]))
	cs, err := e.db.Contacts(context.Background(), e.ids["王小明"])
	require.NoError(t, err)
	contact := itoa(int64(cs[0].ID))

	_, body := do(t, c, "GET", e.srv.URL+"/console/children/"+child, nil)
	assert.Contains(t, body, "138****0001", "masked by default")
	assert.NotContains(t, body, fullNumbers[0])

	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{"missing token", url.Values{"contact": {contact}}, http.StatusForbidden},
		{"wrong token", url.Values{"contact": {contact}, "csrf": {csrf + "x"}}, http.StatusForbidden},
		{"another session's token", url.Values{"contact": {contact}, "csrf": {csrfToken(strings.Repeat("b", sqlite.TokenLen))}}, http.StatusForbidden},
		{"right token", url.Values{"contact": {contact}, "csrf": {csrf}}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.audits(t))
			res, body := do(t, c, "POST", e.srv.URL+"/console/children/"+child+"/reveal", tc.form)
			assert.Equal(t, tc.want, res.StatusCode)
			after := e.audits(t)
			if tc.want == http.StatusOK {
				assert.Contains(t, body, fullNumbers[0], "revealed")
				assert.NotContains(t, body, fullNumbers[1], "only the one number")
				require.Len(t, after, before+1)
				assert.Equal(t, "reveal_phone", after[0].Action)
				assert.Equal(t, "principal", after[0].Actor)
				assert.Contains(t, after[0].Detail, "contact="+contact)
			} else {
				assert.NotContains(t, body, fullNumbers[0])
				assert.Len(t, after, before, "a refused reveal is not a reveal")
			}
		})
	}
	t.Run("cross-site origin", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/console/children/"+child+"/reveal",
			strings.NewReader(url.Values{"contact": {contact}, "csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		res, err := c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})
	t.Run("logout needs the token", func(t *testing.T) {
		res, _ := do(t, c, "POST", e.srv.URL+"/console/logout", url.Values{})
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		res, _ = do(t, c, "POST", e.srv.URL+"/console/logout", url.Values{"csrf": {csrf}})
		assert.Equal(t, http.StatusSeeOther, res.StatusCode)
		res, _ = do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Equal(t, http.StatusSeeOther, res.StatusCode, "logged out")
	})
}

func TestLoginSecurity(t *testing.T) {
	e := newEnv(t)
	u, err := url.Parse(e.srv.URL + "/console/")
	require.NoError(t, err)

	t.Run("session fixation", func(t *testing.T) {
		c := e.client(t)
		// An attacker plants a well-formed id, and then their own real
		// session id.
		planted := strings.Repeat("c", sqlite.TokenLen)
		attacker, err := e.db.Login(context.Background(), "inspector", password, "192.0.2.66")
		require.NoError(t, err)
		for _, id := range []string{planted, attacker.ID} {
			c.Jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: id, Path: "/console"}})
			res, body := do(t, c, "GET", e.srv.URL+"/console/login", nil)
			m := csrfRe.FindStringSubmatch(body)
			if id == attacker.ID {
				// A valid session goes straight to Today; log in anyway
				// with a fresh form from a clean jar state.
				assert.Equal(t, http.StatusSeeOther, res.StatusCode)
				res, body = do(t, e.client(t), "GET", e.srv.URL+"/console/login", nil)
				m = csrfRe.FindStringSubmatch(body)
				for _, ck := range res.Cookies() {
					c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/console"}})
				}
			}
			require.NotNil(t, m)
			res, _ = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"manager"}, "password": {password}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			var got *http.Cookie
			for _, ck := range res.Cookies() {
				if ck.Name == CookieName {
					got = ck
				}
			}
			require.NotNil(t, got, "login sets the session cookie")
			assert.NotEqual(t, id, got.Value, "a new session id at login")
			assert.True(t, got.HttpOnly)
			assert.Equal(t, http.SameSiteStrictMode, got.SameSite)
			assert.Equal(t, "/console", got.Path)
			assert.False(t, got.Secure, "plain HTTP test server")
		}
		_, err = e.db.SessionByID(context.Background(), attacker.ID, 0, 0)
		assert.ErrorIs(t, err, sqlite.ErrNoSession, "the session held before login was ended")
	})

	t.Run("login form token", func(t *testing.T) {
		c := e.client(t)
		res, _ := do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"username": {"manager"}, "password": {password}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "no token")
		do(t, c, "GET", e.srv.URL+"/console/login", nil)
		res, _ = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {"forged"}, "username": {"manager"}, "password": {password}})
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "wrong token")
	})

	t.Run("rate limit", func(t *testing.T) {
		c := e.client(t)
		_, body := do(t, c, "GET", e.srv.URL+"/console/login", nil)
		for i := 0; i < sqlite.PairFailures; i++ { // one client: one account and address
			m := csrfRe.FindStringSubmatch(body)
			require.NotNil(t, m)
			var res *http.Response
			res, body = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"principal"}, "password": {"wrong password"}})
			require.Equal(t, http.StatusUnauthorized, res.StatusCode, "try %d", i)
			assert.NotContains(t, body, "wrong password", "the password is not echoed")
		}
		m := csrfRe.FindStringSubmatch(body)
		res, body := do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"principal"}, "password": {password}})
		assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "locked even with the right password")
		assert.Contains(t, body, "请 15 分钟后再试", "every failure at t0: the whole window")
		assert.Equal(t, "900", res.Header.Get("Retry-After"))
		e.clk.Set(t0.Add(10*time.Minute + 30*time.Second))
		m = csrfRe.FindStringSubmatch(body)
		res, body = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"principal"}, "password": {password}})
		assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "still locked")
		assert.Contains(t, body, "请 5 分钟后再试", "4 min 30 s, rounded up")
		assert.Equal(t, "270", res.Header.Get("Retry-After"))
		e.clk.Set(t0.Add(sqlite.LoginWindow - 20*time.Second))
		m = csrfRe.FindStringSubmatch(body)
		res, body = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"principal"}, "password": {password}})
		assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "still locked")
		assert.Contains(t, body, "请 20 秒后再试", "under a minute: seconds")
		assert.Equal(t, "20", res.Header.Get("Retry-After"))
		e.clk.Set(t0.Add(sqlite.LoginWindow + time.Minute))
		m = csrfRe.FindStringSubmatch(body)
		res, _ = do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"principal"}, "password": {password}})
		assert.Equal(t, http.StatusSeeOther, res.StatusCode, "unlocked after the window")
		e.clk.Set(t0)
	})

	t.Run("oversized form", func(t *testing.T) {
		c := e.client(t)
		_, body := do(t, c, "GET", e.srv.URL+"/console/login", nil)
		m := csrfRe.FindStringSubmatch(body)
		require.NotNil(t, m)
		res, _ := do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "username": {"manager"},
			"password": {password}, "pad": {strings.Repeat("x", maxForm)}})
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, "a form over its limit is refused as such")
	})

	t.Run("security headers", func(t *testing.T) {
		res, _ := do(t, e.client(t), "GET", e.srv.URL+"/console/login", nil)
		h := res.Header
		assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
		assert.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		assert.Contains(t, h.Get("Content-Security-Policy"), "form-action 'self'")
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
		assert.Equal(t, "no-store", h.Get("Cache-Control"))
		res, body := do(t, e.client(t), "GET", e.srv.URL+"/console/static/console.css", nil)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "@page")
	})

	t.Run("idle session expires", func(t *testing.T) {
		c, _ := e.login(t, "manager")
		e.clk.Set(t0.Add(sqlite.SessionIdle + time.Minute))
		defer e.clk.Set(t0)
		res, _ := do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/console/login", res.Header.Get("Location"))
	})
}

// TestChildDataRoutesAreAudited walks every route that shows children's
// data and checks that each request added an audit entry naming the user.
func TestChildDataRoutesAreAudited(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	n := 0
	for _, rt := range e.con.routes {
		if !rt.childData || ownWalk(rt) {
			continue
		}
		n++
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			before := len(e.audits(t))
			var form url.Values
			if rt.method == "POST" {
				form = e.formFor(t, rt, csrf)
			}
			res, _ := do(t, c, rt.method, e.srv.URL+e.pathFor(rt), form)
			switch {
			case rt.method == "POST" && res.StatusCode == http.StatusSeeOther:
				// A change (Post/Redirect/Get): its audit entry, and the
				// page redirected to audits its own view.
				loc := res.Header.Get("Location")
				assert.True(t, strings.Contains(loc, "done=") || strings.Contains(loc, "/links/new?k="), loc)
			case rt.path == "/console/children/{id}/links/new":
				assert.Equal(t, http.StatusGone, res.StatusCode, "no link waits to be shown: still audited")
			default:
				require.Equal(t, http.StatusOK, res.StatusCode)
			}
			after := e.audits(t)
			require.Len(t, after, before+1, "one audit entry per view or change")
			assert.Equal(t, "manager", after[0].Actor)
		})
	}
	assert.GreaterOrEqual(t, n, 8, "the walk covered the child-data routes")
	for _, rt := range e.con.routes {
		if rt.method == "GET" && strings.Contains(rt.path, "children") {
			assert.True(t, rt.childData, "%s must be marked as showing children's data", rt.path)
		}
	}
	// The audit log shows them, read-only: no form posts to it.
	res, body := do(t, c, "GET", e.srv.URL+"/console/audit", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "view_child")
	assert.Contains(t, body, "export_calls_xlsx")
	assert.Contains(t, body, "numbers=full")
	res, _ = do(t, c, "POST", e.srv.URL+"/console/audit", url.Values{"csrf": {csrf}})
	assert.NotEqual(t, http.StatusOK, res.StatusCode, "the audit log takes no POST")
}

func TestCallsRegister(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	q := "?from=2026-11-01&to=2026-11-30"

	t.Run("mode filter", func(t *testing.T) {
		_, body := do(t, c, "GET", e.srv.URL+"/console/calls"+q, nil)
		assert.Contains(t, body, "亲情电话通话记录")
		assert.Contains(t, body, "王建国（父亲）")
		assert.Contains(t, body, "求助")
		assert.NotContains(t, body, "李芳（母亲）", "the video call is in the other register")
		assert.Contains(t, body, "共 3 条", "answered, help and denied phone calls")
		_, body = do(t, c, "GET", e.srv.URL+"/console/calls"+q+"&mode=video", nil)
		assert.Contains(t, body, "电脑视频交流记录")
		assert.Contains(t, body, "李芳（母亲）")
		assert.Contains(t, body, "共 1 条")
	})
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			query string
			total string
		}{
			{"&booth=b2", "共 0 条"},
			{"&class=五年级2班", "共 0 条"},
			{"&class=三年级1班&booth=b1", "共 3 条"},
			{"&child=" + itoa(int64(e.ids["张丽"])), "共 0 条"},
			{"&child=" + itoa(int64(e.ids["王小明"])), "共 3 条"},
		}
		for _, tc := range tests {
			_, body := do(t, c, "GET", e.srv.URL+"/console/calls"+q+tc.query, nil)
			assert.Contains(t, body, tc.total, tc.query)
		}
		_, body := do(t, c, "GET", e.srv.URL+"/console/calls?from=2026-10-01&to=2026-10-31", nil)
		assert.Contains(t, body, "共 0 条", "date range")
		res, _ := do(t, c, "GET", e.srv.URL+"/console/calls?from=2026-13-01", nil)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		res, _ = do(t, c, "GET", e.srv.URL+"/console/calls?from=2026-11-30&to=2026-11-01", nil)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	})
	t.Run("pagination", func(t *testing.T) {
		e2 := newEnv(t)
		ctx := context.Background()
		for i := 0; i < 120; i++ {
			st := t0.Add(-time.Duration(i+3) * time.Hour)
			require.NoError(t, e2.db.CallEnded(ctx, kiosk.CallRecord{CallID: "p" + itoa(int64(i)), Booth: "b1", ChildID: e2.ids["张丽"], ChildName: "张丽",
				Class: "五年级2班", Mode: kiosk.ModePhone, Number: "+86" + fullNumbers[2], Started: st, Ended: st.Add(time.Minute),
				Disposition: kiosk.DispAnswered, Billsec: 50 * time.Second, ClockSynced: true}))
		}
		c2, _ := e2.login(t, "manager")
		_, body := do(t, c2, "GET", e2.srv.URL+"/console/calls?from=2026-11-01&to=2026-11-30&class=五年级2班", nil)
		assert.Contains(t, body, "第 1 / 3 页")
		assert.Equal(t, 50, strings.Count(body, "<td>张丽</td>"), "50 rows on a page")
		assert.Contains(t, body, "page=2")
		_, body = do(t, c2, "GET", e2.srv.URL+"/console/calls?from=2026-11-01&to=2026-11-30&class=五年级2班&page=3", nil)
		assert.Contains(t, body, "第 3 / 3 页")
		assert.Equal(t, 20, strings.Count(body, "<td>张丽</td>"), "the last page has the rest")
		_, body = do(t, c2, "GET", e2.srv.URL+"/console/calls?from=2026-11-01&to=2026-11-30&class=五年级2班&print=1", nil)
		assert.Equal(t, 120, strings.Count(body, "<td>张丽</td>"), "print shows every row")
	})
	t.Run("links keep the filter", func(t *testing.T) {
		_, page := do(t, c, "GET", e.srv.URL+"/console/calls"+q+"&booth=b1", nil)
		hrefs := regexp.MustCompile(`href="(/console/calls[^"]*(?:print=1|\.csv\?|\.xlsx\?)[^"]*)"`).FindAllStringSubmatch(page, -1)
		require.Len(t, hrefs, 3, "print, CSV and XLSX links")
		for _, h := range hrefs {
			u, err := url.Parse(strings.ReplaceAll(h[1], "&amp;", "&"))
			require.NoError(t, err)
			assert.Equal(t, "2026-11-30", u.Query().Get("to"), h[1])
			assert.Equal(t, "b1", u.Query().Get("booth"), h[1])
		}
		_, body := do(t, c, "GET", e.srv.URL+strings.ReplaceAll(hrefs[0][1], "&amp;", "&"), nil)
		assert.Contains(t, body, "2026-11-01 至 2026-11-30", "the print view has the page's period")
	})
	t.Run("print", func(t *testing.T) {
		_, body := do(t, c, "GET", e.srv.URL+"/console/calls"+q+"&print=1", nil)
		assert.Contains(t, body, school)
		assert.Contains(t, body, "亲情电话通话记录")
		assert.Contains(t, body, "经办人")
		assert.Contains(t, body, "负责人")
		assert.Contains(t, body, "<thead>", "title rows repeat on every page")
		assert.NotContains(t, body, `class="top"`, "no navigation when printing")
		assert.Equal(t, "print_calls", e.audits(t)[0].Action)
	})
	t.Run("csv", func(t *testing.T) {
		res, body := do(t, c, "GET", e.srv.URL+"/console/calls.csv"+q, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.True(t, strings.HasPrefix(body, "\xEF\xBB\xBF序号,日期,学生姓名,班级,通话对象,对方号码"), "BOM and header")
		assert.Contains(t, res.Header.Get("Content-Type"), "text/csv")
		assert.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
		assert.Contains(t, body, "138****0001")
		assert.NotContains(t, body, fullNumbers[0], "CSV is masked for every role")
		assert.Equal(t, "export_calls_csv", e.audits(t)[0].Action)
	})
	t.Run("xlsx", func(t *testing.T) {
		res, body := do(t, c, "GET", e.srv.URL+"/console/calls.xlsx"+q, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		f := openXLSX(t, []byte(body))
		assert.Equal(t, []string{xlsxSheet}, f.GetSheetList())
		rows, err := f.GetRows(xlsxSheet)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(rows), 4)
		assert.Equal(t, school, rows[0][0])
		assert.Contains(t, rows[1][0], "亲情电话通话记录")
		assert.Contains(t, rows[1][0], "2026-11-01 至 2026-11-30")
		assert.Equal(t, registerHeader(), rows[2])
		assert.Equal(t, []string{"1", "2026-11-20", "王小明", "三年级1班", "王建国（父亲）", "138****0001"}, rows[3][:6])
		assert.Len(t, rows, 3+3, "title, title, header and three calls")
		panes, err := f.GetPanes(xlsxSheet)
		require.NoError(t, err)
		assert.True(t, panes.Freeze)
		assert.Equal(t, 3, panes.YSplit, "the header rows are frozen")
		pl, err := f.GetPageLayout(xlsxSheet)
		require.NoError(t, err)
		require.NotNil(t, pl.Size)
		assert.Equal(t, 9, *pl.Size, "A4")
		assert.Equal(t, "landscape", *pl.Orientation)
		w, err := f.GetColWidth(xlsxSheet, "E")
		require.NoError(t, err)
		assert.Equal(t, xlsxWidths[4], w)
		assert.Equal(t, "export_calls_xlsx", e.audits(t)[0].Action)

		// With numbers, on purpose, by a manager.
		form := url.Values{"csrf": {csrf}, "numbers": {"1"}, "from": {"2026-11-01"}, "to": {"2026-11-30"}}
		res, body = do(t, c, "POST", e.srv.URL+"/console/calls.xlsx", form)
		require.Equal(t, http.StatusOK, res.StatusCode)
		rows = xlsxRows(t, []byte(body))
		assert.Equal(t, "+86"+fullNumbers[0], rows[3][5])
		a := e.audits(t)[0]
		assert.Equal(t, "export_calls_xlsx", a.Action)
		assert.Contains(t, a.Detail, "numbers=full")
	})
}

func TestTodayAndChildren(t *testing.T) {
	e := newEnv(t)
	c, _ := e.login(t, "manager")
	_, body := do(t, c, "GET", e.srv.URL+"/console/today", nil)
	assert.Regexp(t, `<b>3</b><span>今日通话`, body, "three calls today (the denied attempt is not a call)")
	assert.Regexp(t, `<b>2</b><span>已接通`, body)
	assert.Regexp(t, `<b>4</b><span>通话分钟`, body, "180 s + 60 s = 4 min")
	assert.Regexp(t, `<b>1</b><span>14 天未与家人通话`, body, "张丽 has not been heard from")
	assert.Contains(t, body, "12355", "the help call is listed")
	assert.Contains(t, body, "1 个故障")

	_, body = do(t, c, "GET", e.srv.URL+"/console/children?quiet=1", nil)
	assert.Contains(t, body, "张丽")
	assert.NotContains(t, body, "王小明")
	_, body = do(t, c, "GET", e.srv.URL+"/console/children?q=三年级", nil)
	assert.Contains(t, body, "王小明")
	assert.NotContains(t, body, "张丽")
	_, body = do(t, c, "GET", e.srv.URL+"/console/children?class=五年级2班", nil)
	assert.Contains(t, body, "张丽")
	assert.NotContains(t, body, "王小明")

	_, body = do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"])), nil)
	assert.Contains(t, body, "04A1B2C3")
	assert.Contains(t, body, "138****0002")
	assert.Contains(t, body, "显示号码")
	assert.Contains(t, body, "本学期通话")
	assert.Contains(t, body, "李芳（母亲）", "video calls are in the child's calls")
	res, _ := do(t, c, "GET", e.srv.URL+"/console/children/99999", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestSetupLink(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "kiosk.db"), sqlite.Opts{Now: clk.Now})
	require.NoError(t, err)
	defer db.Close()
	tok, created, err := db.SetupToken(ctx)
	require.NoError(t, err)
	require.True(t, created)
	con, err := New(Opts{Store: db, Now: clk.Now})
	require.NoError(t, err)
	srv := httptest.NewServer(con.Handler())
	defer srv.Close()
	e := &env{db: db, srv: srv, con: con}
	c := e.client(t)

	res, _ := do(t, c, "GET", srv.URL+"/console/setup/"+strings.Repeat("a", sqlite.TokenLen), nil)
	assert.Equal(t, http.StatusGone, res.StatusCode, "a wrong token")
	res, body := do(t, c, "GET", srv.URL+"/console/setup/"+tok, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	m := csrfRe.FindStringSubmatch(body)
	require.NotNil(t, m)
	res, body = do(t, c, "POST", srv.URL+"/console/setup/"+tok, url.Values{"csrf": {m[1]}, "username": {"boss"}, "password": {password}, "password2": {password + "x"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "passwords differ")
	m = csrfRe.FindStringSubmatch(body)
	require.NotNil(t, m)
	res, _ = do(t, c, "POST", srv.URL+"/console/setup/"+tok, url.Values{"csrf": {m[1]}, "username": {"boss"}, "name": {"赵主任"}, "password": {password}, "password2": {password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = do(t, c, "GET", srv.URL+"/console/setup/"+tok, nil)
	assert.Equal(t, http.StatusGone, res.StatusCode, "used once")
	u, err := db.UserByName(ctx, "boss")
	require.NoError(t, err)
	assert.Equal(t, sqlite.RoleManager, u.Role)
}

// xlsxRows opens an XLSX and returns the register sheet's rows.
func xlsxRows(t *testing.T, b []byte) [][]string {
	t.Helper()
	f := openXLSX(t, b)
	rows, err := f.GetRows(xlsxSheet)
	require.NoError(t, err)
	return rows
}

func openXLSX(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	require.NoError(t, err, "a valid XLSX")
	t.Cleanup(func() { f.Close() })
	return f
}
