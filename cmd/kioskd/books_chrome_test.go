package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
)

// testClock is a settable wall clock for the daemon (Main.now).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestBooksWalkChrome walks the library at the kiosk screen in headless
// Chromium against the demo daemon, as a child and a teacher would: tap,
// 借书 with the on-screen keypad, 借书 with a USB scanner typing into the
// page, a third book refused by the limit, a return at the idle screen
// without a card, and ten days later (the daemon's clock is injected)
// the overdue reminder on the child's next tap. Screenshots of each step
// go to the test's temp dir or $KIOSK_SCREENSHOT_DIR.
func TestBooksWalkChrome(t *testing.T) {
	if testing.Short() {
		t.Skip("browser walk: skipped under -short")
	}
	chromium := browsertest.Require(t, "the library walk drives the kiosk screen in Chromium")

	clock := &testClock{t: time.Date(2026, 10, 12, 16, 40, 0, 0, time.FixedZone("CST", 8*3600))}
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.now = clock.Now
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	require.NotNil(t, m.desk, "[books] is on in the demo")

	ctx := context.Background()
	isbn1, err := books.ParseISBN("9787020000012")
	require.NoError(t, err)
	isbn2, err := books.ParseISBN("9787530111116")
	require.NoError(t, err)
	isbn3, err := books.ParseISBN("9787111222224")
	require.NoError(t, err)
	// The first copy carries the school's accession number (digits, typed
	// on the keypad), the others the ISBN and a copy number (scanned).
	_, err = m.db.ApplyCatalogue(ctx, []books.Title{
		{ISBN: isbn1, Title: "小王子", Author: "圣埃克苏佩里", Copies: []string{"100001"}},
		{ISBN: isbn2, Title: "草房子", Author: "曹文轩", Copies: []string{books.CopyBarcode(isbn2, 1)}},
		{ISBN: isbn3, Title: "十万个为什么", Author: "编委会", Copies: []string{books.CopyBarcode(isbn3, 1)}},
	}, false)
	require.NoError(t, err)

	p := browsertest.Start(t, chromium, 1024, 600, false)
	p.Prefix = "books-"
	keypad := func(code string) {
		t.Helper()
		for _, k := range code {
			p.Run("keypad "+string(k), chromedp.Click(chromedp.CSS(fmt.Sprintf(`#keypad button[data-key=%q]`, string(k)))))
		}
		assert.Equal(t, code, p.Text(`#scan-code`), "the keypad shows what was typed")
		p.Run("keypad ok", chromedp.Click(chromedp.CSS(`[data-test="key-ok"]`)))
	}
	// scanner types as a keyboard-wedge scanner does: the code, then Enter.
	scanner := func(code string) {
		t.Helper()
		p.Run("scan "+code, chromedp.KeyEvent(code+"\r"))
	}
	tap := func(uid string) {
		t.Helper()
		require.NoError(t, m.station.Tap(ctx, config.DemoBooth, uid), "tap %s", uid)
	}

	p.Run("open the kiosk screen", chromedp.Navigate(m.HTTPURL()+"/?booth="+config.DemoBooth))
	p.WaitState(kiosk.ScreenIdle)
	p.Run("the idle screen offers 还书", chromedp.WaitVisible(chromedp.CSS(`[data-test="idle-return"]`)))
	p.Shot("01-idle")

	// The child taps and borrows the first book on the keypad.
	tap("DE000001")
	p.WaitState(kiosk.ScreenIdentified)
	p.Run("借书", chromedp.Click(chromedp.CSS(`[data-test="borrow"]`)))
	p.WaitState(kiosk.ScreenBookScan)
	p.Shot("02-scan")
	keypad("100001")
	p.WaitState(kiosk.ScreenBookLent)
	assert.Contains(t, p.Text(`[data-test="lent-title"]`), "小王子")
	due := clock.Now().AddDate(0, 0, 7)
	assert.Contains(t, p.Text(`[data-test="lent-due"]`), fmt.Sprintf("%d月%d日", due.Month(), due.Day()), "7-day loan, due date shown")
	p.Shot("03-lent-keypad")

	// The second with the USB scanner.
	p.WaitState(kiosk.ScreenIdentified)
	p.Run("借书 again", chromedp.Click(chromedp.CSS(`[data-test="borrow"]`)))
	p.WaitState(kiosk.ScreenBookScan)
	scanner(books.CopyBarcode(isbn2, 1))
	p.WaitState(kiosk.ScreenBookLent)
	assert.Contains(t, p.Text(`[data-test="lent-title"]`), "草房子")
	p.Shot("04-lent-scanner")

	// The third is refused: at most 2 books at once.
	p.WaitState(kiosk.ScreenIdentified)
	p.Run("借书 a third", chromedp.Click(chromedp.CSS(`[data-test="borrow"]`)))
	p.WaitState(kiosk.ScreenBookScan)
	scanner(books.CopyBarcode(isbn3, 1))
	p.WaitState(kiosk.ScreenDenied)
	assert.Equal(t, "你已经借了2本书，先还一本再借吧", p.Text(`[data-test="denied-words"]`))
	p.Shot("05-third-refused")

	// Back at the idle screen, the first book comes back without a card.
	p.WaitState(kiosk.ScreenIdentified)
	require.NoError(t, m.station.Hangup(ctx, config.DemoBooth), "the child is done: back to idle")
	p.WaitState(kiosk.ScreenIdle)
	p.Run("还书 at idle", chromedp.Click(chromedp.CSS(`[data-test="idle-return"]`)))
	p.WaitState(kiosk.ScreenBookScan)
	keypad("100001")
	p.WaitState(kiosk.ScreenBookReturned)
	assert.Contains(t, p.Text(`[data-test="returned-title"]`), "小王子")
	assert.Equal(t, "还书成功，谢谢你！", p.Text(`[data-test="returned-words"]`), "on time: no word about lateness")
	p.Shot("06-returned")

	// Ten days later the child taps: 草房子 is 3 days late, said kindly.
	clock.Add(10 * 24 * time.Hour)
	p.WaitState(kiosk.ScreenIdle)
	tap("DE000001")
	p.WaitState(kiosk.ScreenIdentified)
	p.Run("overdue line", chromedp.WaitVisible(chromedp.CSS(`[data-test="overdue-book"]`)))
	assert.Equal(t, "《草房子》已经晚了3天，记得带来还哦", p.Text(`[data-test="overdue-book"]`))
	p.Shot("07-overdue-next-tap")
}
