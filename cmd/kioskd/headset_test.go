package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/callbridge/rtc/rtctest"
	"github.com/qinqing/station/config"
	"github.com/qinqing/station/internal/browsertest"
	"github.com/qinqing/station/kiosk"
)

// headsetScreen connects a pion headset page as booth's kiosk screen over
// the daemon's /ws websocket, speaking the page's protocol.
func headsetScreen(t *testing.T, base, booth string) *rtctest.Headset {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws?booth=" + booth
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	require.NoError(t, err, "open the screen's websocket")
	var wmu sync.Mutex
	h := rtctest.NewHeadset(rtctest.HeadsetOpts{}, func(m json.RawMessage) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.WriteMessage(websocket.TextMessage, m)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			h.Deliver(data)
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
		h.Close()
	})
	h.Hello()
	require.Eventually(t, func() bool { return h.Session() != "" }, 3*time.Second, 20*time.Millisecond,
		"the screen's signaling session starts")
	return h
}

// TestHeadsetPhoneCall: a booth without a phone calls a parent's mobile
// number through the kiosk screen's headset (WebRTC audio, G.711) bridged
// to the demo trunk; audio flows both ways and the call lands in the
// ledger as a phone call of the booth.
func TestHeadsetPhoneCall(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a WebRTC leg and a SIP call on loopback")
	}
	const limit = 4 * time.Second
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Tweak = func(c *config.Config) {
		c.Limits.Call = config.D(limit)
		c.Limits.Warnings = []config.Duration{config.D(limit / 2)}
		// No booth phone: the booth has its screen only.
		c.Booths[0].Extension = ""
		c.SIP.Extensions = nil
	}
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	base := m.HTTPURL()
	booth := m.Config.Booths[0].ID
	h := headsetScreen(t, base, booth)

	code, _ := api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000001"})
	require.Equal(t, 200, code)
	waitBooth(t, base, m.DataDir, kiosk.ScreenIdentified, 2*time.Second)
	code, _ = api(t, base, m.DataDir, "POST", "/api/dial", map[string]any{"slot": 1})
	require.Equal(t, 200, code)
	waitBooth(t, base, m.DataDir, kiosk.ScreenConnected, 8*time.Second) // the demo trunk rings 2 s

	require.Len(t, h.Offers(), 1, "the screen was asked for one headset leg")
	assert.Equal(t, "audio", h.Offers()[0].Kind)
	require.Eventually(t, func() bool { return h.Received() > 20 }, 3*time.Second, 20*time.Millisecond,
		"the child hears the demo trunk's tone in the headset")
	tc := m.demo.trunk.Last()
	require.NotNil(t, tc, "the demo trunk was called")
	require.Eventually(t, func() bool { return tc.RTPReceived() > 20 }, 3*time.Second, 20*time.Millisecond,
		"the parent hears the child's microphone")

	waitBooth(t, base, m.DataDir, kiosk.ScreenEnded, limit+3*time.Second)
	require.Eventually(t, func() bool { return len(h.Ends()) > 0 }, 3*time.Second, 20*time.Millisecond,
		"the screen is told the headset leg ended")
	assert.Equal(t, h.Offers()[0].Call, h.Ends()[0].Call)

	rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, kiosk.ModePhone, r.Mode)
	assert.Equal(t, kiosk.DispAnswered, r.Disposition)
	assert.Equal(t, kiosk.CauseLimit, r.Cause)
	assert.Equal(t, booth, r.Booth)
	assert.Equal(t, 200, r.SIPCode)
	assert.InDelta(t, limit.Seconds(), r.Billsec.Seconds(), 0.7, "billsec is the limit")
	if assert.NotNil(t, r.Quality, "the headset leg's quality is in the ledger") {
		assert.Greater(t, r.Quality.Screen.RTTMs, 0.0, "RTT of the headset leg, from RTCP")
	}
	res, err := m.db.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, res.OK, res.Problem)
}

// TestHeadsetPhoneCallChromium runs the headset phone call with the real
// kiosk page in headless Chromium (fake microphone): the page answers the
// audio-only offer with G.711, hears the demo trunk, and the trunk hears
// the page; the page shows the phone-call views, not the video one.
func TestHeadsetPhoneCallChromium(t *testing.T) {
	chromium := browsertest.Require(t, "slow: drives Chromium")
	const limit = 6 * time.Second
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Tweak = func(c *config.Config) {
		c.Limits.Call = config.D(limit)
		c.Limits.Warnings = []config.Duration{config.D(limit / 2)}
		c.Booths[0].Extension = ""
		c.SIP.Extensions = nil
	}
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	base := m.HTTPURL()

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		browsertest.Options(chromium, t.TempDir(), 1024, 600, true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")), "start chromium")
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	poll := func(what, js string, within time.Duration) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js,
			chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(20*time.Millisecond)))
		if err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.assign({}, document.body.dataset))`))
			t.Fatalf("%s within %s: %v; page: %s", what, within, err, page)
		}
	}
	state := func(s kiosk.ScreenKind) string {
		return `document.querySelector("main").dataset.state === "` + string(s) + `"`
	}
	_, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/?booth=booth1"))
	require.NoError(t, err)
	poll("idle screen", state(kiosk.ScreenIdle), 10*time.Second)

	code, _ := api(t, base, m.DataDir, "POST", "/api/tap", map[string]any{"uid": "DE000001"})
	require.Equal(t, 200, code)
	poll("identified", state(kiosk.ScreenIdentified), 5*time.Second)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-test="tile-1"]`))), "the child taps contact 1")
	poll("headset connected", `document.body.dataset.headset === "connected"`, 10*time.Second)
	poll("parent answers", state(kiosk.ScreenConnected), 8*time.Second)
	poll("the child hears the parent", `Number(document.body.dataset.headsetReceived || 0) > 20`, 5*time.Second)
	codec, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.headsetCodec`))
	require.NoError(t, err)
	assert.Contains(t, []string{"audio/PCMU", "audio/PCMA"}, codec, "G.711, no transcoding")
	talk, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector('section[data-view="talk"]').hidden`))
	require.NoError(t, err)
	assert.True(t, talk, "the normal phone-call screen, not the video view")
	tc := m.demo.trunk.Last()
	require.NotNil(t, tc)
	require.Eventually(t, func() bool { return tc.RTPReceived() > 20 }, 3*time.Second, 20*time.Millisecond,
		"the parent hears the kiosk's microphone")
	poll("cut at the limit", state(kiosk.ScreenEnded), limit+3*time.Second)
	poll("headset leg closed", `!document.body.dataset.headset`, 3*time.Second)

	rows, err := m.db.Calls(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kiosk.ModePhone, rows[0].Mode)
	assert.Equal(t, kiosk.DispAnswered, rows[0].Disposition)
	assert.Equal(t, kiosk.CauseLimit, rows[0].Cause)
	assert.Equal(t, "booth1", rows[0].Booth)
}
