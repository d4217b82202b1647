package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// The parent's page in WebKit, the engine of Safari and of iOS's
// WKWebView (WeChat's in-app browser), driven through WebKitGTK's
// WebDriver and MiniBrowser under Xvfb, against the demo daemon as in
// video_e2e_test.go. They need Debian's webkit2gtk-driver and xvfb;
// without them they skip, or fail with KIOSK_REQUIRE_PEERS=1.
//
// Debian 12's WebKitGTK (2.50.6-1~deb12u2) and WPE WebKit (2.38.6-1) are
// built without ENABLE_WEB_RTC (no GStreamer webrtcbin endpoint): the
// page has getUserMedia with WebKit's mock camera but no
// RTCPeerConnection, so the call subtest skips and says so; the page
// subtest checks what WebKit can check here.

// wkPage is the parent's page in a WebKit session.
type wkPage struct {
	tb    testing.TB
	s     *browsertest.WebKitSession
	shots string
}

func (p *wkPage) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	p.tb.Cleanup(cancel)
	return ctx
}

// eval returns the value of the JS expression js.
func wkEval[T any](p *wkPage, js string) T {
	p.tb.Helper()
	var v T
	require.NoError(p.tb, p.s.Eval(p.ctx(15*time.Second), "return ("+js+");", &v), "webkit: eval %s", js)
	return v
}

