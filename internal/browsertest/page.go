package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// Bounds of a Page: the whole test's browsing, and one step (Run, Poll).
const (
	PageTimeout = 2 * time.Minute
	StepTimeout = 20 * time.Second
)

// Page is one headless Chromium with one tab, for a test that drives one
// screen (the kiosk page, the console): Start makes it, the test's
// cleanups stop it. Its methods fail the test at the first error, naming
// the step, the page's address and what Debug shows.
type Page struct {
	// Ctx is the tab, bounded to PageTimeout from Start: pass it to
	// chromedp for what the methods do not cover (downloads, PDF).
	Ctx context.Context
	// Dir is where Shot writes: see ShotDir.
	Dir string
	// Prefix starts every screenshot's file name, e.g. "books-".
	Prefix string
	// Full makes Shot capture the whole page, not only the viewport.
	Full bool
	// Debug is JavaScript whose string value a failed Run or Poll shows;
	// default the page's HTML.
	Debug string

	t testing.TB
}

// Start starts Chromium at path chromium (from Require) with a w×h window
// and viewport (media: a fake camera and microphone, see Options), and
// returns its tab. Screenshots go to ShotDir(t, "").
func Start(t testing.TB, chromium string, w, h int, media bool) *Page {
	t.Helper()
	p := &Page{Dir: ShotDir(t, ""), Debug: `document.documentElement.outerHTML`, t: t}
	ctx, cancel := context.WithTimeout(Launch(t, chromium, w, h, media), PageTimeout)
	t.Cleanup(cancel)
	p.Ctx = ctx
	return p
}

// Launch starts a Chromium process at path chromium with its own profile
// and a w×h window and viewport, and returns the context of its first
// tab, not bounded (a new tab is chromedp.NewContext of it). The first
// action starts the process: it carries no timeout, which would stop the
// browser with it. The process is stopped when t's cleanups run; Chromium's
// log goes to t.Logf.
func Launch(t testing.TB, chromium string, w, h int, media bool) context.Context {
	t.Helper()
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		Options(chromium, t.TempDir(), w, h, media)...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(int64(w), int64(h))), "start chromium %s", chromium)
	return bctx
}

// ShotDir is where t's screenshots go, made if need be:
// $KIOSK_SCREENSHOT_DIR/sub (sub may be "", and the directory is kept
// after the test, e.g. as CI artifacts), or a temp dir of t when the
// variable is unset.
func ShotDir(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("KIOSK_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, sub)
	}
	require.NoError(t, os.MkdirAll(dir, 0o755), "screenshot dir")
	t.Logf("screenshots in %s", dir)
	return dir
}

// Run runs actions as the step what, within StepTimeout.
func (p *Page) Run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// Poll waits up to StepTimeout for the JavaScript expression js to be
// truthy (chromedp.Poll, on every animation frame).
func (p *Page) Poll(what, js string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, StepTimeout+2*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(StepTimeout))); err != nil {
		p.fail(what, err)
	}
}

// WaitState waits until the kiosk screen shows kind: its <main> carries
// data-state="kind" (ui/assets/app.js) and is visible.
func (p *Page) WaitState(kind kiosk.ScreenKind) {
	p.t.Helper()
	p.Run("wait for screen "+string(kind), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`main[data-state=%q]`, kind))))
}

// Text is the text of the first element that CSS selector sel matches,
// without leading and trailing space; it waits for the element.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(p.t, err, "read %s", sel)
	return strings.TrimSpace(s)
}

// URL is the tab's address now.
func (p *Page) URL() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.Ctx, chromedp.Location())
	require.NoError(p.t, err, "location")
	return loc
}

// Shot saves a PNG screenshot as Dir/Prefix+name+".png" and checks it has
// content (more than 1000 bytes).
func (p *Page) Shot(name string) {
	p.t.Helper()
	shoot := chromedp.CaptureScreenshot()
	if p.Full {
		shoot = chromedp.FullScreenshot(100) // quality 100: PNG
	}
	png, err := chromedp.Run(p.Ctx, shoot)
	require.NoError(p.t, err, "screenshot %s", name)
	require.Greater(p.t, len(png), 1000, "screenshot %s has content", name)
	require.NoError(p.t, os.WriteFile(filepath.Join(p.Dir, p.Prefix+name+".png"), png, 0o644))
}

// Eval is the value of the JavaScript expression js on p's page, as T
// (int, bool, string... as encoding/json decodes it). A function, not a
// method, since Go methods take no type parameters.
func Eval[T any](p *Page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.Ctx, chromedp.Evaluate[T](js))
	require.NoError(p.t, err, "evaluate %s", js)
	return v
}

// fail ends the test at step what, with the page's address and Debug.
func (p *Page) fail(what string, err error) {
	p.t.Helper()
	loc, _ := chromedp.Run(p.Ctx, chromedp.Location())
	var debug string
	if p.Debug != "" {
		debug, _ = chromedp.Run(p.Ctx, chromedp.Evaluate[string](p.Debug))
	}
	p.t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, debug)
}
