// Package browsertest finds and starts the headless Chromium that the
// screen, console and video tests drive (chromedp), with one rule for
// every suite: skipped under -short; when Chromium is missing, skipped with
// a message, or failed when KIOSK_REQUIRE_PEERS=1 (which .ci/run sets), so
// CI can never pass by skipping. Start gives a test one tab with the steps
// the suites share (Page); Launch a process for tests that open tabs of
// their own.
package browsertest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Find returns the Chromium to drive: $KIOSK_CHROMIUM, Debian's
// /usr/bin/chromium, or chromium, chromium-browser or google-chrome on
// PATH; "" when there is none. A $KIOSK_CHROMIUM that names no program
// counts as none (no fallback), so a wrong setting shows.
func Find() string {
	if p := os.Getenv("KIOSK_CHROMIUM"); p != "" {
		if p, err := exec.LookPath(p); err == nil {
			return p
		}
		return ""
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require returns the Chromium to drive, or skips tb under -short (saying
// why the suite is slow) and when there is none; with
// KIOSK_REQUIRE_PEERS=1 a missing Chromium fails tb instead.
func Require(tb testing.TB, why string) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip(why + "; skipped under -short")
	}
	p := Find()
	if p == "" {
		if os.Getenv("KIOSK_REQUIRE_PEERS") == "1" {
			tb.Fatal("chromium not found and KIOSK_REQUIRE_PEERS=1: install Debian package chromium")
		}
		tb.Skip("chromium not found: install Debian package chromium")
	}
	return p
}

// Options are the exec allocator options for a headless Chromium at path,
// with its own profile in dir and a w x h window: no sandbox (CI runs as
// root), no GPU, and none of the background networking that this closed
// network refuses. Media adds a fake camera and microphone, granted
// without asking, and sound without a user gesture (the video pages).
func Options(path, dir string, w, h int, media bool) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(w, h),
	}
	if media {
		opts = append(opts,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	}
	return opts
}
