package console

import (
	"context"
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

// TestBoothsChrome checks in headless Chromium what the handler tests
// cannot: that Today's CSP lets it frame the live booth view, that the
// view refreshes itself with no script (the status changes and the frame
// follows without Today reloading), and that enrolling a card from a
// child's page shows the result. Screenshots are saved.
func TestBoothsChrome(t *testing.T) {
	chromium := browsertest.Require(t, "drives Chromium")
	e, desk := newBoothEnv(t)
	out := os.Getenv("KIOSK_SCREENSHOT_DIR")
	if out == "" {
		out = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(out, 0o755))

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		browsertest.Options(chromium, t.TempDir(), 1280, 800, false)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	// The first action starts the browser and must carry no timeout.
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")), "start chromium %s", chromium)
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			t.Fatalf("%s: %v\n%s", what, err, html)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err, "screenshot %s", name)
		require.NoError(t, os.WriteFile(filepath.Join(out, name+".png"), png, 0o644))
	}
	// frameText is the framed page's text; "" while it cannot be read
	// (not loaded, or blocked: a blocked frame is an error page of
	// another origin).
	const frameText = `(function () { var f = document.querySelector('iframe.booths-frame');
		try { return (f && f.contentDocument && f.contentDocument.body) ? f.contentDocument.body.innerText : ''; } catch (e) { return ''; } })()`
	poll := func(what, js string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](frameText))
			t.Fatalf("%s: %v (frame: %q)", what, err, txt)
		}
	}

	step("log in",
		chromedp.Navigate(e.srv.URL+"/console/today"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "manager"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`iframe.booths-frame`)))
	poll("the framed booth view shows the call", `(`+frameText+`).indexOf('王小明') >= 0`)
	shot("console-today-booths")
	txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](frameText))
	require.NoError(t, err)
	assert.Contains(t, txt, "通话中")
	assert.Contains(t, txt, "3:30", "minutes left")

	// The call ends: the frame follows by itself, Today is not reloaded.
	require.NoError(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.todayMark = 1`)))
	desk.setStatus([]kiosk.BoothStatus{
		{Booth: desk.booths[0], State: kiosk.ScreenIdle, Light: kiosk.LightIdle},
		{Booth: desk.booths[1], State: kiosk.ScreenIdle, Light: kiosk.LightIdle},
	})
	poll("the frame refreshes by itself", `(`+frameText+`).indexOf('王小明') < 0 && (`+frameText+`).indexOf('空闲') >= 0`)
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.todayMark || 0`))
	require.NoError(t, err)
	assert.Equal(t, 1, mark, "Today itself stayed put")

	// Enrol a card from the child's page.
	desk.answer("A1B2C3D4", nil)
	step("open the child's page", chromedp.Navigate(e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"]))),
		chromedp.WaitVisible(chromedp.CSS(`form[data-test=enrol]`)))
	shot("console-child-enrol")
	step("enrol at booth 2",
		chromedp.SetValue(chromedp.CSS(`form[data-test=enrol] select[name=booth]`), "b2"),
		chromedp.Click(chromedp.CSS(`form[data-test=enrol] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.msg`)))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.msg`)))
	require.NoError(t, err)
	assert.True(t, strings.Contains(msg, "卡已登记并启用"), "the result page says so: %q", msg)
	shot("console-child-enrolled")
	assert.Equal(t, []string{"b2"}, desk.asked)
}
