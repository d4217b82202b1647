package console

import (
	"context"
	"encoding/json"
	"html"
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
	"github.com/qinqing/station/kiosk/sqlite"
)

var _ SettingsStore = (*sqlite.DB)(nil)

// filePolicy is what a config file with the documented defaults gives.
func filePolicy(t *testing.T) kiosk.Policy {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	p := kiosk.Policy{Limit: 5 * time.Minute, HelpLimit: 30 * time.Minute,
		Warnings: []time.Duration{2 * time.Minute, time.Minute}, HelpCode: "0", HelpNumbers: []string{"12355"}}
	p.Hours.Loc = loc
	for _, s := range []string{"mon-fri 16:30-18:00", "sat-sun 09:00-11:00"} {
		ws, err := kiosk.ParseWindow(s)
		require.NoError(t, err)
		p.Hours.Windows = append(p.Hours.Windows, ws...)
	}
	p.Hours.Closures = []kiosk.Closure{{From: time.Date(2026, 10, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 10, 8, 0, 0, 0, 0, loc), Note: "国庆"}}
	return p
}

// applied records the policies the console pushed to the station.
type applied struct {
	mu sync.Mutex
	ps []kiosk.Policy
}

func (a *applied) Apply(_ context.Context, p kiosk.Policy) {
	a.mu.Lock()
	a.ps = append(a.ps, p)
	a.mu.Unlock()
}

func (a *applied) all() []kiosk.Policy {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]kiosk.Policy(nil), a.ps...)
}

// settingsEnv is newEnv's database behind a console with a Settings
// page over filePolicy, pushing changes to the returned recorder.
func settingsEnv(t *testing.T) (*env, *applied) {
	t.Helper()
	e := newEnv(t)
	rec := &applied{}
	con, err := New(Opts{Store: e.db, School: school, Loc: e.con.loc, Now: e.clk.Now,
		Settings: SettingsOpts{File: filePolicy(t), Apply: rec.Apply, Reserved: []string{"101", "102"}}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", con.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e2 := *e
	e2.con, e2.srv = con, srv
	return &e2, rec
}

func TestSettingsPageByRole(t *testing.T) {
	e, rec := settingsEnv(t)
	for _, tc := range []struct {
		role       string
		get, post  int
		form, link bool
	}{
		{"manager", http.StatusOK, http.StatusOK, true, true},
		{"principal", http.StatusOK, http.StatusForbidden, false, true},
		{"technician", http.StatusOK, http.StatusForbidden, false, true},
		{"inspector", http.StatusForbidden, http.StatusForbidden, false, false},
	} {
		t.Run(tc.role, func(t *testing.T) {
			c, csrf := e.login(t, tc.role)
			res, body := do(t, c, "GET", e.srv.URL+"/console/settings", nil)
			assert.Equal(t, tc.get, res.StatusCode)
			if tc.get == http.StatusOK {
				assert.Contains(t, body, "16:30-18:00", "the effective hours")
				assert.Contains(t, body, "12355", "the help numbers")
				assert.Contains(t, body, "配置文件 config file", "where the values come from")
				assert.Contains(t, body, "Asia/Shanghai")
				assert.Contains(t, body, "2026-10-01 至 2026-10-07 国庆", "closures, inclusive end")
			}
			assert.Equal(t, tc.form, strings.Contains(body, `action="/console/settings"`), "the form")
			_, today := do(t, c, "GET", e.srv.URL+"/console/today", nil)
			assert.Equal(t, tc.link, strings.Contains(today, `href="/console/settings"`), "the nav link")

			res, body = do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, "limits.call": {"3m"}})
			assert.Equal(t, tc.post, res.StatusCode)
			if tc.get == http.StatusOK && tc.post == http.StatusForbidden {
				assert.Contains(t, body, "您可以查看设置，但不能修改", "a reader is told they may view, not change")
				assert.NotContains(t, body, "不能查看此页面", "not told they cannot view the page")
			}
		})
	}
	got, err := e.db.Settings(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 1, "only the manager's change was stored")
	assert.Equal(t, sqlite.Setting{Key: "limits.call", Value: "3m", By: "manager", At: t0}, got[0])
	require.Len(t, rec.all(), 1)
}

