package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

const testToken = "s3cret-admin-token"

// newTestServer starts a Server over a fake station with booths b1, b2
// on a loopback httptest server.
func newTestServer(t *testing.T, opts Opts) (*Server, *fakeStation, *httptest.Server) {
	t.Helper()
	st := newFakeStation("b1", "b2")
	if opts.Station == nil {
		opts.Station = st
	}
	if opts.AdminToken == "" {
		opts.AdminToken = testToken
	}
	srv, err := New(opts)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, srv.Close())
	})
	return srv, st, ts
}

func dialWS(t *testing.T, ts *httptest.Server, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws" + query
	c, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {ts.URL}})
	require.NoError(t, err, "dial %s", u)
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c
}

func readMsg(t *testing.T, c *websocket.Conn) WSMessage {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	var m WSMessage
	require.NoError(t, c.ReadJSON(&m), "expected a websocket message")
	assert.Equal(t, WSVersion, m.V, "every message carries v=1")
	return m
}

func readScreen(t *testing.T, c *websocket.Conn) kiosk.Screen {
	t.Helper()
	m := readMsg(t, c)
	require.Equal(t, WSScreen, m.Type, "expected a screen message, got %+v", m)
	require.NotNil(t, m.Screen)
	return *m.Screen
}

func waitCall(t *testing.T, st *fakeStation) call {
	t.Helper()
	select {
	case c := <-st.callCh:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("expected the station to receive an action")
		return call{}
	}
}

func TestWebsocketScreens(t *testing.T) {
	_, st, ts := newTestServer(t, Opts{})

	t.Run("initial screen then updates", func(t *testing.T) {
		c := dialWS(t, ts, "?booth=b2")
		first := readScreen(t, c)
		assert.Equal(t, "b2", first.Booth)
		assert.Equal(t, kiosk.ScreenIdle, first.Kind)

		pushed := st.push(kiosk.Screen{Booth: "b2", Kind: kiosk.ScreenIdentified, Child: "小明",
			Tiles: []kiosk.Tile{{Slot: 1, Relation: "妈妈", Masked: "138****5678", Phone: true}}})
		got := readScreen(t, c)
		assert.Equal(t, pushed, got, "the pushed screen arrives unchanged")

		st.push(kiosk.Screen{Booth: "b1", Kind: kiosk.ScreenDenied})
		pushed = st.push(kiosk.Screen{Booth: "b2", Kind: kiosk.ScreenCalling, Contact: "妈妈"})
		got = readScreen(t, c)
		assert.Equal(t, pushed.Seq, got.Seq, "b1's screens never reach a b2 client")
		assert.Equal(t, kiosk.ScreenCalling, got.Kind)
	})

	t.Run("default booth is the first", func(t *testing.T) {
		c := dialWS(t, ts, "")
		assert.Equal(t, "b1", readScreen(t, c).Booth)
	})

	t.Run("wire format", func(t *testing.T) {
		c := dialWS(t, ts, "?booth=b1")
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, data, err := c.ReadMessage()
		require.NoError(t, err)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(data, &raw))
		assert.EqualValues(t, 1, raw["v"])
		assert.Equal(t, "screen", raw["type"])
		sc, ok := raw["screen"].(map[string]any)
		require.True(t, ok, "screen is an object: %s", data)
		assert.Equal(t, "b1", sc["booth"])
		assert.Contains(t, []any{"idle", "denied"}, sc["state"])
	})
}

func TestWebsocketActions(t *testing.T) {
	_, st, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b2")
	readScreen(t, c)

	tests := []struct {
		name string
		msg  string
		want call
	}{
		{"pick", `{"v":1,"type":"pick","slot":3}`, call{Op: "pick", Booth: "b2", Slot: 3}},
		{"help", `{"v":1,"type":"help"}`, call{Op: "help", Booth: "b2"}},
		{"hangup", `{"v":1,"type":"hangup"}`, call{Op: "hangup", Booth: "b2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(tc.msg)))
			assert.Equal(t, tc.want, waitCall(t, st))
		})
	}
}

