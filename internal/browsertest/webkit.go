package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// WebKit is the engine of Safari and of iOS's WKWebView (WeChat's in-app
// browser). On Debian it is WebKitGTK: its WebDriver WebKitWebDriver
// (package webkit2gtk-driver, W3C WebDriver) starts MiniBrowser (package
// libwebkit2gtk-4.1-0), a GTK window that needs an X display: Xvfb
// (package xvfb) or $DISPLAY.
type WebKit struct {
	Driver  string // WebKitWebDriver
	Browser string // MiniBrowser
	Xvfb    string // Xvfb; "" to use $DISPLAY
}

// webkitPackages is what RequireWebKit asks to install.
const webkitPackages = "Debian packages webkit2gtk-driver and xvfb"

// FindWebKit returns the WebKit to drive: WebKitWebDriver on PATH,
// MiniBrowser under /usr/lib/*/webkit2gtk-4.1/ (or $KIOSK_MINIBROWSER),
// and Xvfb on PATH. ok is false when the driver or the browser is
// missing, or when there is neither Xvfb nor $DISPLAY.
func FindWebKit() (wk WebKit, ok bool) {
	wk.Driver, _ = exec.LookPath("WebKitWebDriver")
	if p := os.Getenv("KIOSK_MINIBROWSER"); p != "" {
		wk.Browser, _ = exec.LookPath(p)
	} else if m, _ := filepath.Glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"); len(m) > 0 {
		wk.Browser = m[0]
	}
	wk.Xvfb, _ = exec.LookPath("Xvfb")
	return wk, wk.Driver != "" && wk.Browser != "" && (wk.Xvfb != "" || os.Getenv("DISPLAY") != "")
}

// RequireWebKit returns the WebKit to drive, or skips tb under -short
// (saying why the suite is slow) and when there is none; with
// KIOSK_REQUIRE_PEERS=1 a missing WebKit fails tb instead.
func RequireWebKit(tb testing.TB, why string) WebKit {
	tb.Helper()
	if testing.Short() {
		tb.Skip(why + "; skipped under -short")
	}
	wk, ok := FindWebKit()
	if !ok {
		if os.Getenv("KIOSK_REQUIRE_PEERS") == "1" {
			tb.Fatalf("WebKit not found (%+v) and KIOSK_REQUIRE_PEERS=1: install %s", wk, webkitPackages)
		}
		tb.Skipf("WebKit not found (%+v): install %s", wk, webkitPackages)
	}
	return wk
}

// WebKitOpts are a MiniBrowser's settings: each is a WebKitSettings
// property set on the command line (MiniBrowser --help-websettings), e.g.
// "enable-mock-capture-devices": "true"; Autoplay is MiniBrowser's
// --autoplay-policy ("allow", "allow-without-sound" as iOS, "deny";
// default allow).
type WebKitOpts struct {
	Settings map[string]string
	Autoplay string
}

// WebKitMediaOpts turn on MediaStream, WebRTC and WebKit's mock camera
// and microphone (granted without asking under automation), with
// iOS's autoplay rule: sound needs a tap or an active capture.
func WebKitMediaOpts() WebKitOpts {
	return WebKitOpts{
		Settings: map[string]string{
			"enable-media-stream":          "true",
			"enable-webrtc":                "true",
			"enable-mock-capture-devices":  "true",
			"media-playback-allows-inline": "true",
		},
		Autoplay: "allow-without-sound",
	}
}

// WebKitSession is one MiniBrowser driven over WebDriver; all calls
// are bounded by the context given to them.
type WebKitSession struct {
	base string // http://127.0.0.1:PORT/session/ID
	hc   *http.Client
}

