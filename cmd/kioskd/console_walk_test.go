package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
	"github.com/qinqing/station/kiosk/sqlite"
)

// walkSchool is the school's name the walk's daemon prints on registers.
const walkSchool = "青山村希望小学"

// TestConsoleWalkChrome is the manager's walk through the console in
// headless Chromium against the demo daemon (issue 5): log in through the
// form; upload a roster with a bad row (line 3, a 10-digit phone) through
// the file input, see the row and its problem in the preview, and check in
// SQLite that nothing was written; upload the fixed file and import it; on
// the new child's page enrol a card by tapping it at the demo booth; the
// child taps that card and calls a parent through the demo trunk; the
// calls register for today shows the call with the number masked; the
// XLSX export, downloaded by the browser, has the register's sheet, title,
// header and row; the print view prints to PDF with the school's name.
// Screenshots of every step go to $KIOSK_SCREENSHOT_DIR or the test's temp
// dir, prefixed "console-walk-".
func TestConsoleWalkChrome(t *testing.T) {
	chromium := browsertest.Require(t, "the console walk drives Chromium against the whole daemon")

	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Tweak = func(c *config.Config) { c.Station.School = walkSchool }
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	base := m.HTTPURL()
	ctx := context.Background()

	// The first manager, as `kioskctl user add --role manager` makes it.
	const user, pw = "walker", "console walk password"
	_, err := m.db.AddUser(ctx, "test", sqlite.NewUser{Username: user, DisplayName: "李老师", Role: sqlite.RoleManager, Password: pw})
	require.NoError(t, err)

	downloads := t.TempDir()
	badCSV, err := filepath.Abs(filepath.Join("..", "..", "ui", "console", "testdata", "roster_bad.csv"))
	require.NoError(t, err)
	goodCSV, err := filepath.Abs(filepath.Join("..", "..", "ui", "console", "testdata", "roster_good.csv"))
	require.NoError(t, err)

	p := browsertest.Start(t, chromium, 1280, 900, false)
	p.Full = true
	p.Prefix = "console-walk-"
	body := func() string {
		t.Helper()
		return browsertest.Eval[string](p, `document.body.innerText`)
	}
	// settle waits until the page navigated to is loaded and js is true
	// there; errors while the old page goes away are retried.
	settle := func(what, js string) {
		t.Helper()
		js = `document.readyState === 'complete' && (` + js + `)`
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if ok, err := chromedp.Run(p.Ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
				return
			}
		}
		loc, _ := chromedp.Run(p.Ctx, chromedp.Location())
		t.Fatalf("%s: %s never held (at %s)", what, js, loc)
	}
	// shot numbers the walk's screenshots: console-walk-NN-name.png.
	n := 0
	shot := func(name string) {
		t.Helper()
		n++
		p.Shot(fmt.Sprintf("%02d-%s", n, name))
	}
	// roster counts the children and the roster journal entries.
	roster := func() (children, journal int) {
		t.Helper()
		es, err := m.db.RosterEntries(ctx)
		require.NoError(t, err)
		log, err := m.db.RosterLog(ctx, time.Time{}, time.Time{})
		require.NoError(t, err)
		return len(es), len(log)
	}
	screens := func() (<-chan kiosk.Screen, func()) {
		t.Helper()
		ch, cancel, err := m.station.Subscribe(config.DemoBooth)
		require.NoError(t, err)
		return ch, cancel
	}

	// Log in through the form: any console page leads there first.
	p.Run("open the console", chromedp.Navigate(base+"/console/children"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)))
	assert.Contains(t, p.Text(`h1`), walkSchool, "the login page names the school")
	shot("login")
	p.Run("log in",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pw),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.tiles`)))
	shot("today")

	// The roster with a bad row: every row shown, line 3 marked, nothing written.
	p.Run("open the children", chromedp.Navigate(base+"/console/children"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/roster/import"]`)))
	shot("children")
	p.Run("open the import", chromedp.Click(chromedp.CSS(`a[href="/console/roster/import"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[type=file][name=file]`)))
	shot("import-form")
	children0, journal0 := roster()
	p.Run("upload the bad roster",
		chromedp.SetUploadFiles(chromedp.CSS(`input[type=file][name=file]`), []string{badCSV}),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.import-preview`)))
	shot("import-bad-preview")
	assert.Contains(t, p.Text(`p.msg.bad`), "未写入任何数据", "the preview says nothing was written")
	bad := p.Text(`tr.bad-row#line-3`)
	assert.Contains(t, bad, "刘洋", "line 3 is 刘洋's row")
	assert.Contains(t, bad, "电话1：", "the problem names the column")
	page := body()
	assert.Contains(t, page, "1 行有问题")
	assert.NotContains(t, page, "确认导入", "no import button while a row has a problem")
	assert.NotContains(t, page, "13800000013", "numbers are masked in the preview")
	assert.Equal(t, 3, browsertest.Eval[int](p, `document.querySelectorAll('table.import-preview tbody tr').length`), "every row is shown")
	children1, journal1 := roster()
	assert.Equal(t, children0, children1, "the bad file added no child")
	assert.Equal(t, journal0, journal1, "the bad file journaled nothing")

	// The fixed file: preview, import.
	p.Run("upload again", chromedp.Click(chromedp.CSS(`a[href="/console/roster/import"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[type=file][name=file]`)))
	p.Run("upload the fixed roster",
		chromedp.SetUploadFiles(chromedp.CSS(`input[type=file][name=file]`), []string{goodCSV}),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/console/roster/import/commit"] button[type=submit]`)))
	shot("import-good-preview")
	assert.Contains(t, body(), "学生新增 3、更新 0、不变 0", "three new children in the demo")
	children2, _ := roster()
	assert.Equal(t, children0, children2, "a preview writes nothing")
	p.Run("import",
		chromedp.Click(chromedp.CSS(`form[action="/console/roster/import/commit"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.msg.ok`)))
	shot("import-done")
	assert.Contains(t, p.Text(`p.msg.ok`), "已导入 3 行")
	children3, journal3 := roster()
	assert.Equal(t, children0+3, children3, "the import added 张丽, 刘洋 and 陈静")
	assert.Greater(t, journal3, journal0, "the import is journaled")

	// Enrol a card for 刘洋 at the demo booth: the form's POST waits for
	// the tap, so the click does not wait for the page.
	kids, err := m.db.ChildByName(ctx, "刘洋")
	require.NoError(t, err)
	require.Len(t, kids, 1)
	child := base + "/console/children/" + strconv.FormatInt(int64(kids[0].ID), 10)
	p.Run("open the child's page", chromedp.Navigate(child), chromedp.WaitVisible(chromedp.CSS(`form[data-test=enrol]`)))
	assert.Contains(t, p.Text(`h1`), "刘洋")
	assert.Contains(t, p.Text(`ul.cards`), "0A1B2C3D", "the card from the roster file")
	shot("child")
	const newCard = "E0A1B2C3"
	sc, stop := screens()
	p.Run("enrol at the booth",
		chromedp.SetValue(chromedp.CSS(`form[data-test=enrol] select[name=booth]`), config.DemoBooth),
		chromedp.Click(chromedp.CSS(`form[data-test=enrol] button[type=submit]`)))
	nextScreen(t, sc, kiosk.ScreenEnrol)
	stop()
	require.NoError(t, m.station.Tap(ctx, config.DemoBooth, newCard), "the new card tapped at the booth")
	p.Run("the enrolment's answer", chromedp.WaitVisible(chromedp.CSS(`section.card p.msg`)))
	shot("card-enrolled")
	assert.Contains(t, p.Text(`section.card p.msg`), "卡已登记并启用")
	p.Run("back to the child's page", chromedp.Click(chromedp.CSS(`section.card a[href^="/console/children/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.cards`)))
	assert.Contains(t, p.Text(`ul.cards`), newCard, "the child's page lists the new card")
	shot("child-with-card")

	// The child taps the new card and calls 刘强 (slot 1); the demo trunk
	// answers after 2 s, and the child hangs up.
	sc, stop = screens()
	nextScreen(t, sc, kiosk.ScreenIdle)
	require.NoError(t, m.station.Tap(ctx, config.DemoBooth, newCard))
	assert.Equal(t, "刘洋", nextScreen(t, sc, kiosk.ScreenIdentified).Child, "the enrolled card identifies the child")
	require.NoError(t, m.station.Pick(ctx, config.DemoBooth, 1))
	nextScreen(t, sc, kiosk.ScreenConnected)
	require.NoError(t, m.station.Hangup(ctx, config.DemoBooth))
	nextScreen(t, sc, kiosk.ScreenEnded)
	stop()
	var calls []sqlite.CallRow
	for deadline := time.Now().Add(10 * time.Second); len(calls) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		calls, err = m.db.Calls(ctx, time.Time{}, time.Time{})
		require.NoError(t, err)
	}
	require.Len(t, calls, 1, "the call is in the ledger")
	require.Equal(t, kiosk.DispAnswered, calls[0].Disposition)
	require.Equal(t, "+8613800000012", calls[0].Number)

	// The calls register for today: the row, the number masked.
	p.Run("open the calls register", chromedp.Navigate(base+"/console/calls"),
		chromedp.WaitVisible(chromedp.CSS(`table.register`)))
	today, err := chromedp.Run(p.Ctx, chromedp.Value(chromedp.CSS(`form.filters input[name=to]`)))
	require.NoError(t, err)
	require.Regexp(t, `^\d{4}-\d\d-\d\d$`, today, "the register ends today by default")
	p.Run("filter today",
		chromedp.SetValue(chromedp.CSS(`form.filters input[name=from]`), today),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)))
	// The month's register has the row too: wait for today's page.
	settle("today's register", `location.search.indexOf('from=`+today+`') >= 0`)
	p.Run("today's rows", chromedp.WaitVisible(chromedp.CSS(`table.register tbody tr`)))
	assert.Contains(t, p.URL(), "from="+today+"&to="+today, "the register shows today")
	shot("calls-register")
	reg := p.Text(`table.register tbody`)
	assert.Contains(t, reg, "刘洋")
	assert.Contains(t, reg, "四年级1班")
	assert.Contains(t, reg, "138****0012", "the number masked")
	assert.NotContains(t, body(), "13800000012", "no full number on the register")
	assert.Contains(t, p.Text(`div.actions`), "共 1 条")
	assert.True(t, browsertest.Eval[bool](p, `document.querySelector('.actions form[action="/console/calls.xlsx"] button') !== null`), "the export with numbers sits with the other exports (a form may not sit in a <p>)")

	// Export XLSX: the browser downloads it into downloads.
	progress := chromedp.Events(p.Ctx, cdpbrowser.DownloadProgress)
	yes := true
	p.Run("export XLSX",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(chromedp.CSS(`div.actions a[href^="/console/calls.xlsx?"]`)))
	var xlsxPath string
	for ev, err := range progress {
		require.NoError(t, err, "wait for the download")
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the XLSX download was cancelled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			xlsxPath = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	xb, err := os.ReadFile(xlsxPath)
	require.NoError(t, err, "the downloaded XLSX")
	require.NoError(t, os.WriteFile(filepath.Join(p.Dir, "console-walk-calls.xlsx"), xb, 0o644))
	x, err := excelize.OpenReader(bytes.NewReader(xb))
	require.NoError(t, err, "a valid XLSX")
	defer x.Close()
	assert.Equal(t, []string{"通话记录"}, x.GetSheetList())
	xrows, err := x.GetRows("通话记录")
	require.NoError(t, err)
	require.Len(t, xrows, 4, "school, title, header, one call")
	assert.Equal(t, walkSchool, xrows[0][0])
	assert.Contains(t, xrows[1][0], "亲情电话通话记录")
	assert.Contains(t, xrows[1][0], today+" 至 "+today)
	assert.Equal(t, register.Header, xrows[2])
	row := xrows[3]
	require.Len(t, row, len(register.Header))
	assert.Equal(t, "1", row[0], "序号")
	assert.Equal(t, "刘洋", row[2])
	assert.Equal(t, "四年级1班", row[3])
	assert.Contains(t, row[4], "刘强")
	assert.Equal(t, "138****0012", row[5], "masked in the export")
	shot("calls-exported")

	// Print: the print view to PDF, with the school's name.
	p.Run("open the print view", chromedp.Click(chromedp.CSS(`div.actions a[href*="print=1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.printed`)))
	shot("calls-print")
	assert.Contains(t, p.Text(`table.printed thead`), walkSchool)
	assert.Contains(t, p.Text(`table.printed tbody`), "138****0012")
	pdf, err := chromedp.Run(p.Ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize()))
	require.NoError(t, err, "print to PDF")
	require.NoError(t, os.WriteFile(filepath.Join(p.Dir, "console-walk-calls.pdf"), pdf, 0o644))
	assert.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")), "a PDF")
	assert.GreaterOrEqual(t, browsertest.PDFPages(pdf), 1, "at least one page")
	assert.True(t, browsertest.PDFHasText(pdf, walkSchool), "the PDF carries the school's name")

	// The walk is in the audit log, and the ledger still verifies.
	audit, err := m.db.AuditLog(ctx, 0, 200)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, e := range audit {
		if e.Actor == user {
			seen[e.Action] = true
		}
	}
	for _, a := range []string{"preview_roster_import", "import_roster", "card_enrol"} {
		assert.True(t, seen[a], "%s audited (saw %v)", a, seen)
	}
	res, err := m.db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}
