package main

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
	"periph.io/x/conn/v3/gpio"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// TestStaffTVWalkChrome walks the staff screen in headless Chromium
// against the demo daemon, as a teacher would: tap the staff card, pick a
// programme preset, a category and a class, count the children with the
// +/- buttons, 开始播放 (the relay's pin goes high and the register has
// the session), 结束播放 (the pin goes low); then a technician's card
// shows the TVs without the form, and 退出 returns to idle. Screenshots
// of each step go to the test's temp dir or $KIOSK_SCREENSHOT_DIR.
func TestStaffTVWalkChrome(t *testing.T) {
	if testing.Short() {
		t.Skip("browser walk: skipped under -short")
	}
	chromium := browsertest.Require(t, "the staff walk drives the kiosk screen in Chromium")
	m, pin, clock := startStaffDemo(t)
	ctx := context.Background()

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
	// The first run starts the browser and must carry no timeout.
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(1024, 600)), "start chromium %s", chromium)
	bc, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(bc, actions...), what)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bc, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "read %s", sel)
		return strings.TrimSpace(s)
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bc, chromedp.Evaluate[string](js))
		require.NoError(t, err, "evaluate %s", js)
		return s
	}
	state := func(kind kiosk.ScreenKind) {
		t.Helper()
		run("wait for screen "+string(kind), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-state=%q]`, kind))))
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bc, chromedp.CaptureScreenshot())
		require.NoError(t, err, "screenshot %s", name)
		require.Greater(t, len(png), 1000, "screenshot %s has content", name)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "staff-tv-"+name+".png"), png, 0o644))
	}
	click := func(what, sel string) {
		t.Helper()
		run(what, chromedp.Click(chromedp.CSS(sel)))
	}
	chip := func(row, value string) {
		t.Helper()
		sel := fmt.Sprintf(`[data-test=%q] button[data-value=%q]`, row, value)
		click("pick "+value, sel)
		run(value+" is picked", chromedp.WaitVisible(chromedp.CSS(sel+".on")))
	}
	tap := func(uid string) {
		t.Helper()
		require.NoError(t, stationUI{m}.Tap(ctx, config.DemoBooth, uid), "tap %s", uid)
	}

	run("open the kiosk screen", chromedp.Navigate(m.HTTPURL()+"/?booth="+config.DemoBooth))
	state(kiosk.ScreenIdle)

	// The teacher's card opens the staff screen with the idle TV's form.
	tap(uidTeacher)
	state(kiosk.ScreenStaff)
	assert.Equal(t, "王老师", text(`[data-test="staff-name"]`))
	assert.Equal(t, "值班教师", text(`[data-test="staff-role"]`))
	run("the form", chromedp.WaitVisible(chromedp.CSS(`[data-test="tv-start"]`)))
	assert.Equal(t, "true", eval(`String(document.querySelector('[data-test="tv-start"]').disabled)`),
		"开始播放 waits for programme, category, class and head count")
	assert.Equal(t, "true", eval(`String(document.getElementById('help').hidden)`), "no help tile on the staff screen")
	assert.Equal(t, "全体", eval(`document.querySelector('[data-test="tv-classes"] button').textContent`), "全体 first")
	shot("01-staff-screen")

	chip("tv-programmes", "CCTV-少儿")
	chip("tv-categories", "少儿")
	chip("tv-classes", "三年级1班")
	click("+10", `[data-test="tv-count+10"]`)
	for range 9 {
		click("+1", `[data-test="tv-count+1"]`)
	}
	click("-1", `[data-test="tv-count-1"]`)
	assert.Equal(t, "18", text(`[data-test="tv-count"]`))
	assert.Equal(t, "false", eval(`String(document.querySelector('[data-test="tv-start"]').disabled)`))
	shot("02-form-filled")

	click("开始播放", `[data-test="tv-start"]`)
	run("the TV runs", chromedp.WaitVisible(chromedp.CSS(`[data-test="tv-stop"]`)))
	assert.Equal(t, "已开始播放：CCTV-少儿", text(`[data-test="staff-notice"]`))
	assert.Equal(t, "《CCTV-少儿》", text(`[data-test="tv-programme"]`))
	assert.Equal(t, "少儿 · 三年级1班 · 18人 · 组织教师：王老师 · 16:40 开始", text(`[data-test="tv-facts"]`))
	assert.Equal(t, gpio.High, pin.Read(), "the relay turned the TV on")
	rows, err := m.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, []any{"CCTV-少儿", "少儿", "三年级1班", 18, "王老师"},
		[]any{rows[0].Programme, rows[0].Category, rows[0].Class, rows[0].Headcount, rows[0].Teacher})
	shot("03-playing")

	// English, for a visiting technician; then back.
	click("English", `[data-test="lang"]`)
	assert.Equal(t, "Stop", text(`[data-test="tv-stop"]`))
	assert.Contains(t, text(`[data-test="tv-facts"]`), "Children · 三年级1班 · 18 children")
	shot("04-playing-en")
	click("中文", `[data-test="lang"]`)

	clock.Add(40 * time.Minute)
	click("结束播放", `[data-test="tv-stop"]`)
	run("the form again", chromedp.WaitVisible(chromedp.CSS(`[data-test="tv-start"]`)))
	assert.Equal(t, "已结束播放，电视已关闭", text(`[data-test="staff-notice"]`))
	assert.Equal(t, gpio.Low, pin.Read(), "the relay turned the TV off")
	shot("05-stopped")

	// A technician sees the TVs, not the form.
	tap(uidTech)
	run("technician", chromedp.WaitVisible(chromedp.CSS(`[data-test="staff-notice"]`)))
	run("刘工's screen", chromedp.Poll[chromedp.Void](`document.querySelector('[data-test="staff-name"]').textContent === '刘工'`))
	assert.Equal(t, "技术员只能查看电视状态", text(`[data-test="staff-notice"]`))
	assert.Equal(t, "0", eval(`String(document.querySelectorAll('[data-test="tv-start"]').length)`), "no form")
	shot("06-technician")

	click("退出", `[data-test="staff-done"]`)
	state(kiosk.ScreenIdle)
	assert.Equal(t, "false", eval(`String(document.getElementById('help').hidden)`), "the help tile is back")
	assert.Equal(t, "", eval(`document.body.getAttribute('data-errors') || ''`), "no script error or CSP violation")
}
