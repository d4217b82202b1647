package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// TestScreenChrome drives the kiosk page in headless Chromium through
// every screen state, with the fake station standing in for the daemon,
// and saves a screenshot of each state.
func TestScreenChrome(t *testing.T) {
	chromium := browsertest.Require(t, "screen suite drives Chromium")

	_, st, ts := newTestServer(t, Opts{Version: "test"})
	st.push(kiosk.Screen{Booth: "b1", Kind: kiosk.ScreenIdle, Hours: "16:30-18:00", QuotaMinutesLeft: ptr(-1), QuotaCallsLeft: ptr(-1)})
	// Screenshots go to the test's temp dir, or to $KIOSK_SCREENSHOT_DIR
	// (kept after the test, e.g. as CI artifacts).
	shots := os.Getenv("KIOSK_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	t.Logf("screenshots in %s", shots)

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		browsertest.Options(chromium, t.TempDir(), 1024, 600, false)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	// The first run starts the browser; it must not carry a timeout, which
	// would stop the browser with it. Later steps are bounded.
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(1024, 600)), "start chromium %s", chromium)
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, actions...), what)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "read %s", sel)
		return strings.TrimSpace(s)
	}
	evalInt := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		require.NoError(t, err, "eval %s", js)
		return n
	}
	evalString := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		require.NoError(t, err, "eval %s", js)
		return s
	}
	poll := func(what, js string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(10*time.Second)))
		require.NoError(t, err, what)
	}
	state := func(kind kiosk.ScreenKind) {
		t.Helper()
		run("wait for state "+string(kind), chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`main[data-state=%q]`, kind))))
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err, "screenshot %s", name)
		p := filepath.Join(shots, name+".png")
		require.NoError(t, os.WriteFile(p, png, 0o644))
		require.Greater(t, len(png), 1000, "screenshot %s has content", name)
		t.Logf("screenshot %s", p)
	}
	push := func(sc kiosk.Screen) {
		sc.Booth = "b1"
		st.push(sc)
	}

	run("open page", chromedp.Navigate(ts.URL+"/?booth=b1"))

	// idle
	state(kiosk.ScreenIdle)
	run("connected mark", chromedp.WaitReady(chromedp.CSS(`#conn[data-conn="open"]`)), chromedp.WaitNotVisible(chromedp.CSS(`#conn`)))
	assert.Equal(t, "请刷卡", text(`[data-test="idle-prompt"]`))
	assert.Contains(t, text(`#hours`), "16:30-18:00")
	run("help tile visible", chromedp.WaitVisible(chromedp.CSS(`#help`)), chromedp.WaitNotVisible(chromedp.CSS(`#hangup`)))
	shot("01-idle")

	// tap through the admin API, as kioskctl does
	status, body := adminRequest(t, ts, "POST", "/api/tap", testToken, `{"uid":"04A1B2C3"}`)
	require.Equal(t, 200, status, "tap: %s", body)
	assert.Equal(t, call{Op: "tap", Booth: "b1", UID: "04A1B2C3"}, waitCall(t, st))
	push(kiosk.Screen{Kind: kiosk.ScreenIdentified, Child: "王小明", QuotaMinutesLeft: ptr(20), QuotaCallsLeft: ptr(3),
		Tiles: []kiosk.Tile{
			{Slot: 1, Name: "王大明", Relation: "爸爸", Masked: "138****5678", Phone: true},
			{Slot: 2, Name: "李丽", Relation: "母亲", Masked: "139****1234", Phone: true},
			{Slot: 3, Name: "张芳", Relation: "奶奶", Masked: "0731****88", Phone: true},
		},
		Overdue: []kiosk.OverdueBook{{Barcode: "A9", Title: "西游记", Days: 3,
			Words: kiosk.Words{ZH: "《西游记》已经晚了3天，记得带来还哦", EN: `"西游记" is 3 days late. Please bring it back soon`}}}})
	state(kiosk.ScreenIdentified)
	assert.Equal(t, "《西游记》已经晚了3天，记得带来还哦", text(`[data-test="overdue-book"]`), "the overdue reminder on the next tap")
	assert.Equal(t, "你好，王小明！", text(`#child`))
	assert.Equal(t, 3, evalInt(`document.querySelectorAll('#tiles .tile').length`))
	assert.Equal(t, "妈", text(`[data-test="tile-2"] .avatar`), "the avatar shows the relation's first character")
	assert.Equal(t, "妈妈", text(`[data-test="tile-2"] .relation`), "the register's 母亲 is shown as the child says it")
	assert.Contains(t, text(`#quota`), "20 分钟")
	assert.Equal(t, "chime", evalString(`document.body.dataset.sound || ''`), "identified plays the chime")
	shot("02-identified")

	// English switch
	run("switch to English", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, "Hello, 王小明!", text(`#child`))
	assert.Equal(t, "Mum", text(`[data-test="tile-2"] .relation`))
	assert.Contains(t, text(`[data-test="overdue-book"]`), "3 days late")
	assert.Equal(t, "中文", text(`#lang`))
	shot("03-identified-en")
	run("switch back to Chinese", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, "请刷卡", evalString(`document.getElementById('idle-prompt').textContent`), "hidden text follows the language too")

	// pick contact 2 on the screen
	run("tap tile 2", chromedp.Click(chromedp.CSS(`[data-test="tile-2"]`)))
	assert.Equal(t, call{Op: "pick", Booth: "b1", Slot: 2}, waitCall(t, st), "the tile sends a pick of its slot")

	// calling
	push(kiosk.Screen{Kind: kiosk.ScreenCalling, Contact: "妈妈", QuotaMinutesLeft: ptr(20), QuotaCallsLeft: ptr(3)})
	state(kiosk.ScreenCalling)
	assert.Contains(t, text(`#calling-contact`), "妈妈")
	run("hang-up instead of help", chromedp.WaitVisible(chromedp.CSS(`#hangup`)), chromedp.WaitNotVisible(chromedp.CSS(`#help`)))
	shot("04-calling")

	// connected: the countdown runs by itself
	push(kiosk.Screen{Kind: kiosk.ScreenConnected, Contact: "妈妈", LimitMS: 300_000, RemainingMS: 125_000})
	state(kiosk.ScreenConnected)
	first := evalInt(`Number(document.getElementById('countdown').dataset.seconds)`)
	assert.True(t, first >= 120 && first <= 125, "countdown starts near 125 s, got %d", first)
	assert.Regexp(t, `^0[12]:[0-5]\d$`, text(`#countdown`))
	poll("countdown decreases", fmt.Sprintf(`Number(document.getElementById('countdown').dataset.seconds) < %d`, first))
	run("no banner yet", chromedp.WaitNotVisible(chromedp.CSS(`#banner`)))
	shot("05-connected")

	// warning
	push(kiosk.Screen{Kind: kiosk.ScreenWarning, Contact: "妈妈", LimitMS: 300_000, RemainingMS: 60_000})
	state(kiosk.ScreenWarning)
	run("banner visible", chromedp.WaitVisible(chromedp.CSS(`#banner`)))
	assert.Equal(t, "还有1分钟", text(`#banner`))
	push(kiosk.Screen{Kind: kiosk.ScreenWarning, Contact: "妈妈", LimitMS: 300_000, RemainingMS: 30_000})
	run("banner says the time really left", chromedp.WaitVisible(chromedp.CSS(`#banner`)))
	require.Eventually(t, func() bool { return text(`#banner`) == "还有30秒" }, 3*time.Second, 50*time.Millisecond)
	assert.LessOrEqual(t, evalInt(`Number(document.getElementById('countdown').dataset.seconds)`), 60)
	assert.Equal(t, "beep", evalString(`document.body.dataset.sound || ''`), "the warning beeps")
	shot("06-warning")

	// hang up from the screen
	run("tap hang-up", chromedp.Click(chromedp.CSS(`#hangup`)))
	assert.Equal(t, call{Op: "hangup", Booth: "b1"}, waitCall(t, st))

	// ended
	push(kiosk.Screen{Kind: kiosk.ScreenEnded, Contact: "妈妈", DurationMS: 245_000})
	state(kiosk.ScreenEnded)
	assert.Equal(t, "通话时长 04:05", text(`#duration`))
	run("banner gone, help back", chromedp.WaitNotVisible(chromedp.CSS(`#banner`)), chromedp.WaitVisible(chromedp.CSS(`#help`)))
	shot("07-ended")

	// denied, in the child's words
	w := kiosk.ReasonQuotaCalls.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenDenied, Reason: kiosk.ReasonQuotaCalls, Words: &w})
	state(kiosk.ScreenDenied)
	assert.Equal(t, w.ZH, text(`#denied-words`))
	shot("08-denied")
	run("English", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, w.EN, text(`#denied-words`))
	run("Chinese", chromedp.Click(chromedp.CSS(`#lang`)))

	// closed
	w = kiosk.ReasonClosed.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenClosed, Reason: kiosk.ReasonClosed, Words: &w, NextOpening: "2026-11-30T16:30:00+08:00",
		NextOpeningWords: &kiosk.Words{ZH: "周一 16:30", EN: "Mon 16:30"}})
	state(kiosk.ScreenClosed)
	assert.Equal(t, w.ZH, text(`#closed-words`))
	assert.Equal(t, "下次开放：周一 16:30", text(`#next-opening`))
	shot("09-closed")

	// a booth whose reader is down, with a simulated reader for the technician
	w = kiosk.ReasonDeviceFault.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenIdle, Reason: kiosk.ReasonDeviceFault, Words: &w, Simulated: []string{"reader"}})
	state(kiosk.ScreenIdle)
	run("fault words visible", chromedp.WaitVisible(chromedp.CSS(`#idle-fault`)))
	assert.Equal(t, w.ZH, text(`#idle-fault`), "please use another booth")
	assert.Equal(t, "模拟设备：读卡器", text(`#simulated`))
	shot("09b-booth-fault")
	push(kiosk.Screen{Kind: kiosk.ScreenIdle, Hours: "16:30-18:00"})
	run("fault words gone", chromedp.WaitNotVisible(chromedp.CSS(`#idle-fault`)))
	run("tap prompt back", chromedp.WaitVisible(chromedp.CSS(`#idle-prompt`)))

	// queued
	push(kiosk.Screen{Kind: kiosk.ScreenQueued, Position: 2})
	state(kiosk.ScreenQueued)
	assert.Equal(t, "2", text(`#position`))
	assert.Equal(t, "你排在第 2 位", text(`#position-words`))
	shot("10-queued")

	// unknown card
	w = kiosk.ReasonCardUnknown.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenUnknown, Reason: kiosk.ReasonCardUnknown, Words: &w})
	state(kiosk.ScreenUnknown)
	assert.Equal(t, w.ZH, text(`#unknown-words`))
	shot("11-unknown")

	// an action error shows as a toast in the child's words
	push(kiosk.Screen{Kind: kiosk.ScreenIdle, Hours: "16:30-18:00"})
	state(kiosk.ScreenIdle)
	st.setErr(&kiosk.Error{Code: kiosk.EDENIED, Message: "device", Reason: kiosk.ReasonDeviceFault})
	run("tap help", chromedp.Click(chromedp.CSS(`#help`)))
	assert.Equal(t, call{Op: "help", Booth: "b1"}, waitCall(t, st))
	run("toast", chromedp.WaitVisible(chromedp.CSS(`#toast[data-code="denied"]`)))
	assert.Equal(t, kiosk.ReasonDeviceFault.Words().ZH, text(`#toast`))
	shot("12-error")
	st.setErr(nil)

	// the station drops the page: it reconnects by itself
	st.dropAll("b1")
	poll("reconnected", `Number(document.body.dataset.reconnects || 0) >= 1`)
	require.Eventually(t, func() bool { return st.subscribers("b1") == 1 }, 10*time.Second, 50*time.Millisecond,
		"the page subscribes again")
	push(kiosk.Screen{Kind: kiosk.ScreenQueued, Position: 4})
	state(kiosk.ScreenQueued)
	assert.Equal(t, "4", text(`#position`))
	run("connected mark hidden again", chromedp.WaitNotVisible(chromedp.CSS(`#conn`)))

	assert.Equal(t, 0, evalInt(`Number(document.body.dataset.errors || 0)`), "no script error or CSP violation on the page")
}