func TestWebsocketErrors(t *testing.T) {
	_, st, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readScreen(t, c)

	denied := &kiosk.Error{Code: kiosk.EDENIED, Message: "quota used", Reason: kiosk.ReasonQuotaCalls}
	tests := []struct {
		name       string
		msg        string
		stationErr error
		wantCode   string
		wantMsg    string
		wantReason kiosk.Reason
	}{
		{"not json", `{{`, nil, kiosk.EINVALID, "message is not JSON", ""},
		{"wrong version", `{"v":2,"type":"help"}`, nil, kiosk.EINVALID, "unsupported protocol version 2, want 1", ""},
		{"unknown type", `{"v":1,"type":"dance"}`, nil, kiosk.EINVALID, `unknown message type "dance"`, ""},
		{"slot out of range", `{"v":1,"type":"pick","slot":6}`, nil, kiosk.EINVALID, "slot must be 1..5, got 6", ""},
		{"missing slot", `{"v":1,"type":"pick"}`, nil, kiosk.EINVALID, "slot must be 1..5, got 0", ""},
		{"denied with reason", `{"v":1,"type":"pick","slot":1}`, denied, kiosk.EDENIED, "quota used", kiosk.ReasonQuotaCalls},
		{"conflict", `{"v":1,"type":"hangup"}`, kiosk.Errorf(kiosk.ECONFLICT, "no call"), kiosk.ECONFLICT, "no call", ""},
		{"internal is generic", `{"v":1,"type":"help"}`, fmt.Errorf("dial trunk: %w", errors.New("sip: 10.0.0.1 refused")), kiosk.EINTERNAL, "internal error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st.setErr(tc.stationErr)
			require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(tc.msg)))
			m := readMsg(t, c)
			assert.Equal(t, WSError, m.Type)
			assert.Equal(t, tc.wantCode, m.Code)
			assert.Equal(t, tc.wantMsg, m.Message)
			assert.Equal(t, tc.wantReason, m.Reason)
			if tc.wantReason != "" {
				require.NotNil(t, m.Words, "a denial carries the child's words")
				assert.Equal(t, tc.wantReason.Words(), *m.Words)
			} else {
				assert.Nil(t, m.Words)
			}
		})
	}
}

func TestWebsocketHandshake(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws"
	tests := []struct {
		name       string
		query      string
		origin     string
		wantStatus int // 0: the handshake succeeds
	}{
		{"same origin", "?booth=b1", ts.URL, 0},
		{"no origin (not a browser)", "?booth=b1", "", 0},
		{"other host", "?booth=b1", "http://evil.example", http.StatusForbidden},
		{"other port", "?booth=b1", "http://127.0.0.1:1", http.StatusForbidden},
		{"null origin", "?booth=b1", "null", http.StatusForbidden},
		{"unknown booth", "?booth=nope", ts.URL, http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial(wsURL+tc.query, h)
			if tc.wantStatus == 0 {
				require.NoError(t, err)
				c.Close()
				return
			}
			require.ErrorIs(t, err, websocket.ErrBadHandshake)
			require.NotNil(t, resp)
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			resp.Body.Close()
		})
	}
}

func TestWebsocketDroppedByStation(t *testing.T) {
	_, st, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readScreen(t, c)
	require.Equal(t, 1, st.subscribers("b1"))

	st.dropAll("b1")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce, "a dropped subscriber's client gets a close frame")
	assert.Equal(t, websocket.CloseTryAgainLater, ce.Code)
}

func TestWebsocketUnsubscribesOnClose(t *testing.T) {
	_, st, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readScreen(t, c)
	require.Equal(t, 1, st.subscribers("b1"))
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return st.subscribers("b1") == 0 },
		5*time.Second, 10*time.Millisecond, "closing the client unsubscribes from the station")
}

func TestWebsocketPing(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{PingInterval: 20 * time.Millisecond})
	c := dialWS(t, ts, "?booth=b1")
	pinged := make(chan struct{}, 1)
	c.SetPingHandler(func(data string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-time.After(5 * time.Second):
		t.Fatal("expected a ping from the server")
	}
}

