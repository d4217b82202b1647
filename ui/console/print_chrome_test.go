package console

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// TestPrintRegisterChrome logs in with headless Chromium, opens the calls
// register, opens its print view and prints it to PDF with the page's CSS
// page size: the PDF must have A4 landscape pages, more than one for 120
// calls, and the school's name (in its title, the only text a PDF keeps
// searchable without parsing fonts).
func TestPrintRegisterChrome(t *testing.T) {
	chromium := browsertest.Require(t, "drives Chromium")
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < 120; i++ {
		st := t0.Add(-time.Duration(i+3) * time.Hour)
		require.NoError(t, e.db.CallEnded(ctx, kiosk.CallRecord{CallID: "p" + itoa(int64(i)), Booth: "b1", ChildID: e.ids["张丽"], ChildName: "张丽",
			Class: "五年级2班", ContactName: "张奶奶", Relation: "奶奶", Mode: kiosk.ModePhone, Number: "+86" + fullNumbers[2],
			Started: st, Ended: st.Add(time.Minute), Disposition: kiosk.DispAnswered, Billsec: 50 * time.Second, ClockSynced: true}))
	}
	p := browsertest.Start(t, chromium, 1280, 800, false)
	p.Run("open the login page", chromedp.Navigate(e.srv.URL+"/console/calls"), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)))
	p.Run("log in",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "manager"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.tiles`)))
	p.Shot("console-today")
	p.Run("open the register", chromedp.Navigate(e.srv.URL+"/console/calls?mode=phone&from=2026-11-01&to=2026-11-30"),
		chromedp.WaitVisible(chromedp.CSS(`table.register`)))
	assert.Contains(t, p.URL(), "/console/calls", "logged in and on the register")

	p.Shot("console-calls")
	p.Run("open a child's page", chromedp.Navigate(e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"]))), chromedp.WaitVisible(chromedp.CSS(`table.grid`)))
	p.Shot("console-child")
	p.Run("back to the register", chromedp.Navigate(e.srv.URL+"/console/calls?mode=phone&from=2026-11-01&to=2026-11-30"), chromedp.WaitVisible(chromedp.CSS(`table.register`)))
	p.Run("open the print view", chromedp.Click(chromedp.CSS(`a[href*="print=1"]`)), chromedp.WaitVisible(chromedp.CSS(`table.printed`)))
	p.Shot("console-calls-print")
	assert.Contains(t, p.Text(`.period`), "2026-11-01 至 2026-11-30", "the print view keeps the register's filter")
	pdf, err := chromedp.Run(p.Ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize()))
	require.NoError(t, err, "print to PDF")
	out := filepath.Join(p.Dir, "calls-register.pdf")
	require.NoError(t, os.WriteFile(out, pdf, 0o644))
	t.Logf("PDF in %s (%d bytes)", out, len(pdf))

	assert.GreaterOrEqual(t, browsertest.PDFPages(pdf), 3, "123 rows take several pages")
	assert.Regexp(t, `/MediaBox\s*\[0 0 84[12]\.\d+ 59[45]\.\d+\]`, string(pdf), "A4 landscape from the print stylesheet")
	assert.True(t, browsertest.PDFHasText(pdf, school), "the PDF carries the school's name")
}