func TestSettingsSaveApplyAndReset(t *testing.T) {
	e, rec := settingsEnv(t)
	c, csrf := e.login(t, "manager")
	before := len(e.audits(t))

	// The whole form as a browser sends it, with three changes.
	_, page := do(t, c, "GET", e.srv.URL+"/console/settings", nil)
	assert.Contains(t, page, `name="hours.wed" value="16:30-18:00"`, "fields hold the effective values")
	f := url.Values{"csrf": {csrf}}
	for _, d := range settingDefs {
		f.Set(d.key, d.get(filePolicy(t)))
	}
	f.Set("hours.wed", "19:00 - 20:30，16:00-17:00") // full-width comma, spaces, out of order
	f.Set("limits.call", "3分钟")
	f.Set("help.numbers", "+86 135-0000-0000, 12355")
	res, body := do(t, c, "POST", e.srv.URL+"/console/settings", f)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "已保存 3 项")
	assert.Contains(t, body, "管理后台 console", "the source says console")

	// Applied at once, with the file's time zone and closures.
	ps := rec.all()
	require.Len(t, ps, 1)
	p := ps[0]
	assert.Equal(t, 3*time.Minute, p.Limit)
	assert.Equal(t, []string{"+8613500000000", "12355"}, p.HelpNumbers)
	assert.Equal(t, "16:00-17:00,19:00-20:30", dayWindows(p.Hours, time.Wednesday))
	assert.Equal(t, "16:30-18:00", dayWindows(p.Hours, time.Thursday), "other days unchanged")
	assert.Equal(t, "Asia/Shanghai", p.Hours.Location().String())
	assert.Len(t, p.Hours.Closures, 1)
	wed := time.Date(2026, 11, 18, 19, 30, 0, 0, p.Hours.Location())
	assert.True(t, p.Hours.Open(wed), "open in the new evening window")
	assert.False(t, p.Hours.Open(wed.Add(-2*time.Hour)), "closed at 17:30 now")

	// Stored in canonical form, one audit entry per change with old and
	// new values.
	got, err := e.db.Settings(context.Background())
	require.NoError(t, err)
	vals := map[string]string{}
	for _, s := range got {
		vals[s.Key] = s.Value
	}
	assert.Equal(t, map[string]string{"hours.wed": "16:00-17:00,19:00-20:30", "limits.call": "3m",
		"help.numbers": "+8613500000000, 12355"}, vals)
	after := e.audits(t)
	require.Len(t, after, before+3)
	details := []string{}
	for _, a := range after[:3] {
		assert.Equal(t, "manager", a.Actor)
		assert.Equal(t, "settings_change", a.Action)
		details = append(details, a.Detail)
	}
	assert.Contains(t, details, `limits.call: "5m" -> "3m" (console)`)
	assert.Contains(t, details, `hours.wed: "16:30-18:00" -> "16:00-17:00,19:00-20:30" (console)`)

	// The same form again changes nothing and journals nothing.
	f.Set("hours.wed", "16:00-17:00,19:00-20:30")
	f.Set("limits.call", "3m")
	f.Set("help.numbers", "+8613500000000, 12355")
	res, body = do(t, c, "POST", e.srv.URL+"/console/settings", f)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "没有修改")
	assert.Len(t, e.audits(t), before+3)
	assert.Len(t, rec.all(), 1, "nothing to apply")

	// Reset the limit: the file's value applies again.
	res, body = do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, "reset.limits.call": {"1"}, "limits.call": {"4m"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	ps = rec.all()
	require.Len(t, ps, 2)
	assert.Equal(t, 5*time.Minute, ps[1].DefaultLimit())
	assert.Equal(t, "16:00-17:00,19:00-20:30", dayWindows(ps[1].Hours, time.Wednesday), "other overrides stay")
	es, err := e.db.Entries(context.Background(), 0, 100000)
	require.NoError(t, err)
	var b map[string]string
	require.NoError(t, json.Unmarshal(es[len(es)-1].Body, &b))
	assert.Equal(t, map[string]string{"actor": "manager", "action": "settings_change", "key": "limits.call", "old": "3m", "new": "5m",
		"source": "file", "detail": `limits.call: "3m" -> "5m" (file)`}, b)

	// Closing a day is an empty field.
	res, _ = do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, "hours.sat": {""}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	ps = rec.all()
	assert.Equal(t, "", dayWindows(ps[len(ps)-1].Hours, time.Saturday))
	_, page = do(t, c, "GET", e.srv.URL+"/console/settings", nil)
	assert.Contains(t, page, "不开放 closed")
}