func TestServerCloseClosesWebsockets(t *testing.T) {
	srv, _, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readScreen(t, c)
	require.NoError(t, srv.Close())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.CloseGoingAway, ce.Code)

	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	require.Error(t, err, "a closed server refuses new websockets")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		want       ErrorResponse
	}{
		{"invalid", kiosk.Errorf(kiosk.EINVALID, "bad uid"), 400, ErrorResponse{Code: kiosk.EINVALID, Message: "bad uid"}},
		{"unauthorized", kiosk.Errorf(kiosk.EUNAUTHORIZED, "no token"), 401, ErrorResponse{Code: kiosk.EUNAUTHORIZED, Message: "no token"}},
		{"denied", &kiosk.Error{Code: kiosk.EDENIED, Message: "closed", Reason: kiosk.ReasonClosed}, 403,
			ErrorResponse{Code: kiosk.EDENIED, Message: "closed", Reason: kiosk.ReasonClosed, Words: &kiosk.Words{ZH: "现在不是开放时间", EN: "The phone room is closed now"}}},
		{"denied without reason", kiosk.Errorf(kiosk.EDENIED, "no"), 403, ErrorResponse{Code: kiosk.EDENIED, Message: "no"}},
		{"not found", kiosk.Errorf(kiosk.ENOTFOUND, "no booth"), 404, ErrorResponse{Code: kiosk.ENOTFOUND, Message: "no booth"}},
		{"conflict", kiosk.Errorf(kiosk.ECONFLICT, "busy"), 409, ErrorResponse{Code: kiosk.ECONFLICT, Message: "busy"}},
		{"wrapped kiosk error", fmt.Errorf("pick: %w", kiosk.Errorf(kiosk.ECONFLICT, "busy")), 409, ErrorResponse{Code: kiosk.ECONFLICT, Message: "busy"}},
		{"explicit internal", kiosk.Errorf(kiosk.EINTERNAL, "db path /x"), 500, ErrorResponse{Code: kiosk.EINTERNAL, Message: "internal error"}},
		{"unknown code", kiosk.Errorf("weird", "detail"), 500, ErrorResponse{Code: kiosk.EINTERNAL, Message: "internal error"}},
		{"plain error", errors.New("disk on fire"), 500, ErrorResponse{Code: kiosk.EINTERNAL, Message: "internal error"}},
	}
	srv, err := New(Opts{Station: newFakeStation("b1")})
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := errorResponse(tc.err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantStatus, httpStatus(got.Code))

			rec := httptest.NewRecorder()
			srv.httpError(rec, httptest.NewRequest("GET", "/api/x", nil), tc.err)
			assert.Equal(t, tc.wantStatus, rec.Code)
			var body ErrorResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, tc.want, body)

			ws := srv.wsError("b1", tc.err)
			assert.Equal(t, WSMessage{V: 1, Type: WSError, Code: tc.want.Code, Message: tc.want.Message, Reason: tc.want.Reason, Words: tc.want.Words}, ws,
				"the websocket error carries the same code and message as HTTP")
		})
	}
}

