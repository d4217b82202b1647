package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/tv"
)

// tvJournal is an in-memory tv.Journal for the API tests.
type tvJournal struct {
	mu             sync.Mutex
	started, ended []tv.Session
}

func (j *tvJournal) TVStarted(_ context.Context, s tv.Session) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.started = append(j.started, s)
	return nil
}

func (j *tvJournal) TVEnded(_ context.Context, s tv.Session) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ended = append(j.ended, s)
	return nil
}

func (j *tvJournal) TVHeartbeat(context.Context, string, time.Time) error { return nil }

type onOff struct{ on bool }

func (p *onOff) On() error  { p.on = true; return nil }
func (p *onOff) Off() error { p.on = false; return nil }

func TestTVAPI(t *testing.T) {
	var clk atomic.Int64 // the wall clock, Unix ns; handlers read it
	clk.Store(time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC).UnixNano())
	j, power := &tvJournal{}, &onOff{}
	svc, err := tv.New([]tv.TV{{Name: "tv1", Room: "活动室", Power: power, PowerKind: tv.PowerRelay, Curfew: 21 * 60}}, j,
		tv.Opts{Now: func() time.Time { return time.Unix(0, clk.Load()).UTC() }, Location: time.UTC})
	require.NoError(t, err)
	_, _, ts := newTestServer(t, Opts{TV: svc})

	code, body := adminRequest(t, ts, "GET", "/api/tv", testToken, "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.JSONEq(t, `{"tvs":[{"name":"tv1","room":"活动室","power":"relay","on":false,"curfew":"21:00"}]}`, string(body))

	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"unknown category", "POST", "/api/tv/start", `{"programme":"x","category":"体育","class":"c","headcount":3,"teacher":"t"}`, http.StatusBadRequest, "类别"},
		{"no teacher", "POST", "/api/tv/start", `{"programme":"x","category":"新闻","class":"c","headcount":3}`, http.StatusBadRequest, "组织教师"},
		{"zero headcount", "POST", "/api/tv/start", `{"programme":"x","category":"新闻","class":"c","headcount":0,"teacher":"t"}`, http.StatusBadRequest, "人数"},
		{"unknown field", "POST", "/api/tv/start", `{"programme":"x","channel":5}`, http.StatusBadRequest, ""},
		{"unknown tv", "POST", "/api/tv/start", `{"tv":"tv9","programme":"x","category":"新闻","class":"c","headcount":3,"teacher":"t"}`, http.StatusNotFound, "tv9"},
		{"stop without session", "POST", "/api/tv/stop", `{"tv":"tv1"}`, http.StatusNotFound, ""},
		{"no token", "GET", "/api/tv", "", http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := testToken
			if tc.name == "no token" {
				tok = ""
			}
			code, body := adminRequest(t, ts, tc.method, tc.path, tok, tc.body)
			assert.Equal(t, tc.code, code, "%s", body)
			assert.Contains(t, string(body), tc.msg)
		})
	}
	assert.Empty(t, j.started, "refused starts journal nothing")
	assert.False(t, power.on)

	code, body = adminRequest(t, ts, "POST", "/api/tv/start", testToken,
		`{"programme":"CCTV-14","category":"少儿","class":"三年级2班","headcount":20,"teacher":"王老师","note":"雨天"}`)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var started TVSessionResponse
	require.NoError(t, json.Unmarshal(body, &started))
	assert.True(t, started.OK)
	assert.Equal(t, "tv1", started.Session.TV)
	assert.Equal(t, 20, started.Session.Headcount)
	assert.True(t, power.on, "start turns the TV on")
	require.Len(t, j.started, 1)

	code, body = adminRequest(t, ts, "POST", "/api/tv/start", testToken,
		`{"programme":"CCTV-1","category":"新闻","class":"c","headcount":2,"teacher":"t"}`)
	assert.Equal(t, http.StatusConflict, code, "%s", body)

	code, body = adminRequest(t, ts, "GET", "/api/tv", testToken, "")
	require.Equal(t, http.StatusOK, code)
	var list TVListResponse
	require.NoError(t, json.Unmarshal(body, &list))
	require.NotNil(t, list.TVs[0].Session)
	assert.Equal(t, started.Session.ID, list.TVs[0].Session.ID)

	clk.Add(int64(25 * time.Minute))
	code, body = adminRequest(t, ts, "POST", "/api/tv/stop", testToken, `{}`)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var stopped TVSessionResponse
	require.NoError(t, json.Unmarshal(body, &stopped))
	assert.Equal(t, tv.CauseStop, stopped.Session.Cause)
	assert.Equal(t, 25*time.Minute, stopped.Session.Duration)
	assert.False(t, power.on, "stop turns the TV off")
	require.Len(t, j.ended, 1)
}

func TestTVAPIWithoutTVs(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	code, _ := adminRequest(t, ts, "GET", "/api/tv", testToken, "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = adminRequest(t, ts, "POST", "/api/tv/stop", testToken, `{}`)
	assert.Equal(t, http.StatusNotFound, code)
}
