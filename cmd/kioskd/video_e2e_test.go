package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The end-to-end video tests: the whole demo daemon in-process on
// loopback, and two headless Chromium processes with fake camera and
// microphone, one on the kiosk screen (/?booth=booth1) and one on the
// parent's page (/p/{token}). They need Debian's chromium (or
// $KIOSK_CHROMIUM); without it they skip, or fail with
// KIOSK_REQUIRE_PEERS=1. Screenshots go to the test's temp dir or to
// $KIOSK_SCREENSHOT_DIR/<test name>.

// requireChromium returns the Chromium to drive, or skips tb under -short
// and when there is none (fails instead with KIOSK_REQUIRE_PEERS=1).
func requireChromium(tb testing.TB) string {
	tb.Helper()
	return browsertest.Require(tb, "drives two Chromium browsers through real video calls")
}

// lockedBuffer collects the daemon's log for a failing test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startVideoDemo runs the demo daemon in-process on loopback port 0 with
// the call limit and one warning, and tweak (may be nil) applied to the
// config after. The daemon's log is shown if the test fails.
func startVideoDemo(tb testing.TB, limit, warning time.Duration, tweak func(*config.Config)) *Main {
	tb.Helper()
	logs := &lockedBuffer{}
	m := NewMain()
	m.Demo = true
	m.DataDir = tb.TempDir()
	m.HTTPAddr, m.SIPAddr = "127.0.0.1:0", "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(logs, nil))
	m.Tweak = func(c *config.Config) {
		c.Limits.Call = config.D(limit)
		c.Limits.Warnings = []config.Duration{config.D(warning)}
		if tweak != nil {
			tweak(c)
		}
	}
	require.NoError(tb, m.Run(context.Background()), "start the demo daemon")
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
		if tb.Failed() {
			tb.Logf("daemon log:\n%s", logs.String())
		}
	})
	return m
}

// demoLink returns the parent link the demo printed for relation of
// child, e.g. ("母亲", "王小明").
func demoLink(tb testing.TB, m *Main, relation, child string) string {
	tb.Helper()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(relation+" of "+child+" ") + `.*: (http://\S+/p/\S+)$`)
	for _, l := range m.links {
		if s := re.FindStringSubmatch(l); s != nil {
			return s[1]
		}
	}
	tb.Fatalf("no demo link for %s of %s in %q", relation, child, m.links)
	return ""
}

// adminTap presents uid at booth1's reader through the admin API, as
// kioskctl does.
func adminTap(tb testing.TB, m *Main, uid string) {
	tb.Helper()
	tok, err := os.ReadFile(filepath.Join(m.DataDir, "admin.token"))
	require.NoError(tb, err)
	req, err := http.NewRequest("POST", m.HTTPURL()+"/api/tap", strings.NewReader(fmt.Sprintf(`{"uid":%q}`, uid)))
	require.NoError(tb, err)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err, "tap")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode, "tap: %s", body)
}

// shotDir is where a test's screenshots go: $KIOSK_SCREENSHOT_DIR/<test>
// (kept, e.g. as CI artifacts) or a temp dir.
func shotDir(tb testing.TB) string {
	tb.Helper()
	return browsertest.ShotDir(tb, strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name()))
}

// browser is one headless Chromium process of its own (own profile, own
// fake camera and microphone).
type browser struct {
	tb  testing.TB
	ctx context.Context // the first tab: it owns the process
}

// startBrowser starts a Chromium process with a w×h window; it is
// stopped when the test ends.
func startBrowser(tb testing.TB, chromium string, w, h int) *browser {
	tb.Helper()
	return &browser{tb: tb, ctx: browsertest.Launch(tb, chromium, w, h, true)}
}

// kill stops the browser process at once (SIGKILL), as a phone that
// loses power or network: nothing is said to the daemon.
func (b *browser) kill() {
	b.tb.Helper()
	c := chromedp.FromContext(b.ctx)
	require.NotNil(b.tb, c)
	require.NotNil(b.tb, c.Browser)
	require.NoError(b.tb, c.Browser.Process().Kill(), "kill chromium")
}

// tab is one page in a browser.
type tab struct {
	tb    testing.TB
	name  string // kiosk or parent: prefixes screenshots and messages
	ctx   context.Context
	close context.CancelFunc // closes the tab (Target.closeTarget)
	shots string
}