func adminRequest(t *testing.T, ts *httptest.Server, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

func TestAdminAuth(t *testing.T) {
	srv, st, ts := newTestServer(t, Opts{})
	tests := []struct {
		name       string
		remote     string // "" means a real loopback client
		authz      string
		wantStatus int
		wantCode   string
	}{
		{"no token", "", "", 401, kiosk.EUNAUTHORIZED},
		{"wrong token", "", "Bearer nope", 401, kiosk.EUNAUTHORIZED},
		{"token prefix", "", "Bearer " + testToken[:5], 401, kiosk.EUNAUTHORIZED},
		{"wrong scheme", "", "Basic " + testToken, 401, kiosk.EUNAUTHORIZED},
		{"good token", "", "Bearer " + testToken, 200, ""},
		{"lowercase scheme", "", "bearer " + testToken, 200, ""},
		{"non-loopback with token", "192.0.2.7:4000", "Bearer " + testToken, 403, kiosk.EDENIED},
		{"non-loopback without token", "192.0.2.7:4000", "", 403, kiosk.EDENIED},
		{"ipv6 loopback", "[::1]:4000", "Bearer " + testToken, 200, ""},
		{"ipv4-mapped remote", "[::ffff:192.0.2.7]:4000", "Bearer " + testToken, 403, kiosk.EDENIED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var body []byte
			if tc.remote == "" {
				req, err := http.NewRequest("GET", ts.URL+"/api/status", nil)
				require.NoError(t, err)
				if tc.authz != "" {
					req.Header.Set("Authorization", tc.authz)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				body, err = io.ReadAll(resp.Body)
				require.NoError(t, err)
				resp.Body.Close()
				status = resp.StatusCode
				if status == 401 {
					assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
				}
			} else {
				req := httptest.NewRequest("GET", "/api/status", nil)
				req.RemoteAddr = tc.remote
				if tc.authz != "" {
					req.Header.Set("Authorization", tc.authz)
				}
				rec := httptest.NewRecorder()
				srv.Handler().ServeHTTP(rec, req)
				status, body = rec.Code, rec.Body.Bytes()
			}
			assert.Equal(t, tc.wantStatus, status, "body %s", body)
			if tc.wantCode != "" {
				var e ErrorResponse
				require.NoError(t, json.Unmarshal(body, &e))
				assert.Equal(t, tc.wantCode, e.Code)
			}
		})
	}

	t.Run("actions are refused too", func(t *testing.T) {
		status, _ := adminRequest(t, ts, "POST", "/api/tap", "", `{"uid":"04A1B2C3"}`)
		assert.Equal(t, 401, status)
		assert.Empty(t, st.calls, "no action reaches the station without the token")
	})

	t.Run("empty admin token disables the api", func(t *testing.T) {
		srv2, err := New(Opts{Station: st})
		require.NoError(t, err)
		for _, authz := range []string{"", "Bearer ", "Bearer  "} {
			req := httptest.NewRequest("GET", "/api/status", nil)
			req.RemoteAddr = "127.0.0.1:5000"
			req.Header.Set("Authorization", authz)
			rec := httptest.NewRecorder()
			srv2.Handler().ServeHTTP(rec, req)
			assert.Equal(t, 401, rec.Code, "authz %q", authz)
		}
	})
}

func TestAdminActions(t *testing.T) {
	_, st, ts := newTestServer(t, Opts{})
	st.push(kiosk.Screen{Booth: "b2", Kind: kiosk.ScreenIdentified})
	tests := []struct {
		name       string
		path       string
		body       string
		stationErr error
		wantStatus int
		wantCall   *call
		wantResp   any
	}{
		{"tap default booth", "/api/tap", `{"uid":"04A1B2C3"}`, nil, 200,
			&call{Op: "tap", Booth: "b1", UID: "04A1B2C3"}, ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenIdle}},
		{"tap booth b2", "/api/tap", `{"booth":"b2","uid":"04A1B2C3"}`, nil, 200,
			&call{Op: "tap", Booth: "b2", UID: "04A1B2C3"}, ActionResponse{OK: true, Booth: "b2", State: kiosk.ScreenIdentified}},
		{"dial", "/api/dial", `{"booth":"b2","slot":2}`, nil, 200,
			&call{Op: "pick", Booth: "b2", Slot: 2}, ActionResponse{OK: true, Booth: "b2", State: kiosk.ScreenIdentified}},
		{"hangup", "/api/hangup", `{}`, nil, 200,
			&call{Op: "hangup", Booth: "b1"}, ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenIdle}},
		{"help with empty body", "/api/help", ``, nil, 200,
			&call{Op: "help", Booth: "b1"}, ActionResponse{OK: true, Booth: "b1", State: kiosk.ScreenIdle}},
		{"tap without uid", "/api/tap", `{"booth":"b1"}`, nil, 400, nil,
			ErrorResponse{Code: kiosk.EINVALID, Message: "uid is required"}},
		{"dial slot 0", "/api/dial", `{"slot":0}`, nil, 400, nil,
			ErrorResponse{Code: kiosk.EINVALID, Message: "slot must be 1..5, got 0"}},
		{"unknown field", "/api/hangup", `{"booth":"b1","force":true}`, nil, 400, nil,
			ErrorResponse{Code: kiosk.EINVALID, Message: `bad request body: json: unknown field "force"`}},
		{"trailing data", "/api/hangup", `{"booth":"b1"}{}`, nil, 400, nil,
			ErrorResponse{Code: kiosk.EINVALID, Message: "bad request body: trailing data after the JSON object"}},
		{"unknown booth", "/api/hangup", `{"booth":"b9"}`, nil, 404, nil,
			ErrorResponse{Code: kiosk.ENOTFOUND, Message: `unknown booth "b9"`}},
		{"denied", "/api/dial", `{"slot":1}`, &kiosk.Error{Code: kiosk.EDENIED, Message: "closed", Reason: kiosk.ReasonClosed}, 403,
			&call{Op: "pick", Booth: "b1", Slot: 1},
			ErrorResponse{Code: kiosk.EDENIED, Message: "closed", Reason: kiosk.ReasonClosed, Words: &kiosk.Words{ZH: "现在不是开放时间", EN: "The phone room is closed now"}}},
		{"conflict", "/api/hangup", `{}`, kiosk.Errorf(kiosk.ECONFLICT, "no call at booth"), 409,
			&call{Op: "hangup", Booth: "b1"}, ErrorResponse{Code: kiosk.ECONFLICT, Message: "no call at booth"}},
		{"internal", "/api/help", `{}`, errors.New("sip trunk 10.1.1.1 down"), 500,
			&call{Op: "help", Booth: "b1"}, ErrorResponse{Code: kiosk.EINTERNAL, Message: "internal error"}},
		{"no such endpoint", "/api/reboot", `{}`, nil, 404, nil,
			ErrorResponse{Code: kiosk.ENOTFOUND, Message: "no such admin endpoint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st.setErr(tc.stationErr)
			status, body := adminRequest(t, ts, "POST", tc.path, testToken, tc.body)
			assert.Equal(t, tc.wantStatus, status, "body %s", body)
			if tc.wantCall != nil {
				assert.Equal(t, *tc.wantCall, waitCall(t, st))
			} else {
				assert.Empty(t, st.callCh, "nothing reaches the station")
			}
			switch want := tc.wantResp.(type) {
			case ActionResponse:
				var got ActionResponse
				require.NoError(t, json.Unmarshal(body, &got))
				assert.Equal(t, want, got)
			case ErrorResponse:
				var got ErrorResponse
				require.NoError(t, json.Unmarshal(body, &got))
				assert.Equal(t, want, got)
			}
		})
	}

	t.Run("GET on an action is not allowed", func(t *testing.T) {
		status, _ := adminRequest(t, ts, "GET", "/api/tap", testToken, "")
		assert.Equal(t, http.StatusMethodNotAllowed, status)
	})
}

