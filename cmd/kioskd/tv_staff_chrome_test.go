package main

import (
	"context"
	"fmt"
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

	p := browsertest.Start(t, chromium, 1024, 600, false)
	p.Prefix = "staff-tv-"
	click := func(what, sel string) {
		t.Helper()
		p.Run(what, chromedp.Click(chromedp.CSS(sel)))
	}
	chip := func(row, value string) {
		t.Helper()
		sel := fmt.Sprintf(`[data-test=%q] button[data-value=%q]`, row, value)
		click("pick "+value, sel)
		p.Run(value+" is picked", chromedp.WaitVisible(chromedp.CSS(sel+".on")))
	}
	tap := func(uid string) {
		t.Helper()
		require.NoError(t, stationUI{m}.Tap(ctx, config.DemoBooth, uid), "tap %s", uid)
	}

	p.Run("open the kiosk screen", chromedp.Navigate(m.HTTPURL()+"/?booth="+config.DemoBooth))
	p.WaitState(kiosk.ScreenIdle)

	// The teacher's card opens the staff screen with the idle TV's form.
	tap(uidTeacher)
	p.WaitState(kiosk.ScreenStaff)
	assert.Equal(t, "王老师", p.Text(`[data-test="staff-name"]`))
	assert.Equal(t, "值班教师", p.Text(`[data-test="staff-role"]`))
	p.Run("the form", chromedp.WaitVisible(chromedp.CSS(`[data-test="tv-start"]`)))
	assert.Equal(t, "true", browsertest.Eval[string](p, `String(document.querySelector('[data-test="tv-start"]').disabled)`),
		"开始播放 waits for programme, category, class and head count")
	assert.Equal(t, "true", browsertest.Eval[string](p, `String(document.getElementById('help').hidden)`), "no help tile on the staff screen")
	assert.Equal(t, "全体", browsertest.Eval[string](p, `document.querySelector('[data-test="tv-classes"] button').textContent`), "全体 first")
	p.Shot("01-staff-screen")

	chip("tv-programmes", "CCTV-少儿")
	chip("tv-categories", "少儿")
	chip("tv-classes", "三年级1班")
	click("+10", `[data-test="tv-count+10"]`)
	for range 9 {
		click("+1", `[data-test="tv-count+1"]`)
	}
	click("-1", `[data-test="tv-count-1"]`)
	assert.Equal(t, "18", p.Text(`[data-test="tv-count"]`))
	assert.Equal(t, "false", browsertest.Eval[string](p, `String(document.querySelector('[data-test="tv-start"]').disabled)`))
	p.Shot("02-form-filled")

	click("开始播放", `[data-test="tv-start"]`)
	p.Run("the TV runs", chromedp.WaitVisible(chromedp.CSS(`[data-test="tv-stop"]`)))
	assert.Equal(t, "已开始播放：CCTV-少儿", p.Text(`[data-test="staff-notice"]`))
	assert.Equal(t, "《CCTV-少儿》", p.Text(`[data-test="tv-programme"]`))
	assert.Equal(t, "少儿 · 三年级1班 · 18人 · 组织教师：王老师 · 16:40 开始", p.Text(`[data-test="tv-facts"]`))
	assert.Equal(t, gpio.High, pin.Read(), "the relay turned the TV on")
	rows, err := m.db.TVSessions(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, []any{"CCTV-少儿", "少儿", "三年级1班", 18, "王老师"},
		[]any{rows[0].Programme, rows[0].Category, rows[0].Class, rows[0].Headcount, rows[0].Teacher})
	p.Shot("03-playing")

	// English, for a visiting technician; then back.
	click("English", `[data-test="lang"]`)
	assert.Equal(t, "Stop", p.Text(`[data-test="tv-stop"]`))
	assert.Contains(t, p.Text(`[data-test="tv-facts"]`), "Children · 三年级1班 · 18 children")
	p.Shot("04-playing-en")
	click("中文", `[data-test="lang"]`)

	clock.Add(40 * time.Minute)
	click("结束播放", `[data-test="tv-stop"]`)
	p.Run("the form again", chromedp.WaitVisible(chromedp.CSS(`[data-test="tv-start"]`)))
	assert.Equal(t, "已结束播放，电视已关闭", p.Text(`[data-test="staff-notice"]`))
	assert.Equal(t, gpio.Low, pin.Read(), "the relay turned the TV off")
	p.Shot("05-stopped")

	// A technician sees the TVs, not the form.
	tap(uidTech)
	p.Run("technician", chromedp.WaitVisible(chromedp.CSS(`[data-test="staff-notice"]`)))
	p.Poll("刘工's screen", `document.querySelector('[data-test="staff-name"]').textContent === '刘工'`)
	assert.Equal(t, "技术员只能查看电视状态", p.Text(`[data-test="staff-notice"]`))
	assert.Equal(t, "0", browsertest.Eval[string](p, `String(document.querySelectorAll('[data-test="tv-start"]').length)`), "no form")
	p.Shot("06-technician")

	click("退出", `[data-test="staff-done"]`)
	p.WaitState(kiosk.ScreenIdle)
	assert.Equal(t, "false", browsertest.Eval[string](p, `String(document.getElementById('help').hidden)`), "the help tile is back")
	assert.Equal(t, "", browsertest.Eval[string](p, `document.body.getAttribute('data-errors') || ''`), "no script error or CSP violation")
}
