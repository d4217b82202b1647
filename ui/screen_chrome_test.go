package ui

import (
	"fmt"
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
	p := browsertest.Start(t, chromium, 1024, 600, false)
	push := func(sc kiosk.Screen) {
		sc.Booth = "b1"
		st.push(sc)
	}

	p.Run("open page", chromedp.Navigate(ts.URL+"/?booth=b1"))

	// idle
	p.WaitState(kiosk.ScreenIdle)
	p.Run("connected mark", chromedp.WaitReady(chromedp.CSS(`#conn[data-conn="open"]`)), chromedp.WaitNotVisible(chromedp.CSS(`#conn`)))
	assert.Equal(t, "请刷卡", p.Text(`[data-test="idle-prompt"]`))
	assert.Contains(t, p.Text(`#hours`), "16:30-18:00")
	p.Run("help tile visible", chromedp.WaitVisible(chromedp.CSS(`#help`)), chromedp.WaitNotVisible(chromedp.CSS(`#hangup`)))
	p.Shot("01-idle")

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
	p.WaitState(kiosk.ScreenIdentified)
	assert.Equal(t, "《西游记》已经晚了3天，记得带来还哦", p.Text(`[data-test="overdue-book"]`), "the overdue reminder on the next tap")
	assert.Equal(t, "你好，王小明！", p.Text(`#child`))
	assert.Equal(t, 3, browsertest.Eval[int](p, `document.querySelectorAll('#tiles .tile').length`))
	assert.Equal(t, "妈", p.Text(`[data-test="tile-2"] .avatar`), "the avatar shows the relation's first character")
	assert.Equal(t, "妈妈", p.Text(`[data-test="tile-2"] .relation`), "the register's 母亲 is shown as the child says it")
	assert.Contains(t, p.Text(`#quota`), "20 分钟")
	assert.Equal(t, "chime", browsertest.Eval[string](p, `document.body.dataset.sound || ''`), "identified plays the chime")
	p.Shot("02-identified")

	// English switch
	p.Run("switch to English", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, "Hello, 王小明!", p.Text(`#child`))
	assert.Equal(t, "Mum", p.Text(`[data-test="tile-2"] .relation`))
	assert.Contains(t, p.Text(`[data-test="overdue-book"]`), "3 days late")
	assert.Equal(t, "中文", p.Text(`#lang`))
	p.Shot("03-identified-en")
	p.Run("switch back to Chinese", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, "请刷卡", browsertest.Eval[string](p, `document.getElementById('idle-prompt').textContent`), "hidden text follows the language too")

	// pick contact 2 on the screen
	p.Run("tap tile 2", chromedp.Click(chromedp.CSS(`[data-test="tile-2"]`)))
	assert.Equal(t, call{Op: "pick", Booth: "b1", Slot: 2}, waitCall(t, st), "the tile sends a pick of its slot")

	// calling
	push(kiosk.Screen{Kind: kiosk.ScreenCalling, Contact: "妈妈", QuotaMinutesLeft: ptr(20), QuotaCallsLeft: ptr(3)})
	p.WaitState(kiosk.ScreenCalling)
	assert.Contains(t, p.Text(`#calling-contact`), "妈妈")
	p.Run("hang-up instead of help", chromedp.WaitVisible(chromedp.CSS(`#hangup`)), chromedp.WaitNotVisible(chromedp.CSS(`#help`)))
	p.Shot("04-calling")

	// connected: the countdown runs by itself
	push(kiosk.Screen{Kind: kiosk.ScreenConnected, Contact: "妈妈", LimitMS: 300_000, RemainingMS: 125_000})
	p.WaitState(kiosk.ScreenConnected)
	first := browsertest.Eval[int](p, `Number(document.getElementById('countdown').dataset.seconds)`)
	assert.True(t, first >= 120 && first <= 125, "countdown starts near 125 s, got %d", first)
	assert.Regexp(t, `^0[12]:[0-5]\d$`, p.Text(`#countdown`))
	p.Poll("countdown decreases", fmt.Sprintf(`Number(document.getElementById('countdown').dataset.seconds) < %d`, first))
	p.Run("no banner yet", chromedp.WaitNotVisible(chromedp.CSS(`#banner`)))
	p.Shot("05-connected")

	// warning
	push(kiosk.Screen{Kind: kiosk.ScreenWarning, Contact: "妈妈", LimitMS: 300_000, RemainingMS: 60_000})
	p.WaitState(kiosk.ScreenWarning)
	p.Run("banner visible", chromedp.WaitVisible(chromedp.CSS(`#banner`)))
	assert.Equal(t, "还有1分钟", p.Text(`#banner`))
	push(kiosk.Screen{Kind: kiosk.ScreenWarning, Contact: "妈妈", LimitMS: 300_000, RemainingMS: 30_000})
	p.Run("banner says the time really left", chromedp.WaitVisible(chromedp.CSS(`#banner`)))
	require.Eventually(t, func() bool { return p.Text(`#banner`) == "还有30秒" }, 3*time.Second, 50*time.Millisecond)
	assert.LessOrEqual(t, browsertest.Eval[int](p, `Number(document.getElementById('countdown').dataset.seconds)`), 60)
	assert.Equal(t, "beep", browsertest.Eval[string](p, `document.body.dataset.sound || ''`), "the warning beeps")
	p.Shot("06-warning")

	// hang up from the screen
	p.Run("tap hang-up", chromedp.Click(chromedp.CSS(`#hangup`)))
	assert.Equal(t, call{Op: "hangup", Booth: "b1"}, waitCall(t, st))

	// ended
	push(kiosk.Screen{Kind: kiosk.ScreenEnded, Contact: "妈妈", DurationMS: 245_000})
	p.WaitState(kiosk.ScreenEnded)
	assert.Equal(t, "通话时长 04:05", p.Text(`#duration`))
	p.Run("banner gone, help back", chromedp.WaitNotVisible(chromedp.CSS(`#banner`)), chromedp.WaitVisible(chromedp.CSS(`#help`)))
	p.Shot("07-ended")

	// denied, in the child's words
	w := kiosk.ReasonQuotaCalls.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenDenied, Reason: kiosk.ReasonQuotaCalls, Words: &w})
	p.WaitState(kiosk.ScreenDenied)
	assert.Equal(t, w.ZH, p.Text(`#denied-words`))
	p.Shot("08-denied")
	p.Run("English", chromedp.Click(chromedp.CSS(`#lang`)))
	assert.Equal(t, w.EN, p.Text(`#denied-words`))
	p.Run("Chinese", chromedp.Click(chromedp.CSS(`#lang`)))

	// closed
	w = kiosk.ReasonClosed.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenClosed, Reason: kiosk.ReasonClosed, Words: &w, NextOpening: "2026-11-30T16:30:00+08:00",
		NextOpeningWords: &kiosk.Words{ZH: "周一 16:30", EN: "Mon 16:30"}})
	p.WaitState(kiosk.ScreenClosed)
	assert.Equal(t, w.ZH, p.Text(`#closed-words`))
	assert.Equal(t, "下次开放：周一 16:30", p.Text(`#next-opening`))
	p.Shot("09-closed")

	// a booth whose reader is down, with a simulated reader for the technician
	w = kiosk.ReasonDeviceFault.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenIdle, Reason: kiosk.ReasonDeviceFault, Words: &w, Simulated: []string{"reader"}})
	p.WaitState(kiosk.ScreenIdle)
	p.Run("fault words visible", chromedp.WaitVisible(chromedp.CSS(`#idle-fault`)))
	assert.Equal(t, w.ZH, p.Text(`#idle-fault`), "please use another booth")
	assert.Equal(t, "模拟设备：读卡器", p.Text(`#simulated`))
	p.Shot("09b-booth-fault")
	push(kiosk.Screen{Kind: kiosk.ScreenIdle, Hours: "16:30-18:00"})
	p.Run("fault words gone", chromedp.WaitNotVisible(chromedp.CSS(`#idle-fault`)))
	p.Run("tap prompt back", chromedp.WaitVisible(chromedp.CSS(`#idle-prompt`)))

	// queued
	push(kiosk.Screen{Kind: kiosk.ScreenQueued, Position: 2})
	p.WaitState(kiosk.ScreenQueued)
	assert.Equal(t, "2", p.Text(`#position`))
	assert.Equal(t, "你排在第 2 位", p.Text(`#position-words`))
	p.Shot("10-queued")

	// unknown card
	w = kiosk.ReasonCardUnknown.Words()
	push(kiosk.Screen{Kind: kiosk.ScreenUnknown, Reason: kiosk.ReasonCardUnknown, Words: &w})
	p.WaitState(kiosk.ScreenUnknown)
	assert.Equal(t, w.ZH, p.Text(`#unknown-words`))
	p.Shot("11-unknown")

	// an action error shows as a toast in the child's words
	push(kiosk.Screen{Kind: kiosk.ScreenIdle, Hours: "16:30-18:00"})
	p.WaitState(kiosk.ScreenIdle)
	st.setErr(&kiosk.Error{Code: kiosk.EDENIED, Message: "device", Reason: kiosk.ReasonDeviceFault})
	p.Run("tap help", chromedp.Click(chromedp.CSS(`#help`)))
	assert.Equal(t, call{Op: "help", Booth: "b1"}, waitCall(t, st))
	p.Run("toast", chromedp.WaitVisible(chromedp.CSS(`#toast[data-code="denied"]`)))
	assert.Equal(t, kiosk.ReasonDeviceFault.Words().ZH, p.Text(`#toast`))
	p.Shot("12-error")
	st.setErr(nil)

	// the station drops the page: it reconnects by itself
	st.dropAll("b1")
	p.Poll("reconnected", `Number(document.body.dataset.reconnects || 0) >= 1`)
	require.Eventually(t, func() bool { return st.subscribers("b1") == 1 }, 10*time.Second, 50*time.Millisecond,
		"the page subscribes again")
	push(kiosk.Screen{Kind: kiosk.ScreenQueued, Position: 4})
	p.WaitState(kiosk.ScreenQueued)
	assert.Equal(t, "4", p.Text(`#position`))
	p.Run("connected mark hidden again", chromedp.WaitNotVisible(chromedp.CSS(`#conn`)))

	assert.Equal(t, 0, browsertest.Eval[int](p, `Number(document.body.dataset.errors || 0)`), "no script error or CSP violation on the page")
}