// open opens url in a new tab of b with a w×h viewport (mobile when
// mobile), and returns the tab and the HTTP status of the page.
func (b *browser) open(name, url string, w, h int, mobile bool, shots string) (*tab, int) {
	b.tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.tb.Cleanup(cancel)
	vp := chromedp.EmulateViewport(int64(w), int64(h))
	if mobile {
		vp = chromedp.EmulateViewport(int64(w), int64(h), chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	require.NoError(b.tb, chromedp.Do(ctx, vp), "%s: viewport", name)
	p := &tab{tb: b.tb, name: name, ctx: ctx, close: cancel, shots: shots}
	resp, err := chromedp.Run(p.bounded(15*time.Second), chromedp.NavigateResponse(url))
	require.NoError(b.tb, err, "%s: open %s", name, url)
	return p, int(resp.Status)
}

// bounded returns a context for one step of the tab.
func (p *tab) bounded(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(p.ctx, d)
	p.tb.Cleanup(cancel)
	return ctx
}

// describe is what the page shows, for failure messages.
func (p *tab) describe() string {
	s, err := chromedp.Run(p.bounded(3*time.Second), chromedp.Evaluate[string](`JSON.stringify({
		body: Object.assign({}, document.body.dataset),
		main: document.querySelector('main') ? Object.assign({}, document.querySelector('main').dataset) : null,
		banner: document.getElementById('banner') ? !document.getElementById('banner').hidden : null})`))
	if err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	return s
}

// poll waits up to within for the JS expression js to be truthy.
func (p *tab) poll(what, js string, within time.Duration) {
	p.tb.Helper()
	_, err := chromedp.Run(p.bounded(within+2*time.Second),
		chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(20*time.Millisecond)))
	require.NoError(p.tb, err, "%s: %s within %s; page: %s", p.name, what, within, p.describe())
}

// eval runs js in the page and returns its value.
func eval[T any](p *tab, js string, opts ...chromedp.EvaluateOption) T {
	p.tb.Helper()
	v, err := chromedp.Run(p.bounded(15*time.Second), chromedp.Evaluate[T](js, opts...))
	require.NoError(p.tb, err, "%s: eval %s", p.name, js)
	return v
}

// click clicks the element at sel with the mouse, as a finger would.
func (p *tab) click(sel string) {
	p.tb.Helper()
	require.NoError(p.tb, chromedp.Do(p.bounded(10*time.Second), chromedp.Click(chromedp.CSS(sel))), "%s: click %s", p.name, sel)
}

// shot saves a screenshot of the tab as <name>-<state>.png.
func (p *tab) shot(state string) {
	p.tb.Helper()
	png, err := chromedp.Run(p.bounded(10*time.Second), chromedp.CaptureScreenshot())
	require.NoError(p.tb, err, "%s: screenshot %s", p.name, state)
	require.Greater(p.tb, len(png), 1000, "%s: screenshot %s has content", p.name, state)
	path := filepath.Join(p.shots, p.name+"-"+state+".png")
	require.NoError(p.tb, os.WriteFile(path, png, 0o644))
	p.tb.Logf("screenshot %s", path)
}

// JS conditions the tests wait for.
const (
	jsParentIdle      = `document.body.dataset.state === "idle" && document.querySelector('#net').dataset.net === "online"`
	jsParentRinging   = `document.body.dataset.state === "ringing"`
	jsFramesDecoded   = `Number(document.body.dataset.framesDecoded || 0) > 0`
	jsBannerShown     = `!document.getElementById("banner").hidden`
	jsKioskOutOfCall  = `["ended", "idle", "identified"].includes(document.querySelector("main").dataset.state) && document.getElementById("hangup").hidden`
	jsKioskInVideo    = `document.querySelector("main").dataset.state === "connected" && !document.querySelector('section[data-view="video"]').hidden`
	jsKioskIdentified = `document.querySelector("main").dataset.state === "identified"`
)

func jsKioskState(s kiosk.ScreenKind) string {
	return fmt.Sprintf(`document.querySelector("main").dataset.state === %q`, s)
}

// videoRig is the daemon and the two browsers, the parent's page open
// and enabled, the kiosk screen open.
type videoRig struct {
	m              *Main
	parentBrowser  *browser
	kioskBrowser   *browser
	parent, screen *tab
}

// startVideoRig starts the demo (limit, warning, tweak as startVideoDemo),
// opens the printed link of 母亲 (contact 2 of 王小明) in one Chromium and
// enables it, and opens booth1's screen in another.
func startVideoRig(tb testing.TB, limit, warning time.Duration, tweak func(*config.Config)) *videoRig {
	tb.Helper()
	chromium := requireChromium(tb)
	m := startVideoDemo(tb, limit, warning, tweak)
	shots := shotDir(tb)
	r := &videoRig{m: m}
	r.parentBrowser = startBrowser(tb, chromium, 390, 844)
	r.kioskBrowser = startBrowser(tb, chromium, 1024, 600)

	var status int
	r.parent, status = r.parentBrowser.open("parent", demoLink(tb, m, "母亲", "王小明"), 390, 844, true, shots)
	require.Equal(tb, http.StatusOK, status, "the parent's link opens")
	r.parent.poll("asks for camera and microphone", `document.body.dataset.state === "permission"`, 5*time.Second)
	r.parent.click(`[data-test=enable]`)
	r.parent.poll("connected and waiting", jsParentIdle, 10*time.Second)
	assert.Contains(tb, eval[string](r.parent, `document.getElementById("idle-child").textContent`), "小明",
		"the parent's page names the child (first name)")

	r.screen, status = r.kioskBrowser.open("kiosk", m.HTTPURL()+"/?booth=booth1", 1024, 600, false, shots)
	require.Equal(tb, http.StatusOK, status)
	r.screen.poll("idle screen", jsKioskState(kiosk.ScreenIdle), 10*time.Second)
	return r
}

// call taps 王小明's card, presses the video button of contact 2 on the
// kiosk, answers on the parent's page, and waits for frames decoded on
// both. shoot takes the screenshots of the way there.
func (r *videoRig) call(tb testing.TB, shoot bool) {
	tb.Helper()
	adminTap(tb, r.m, "DE000001")
	r.screen.poll("identified with a video button for the online parent",
		jsKioskIdentified+` && !!document.querySelector("[data-test=video-2]")`, 10*time.Second)
	if shoot {
		r.screen.shot("1-identified")
	}
	r.screen.click(`[data-test=video-2]`)
	r.parent.poll("rings", jsParentRinging, 10*time.Second)
	assert.Equal(tb, "1", eval[string](r.parent, `document.body.dataset.ringing`), "the parent's page rings")
	if shoot {
		r.parent.shot("2-ringing")
	}
	r.parent.click(`[data-test=answer]`)
	r.parent.poll("frames decoded at the parent", jsFramesDecoded, 10*time.Second)
	r.screen.poll("frames decoded at the kiosk", jsFramesDecoded, 10*time.Second)
}

// waitLedger polls the calls register until it has n ended rows.
func waitLedger(tb testing.TB, m *Main, n int) []sqlite.CallRow {
	tb.Helper()
	var rows []sqlite.CallRow
	require.Eventually(tb, func() bool {
		var err error
		rows, err = m.db.Calls(context.Background(), time.Time{}, time.Time{})
		require.NoError(tb, err)
		ended := 0
		for _, r := range rows {
			if !r.Ended.IsZero() {
				ended++
			}
		}
		return ended >= n
	}, 5*time.Second, 50*time.Millisecond, "%d ended calls in the ledger", n)
	return rows
}

// TestVideoEndToEnd is the whole video call as the issue tells it, with
// real browsers: the parent opens the printed link and enables it; the
// child taps, sees the online parent's video button and presses it; the
// parent's page rings and is answered; both browsers decode frames; the
// warning banner shows on both at 4 s; the daemon cuts the call at the
// 8 s limit on both pages; and the ledger row is a video call answered
// and cut at the limit, with screen id, setup time and both legs'
// quality.
func TestVideoEndToEnd(t *testing.T) {
	r := startVideoRig(t, 8*time.Second, 4*time.Second, nil)
	r.parent.shot("0-idle")
	r.call(t, true)

	// In the call.
	r.parent.poll("connected", `document.body.dataset.connected === "1" && document.body.dataset.state === "call"`, 5*time.Second)
	r.screen.poll("the video call screen", jsKioskInVideo, 5*time.Second)
	assert.False(t, eval[bool](r.screen, `document.getElementById("remote-video").paused`), "the kiosk plays the parent")
	assert.False(t, eval[bool](r.parent, `document.getElementById("remote-video").paused`), "the parent's page plays the child")
	assert.Greater(t, eval[int](r.parent, `document.getElementById("remote-video").videoWidth`), 0, "the parent sees a picture")
	assert.Greater(t, eval[int](r.screen, `document.getElementById("remote-video").videoWidth`), 0, "the child sees a picture")
	r.parent.shot("3-call")
	r.screen.shot("3-call")

	// The warning, 4 s before the limit.
	r.screen.poll("warning banner", jsKioskState(kiosk.ScreenWarning)+` && `+jsBannerShown, 8*time.Second)
	r.parent.poll("warning banner", jsBannerShown, 3*time.Second)
	assert.LessOrEqual(t, eval[int](r.screen, `Number(document.getElementById("video-countdown").dataset.seconds)`), 4,
		"the kiosk counts down the last seconds")
	r.parent.shot("4-warning")
	r.screen.shot("4-warning")

	// Cut at the limit, on both pages.
	r.parent.poll("ended at the limit", `document.body.dataset.state === "ended"`, 8*time.Second)
	assert.Equal(t, string(kiosk.CauseLimit), eval[string](r.parent, `document.body.dataset.endCause`))
	assert.Equal(t, "0", eval[string](r.parent, `document.body.dataset.connected`))
	r.screen.poll("out of the call", jsKioskOutOfCall, 5*time.Second)
	assert.Equal(t, string(kiosk.CauseLimit), eval[string](r.screen, `document.body.dataset.endCause || ""`))
	r.screen.poll("the kiosk closed its PeerConnection", `window.qqVideo.pc === null`, 3*time.Second)
	r.parent.shot("5-ended")
	r.screen.shot("5-ended")

	// The ledger.
	rows := waitLedger(t, r.m, 1)
	require.Len(t, rows, 1)
	row := rows[0]
	assert.Equal(t, kiosk.ModeVideo, row.Mode)
	assert.Equal(t, kiosk.DispAnswered, row.Disposition)
	assert.Equal(t, kiosk.CauseLimit, row.Cause)
	assert.Equal(t, "booth1", row.Screen)
	assert.Equal(t, "母亲", row.Relation)
	assert.Greater(t, row.Setup, time.Duration(0), "setup time: offer to first media")
	assert.InDelta(t, 8.0, row.Billsec.Seconds(), 1.0, "billsec is the limit")
	require.NotNil(t, row.Quality, "quality at the end")
	q := row.Quality
	t.Logf("setup %s, quality %+v", row.Setup, *q)
	assert.Greater(t, q.Screen.FramesDecoded, int64(0), "the kiosk's browser decoded frames")
	assert.Greater(t, q.Parent.FramesDecoded, int64(0), "the parent's browser decoded frames")
	assert.Greater(t, q.Screen.RTTMs, 0.0, "RTT measured on the kiosk's leg (RTCP receiver reports)")
	assert.Greater(t, q.Parent.RTTMs, 0.0, "RTT measured on the parent's leg")
	res, err := r.m.db.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}

// TestVideoEndToEndParentGone: the parent's page vanishes in the middle
// of a call; the kiosk leaves the call within 10 s (the daemon's default
// reconnect window) and the ledger says how it ended.
//   - "tab closed": the tab is closed (Target.closeTarget), as a parent
//     closing it without pressing hang-up.
//   - "browser killed": the browser process dies (SIGKILL), as a phone
//     losing power or network: the daemon hears nothing and must find
//     out from ICE and the missing heartbeat; cause peer_lost.
func TestVideoEndToEndParentGone(t *testing.T) {
	tests := []struct {
		name   string
		vanish func(r *videoRig)
		causes []kiosk.EndCause
	}{
		{name: "tab closed", vanish: func(r *videoRig) { r.parent.close() },
			causes: []kiosk.EndCause{kiosk.CausePeerLost}},
		{name: "browser killed", vanish: func(r *videoRig) { r.parentBrowser.kill() },
			causes: []kiosk.EndCause{kiosk.CausePeerLost}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := startVideoRig(t, time.Minute, 30*time.Second, nil)
			r.call(t, false)
			r.screen.poll("the video call screen", jsKioskInVideo, 5*time.Second)

			tc.vanish(r)
			gone := time.Now()
			r.screen.poll("out of the call", jsKioskOutOfCall, 10*time.Second)
			t.Logf("kiosk out of the call %s after the parent's page went", time.Since(gone).Round(10*time.Millisecond))
			r.screen.poll("the kiosk closed its PeerConnection", `window.qqVideo.pc === null`, 3*time.Second)
			r.screen.shot("after-parent-gone")

			rows := waitLedger(t, r.m, 1)
			require.Len(t, rows, 1)
			assert.Equal(t, kiosk.ModeVideo, rows[0].Mode)
			assert.Equal(t, kiosk.DispAnswered, rows[0].Disposition)
			assert.Contains(t, tc.causes, rows[0].Cause,
				"issue 3: a page that vanishes mid-call ends the call as peer_lost")

			// The booth is free: the child can tap again.
			adminTap(t, r.m, "DE000001")
			r.screen.poll("identified again", jsKioskIdentified, 5*time.Second)
		})
	}
}

