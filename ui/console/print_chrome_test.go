package console

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// utf16Hex is how a PDF text string (the document's /Title) holds s:
// UTF-16BE after a byte order mark, as hex digits.
func utf16Hex(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// TestPrintRegisterChrome logs in with headless Chromium, opens the calls
// register, opens its print view and prints it to PDF with the page's CSS
// page size: the PDF must have A4 landscape pages, more than one for 120
// calls, and the school's name (in its title, the only text a PDF keeps
// searchable without parsing fonts).
func TestPrintRegisterChrome(t *testing.T) {
	chromium := browsertest.Require(t, "drives Chromium")
	e := newEnv(t)
	ctx0 := context.Background()
	for i := 0; i < 120; i++ {
		st := t0.Add(-time.Duration(i+3) * time.Hour)
		require.NoError(t, e.db.CallEnded(ctx0, kiosk.CallRecord{CallID: "p" + itoa(int64(i)), Booth: "b1", ChildID: e.ids["张丽"], ChildName: "张丽",
			Class: "五年级2班", ContactName: "张奶奶", Relation: "奶奶", Mode: kiosk.ModePhone, Number: "+86" + fullNumbers[2],
			Started: st, Ended: st.Add(time.Minute), Disposition: kiosk.DispAnswered, Billsec: 50 * time.Second, ClockSynced: true}))
	}
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
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
			t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, html)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err, "screenshot %s", name)
		require.NoError(t, os.WriteFile(filepath.Join(out, name+".png"), png, 0o644))
	}
	step("open the login page", chromedp.Navigate(e.srv.URL+"/console/calls"), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)))
	step("log in",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "manager"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.tiles`)))
	shot("console-today")
	step("open the register", chromedp.Navigate(e.srv.URL+"/console/calls?mode=phone&from=2026-11-01&to=2026-11-30"),
		chromedp.WaitVisible(chromedp.CSS(`table.register`)))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "/console/calls", "logged in and on the register")

	shot("console-calls")
	step("open a child's page", chromedp.Navigate(e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"]))), chromedp.WaitVisible(chromedp.CSS(`table.grid`)))
	shot("console-child")
	step("back to the register", chromedp.Navigate(e.srv.URL+"/console/calls?mode=phone&from=2026-11-01&to=2026-11-30"), chromedp.WaitVisible(chromedp.CSS(`table.register`)))
	step("open the print view", chromedp.Click(chromedp.CSS(`a[href*="print=1"]`)), chromedp.WaitVisible(chromedp.CSS(`table.printed`)))
	shot("console-calls-print")
	period, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.period`)))
	require.NoError(t, err)
	assert.Contains(t, period, "2026-11-01 至 2026-11-30", "the print view keeps the register's filter")
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(func(p *page.PrintToPDFParams) { yes := true; p.PreferCSSPageSize = &yes }))
	require.NoError(t, err, "print to PDF")
	p := filepath.Join(out, "calls-register.pdf")
	require.NoError(t, os.WriteFile(p, pdf, 0o644))
	t.Logf("PDF in %s (%d bytes)", p, len(pdf))

	s := string(pdf)
	pages := regexp.MustCompile(`/Type\s*/Page\b[^s]`).FindAllStringIndex(s, -1)
	assert.GreaterOrEqual(t, len(pages), 3, "123 rows take several pages")
	assert.Regexp(t, `/MediaBox\s*\[0 0 84[12]\.\d+ 59[45]\.\d+\]`, s, "A4 landscape from the print stylesheet")
	upper := strings.ToUpper(s)
	assert.True(t, strings.Contains(upper, utf16Hex(school)) || strings.Contains(s, school),
		"the PDF carries the school's name")
}