func TestAdminStatus(t *testing.T) {
	now := time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)
	_, st, ts := newTestServer(t, Opts{
		Version: "v1.2.3",
		Now:     func() time.Time { return now },
		Health: func() HealthReport {
			return HealthReport{
				Started:     now.Add(-90 * time.Second),
				ClockSynced: true,
				Components:  map[string]kiosk.Health{"sip": {Status: kiosk.HealthOK}, "reader:b2": {Status: kiosk.HealthDegraded, Reason: "no reader"}},
				Lights:      map[string]kiosk.LightState{"b1": kiosk.LightIdle, "b2": kiosk.LightIdentified},
			}
		},
	})
	st.push(kiosk.Screen{Booth: "b2", Kind: kiosk.ScreenIdentified})

	status, body := adminRequest(t, ts, "GET", "/api/status", testToken, "")
	require.Equal(t, 200, status, "body %s", body)
	var got Status
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, Status{
		Healthz: Healthz{
			Status: "degraded", Version: "v1.2.3", UptimeS: 90, ClockSynced: true,
			Components: map[string]kiosk.Health{"sip": {Status: "ok"}, "reader:b2": {Status: "degraded", Reason: "no reader"}},
			Lights:     map[string]kiosk.LightState{"b1": "idle", "b2": "identified"},
		},
		Booths: []BoothStatus{
			{ID: "b1", Name: "Booth b1", State: kiosk.ScreenIdle, Seq: 1, Light: kiosk.LightIdle},
			{ID: "b2", Name: "Booth b2", State: kiosk.ScreenIdentified, Seq: 2, Light: kiosk.LightIdentified},
		},
	}, got)
}

