package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// startSettingsDemo runs the demo in-process with data in dir and the
// wall clock fixed at now.
func startSettingsDemo(t *testing.T, dir string, now time.Time) *Main {
	t.Helper()
	m := NewMain()
	m.Demo = true
	m.DataDir = dir
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.now = func() time.Time { return now }
	require.NoError(t, m.Run(context.Background()))
	return m
}

func stopSettingsDemo(t *testing.T, m *Main) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, m.Close(ctx))
}

var settingsCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleAs logs user in to m's console and returns the browser and the
// session's CSRF token.
func consoleAs(t *testing.T, m *Main, user, password string) (*http.Client, string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		res, err := c.Get(m.HTTPURL() + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		return string(b)
	}
	tok := settingsCSRF.FindStringSubmatch(get("/console/login"))
	require.NotNil(t, tok, "the login form has a token")
	res, err := c.PostForm(m.HTTPURL()+"/console/login", url.Values{"csrf": {tok[1]}, "username": {user}, "password": {password}})
	require.NoError(t, err)
	res.Body.Close()
	tok = settingsCSRF.FindStringSubmatch(get("/console/settings"))
	require.NotNil(t, tok, "logged in: the settings page has a token")
	return c, tok[1]
}

// tapScreen taps the demo card at booth1 through the admin API and
// returns the screen the tap brings (the first after the current one,
// other than idle).
func tapScreen(t *testing.T, m *Main) kiosk.Screen {
	t.Helper()
	ch, cancel, err := m.station.Subscribe("booth1")
	require.NoError(t, err)
	defer cancel()
	<-ch // the current screen
	code, _ := api(t, m.HTTPURL(), m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000001"})
	require.Equal(t, http.StatusOK, code)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case sc := <-ch:
			if sc.Kind != kiosk.ScreenIdle {
				return sc
			}
		case <-deadline:
			t.Fatal("no screen after the tap within 5 s")
		}
	}
}

// TestConsoleSettingsApplyAndPersist: a manager changes the opening hours
// in the console over HTTP; the next tap outside the new hours is refused
// at once, without a restart, and after a restart too.
func TestConsoleSettingsApplyAndPersist(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo daemon twice")
	}
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := time.Date(2026, 11, 18, 10, 0, 0, 0, loc) // a Wednesday, 10:00: the demo is open all day
	dir := t.TempDir()
	m := startSettingsDemo(t, dir, now)
	const pw = "settings test password"
	_, err = m.db.AddUser(ctx, "test", sqlite.NewUser{Username: "boss", DisplayName: "管理员", Role: sqlite.RoleManager, Password: pw})
	require.NoError(t, err)

	sc := tapScreen(t, m)
	require.Equal(t, kiosk.ScreenIdentified, sc.Kind, "open before the change")

	c, csrf := consoleAs(t, m, "boss", pw)
	form := url.Values{"csrf": {csrf}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		form.Set("hours."+d, "16:30-18:00")
	}
	res, err := c.PostForm(m.HTTPURL()+"/console/settings", form)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.Contains(t, string(body), "已保存 7 项")

	sc = tapScreen(t, m)
	assert.Equal(t, kiosk.ScreenClosed, sc.Kind, "a tap at 10:00 is refused at once")
	assert.Equal(t, kiosk.ReasonClosed, sc.Reason)
	assert.Equal(t, "16:30-18:00", sc.Hours)
	stopSettingsDemo(t, m)

	m = startSettingsDemo(t, dir, now)
	defer stopSettingsDemo(t, m)
	sc = tapScreen(t, m)
	assert.Equal(t, kiosk.ScreenClosed, sc.Kind, "the change survives a restart")
	assert.Equal(t, "16:30-18:00", sc.Hours)

	// The audit log keeps who changed what.
	log, err := m.db.AuditLog(ctx, 0, 100)
	require.NoError(t, err)
	n := 0
	for _, e := range log {
		if e.Action == "settings_change" {
			n++
			assert.Equal(t, "boss", e.Actor)
			assert.True(t, strings.HasPrefix(e.Detail, "hours."), e.Detail)
			assert.Contains(t, e.Detail, `"00:00-24:00" -> "16:30-18:00"`)
		}
	}
	assert.Equal(t, 7, n, "one audit entry per day changed")
}
