package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/callbridge/sip/sipdemo"
	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui/console"
)

// The privacy rule of the house: no children's names, card UIDs, full
// phone numbers, parent link tokens, passwords or session tokens in logs
// at info level or above (PIPL: children under 14). These are the data
// the privacy scenario brings in besides the demo roster.
const (
	privacyDutyTeacher = "+8613900009999"
	privacyStaffUID    = "5AFF0001"
	privacyTypedUID    = "C0FFEE42"
	privacyPassword    = "privacy test password"
	// privacyRoster adds one child with a card and two contacts, and
	// renames nobody: a console import of a new pupil.
	privacyRoster = "编号,姓名,性别,班级,状态,卡号,联系人1,关系1,电话1,方式1,联系人2,关系2,电话2,方式2\n" +
		"P-001,赵小虎,男,三年级1班,在校,AB12CD34,赵大山,父亲,13900000401,电话+视频,孙丽,母亲,13900000402,电话\n"
)

var privacyImported = []string{"赵小虎", "小虎", "AB12CD34", "赵大山", "孙丽"}
var privacyImportedPhones = []string{"+8613900000401", "+8613900000402"}

// TestLogsKeepChildDataPrivate runs the day of a booth through the demo
// daemon with an info-level log into a buffer: a call cut at the limit,
// an unknown card, a refused contact, a busy parent, a help call, a staff
// card, parents' pages (valid, unknown and revoked links, and the
// websocket), a console login (a wrong password first), the child's page,
// a reveal, a typed card, a new link, a roster import and the exports;
// then it fails if any child's name, card UID, full phone number, link
// token, password or session token is in the log.
func TestLogsKeepChildDataPrivate(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real SIP calls on loopback")
	}
	ctx := context.Background()
	logs := &lockedBuffer{}
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr, m.SIPAddr = "127.0.0.1:0", "127.0.0.1:0"
	m.Stdout = io.Discard // the demo's banner prints the links on purpose
	m.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m.Tweak = func(c *config.Config) {
		c.Limits.Call = config.D(3 * time.Second)
		c.Limits.Warnings = []config.Duration{config.D(1500 * time.Millisecond)}
		c.Help.DutyTeacher = privacyDutyTeacher
		c.Help.Limit = config.D(3 * time.Second)
		c.SIP.RingTimeout = config.D(1500 * time.Millisecond)
	}
	require.NoError(t, m.Run(ctx))
	closed := false
	closeDaemon := func() {
		if closed {
			return
		}
		closed = true
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(cctx)
	}
	t.Cleanup(closeDaemon)
	base, dir := m.HTTPURL(), m.DataDir
	m.demo.trunk.Set(sipdemo.TrunkConfig{RingDelay: 200 * time.Millisecond})
	tap := func(uid string) {
		t.Helper()
		code, body := api(t, base, dir, "POST", "/api/tap", map[string]any{"uid": uid})
		require.Equal(t, http.StatusOK, code, "tap %s: %v", uid, body)
	}

	// A call to a parent, cut at the limit.
	tap("DE000001")
	waitBooth(t, base, dir, kiosk.ScreenIdentified, 2*time.Second)
	code, _ := api(t, base, dir, "POST", "/api/dial", map[string]any{"slot": 1})
	require.Equal(t, http.StatusOK, code)
	waitBooth(t, base, dir, kiosk.ScreenEnded, 8*time.Second)

	// An unknown card, then a contact that is not approved.
	tap("0BADCAFE")
	waitBooth(t, base, dir, kiosk.ScreenUnknown, 2*time.Second)
	tap("DE000002")
	waitBooth(t, base, dir, kiosk.ScreenIdentified, 2*time.Second)
	code, _ = api(t, base, dir, "POST", "/api/dial", map[string]any{"slot": 4})
	assert.Equal(t, http.StatusForbidden, code, "contact 4 is not approved")

	// A busy parent.
	m.demo.trunk.Set(sipdemo.TrunkConfig{RingDelay: 200 * time.Millisecond, Reject: 486})
	tap("DE000003")
	waitBooth(t, base, dir, kiosk.ScreenIdentified, 2*time.Second)
	code, _ = api(t, base, dir, "POST", "/api/dial", map[string]any{"slot": 2})
	require.Equal(t, http.StatusOK, code)
	waitBooth(t, base, dir, kiosk.ScreenEnded, 6*time.Second)
	m.demo.trunk.Set(sipdemo.TrunkConfig{RingDelay: 200 * time.Millisecond})

	// A help call to the duty teacher, cut at the help limit.
	tap("DE000002")
	waitBooth(t, base, dir, kiosk.ScreenIdentified, 2*time.Second)
	code, _ = api(t, base, dir, "POST", "/api/help", map[string]any{})
	require.Equal(t, http.StatusOK, code)
	waitBooth(t, base, dir, kiosk.ScreenEnded, 8*time.Second)

	// A staff card.
	_, err := m.db.AddStaff(ctx, "test", "值班老师", kiosk.StaffTeacher, "")
	require.NoError(t, err)
	require.NoError(t, m.db.AddStaffCard(ctx, "test", "值班老师", privacyStaffUID))
	tap(privacyStaffUID)

	// Parents' pages: a printed link, an unknown one, a revoked one, and
	// the page's websocket.
	var tokens []string
	for _, l := range m.links {
		if i := strings.LastIndex(l, "/p/"); i >= 0 {
			tokens = append(tokens, l[i+len("/p/"):])
		}
	}
	require.NotEmpty(t, tokens, "the demo printed parent links")
	kids, err := m.db.ChildByName(ctx, "demo-1")
	require.NoError(t, err)
	require.Len(t, kids, 1)
	mother, err := m.db.ContactBySlot(ctx, kids[0].ID, 2)
	require.NoError(t, err)
	revoked, link, err := m.db.CreateLink(ctx, mother.ID, time.Time{})
	require.NoError(t, err)
	require.NoError(t, m.db.RevokeLink(ctx, link.ID))
	tokens = append(tokens, revoked)
	const unknownToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, tok := range []string{tokens[0], unknownToken, revoked} {
		res, err := http.Get(base + "/p/" + tok)
		require.NoError(t, err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/p/"+tok+"/ws", nil)
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			conn.ReadMessage()
			conn.Close()
		}
	}

	// The console: a wrong password, then a login, the child's page, a
	// reveal, a typed card, a new link, a roster import and exports.
	_, err = m.db.AddUser(ctx, "test", sqlite.NewUser{Username: "privacy", DisplayName: "隐私测试",
		Role: sqlite.RoleManager, Password: privacyPassword})
	require.NoError(t, err)
	bad := url.Values{"username": {"privacy"}, "password": {privacyPassword + "x"}}
	assert.True(t, privacyLogin(t, base, bad), "a wrong password is refused")
	c, csrf := enrolBrowser(t, m, "privacy", privacyPassword)
	var session string
	u, _ := url.Parse(base + "/console/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == console.CookieName {
			session = ck.Value
		}
	}
	child := base + "/console/children/" + strconv.FormatInt(int64(kids[0].ID), 10)
	for _, p := range []string{"/console/children", "/console/today", "/console/calls", "/console/helplog", "/console/audit"} {
		privacyGet(t, c, base+p)
	}
	privacyGet(t, c, child)
	privacyPost(t, c, child+"/reveal", url.Values{"csrf": {csrf}, "contact": {strconv.FormatInt(int64(mother.ID), 10)}})
	privacyPost(t, c, child+"/cards", url.Values{"csrf": {csrf}, "number": {privacyTypedUID}})
	body := privacyPost(t, c, child+"/links", url.Values{"csrf": {csrf}, "contact": {strconv.FormatInt(int64(mother.ID), 10)}, "days": {"7"}})
	made := regexp.MustCompile(`/p/([A-Za-z0-9_-]{16,})`).FindStringSubmatch(body)
	require.NotNil(t, made, "the console shows the new link once")
	tokens = append(tokens, made[1])
	preview := privacyPostFile(t, c, base+"/console/roster/import/preview", url.Values{"csrf": {csrf}}, "名册.csv", []byte(privacyRoster))
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(preview)
	require.NotNil(t, id, "the roster can be imported: %s", preview)
	privacyPost(t, c, base+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {id[1]}})
	for _, p := range []string{"/console/roster.csv", "/console/calls.csv", "/console/roster.xlsx"} {
		privacyGet(t, c, base+p)
	}
	newKids, err := m.db.ChildByName(ctx, "P-001")
	require.NoError(t, err)
	require.Len(t, newKids, 1, "the import added the pupil")

	admin, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	require.NoError(t, err)
	closeDaemon()

	// What must not be in the log.
	secrets := map[string]string{
		strings.TrimSpace(string(admin)): "the admin token",
		privacyPassword:                  "a console password",
		privacyStaffUID:                  "a staff card UID",
		privacyTypedUID:                  "a card UID",
		unknownToken:                     "a parent link token",
	}
	if session != "" {
		secrets[session] = "a console session id"
	}
	for _, tok := range tokens {
		secrets[tok] = "a parent link token"
	}
	phones := append([]string{privacyDutyTeacher}, privacyImportedPhones...)
	for _, e := range demoRoster {
		secrets[e.Child.Name] = "a child's name"
		if g := kiosk.GivenName(e.Child.Name); len([]rune(g)) >= 2 {
			secrets[g] = "a child's given name"
		}
		for _, uid := range e.Cards {
			secrets[uid] = "a card UID"
		}
		for _, ct := range e.Contacts {
			secrets[ct.Name] = "a parent's name"
			phones = append(phones, ct.Phone)
		}
	}
	for _, s := range privacyImported {
		secrets[s] = "imported roster data"
	}
	for _, p := range phones {
		secrets[p] = "a full phone number"
		secrets[strings.TrimPrefix(p, "+")] = "a full phone number"
		secrets[strings.TrimPrefix(p, "+86")] = "a full phone number"
	}

	out := logs.String()
	require.Contains(t, out, "call started", "the scenario was logged")
	for _, line := range strings.Split(out, "\n") {
		for s, what := range secrets {
			assert.NotContains(t, line, s, "the log holds %s", what)
		}
	}
	if t.Failed() {
		t.Logf("daemon log:\n%s", out)
	}
}