// StartWebKit starts Xvfb (unless wk.Xvfb is ""), WebKitWebDriver on a
// loopback port and a MiniBrowser session with opts; all of it is
// stopped when tb ends. Errors fail tb.
func StartWebKit(tb testing.TB, wk WebKit, opts WebKitOpts) *WebKitSession {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := os.Environ()
	if wk.Xvfb != "" {
		display, err := startXvfb(tb, wk.Xvfb)
		if err != nil {
			tb.Fatalf("start Xvfb: %v", err)
		}
		env = append(env, "DISPLAY="+display)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("webdriver port: %v", err)
	}
	drv := exec.Command(wk.Driver, "--port="+strconv.Itoa(port))
	drv.Env = env
	var drvLog lockedLog
	drv.Stdout, drv.Stderr = &drvLog, &drvLog
	if err := drv.Start(); err != nil {
		tb.Fatalf("start %s: %v", wk.Driver, err)
	}
	tb.Cleanup(func() {
		_ = drv.Process.Kill()
		_ = drv.Wait()
		if tb.Failed() {
			tb.Logf("WebKitWebDriver log:\n%s", drvLog.String())
		}
	})
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := &WebKitSession{hc: &http.Client{}}
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := s.do(ctx, "GET", root+"/status", nil, &status); err == nil && status.Ready {
			break
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("WebKitWebDriver did not answer on %s: %s", root, drvLog.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	args := []string{"--automation"}
	for k, v := range opts.Settings {
		args = append(args, "--"+k+"="+v)
	}
	if opts.Autoplay != "" {
		args = append(args, "--autoplay-policy="+opts.Autoplay)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":              "MiniBrowser",
		"webkitgtk:browserOptions": map[string]any{"binary": wk.Browser, "args": args},
	}}}
	var sess struct {
		SessionID    string         `json:"sessionId"`
		Capabilities map[string]any `json:"capabilities"`
	}
	if err := s.do(ctx, "POST", root+"/session", caps, &sess); err != nil {
		tb.Fatalf("new WebKit session: %v; driver log: %s", err, drvLog.String())
	}
	s.base = root + "/session/" + sess.SessionID
	tb.Logf("WebKit %v (%s)", sess.Capabilities["browserVersion"], wk.Browser)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.do(ctx, "DELETE", s.base, nil, nil)
	})
	return s
}

// Navigate loads url and waits for its load event.
func (s *WebKitSession) Navigate(ctx context.Context, url string) error {
	return s.do(ctx, "POST", s.base+"/url", map[string]string{"url": url}, nil)
}

// Eval runs the function body js in the page (WebDriver Execute Script:
// "return x" gives x) and decodes its JSON value into out (may be nil).
func (s *WebKitSession) Eval(ctx context.Context, js string, out any) error {
	return s.do(ctx, "POST", s.base+"/execute/sync", map[string]any{"script": js, "args": []any{}}, out)
}

// EvalAsync runs js in the page; js calls arguments[0](value) when done,
// and value is decoded into out (may be nil).
func (s *WebKitSession) EvalAsync(ctx context.Context, js string, out any) error {
	return s.do(ctx, "POST", s.base+"/execute/async", map[string]any{"script": js, "args": []any{}}, out)
}

// Click clicks the first element matching the CSS selector sel, as a
// pointer would (the element must be shown).
func (s *WebKitSession) Click(ctx context.Context, sel string) error {
	var el map[string]string
	if err := s.do(ctx, "POST", s.base+"/element", map[string]string{"using": "css selector", "value": sel}, &el); err != nil {
		return fmt.Errorf("find %s: %w", sel, err)
	}
	for _, id := range el { // one key: the W3C element identifier
		return s.do(ctx, "POST", s.base+"/element/"+id+"/click", map[string]any{}, nil)
	}
	return fmt.Errorf("find %s: no element id in %v", sel, el)
}

// Screenshot returns a PNG of the page's viewport.
func (s *WebKitSession) Screenshot(ctx context.Context) ([]byte, error) {
	var b64 string
	if err := s.do(ctx, "GET", s.base+"/screenshot", nil, &b64); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(b64)
}

// SetWindow sets the browser window's size in CSS pixels.
func (s *WebKitSession) SetWindow(ctx context.Context, w, h int) error {
	return s.do(ctx, "POST", s.base+"/window/rect", map[string]int{"width": w, "height": h}, nil)
}

// ErrWebDriver is wrapped by the errors WebDriver answers.
var ErrWebDriver = errors.New("webdriver")

// do sends one WebDriver command and decodes its "value" into out.
func (s *WebKitSession) do(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%w: %s %s: %d %s: %s", ErrWebDriver, method, url, resp.StatusCode, e.Error, e.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Value, out); err != nil {
		return fmt.Errorf("%s %s: decode value %s: %w", method, url, env.Value, err)
	}
	return nil
}

// startXvfb starts an X server on a free display (Xvfb -displayfd) and
// returns its name, e.g. ":1"; it is stopped when tb ends.
func startXvfb(tb testing.TB, path string) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return "", err
	}
	w.Close()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			return "", errors.New("Xvfb gave no display number")
		}
		return ":" + n, nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return "", errors.New("Xvfb gave no display number within 10 s")
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedLog collects a child process's output.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