func TestSettingsRefusedListsEveryProblem(t *testing.T) {
	e, rec := settingsEnv(t)
	c, csrf := e.login(t, "manager")
	before := len(e.audits(t))
	f := url.Values{"csrf": {csrf},
		"hours.mon":            {"16:30-25:00"},
		"limits.call":          {"2h"},
		"help.limit":           {"abc"},
		"limits.quota_minutes": {"-5"},
		"limits.quota_calls":   {"3.5"},
		"help.code":            {"3"},
		"help.numbers":         {"12355, 老师"},
		"limits.warnings":      {"1m, 1m"},
	}
	res, body := do(t, c, "POST", e.srv.URL+"/console/settings", f)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "未保存")
	for _, key := range []string{"hours.mon", "limits.call", "help.limit", "limits.quota_minutes", "limits.quota_calls",
		"help.code", "help.numbers", "limits.warnings"} {
		d, ok := settingDefByKey(key)
		require.True(t, ok, key)
		assert.Contains(t, body, "<li>"+d.label+"：", "a problem listed for %s", key)
	}
	assert.Contains(t, body, `value="16:30-25:00"`, "the typed value is kept for correction")
	got, err := e.db.Settings(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got, "nothing saved")
	assert.Len(t, e.audits(t), before, "nothing journaled")
	assert.Empty(t, rec.all(), "nothing applied")

	// Rules across settings: a warning not shorter than the new limit, a
	// help code that is a booth phone, a week without opening hours.
	f = url.Values{"csrf": {csrf}, "limits.call": {"90s"}, "help.code": {"101"}}
	for _, wd := range weekdays {
		f.Set("hours."+wd.key, "")
	}
	res, body = do(t, c, "POST", e.srv.URL+"/console/settings", f)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "提醒 2m 不短于通话时长 1m30s")
	assert.Contains(t, body, "是话机分机号")
	assert.Contains(t, body, "一周都不开放")
	got, err = e.db.Settings(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got)

	// Without the CSRF token: 403, nothing saved.
	res, _ = do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"limits.call": {"3m"}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Empty(t, rec.all())
}

func TestApplySettings(t *testing.T) {
	base := filePolicy(t)
	p, probs := ApplySettings(base, []sqlite.Setting{
		{Key: "hours.sun", Value: ""},
		{Key: "hours.mon", Value: "08:00-09:00,20:00-01:00"},
		{Key: "limits.warnings", Value: ""},
		{Key: "limits.quota_minutes", Value: "60"},
		{Key: "limits.call", Value: "forever"},
		{Key: "colour", Value: "red"},
	})
	assert.Equal(t, "", dayWindows(p.Hours, time.Sunday))
	assert.Equal(t, "08:00-09:00,20:00-01:00", dayWindows(p.Hours, time.Monday))
	assert.Equal(t, "09:00-11:00", dayWindows(p.Hours, time.Saturday))
	assert.NotNil(t, p.Warnings, "no warnings is an empty list, not the defaults")
	assert.Empty(t, p.Warnings)
	assert.Equal(t, 60, p.Quota.Minutes)
	assert.Equal(t, 5*time.Minute, p.Limit, "a bad stored value keeps the file's")
	require.Len(t, probs, 2)
	assert.Equal(t, "limits.call", probs[0].Key)
	assert.Equal(t, "colour", probs[1].Key)
	assert.Equal(t, "16:30-18:00", dayWindows(base.Hours, time.Monday), "base is not modified")
	assert.Equal(t, "09:00-11:00", dayWindows(base.Hours, time.Sunday))

	// Every setting reads back what it writes.
	for _, d := range settingDefs {
		q := base
		require.NoError(t, d.set(&q, d.get(base)), d.key)
		assert.Equal(t, d.get(base), d.get(q), d.key)
	}
}

func TestSettingValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true}, {"90s", 90 * time.Second, true}, {"5", 5 * time.Minute, true},
		{"3分钟", 3 * time.Minute, true}, {"45秒", 45 * time.Second, true}, {"1m30s", 90 * time.Second, true},
		{"", 0, false}, {"five", 0, false},
	} {
		d, err := parseDuration(tc.in)
		assert.Equal(t, tc.ok, err == nil, "%q", tc.in)
		assert.Equal(t, tc.want, d, "%q", tc.in)
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Second: "1m30s",
		2 * time.Hour: "2h", 30 * time.Second: "30s", 61 * time.Minute: "1h1m"} {
		assert.Equal(t, want, shortDuration(d))
	}
	var p kiosk.Policy
	require.NoError(t, setHelpNumbers(&p, "＋86 138 0000 0001；12355\n110"))
	assert.Equal(t, []string{"+8613800000001", "12355", "110"}, p.HelpNumbers)
	for _, bad := range []string{"", "12", "+0123456789", "12355, 12355", "123456789012345678901"} {
		assert.Error(t, setHelpNumbers(&p, bad), "%q", bad)
	}
	for _, bad := range []string{"", "1", "5", "1234567", "0a"} {
		assert.Error(t, setHelpCode(&p, bad), "%q", bad)
	}
	require.NoError(t, setHelpCode(&p, " *9# "))
	assert.Equal(t, "*9#", p.HelpCode)
}

func TestSettingsHelpNumbersAndOverlaps(t *testing.T) {
	e, rec := settingsEnv(t)
	c, csrf := e.login(t, "manager")
	for _, tc := range []struct {
		name, key, value, problem string
	}{
		{"ten digit mobile", "help.numbers", "1380000000", "10 digits: a mobile number has 11 digits"},
		{"landline without area code", "help.numbers", "12355, 62345678", "without area code"},
		{"same number twice in two forms", "help.numbers", "13800000001, +86 138 0000 0001", "重复 is listed twice"},
		{"overlap in a day", "hours.mon", "16:30-18:00,17:00-19:00", "时段重叠 opening windows overlap: 16:30-18:00, 17:00-19:00"},
		{"overlap across midnight", "hours.sat", "20:00-10:00", "时段重叠 opening windows overlap: sun 09:00-11:00 overlaps sat 20:00-10:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, tc.key: {tc.value}})
			assert.Equal(t, http.StatusBadRequest, res.StatusCode)
			assert.Contains(t, body, html.EscapeString(tc.problem))
		})
	}
	got, err := e.db.Settings(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got, "nothing saved")
	assert.Empty(t, rec.all(), "nothing applied")

	// Short service numbers, a landline with its area code and touching
	// windows are fine.
	res, body := do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf},
		"help.numbers": {"110, 120, 12355, 010-62345678"}, "hours.mon": {"16:30-18:00,18:00-19:00"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	ps := rec.all()
	require.Len(t, ps, 1)
	assert.Equal(t, []string{"110", "120", "12355", "01062345678"}, ps[0].HelpNumbers)
}

func TestSettingsTypedBackClearsOverride(t *testing.T) {
	e, rec := settingsEnv(t)
	c, csrf := e.login(t, "manager")
	res, body := do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, "limits.call": {"3m"}, "hours.wed": {"19:00-20:00"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	got, err := e.db.Settings(context.Background())
	require.NoError(t, err)
	require.Len(t, got, 2)

	// Typing the file's values back (in another spelling) clears the
	// overrides instead of storing copies of the file.
	res, body = do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, "limits.call": {"5分钟"}, "hours.wed": {"16:30 - 18:00"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "已保存 2 项")
	got, err = e.db.Settings(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got, "the file's values apply again, with no override")
	ps := rec.all()
	require.Len(t, ps, 2)
	assert.Equal(t, 5*time.Minute, ps[1].DefaultLimit())
	assert.Equal(t, "16:30-18:00", dayWindows(ps[1].Hours, time.Wednesday))

	// With no override, the file's value typed again changes nothing.
	res, body = do(t, c, "POST", e.srv.URL+"/console/settings", url.Values{"csrf": {csrf}, "limits.call": {"5m"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "没有修改")
	got, err = e.db.Settings(context.Background())
	require.NoError(t, err)
	assert.Empty(t, got)
}
