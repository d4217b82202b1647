package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

var enrolCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// enrolBrowser logs user in to m's console through the login form and
// returns the browser and the session's CSRF token.
func enrolBrowser(t *testing.T, m *Main, user, password string) (*http.Client, string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}
	page := func(res *http.Response, err error) string {
		t.Helper()
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, res.Request.URL.Path)
		return string(b)
	}
	tok := enrolCSRF.FindStringSubmatch(page(c.Get(m.HTTPURL() + "/console/login")))
	require.NotNil(t, tok, "the login form has a token")
	body := page(c.PostForm(m.HTTPURL()+"/console/login", url.Values{"csrf": {tok[1]}, "username": {user}, "password": {password}}))
	tok = enrolCSRF.FindStringSubmatch(body)
	require.NotNil(t, tok, "logged in: Today has the session's token")
	return c, tok[1]
}

// nextScreen reads ch until a screen of kind k arrives.
func nextScreen(t *testing.T, ch <-chan kiosk.Screen, k kiosk.ScreenKind) kiosk.Screen {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case sc, ok := <-ch:
			require.True(t, ok, "subscription dropped while waiting for %s", k)
			if sc.Kind == k {
				return sc
			}
		case <-deadline:
			t.Fatalf("booth1 did not show %s within 10 s", k)
		}
	}
}

// TestConsoleEnrolsCardByTap: a manager presses 在此读卡器刷卡登记 on a
// child's page over HTTP; booth1 asks for the card, a card is presented
// at its (simulated) reader, the console's answer says it was enrolled,
// and from then on that card identifies the child at the booth.
func TestConsoleEnrolsCardByTap(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole daemon")
	}
	ctx := context.Background()
	m := startDemo(t, 3*time.Second)
	const pw = "enrol test password"
	_, err := m.db.AddUser(ctx, "test", sqlite.NewUser{Username: "enroller", DisplayName: "管理员", Role: sqlite.RoleManager, Password: pw})
	require.NoError(t, err)
	kids, err := m.db.ChildByName(ctx, "刘阳")
	require.NoError(t, err)
	require.Len(t, kids, 1)
	child := m.HTTPURL() + "/console/children/" + strconv.FormatInt(int64(kids[0].ID), 10)

	c, csrf := enrolBrowser(t, m, "enroller", pw)
	res, err := c.Get(child)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(b), `<option value="booth1">`, "the child's page offers the booths")

	screens, cancel, err := m.station.Subscribe("booth1")
	require.NoError(t, err)
	defer cancel()
	type answer struct {
		status int
		body   string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.PostForm(child+"/cards/enrol", url.Values{"csrf": {csrf}, "booth": {"booth1"}})
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- answer{res.StatusCode, string(b), err}
	}()
	sc := nextScreen(t, screens, kiosk.ScreenEnrol)
	require.NotNil(t, sc.Words)
	assert.Equal(t, "请刷卡登记", sc.Words.ZH, "the booth asks for the new card")
	assert.Equal(t, kiosk.LightRinging, m.lights["booth1"].State(), "the light points at the reader")

	code, _ := api(t, m.HTTPURL(), m.DataDir, "POST", "/api/tap", map[string]any{"uid": "E0:11:22:33"})
	require.Equal(t, http.StatusOK, code)
	var a answer
	select {
	case a = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the console did not answer within 10 s of the tap")
	}
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, a.body, "卡已登记并启用")
	assert.Contains(t, a.body, "E0112233")

	// The new card identifies the child.
	code, _ = api(t, m.HTTPURL(), m.DataDir, "POST", "/api/tap", map[string]any{"uid": "E0112233"})
	require.Equal(t, http.StatusOK, code)
	sc = nextScreen(t, screens, kiosk.ScreenIdentified)
	assert.Equal(t, "刘阳", sc.Child)

	// Audited, and the ledger still verifies.
	log, err := m.db.AuditLog(ctx, 0, 100)
	require.NoError(t, err)
	found := false
	for _, e := range log {
		if e.Action == "card_enrol" {
			found = true
			assert.Equal(t, "enroller", e.Actor)
			assert.Contains(t, e.Detail, "booth=booth1")
			assert.Contains(t, e.Detail, "card=…2233")
		}
	}
	assert.True(t, found, "the enrolment is in the audit log")
	res2, err := m.db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res2.OK, res2.Problem)
}

// TestEnrolScreenChrome: the booth's own screen (headless Chromium on the
// demo's kiosk page) asks for the new card while the console waits, says
// the card was read, and goes back to idle; the enrolled tap identifies
// nobody. Screenshots are saved.
func TestEnrolScreenChrome(t *testing.T) {
	chromium := browsertest.Require(t, "drives the kiosk screen in Chromium")
	m := startDemo(t, 3*time.Second)
	p := browsertest.Start(t, chromium, 1024, 600, false)
	p.Prefix = "enrol-"

	p.Run("open the kiosk screen", chromedp.Navigate(m.HTTPURL()+"/?booth=booth1"))
	p.WaitState(kiosk.ScreenIdle)
	done := make(chan string, 1)
	go func() {
		uid, err := m.station.EnrolNext(context.Background(), "booth1", time.Minute)
		if err != nil {
			uid = "error: " + err.Error()
		}
		done <- uid
	}()
	p.Run("the screen asks for the card", chromedp.WaitVisible(chromedp.CSS(`[data-test="enrol-words"]`)))
	assert.Equal(t, "请刷卡登记", p.Text(`[data-test="enrol-words"]`))
	p.WaitState(kiosk.ScreenEnrol)
	p.Shot("01-wait")
	p.Run("English", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, "Tap the new card", p.Text(`[data-test="enrol-words"]`))
	p.Run("Chinese", chromedp.Click(chromedp.CSS(`#lang`)))

	require.NoError(t, m.station.Tap(context.Background(), "booth1", "DE000001"), "a known card, tapped to enrol")
	select {
	case uid := <-done:
		assert.Equal(t, "DE000001", uid)
	case <-time.After(10 * time.Second):
		t.Fatal("EnrolNext did not return within 10 s of the tap")
	}
	p.Poll("the screen says the card was read",
		`document.querySelector('[data-test="enrol-words"]').textContent === '已读卡，请看管理后台'`)
	p.Shot("02-read")
	p.WaitState(kiosk.ScreenIdle) // then idle, nobody identified
}
