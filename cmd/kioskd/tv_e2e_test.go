package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/tv"
	"github.com/qinqing/station/ui"
)

// TestTVThroughDaemon: a [[tv]] whose relay is missing still keeps the
// register: start and stop through the admin API, status, /healthz.
func TestTVThroughDaemon(t *testing.T) {
	t.Setenv("PATH", t.TempDir()+":/bin:/usr/bin") // no cec-client
	dir := t.TempDir()
	path := filepath.Join(dir, "kiosk.toml")
	cfg := hardwareConfig + "\n[[tv]]\nname = \"tv1\"\nrelay = \"tv1\"\ncurfew = \"none\"\nroom = \"活动室\"\n"
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	m := NewMain()
	m.ConfigPath = path
	m.DataDir = filepath.Join(dir, "data")
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.devOpts = devOpts{HealthEvery: 20 * time.Millisecond}
	require.NoError(t, m.Run(context.Background()))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	}()
	tok, err := os.ReadFile(filepath.Join(m.Config.Storage.DataDir, "admin.token"))
	require.NoError(t, err)
	api := func(method, p, body string) (int, []byte) {
		req, err := http.NewRequest(method, m.HTTPURL()+p, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	code, body := api("POST", "/api/tv/start", `{"programme":"CCTV-14","category":"少儿","class":"三年级2班","headcount":20,"teacher":"王老师"}`)
	require.Equal(t, 200, code, "%s", body)
	code, body = api("GET", "/api/tv", "")
	require.Equal(t, 200, code)
	var list ui.TVListResponse
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.TVs, 1)
	assert.Equal(t, tv.PowerNone, list.TVs[0].Power, "the relay is missing: no power control")
	require.NotNil(t, list.TVs[0].Session)
	assert.Equal(t, "ok", component(t, m, "tv:tv1")["status"])
	code, body = api("POST", "/api/tv/stop", `{"tv":"tv1"}`)
	require.Equal(t, 200, code, "%s", body)
	rows, err := m.db.TVSessions(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, tv.CauseStop, rows[0].Cause)
	assert.Equal(t, "活动室", rows[0].Room)
}
