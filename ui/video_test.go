package ui

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// fakeSignaler records what the pages send and lets a test send to them.
type fakeSignaler struct {
	mu       sync.Mutex
	got      chan string // "screen b1: {...}" or "parent tok: {...}"
	sends    map[string]func(json.RawMessage)
	detached chan string
}

func newFakeSignaler() *fakeSignaler {
	return &fakeSignaler{got: make(chan string, 16), sends: map[string]func(json.RawMessage){}, detached: make(chan string, 4)}
}

func (f *fakeSignaler) ResolveLink(_ context.Context, token string) (kiosk.ParentLink, kiosk.Contact, kiosk.Child, error) {
	switch token {
	case "good":
		return kiosk.ParentLink{ID: 1, Contact: 7}, kiosk.Contact{ID: 7}, kiosk.Child{Name: "王小明"}, nil
	case "revoked":
		return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.EGONE, "revoked")
	}
	return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "unknown link")
}

func (f *fakeSignaler) attach(who string, send func(json.RawMessage)) (func(json.RawMessage), func()) {
	f.mu.Lock()
	f.sends[who] = send
	f.mu.Unlock()
	return func(m json.RawMessage) { f.got <- who + ": " + string(m) }, func() { f.detached <- who }
}

func (f *fakeSignaler) Screen(booth string, send func(json.RawMessage)) (func(json.RawMessage), func()) {
	return f.attach("screen "+booth, send)
}

func (f *fakeSignaler) Parent(ctx context.Context, token string, send func(json.RawMessage)) (func(json.RawMessage), func(), error) {
	if _, _, _, err := f.ResolveLink(ctx, token); err != nil {
		return nil, nil, err
	}
	r, d := f.attach("parent "+token, send)
	return r, d, nil
}

func (f *fakeSignaler) send(t *testing.T, who, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.sends[who] != nil
	}, 2*time.Second, 5*time.Millisecond, "%s attached", who)
	f.mu.Lock()
	s := f.sends[who]
	f.mu.Unlock()
	s(json.RawMessage(msg))
}

func (f *fakeSignaler) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-f.got:
		return s
	case <-time.After(2 * time.Second):
		t.Fatal("the signaler got nothing")
		return ""
	}
}

// clock is a settable clock for the rate limit.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestParentPage(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)}
	_, _, ts := newTestServer(t, Opts{Signaler: newFakeSignaler(), Now: clk.now, LinkLookups: 3})
	tests := []struct {
		name   string
		token  string
		status int
		state  string
	}{
		{"valid link", "good", http.StatusOK, `data-state="loading"`},
		{"revoked link gets a clear page", "revoked", http.StatusGone, `data-state="gone"`},
		{"unknown token", "guess1", http.StatusNotFound, `data-state="notfound"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, ts.URL+"/p/"+tc.token)
			assert.Equal(t, tc.status, status)
			assert.Contains(t, body, tc.state)
			assert.NotContains(t, body, "王小明", "the page never carries the child's full name")
		})
	}
	t.Run("rate limit on unknown tokens", func(t *testing.T) {
		// One unknown lookup above; two more use up the 3 a minute.
		for _, tok := range []string{"guess2", "guess3"} {
			status, _ := get(t, ts.URL+"/p/"+tok)
			require.Equal(t, http.StatusNotFound, status)
		}
		status, body := get(t, ts.URL+"/p/guess4")
		assert.Equal(t, http.StatusTooManyRequests, status)
		assert.Contains(t, body, `data-state="limited"`)
		status, _ = get(t, ts.URL+"/p/good")
		assert.Equal(t, http.StatusTooManyRequests, status, "no more lookups from this address this minute")
		resp, err := http.Get(ts.URL + "/p/guess5/ws")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the websocket route counts too")
		clk.add(time.Minute)
		status, _ = get(t, ts.URL+"/p/good")
		assert.Equal(t, http.StatusOK, status, "a new minute, a new allowance")
	})
	t.Run("no video configured", func(t *testing.T) {
		_, _, ts2 := newTestServer(t, Opts{})
		status, _ := get(t, ts2.URL+"/p/good")
		assert.Equal(t, http.StatusNotFound, status)
	})
}

func TestScreenSignaling(t *testing.T) {
	sig := newFakeSignaler()
	_, st, ts := newTestServer(t, Opts{Signaler: sig})
	c := dialWS(t, ts, "?booth=b1")
	readMsg(t, c) // the screen

	// Page -> signaler, as it is.
	hello := `{"v":1,"type":"rtc.hello","session":""}`
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(hello)))
	assert.Equal(t, "screen b1: "+hello, sig.next(t))
	big := `{"v":1,"type":"rtc.answer","call":"c1","sdp":"` + strings.Repeat("a=x\\r\\n", 2000) + `"}`
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(big)))
	assert.Equal(t, "screen b1: "+big, sig.next(t), "an SDP of several kB passes")

	// Signaler -> page, as it is, among the screens.
	sig.send(t, "screen b1", `{"v":1,"type":"rtc.offer","call":"c1","sdp":"v=0"}`)
	m := readMsg(t, c)
	assert.Equal(t, "rtc.offer", m.Type)

	// A video pick goes to PickMode, a plain pick to Pick.
	require.NoError(t, c.WriteJSON(WSMessage{V: 1, Type: WSPick, Slot: 2, Mode: kiosk.ModeVideo}))
	assert.Equal(t, call{Op: "pick-video", Booth: "b1", Slot: 2}, <-st.callCh)
	require.NoError(t, c.WriteJSON(WSMessage{V: 1, Type: WSPick, Slot: 3}))
	assert.Equal(t, call{Op: "pick", Booth: "b1", Slot: 3}, <-st.callCh)

	require.NoError(t, c.Close())
	select {
	case who := <-sig.detached:
		assert.Equal(t, "screen b1", who)
	case <-time.After(2 * time.Second):
		t.Fatal("the signaler must be told that the screen left")
	}
}

func TestScreenSignalingDisabled(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readMsg(t, c)
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"rtc.hello"}`)))
	m := readMsg(t, c)
	assert.Equal(t, WSError, m.Type)
	assert.Equal(t, kiosk.EINVALID, m.Code)
	require.NoError(t, c.WriteJSON(WSMessage{V: 1, Type: WSPick, Slot: 2, Mode: kiosk.ModeVideo}))
	m = readMsg(t, c)
	assert.Equal(t, kiosk.EINVALID, m.Code, "no video pick without a signaler")
}

func TestParentSignaling(t *testing.T) {
	sig := newFakeSignaler()
	_, _, ts := newTestServer(t, Opts{Signaler: sig})
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/p/good/ws"
	c, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {ts.URL}})
	require.NoError(t, err)
	resp.Body.Close()
	defer c.Close()
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"v":1,"type":"rtc.ping"}`)))
	assert.Equal(t, `parent good: {"v":1,"type":"rtc.ping"}`, sig.next(t))
	sig.send(t, "parent good", `{"v":1,"type":"rtc.ring","call":"c1","child":"小明"}`)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	_, data, err := c.ReadMessage()
	require.NoError(t, err)
	assert.JSONEq(t, `{"v":1,"type":"rtc.ring","call":"c1","child":"小明"}`, string(data))
	require.NoError(t, c.Close())
	assert.Equal(t, "parent good", <-sig.detached)

	for tok, status := range map[string]int{"revoked": http.StatusGone, "nobody": http.StatusNotFound} {
		_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/p/"+tok+"/ws", http.Header{"Origin": {ts.URL}})
		require.Error(t, err)
		assert.Equal(t, status, resp.StatusCode, tok)
		resp.Body.Close()
	}
}