// privacyLogin posts the login form with fields from a fresh browser and
// says whether the login was refused (401).
func privacyLogin(t *testing.T, base string, fields url.Values) bool {
	t.Helper()
	c := &http.Client{}
	res, err := c.Get(base + "/console/login")
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tok := enrolCSRF.FindStringSubmatch(string(b))
	require.NotNil(t, tok, "the login form has a token")
	fields.Set("csrf", tok[1])
	req, err := http.NewRequest("POST", base+"/console/login", strings.NewReader(fields.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range res.Cookies() {
		req.AddCookie(ck)
	}
	res, err = c.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusUnauthorized
}

// privacyGet GETs u with c; a 5xx fails the test.
func privacyGet(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	res, err := c.Get(u)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	assert.Less(t, res.StatusCode, 500, "GET %s", u)
	return string(b)
}

// privacyPost posts form to u with c; a 5xx fails the test.
func privacyPost(t *testing.T, c *http.Client, u string, form url.Values) string {
	t.Helper()
	res, err := c.PostForm(u, form)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	assert.Less(t, res.StatusCode, 500, "POST %s", u)
	return string(b)
}

// privacyPostFile posts fields and content as the multipart file field
// "file" named name; anything but 200 fails the test.
func privacyPostFile(t *testing.T, c *http.Client, u string, fields url.Values, name string, content []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			require.NoError(t, mw.WriteField(k, v))
		}
	}
	fw, err := mw.CreateFormFile("file", name)
	require.NoError(t, err)
	fw.Write(content)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest("POST", u, &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, "POST %s: %s", u, b)
	return string(b)
}
