package console

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// TestBoothsChrome checks in headless Chromium what the handler tests
// cannot: that Today's CSP lets it frame the live booth view, that the
// view refreshes itself with no script (the status changes and the frame
// follows without Today reloading), and that enrolling a card from a
// child's page shows the result. Screenshots are saved.
func TestBoothsChrome(t *testing.T) {
	chromium := browsertest.Require(t, "drives Chromium")
	e, desk := newBoothEnv(t)
	p := browsertest.Start(t, chromium, 1280, 800, false)
	// frameText is the framed page's text; "" while it cannot be read
	// (not loaded, or blocked: a blocked frame is an error page of
	// another origin).
	const frameText = `(function () { var f = document.querySelector('iframe.booths-frame');
		try { return (f && f.contentDocument && f.contentDocument.body) ? f.contentDocument.body.innerText : ''; } catch (e) { return ''; } })()`
	p.Debug = `document.documentElement.outerHTML + "\nframe: " + ` + frameText // a failed step shows both

	p.Run("log in",
		chromedp.Navigate(e.srv.URL+"/console/today"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "manager"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`iframe.booths-frame`)))
	p.Poll("the framed booth view shows the call", `(`+frameText+`).indexOf('王小明') >= 0`)
	p.Shot("console-today-booths")
	txt := browsertest.Eval[string](p, frameText)
	assert.Contains(t, txt, "通话中")
	assert.Contains(t, txt, "3:30", "minutes left")

	// The call ends: the frame follows by itself, Today is not reloaded.
	p.Run("mark Today", chromedp.Evaluate[chromedp.Void](`window.todayMark = 1`))
	desk.setStatus([]kiosk.BoothStatus{
		{Booth: desk.booths[0], State: kiosk.ScreenIdle, Light: kiosk.LightIdle},
		{Booth: desk.booths[1], State: kiosk.ScreenIdle, Light: kiosk.LightIdle},
	})
	p.Poll("the frame refreshes by itself", `(`+frameText+`).indexOf('王小明') < 0 && (`+frameText+`).indexOf('空闲') >= 0`)
	assert.Equal(t, 1, browsertest.Eval[int](p, `window.todayMark || 0`), "Today itself stayed put")

	// Enrol a card from the child's page.
	desk.answer("A1B2C3D4", nil)
	p.Run("open the child's page", chromedp.Navigate(e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"]))),
		chromedp.WaitVisible(chromedp.CSS(`form[data-test=enrol]`)))
	p.Shot("console-child-enrol")
	p.Run("enrol at booth 2",
		chromedp.SetValue(chromedp.CSS(`form[data-test=enrol] select[name=booth]`), "b2"),
		chromedp.Click(chromedp.CSS(`form[data-test=enrol] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.msg`)))
	msg := p.Text(`p.msg`)
	assert.True(t, strings.Contains(msg, "卡已登记并启用"), "the result page says so: %q", msg)
	p.Shot("console-child-enrolled")
	assert.Equal(t, []string{"b2"}, desk.asked)
}