// TestVideoEndToEndLinks: a revoked link's page says so (410, gone
// state) and never connects; a token guessed at random gets 404 and the
// not-found state.
func TestVideoEndToEndLinks(t *testing.T) {
	chromium := requireChromium(t)
	m := startVideoDemo(t, time.Minute, 30*time.Second, nil)
	shots := shotDir(t)
	b := startBrowser(t, chromium, 390, 844)
	ctx := context.Background()

	kids, err := m.db.ChildByName(ctx, "demo-1")
	require.NoError(t, err)
	require.Len(t, kids, 1)
	contact, err := m.db.ContactBySlot(ctx, kids[0].ID, 2)
	require.NoError(t, err)
	tok, link, err := m.db.CreateLink(ctx, contact.ID, time.Time{})
	require.NoError(t, err)
	url := m.HTTPURL() + "/p/" + tok

	p, status := b.open("parent", url, 390, 844, true, shots)
	require.Equal(t, http.StatusOK, status, "a fresh link works")
	p.poll("asks for permission", `document.body.dataset.state === "permission"`, 5*time.Second)

	require.NoError(t, m.db.RevokeLink(ctx, link.ID))
	p, status = b.open("parent", url, 390, 844, true, shots)
	assert.Equal(t, http.StatusGone, status, "a revoked link")
	p.poll("the gone page", `document.body.dataset.state === "gone"`, 5*time.Second)
	assert.Zero(t, eval[int](p, `Array.from(document.querySelectorAll("[data-test=enable]")).filter(e => e.offsetParent !== null).length`),
		"no call button on a revoked link")
	p.shot("revoked")
	resp, err := http.Get(url + "/ws")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusGone, resp.StatusCode, "a revoked link gets no signaling")

	p, status = b.open("parent", m.HTTPURL()+"/p/"+strings.Repeat("Zq3", 9), 390, 844, true, shots)
	assert.Equal(t, http.StatusNotFound, status, "a guessed token")
	p.poll("the not-found page", `document.body.dataset.state === "notfound"`, 5*time.Second)
	p.shot("notfound")
}