func TestHealthz(t *testing.T) {
	now := time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		report     HealthReport
		wantStatus int
		want       Healthz
	}{
		{"empty report is ok", HealthReport{}, 200,
			Healthz{Status: "ok", Version: "v9", UptimeS: 0, Components: map[string]kiosk.Health{}, Lights: map[string]kiosk.LightState{}}},
		{"degraded component", HealthReport{Version: "v10", Started: now.Add(-time.Hour), ClockSynced: true,
			Components: map[string]kiosk.Health{"a": {Status: "ok"}, "b": {Status: "degraded", Reason: "no gpio"}}}, 200,
			Healthz{Status: "degraded", Version: "v10", UptimeS: 3600, ClockSynced: true,
				Components: map[string]kiosk.Health{"a": {Status: "ok"}, "b": {Status: "degraded", Reason: "no gpio"}}, Lights: map[string]kiosk.LightState{}}},
		{"fault wins", HealthReport{Components: map[string]kiosk.Health{"b": {Status: "degraded"}, "c": {Status: "fault", Reason: "ledger"}}}, 503,
			Healthz{Status: "fault", Version: "v9", Components: map[string]kiosk.Health{"b": {Status: "degraded"}, "c": {Status: "fault", Reason: "ledger"}}, Lights: map[string]kiosk.LightState{}}},
		{"a peripheral's fault only degrades", HealthReport{Components: map[string]kiosk.Health{"reader:r1": {Status: "fault", Reason: "spi"}},
			Peripheral: map[string]bool{"reader:r1": true}}, 200,
			Healthz{Status: "degraded", Version: "v9", Components: map[string]kiosk.Health{"reader:r1": {Status: "fault", Reason: "spi"}}, Lights: map[string]kiosk.LightState{}}},
		{"overall status counts", HealthReport{Status: "fault"}, 503,
			Healthz{Status: "fault", Version: "v9", Components: map[string]kiosk.Health{}, Lights: map[string]kiosk.LightState{}}},
		{"unknown status is a fault", HealthReport{Components: map[string]kiosk.Health{"x": {Status: "okay"}}}, 503,
			Healthz{Status: "fault", Version: "v9", Components: map[string]kiosk.Health{"x": {Status: "okay"}}, Lights: map[string]kiosk.LightState{}}},
		{"lights", HealthReport{Lights: map[string]kiosk.LightState{"b1": kiosk.LightWarning}}, 200,
			Healthz{Status: "ok", Version: "v9", Components: map[string]kiosk.Health{}, Lights: map[string]kiosk.LightState{"b1": "warning"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(Opts{Station: newFakeStation("b1"), Version: "v9",
				Now: func() time.Time { return now }, Health: func() HealthReport { return tc.report }})
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			assert.Equal(t, tc.wantStatus, rec.Code)
			assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			var got Healthz
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, tc.want, got)

			var raw map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
			for _, k := range []string{"status", "version", "uptime_s", "clock_synced", "components", "lights"} {
				assert.Contains(t, raw, k, "healthz has field %q", k)
			}
		})
	}
}

func TestIndexAndHeaders(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{Version: "v1"})
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"index default booth", "/", 200, "text/html; charset=utf-8", `data-booth="b1"`},
		{"index booth b2", "/?booth=b2", 200, "text/html; charset=utf-8", `data-booth="b2"`},
		{"index escapes", "/?booth=%22%3E%3Cscript%3E", 404, "application/json; charset=utf-8", `"code":"not_found"`},
		{"script", "/assets/app.js", 200, "text/javascript; charset=utf-8", "'use strict'"},
		{"style", "/assets/app.css", 200, "text/css; charset=utf-8", ".countdown"},
		{"no listing", "/nothing", 404, "", ""},
		{"healthz", "/healthz", 200, "application/json; charset=utf-8", `"status":"ok"`},
		{"admin refused", "/api/status", 401, "application/json; charset=utf-8", `"unauthorized"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(ts.URL + tc.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.wantStatus, resp.StatusCode)
			if tc.wantType != "" {
				assert.Equal(t, tc.wantType, resp.Header.Get("Content-Type"))
			}
			assert.True(t, bytes.Contains(body, []byte(tc.wantBody)), "body contains %q", tc.wantBody)

			csp := resp.Header.Get("Content-Security-Policy")
			assert.Contains(t, csp, "default-src 'self'")
			assert.Contains(t, csp, "frame-ancestors 'none'")
			assert.Contains(t, csp, "connect-src 'self' ws://"+strings.TrimPrefix(ts.URL, "http://"))
			assert.NotContains(t, csp, "unsafe-inline")
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
		})
	}
}

func TestHostOK(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "kiosk.local": true, "[::1]:80": true,
		"": false, "a b": false, "x;script-src *": false, "evil\r\nX: y": false,
	} {
		assert.Equal(t, want, hostOK(host), "hostOK(%q)", host)
	}
}

func TestNewRequiresStation(t *testing.T) {
	_, err := New(Opts{})
	assert.Error(t, err)
}