// poll waits up to within for the JS expression js to be truthy.
func (p *wkPage) poll(what, js string, within time.Duration) {
	p.tb.Helper()
	end := time.Now().Add(within)
	for {
		var ok bool
		err := p.s.Eval(p.ctx(5*time.Second), "return !!("+js+");", &ok)
		if err == nil && ok {
			return
		}
		if time.Now().After(end) {
			require.Failf(p.tb, "webkit: "+what, "%s not true within %s (last error %v); page: %s", js, within, err, p.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *wkPage) describe() string {
	var s string
	if err := p.s.Eval(p.ctx(3*time.Second), `return JSON.stringify(Object.assign({}, document.body.dataset));`, &s); err != nil {
		return "(page unreadable: " + err.Error() + ")"
	}
	return s
}

func (p *wkPage) click(sel string) {
	p.tb.Helper()
	require.NoError(p.tb, p.s.Click(p.ctx(10*time.Second), sel), "webkit: click %s", sel)
}

func (p *wkPage) shot(state string) {
	p.tb.Helper()
	png, err := p.s.Screenshot(p.ctx(10 * time.Second))
	require.NoError(p.tb, err, "webkit: screenshot %s", state)
	require.Greater(p.tb, len(png), 1000, "webkit: screenshot %s has content", state)
	path := filepath.Join(p.shots, "webkit-parent-"+state+".png")
	require.NoError(p.tb, os.WriteFile(path, png, 0o644))
	p.tb.Logf("screenshot %s", path)
}

// wkProbe is what the WebKit build offers the page.
type wkProbe struct {
	PeerConnection bool   `json:"pc"`
	GetUserMedia   bool   `json:"gum"`
	Secure         bool   `json:"secure"`
	AudioContext   bool   `json:"ac"`
	UserAgent      string `json:"ua"`
}

const jsWKProbe = `{pc: !!window.RTCPeerConnection,
	gum: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia),
	secure: !!window.isSecureContext, ac: !!(window.AudioContext || window.webkitAudioContext),
	ua: navigator.userAgent}`

// TestWebKitParentPage opens the printed parent link of 母亲 (contact 2
// of 王小明) in WebKit.
//   - page: the script runs without errors; the camera and microphone
//     open with the page's own getUserMedia constraints (WebKit's mock
//     devices); and the page shows what it finds: the permission step
//     when WebKit has WebRTC, else the "cannot make video calls" page with
//     a hint, in both languages, and no call button.
//   - call: with RTCPeerConnection, the parent enables the page, the
//     child (Chromium on the kiosk screen) presses video, the parent
//     answers in WebKit, and both browsers decode frames; skipped, saying
//     what is missing, when this WebKit has no WebRTC.
func TestWebKitParentPage(t *testing.T) {
	wk := browsertest.RequireWebKit(t, "drives WebKitGTK's MiniBrowser through the parent's page")
	m := startVideoDemo(t, time.Minute, 30*time.Second, nil)
	shots := shotDir(t)
	link := demoLink(t, m, "母亲", "王小明")
	s := browsertest.StartWebKit(t, wk, browsertest.WebKitMediaOpts())
	p := &wkPage{tb: t, s: s, shots: shots}
	require.NoError(t, s.SetWindow(p.ctx(5*time.Second), 390, 844), "phone-sized window")
	require.NoError(t, s.Navigate(p.ctx(15*time.Second), link), "open %s", link)
	probe := wkEval[wkProbe](p, jsWKProbe)
	t.Logf("WebKit offers %+v", probe)

	t.Run("page", func(t *testing.T) {
		p := &wkPage{tb: t, s: s, shots: shots}
		p.poll("the script ran", `window.qqParent && ["permission", "unsupported"].includes(document.body.dataset.state)`, 5*time.Second)
		assert.True(t, probe.Secure, "a loopback page is a secure context (camera allowed)")
		assert.True(t, probe.AudioContext, "Web Audio for the ring")
		require.True(t, probe.GetUserMedia, "WebKit with enable-media-stream has getUserMedia")

		// The permission request, with the constraints the page asks for.
		var tracks string
		require.NoError(t, s.EvalAsync(p.ctx(15*time.Second), `var done = arguments[0];
			navigator.mediaDevices.getUserMedia(window.qqParent.constraints).then(function (s) {
				var k = s.getTracks().map(function (t) { t.stop(); return t.kind; }).sort().join(",");
				done(k);
			}, function (e) { done("error " + e.name + ": " + e.message); });`, &tracks))
		assert.Equal(t, "audio,video", tracks, "camera and microphone open with the page's constraints")

		if probe.PeerConnection {
			assert.Equal(t, "permission", wkEval[string](p, `document.body.dataset.state`), "WebRTC: the page asks for permission")
			assert.Contains(t, wkEval[string](p, `document.getElementById("perm-child").textContent`), "小明", "names the child")
			p.shot("permission")
		} else {
			assert.Equal(t, "unsupported", wkEval[string](p, `document.body.dataset.state`), "no WebRTC: the page says so")
			assert.Equal(t, "webrtc", wkEval[string](p, `document.body.dataset.unsupported`), "what is missing")
			assert.Contains(t, wkEval[string](p, `document.getElementById("unsupported-hint").textContent`), "Safari",
				"the hint names a browser that can")
			assert.Zero(t, wkEval[int](p, `Array.from(document.querySelectorAll("[data-test=enable]")).filter(e => e.offsetParent !== null).length`),
				"no button that cannot work")
			assert.Equal(t, "offline", wkEval[string](p, `document.getElementById("net").dataset.net`), "never connects")
			// The page starts in the browser's language; the switch gives the other.
			why := map[string]string{"zh-CN": "这个浏览器不能视频通话", "en": "This browser cannot make video calls"}
			for range 2 {
				lang := wkEval[string](p, `document.documentElement.lang`)
				require.Contains(t, why, lang)
				assert.Equal(t, why[lang], wkEval[string](p, `document.getElementById("unsupported-why").textContent`))
				p.shot("unsupported-" + lang)
				p.click(`[data-test=lang]`)
			}
		}
		assert.Equal(t, 0, wkEval[int](p, `Number(document.body.dataset.errors || 0)`), "no script error or CSP violation in WebKit")
	})

	t.Run("call", func(t *testing.T) {
		if !probe.PeerConnection {
			t.Skipf("this WebKit (%s) has no RTCPeerConnection: Debian builds WebKitGTK without ENABLE_WEB_RTC "+
				"(it needs -DENABLE_WEB_RTC=ON -DUSE_GSTREAMER_WEBRTC=ON and GStreamer's webrtcbin); the call is tested in Chromium only",
				probe.UserAgent)
		}
		chromium := requireChromium(t)
		p := &wkPage{tb: t, s: s, shots: shots}
		require.NoError(t, s.Navigate(p.ctx(15*time.Second), link), "reopen %s", link)
		p.poll("asks for camera and microphone", `document.body.dataset.state === "permission"`, 5*time.Second)
		p.click(`[data-test=enable]`)
		p.poll("connected and waiting", jsParentIdle, 10*time.Second)

		kb := startBrowser(t, chromium, 1024, 600)
		screen, status := kb.open("kiosk", m.HTTPURL()+"/?booth=booth1", 1024, 600, false, shots)
		require.Equal(t, http.StatusOK, status)
		screen.poll("idle screen", jsKioskState(kiosk.ScreenIdle), 10*time.Second)
		adminTap(t, m, "DE000001")
		screen.poll("a video button for the online parent", jsKioskIdentified+` && !!document.querySelector("[data-test=video-2]")`, 10*time.Second)
		screen.click(`[data-test=video-2]`)
		p.poll("rings", jsParentRinging, 10*time.Second)
		p.shot("ringing")
		p.click(`[data-test=answer]`)
		p.poll("frames decoded in WebKit", jsFramesDecoded, 15*time.Second)
		screen.poll("frames decoded at the kiosk", jsFramesDecoded, 10*time.Second)
		p.poll("connected", `document.body.dataset.connected === "1"`, 5*time.Second)
		p.shot("call")
		p.click(`[data-test=hangup]`)
		p.poll("ended", `document.body.dataset.state === "ended"`, 5*time.Second)

		rows := waitLedger(t, m, 1)
		require.Len(t, rows, 1)
		assert.Equal(t, kiosk.ModeVideo, rows[0].Mode)
		require.NotNil(t, rows[0].Quality, "quality at the end")
		assert.Greater(t, rows[0].Quality.Parent.FramesDecoded, int64(0), "WebKit reported frames decoded")
		assert.Greater(t, rows[0].Quality.Screen.FramesDecoded, int64(0), "the kiosk reported frames decoded")
		assert.Equal(t, 0, wkEval[int](p, `Number(document.body.dataset.errors || 0)`), "no script error in WebKit")
	})
}