// TestVideoEndToEndICERestart: both real browsers take an ICE restart in
// the middle of a call (what the daemon offers when a page's media path
// goes down, e.g. a phone leaving Wi-Fi; triggered here by RestartICE):
// each answers on the PeerConnection it has, with new ICE credentials,
// frames keep being decoded on both sides, and the call ends normally.
func TestVideoEndToEndICERestart(t *testing.T) {
	r := startVideoRig(t, time.Minute, 30*time.Second, nil)
	r.call(t, true)
	r.screen.poll("in the call", jsKioskInVideo, 5*time.Second)
	const ufrag = `(function (pc) { var m = pc && pc.remoteDescription && /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription.sdp); return m ? m[1] : ""; })`
	screenUfrag := eval[string](r.screen, ufrag+`(window.qqVideo.pc)`)
	parentUfrag := eval[string](r.parent, ufrag+`(window.qqParent.pc)`)
	require.NotEmpty(t, screenUfrag)
	require.NotEmpty(t, parentUfrag)
	frames := `Number(document.body.dataset.framesDecoded || 0)`
	screenFrames, parentFrames := eval[int](r.screen, frames), eval[int](r.parent, frames)

	callID := eval[string](r.screen, `window.qqVideo.call`)
	require.NoError(t, r.m.video.RestartICE(callID))
	r.screen.poll("the kiosk took the restart", ufrag+`(window.qqVideo.pc) !== "`+screenUfrag+`"`, 10*time.Second)
	r.parent.poll("the parent took the restart", ufrag+`(window.qqParent.pc) !== "`+parentUfrag+`"`, 10*time.Second)
	r.screen.poll("frames still decoded at the kiosk", fmt.Sprintf("%s > %d", frames, screenFrames+30), 10*time.Second)
	r.parent.poll("frames still decoded at the parent", fmt.Sprintf("%s > %d", frames, parentFrames+30), 10*time.Second)
	assert.Equal(t, "connected", eval[string](r.screen, `window.qqVideo.pc.connectionState`))
	assert.Equal(t, "connected", eval[string](r.parent, `window.qqParent.pc.connectionState`))
	r.screen.shot("6-after-ice-restart")

	r.screen.click("#hangup")
	r.screen.poll("out of the call", jsKioskOutOfCall, 10*time.Second)
	rows := waitLedger(t, r.m, 1)
	require.Len(t, rows, 1)
	assert.Equal(t, kiosk.DispAnswered, rows[0].Disposition)
	assert.Equal(t, kiosk.CauseCallerHangup, rows[0].Cause, "the restart did not end the call")
}
