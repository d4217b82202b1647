package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
	"github.com/qinqing/station/ui"
)

// fakeTVDaemon answers the TV API with canned sessions and records the
// request bodies by path.
func fakeTVDaemon(t *testing.T, data string) (string, map[string]string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(data, "admin.token"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600))
	seen := map[string]string{}
	// The daemon's host is on UTC, as a Pi often is: 19:00 in Shanghai.
	start := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	ses := tv.Session{ID: "aa", TV: "tv1", Room: "活动室", Programme: "CCTV-14", Category: "少儿", Class: "三年级2班",
		Headcount: 20, Teacher: "王老师", Started: start, Power: tv.PowerCEC}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "Bearer 0123456789abcdef0123456789abcdef", r.Header.Get("Authorization"))
		body, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		seen[r.Method+" "+r.URL.Path] = string(body)
		var out any
		switch r.URL.Path {
		case "/api/tv":
			s := ses
			out = ui.TVListResponse{TVs: []tv.Status{{Name: "tv1", Room: "活动室", Power: tv.PowerCEC, On: true, Curfew: "21:00", Session: &s}}}
		case "/api/tv/start":
			s := ses
			s.Curfew = start.Add(2 * time.Hour)
			out = ui.TVSessionResponse{OK: true, Session: s}
		case "/api/tv/stop":
			w.WriteHeader(http.StatusNotFound)
			out = map[string]string{"code": "not_found", "message": "电视 tv1 没有在播放"}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, seen
}

func TestTVCommands(t *testing.T) {
	data := t.TempDir()
	addr, seen := fakeTVDaemon(t, data)
	g := []string{"--data", data, "--addr", addr, "tv"}

	code, out, stderr := kioskctl(t, append(g, "start", "--programme", "CCTV-14", "--category", "少儿",
		"--class", "三年级2班", "--count", "20", "--teacher", "王老师")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "tv tv1: started CCTV-14 (少儿) for 三年级2班, 20 children, teacher 王老师; power cec")
	assert.Contains(t, out, "ends by itself at 21:00")
	assert.JSONEq(t, `{"tv":"","programme":"CCTV-14","category":"少儿","class":"三年级2班","headcount":20,"teacher":"王老师"}`,
		seen["POST /api/tv/start"])

	code, out, stderr = kioskctl(t, append(g, "status")...)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `tv1\s+活动室\s+cec\s+on\s+21:00\s+少儿 CCTV-14, 三年级2班, 20 children, since 19:00`, out,
		"the station's time, not the daemon host's UTC")
	code, out, stderr = kioskctl(t, append(g, "status", "--tz", "UTC")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "since 11:00", "--tz picks the zone")

	code, out, stderr = kioskctl(t, append(g, "status", "--json")...)
	require.Equal(t, 0, code, stderr)
	var list ui.TVListResponse
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list.TVs, 1)

	code, _, stderr = kioskctl(t, append(g, "stop", "--tv", "tv1")...)
	assert.Equal(t, 1, code, "the daemon's refusal is exit 1")
	assert.Contains(t, stderr, "没有在播放")
	assert.JSONEq(t, `{"tv":"tv1"}`, seen["POST /api/tv/stop"])
}

func TestTVUsage(t *testing.T) {
	data := t.TempDir()
	addr, seen := fakeTVDaemon(t, data)
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no subcommand", nil, "want start"},
		{"unknown subcommand", []string{"rewind"}, "unknown subcommand"},
		{"unknown category", []string{"start", "--programme", "x", "--category", "体育", "--class", "c", "--count", "3", "--teacher", "t"}, "类别"},
		{"zero count", []string{"start", "--programme", "x", "--category", "新闻", "--class", "c", "--count", "0", "--teacher", "t"}, "人数"},
		{"no teacher", []string{"start", "--programme", "x", "--category", "新闻", "--class", "c", "--count", "3"}, "组织教师"},
		{"export bad format", []string{"export", "--format", "xlsx"}, "unknown format"},
		{"export reversed dates", []string{"export", "--from", "2026-03-02", "--to", "2026-03-01"}, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := kioskctl(t, append([]string{"--data", data, "--addr", addr, "tv"}, tc.args...)...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.msg)
		})
	}
	assert.Empty(t, seen, "refused commands reach no daemon")
}

func TestTVExport(t *testing.T) {
	data := newData(t)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	t0 := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC) // 19:00 in Shanghai
	for i, day := range []int{0, 1} {
		s := tv.Session{ID: []string{"a", "b"}[i], TV: "tv1", Programme: "CCTV-1 新闻联播", Category: "新闻", Class: "五年级1班",
			Headcount: 30 + i, Teacher: "张老师", Started: t0.AddDate(0, 0, day), Power: tv.PowerRelay, ClockSynced: true}
		require.NoError(t, db.TVStarted(ctx, s))
		s.Ended, s.Duration, s.Cause = s.Started.Add(30*time.Minute), 30*time.Minute, tv.CauseCurfew
		require.NoError(t, db.TVEnded(ctx, s))
	}
	require.NoError(t, db.Close())

	code, out, stderr := kioskctl(t, "--data", data, "tv", "export", "--from", "2026-03-03", "--to", "2026-03-03")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\uFEFF日期,播放时段（起-止）,频道/节目,类别,观看班级,人数,组织教师,备注\r\n"+
		"2026-03-03,19:00-19:30,CCTV-1 新闻联播,新闻,五年级1班,31,张老师,到最晚时间自动关闭\r\n", out)

	file := filepath.Join(t.TempDir(), "tv.json")
	code, _, stderr = kioskctl(t, "--data", data, "tv", "export", "--format", "json", "-o", file)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var rows []sqlite.TVRow
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 2)
	assert.Equal(t, tv.CauseCurfew, rows[0].Cause)

	db, err = sqlite.Open(ctx, filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	defer db.Close()
	entries, err := db.Entries(ctx, 0, 0)
	require.NoError(t, err)
	last := entries[len(entries)-1]
	assert.Equal(t, sqlite.KindAudit, last.Kind, "the export is audited")
	assert.Contains(t, string(last.Body), "tv export json")
}
