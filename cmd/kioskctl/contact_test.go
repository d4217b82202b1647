package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// linkData returns a data dir whose roster has two children named 王小明
// in different classes and 张丽 with the id S-017 (fictional people).
func linkData(t *testing.T) string {
	t.Helper()
	data := newData(t)
	db := openTestDB(t, data)
	_, err := db.ApplyRoster(context.Background(), []kiosk.RosterEntry{
		{Line: 2, Child: kiosk.Child{Name: "王小明", Class: "三年级1班"}, Contacts: []kiosk.Contact{
			{Name: "王建国", Relation: "父亲", Phone: "+8613800000001", Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}}}},
		{Line: 3, Child: kiosk.Child{Name: "王小明", Class: "一年级1班"}, Contacts: []kiosk.Contact{
			{Name: "王伯伯", Relation: "监护人", Phone: "+8613800000004"}}},
		{Line: 4, Child: kiosk.Child{ExternalID: "S-017", Name: "张丽", Class: "五年级2班"}, Contacts: []kiosk.Contact{
			{Name: "张奶奶", Relation: "奶奶", Phone: "+8613800000003", Modes: []kiosk.Mode{kiosk.ModeVideo}},
			{Name: "张三", Relation: "父亲", Phone: "+8613800000005", Modes: []kiosk.Mode{kiosk.ModeVideo}}}},
	}, false)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return data
}

func openTestDB(t *testing.T, data string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

var linkURL = regexp.MustCompile(`(https?://\S+)/p/([a-z2-7]{32})\n`)

func TestContactLinkLifecycle(t *testing.T) {
	ctx := context.Background()
	data := linkData(t)
	t.Setenv("KIOSK_PUBLIC_URL", "")

	code, out, stderr := kioskctl(t, "--data", data, "contact", "link", "S-017", "2", "--base-url", "https://hub.example.org/station1/")
	require.Equal(t, 0, code, stderr)
	m := linkURL.FindStringSubmatch(out)
	require.NotNil(t, m, "a URL in: %s", out)
	assert.Equal(t, "https://hub.example.org/station1", m[1], "the base without its trailing slash")
	assert.Contains(t, out, "张三", "names the contact")
	assert.Contains(t, out, "expires never")
	assert.Contains(t, out, "█", "a QR code in the terminal")
	token := m[2]

	db := openTestDB(t, data)
	l, c, ch, err := db.ResolveLink(ctx, token)
	require.NoError(t, err, "the printed token resolves")
	assert.Equal(t, int64(1), l.ID)
	assert.Equal(t, "张三", c.Name)
	assert.Equal(t, "S-017", ch.ExternalID)

	// A second link with an expiry, base from the environment, QR to PNG.
	t.Setenv("KIOSK_PUBLIC_URL", "http://192.0.2.10:8080")
	png := filepath.Join(t.TempDir(), "qr.png")
	code, out, stderr = kioskctl(t, "--data", data, "contact", "link", "张丽", "2", "--expires", "30d", "--png", png)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "http://192.0.2.10:8080/p/")
	assert.NotContains(t, out, "expires never")
	b, err := os.ReadFile(png)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("\x89PNG")), "a PNG file")

	code, out, stderr = kioskctl(t, "--data", data, "contact", "links", "S-017", "2")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Regexp(t, `^ID\s+CREATED\s+EXPIRES\s+STATUS$`, lines[0])
	assert.Regexp(t, `^2\s.*\sactive$`, lines[1], "newest first")
	assert.Regexp(t, `^1\s.*never\s+active$`, lines[2])

	code, out, stderr = kioskctl(t, "--data", data, "contact", "revoke", "1")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "link 1 revoked")
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "the revoked link no longer resolves")
	code, out, _ = kioskctl(t, "--data", data, "contact", "revoke", "1")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "already revoked")

	code, out, _ = kioskctl(t, "--data", data, "contact", "links", "S-017", "2")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^1\s.*revoked$`, out)

	// Each creation and revocation is audited, without the token; the
	// chain is intact.
	es, err := db.Entries(ctx, 0, 1000)
	require.NoError(t, err)
	var audits []string
	for _, e := range es {
		assert.NotContains(t, string(e.Body), token)
		if e.Kind == sqlite.KindAudit {
			audits = append(audits, string(e.Body))
		}
	}
	require.Len(t, audits, 3, "two links and one revocation (the no-op is not)")
	assert.Contains(t, audits[0], `"action":"contact link"`)
	assert.Contains(t, audits[2], `"action":"contact revoke"`)
	code, _, _ = kioskctl(t, "--data", data, "ledger", "verify")
	assert.Equal(t, 0, code)
}

func TestContactLinkBaseFollowsAddr(t *testing.T) {
	data := linkData(t)
	t.Setenv("KIOSK_PUBLIC_URL", "")
	t.Setenv("KIOSK_ADDR", "")

	// The daemon on another port: the link is on that port.
	code, out, stderr := kioskctl(t, "--addr", "http://127.0.0.1:18080", "--data", data, "contact", "link", "S-017", "1")
	require.Equal(t, 0, code, stderr)
	m := linkURL.FindStringSubmatch(out)
	require.NotNil(t, m, "a URL in: %s", out)
	assert.Equal(t, "http://127.0.0.1:18080", m[1], "the base follows --addr")
	assert.Contains(t, out, "only works on this machine", "a loopback base is flagged")

	t.Setenv("KIOSK_ADDR", "http://127.0.0.1:18081/")
	code, out, stderr = kioskctl(t, "--data", data, "contact", "link", "S-017", "1")
	require.Equal(t, 0, code, stderr)
	m = linkURL.FindStringSubmatch(out)
	require.NotNil(t, m, "a URL in: %s", out)
	assert.Equal(t, "http://127.0.0.1:18081", m[1], "the base follows $KIOSK_ADDR")

	// The config's [video] public_url wins over --addr; --base-url over both.
	cfg := filepath.Join("..", "..", "firmware-config", "kiosk.example.toml")
	code, out, stderr = kioskctl(t, "--addr", "http://127.0.0.1:18080", "--data", data, "contact", "link", "S-017", "1", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	m = linkURL.FindStringSubmatch(out)
	require.NotNil(t, m, "a URL in: %s", out)
	assert.Equal(t, "https://kiosk.example-school.cn", m[1], "[video] public_url")
	assert.NotContains(t, out, "only works on this machine")
	code, out, stderr = kioskctl(t, "--data", data, "contact", "link", "S-017", "1", "--config", cfg, "--base-url", "https://hub.example.org")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "https://hub.example.org/p/")
}

func TestContactLinkChildLookup(t *testing.T) {
	data := linkData(t)
	t.Setenv("KIOSK_PUBLIC_URL", "")

	code, _, stderr := kioskctl(t, "--data", data, "contact", "link", "王小明", "1")
	assert.Equal(t, 1, code, "an ambiguous name is refused")
	assert.Contains(t, stderr, "一年级1班")
	assert.Contains(t, stderr, "三年级1班")

	code, out, stderr := kioskctl(t, "--data", data, "contact", "link", "王小明", "1", "--class", "一年级1班")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "王伯伯")
	assert.Contains(t, out, "not approved for video", "warns about a phone-only contact")
	assert.Contains(t, out, "only works on this machine", "warns about the loopback default")

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown child", []string{"contact", "link", "李四", "1"}, "no child"},
		{"unknown class", []string{"contact", "link", "王小明", "1", "--class", "九年级"}, "no child"},
		{"empty slot", []string{"contact", "link", "S-017", "3"}, "no contact 3"},
		{"unknown link", []string{"contact", "revoke", "42"}, "link 42 not found"},
		{"links of unknown child", []string{"contact", "links", "李四", "1"}, "no child"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := kioskctl(t, append([]string{"--data", data}, tc.args...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

func TestContactUsage(t *testing.T) {
	data := linkData(t)
	tests := []struct {
		name string
		args []string
	}{
		{"no subcommand", []string{"contact"}},
		{"unknown subcommand", []string{"contact", "frob"}},
		{"link without N", []string{"contact", "link", "S-017"}},
		{"link slot 0", []string{"contact", "link", "S-017", "0"}},
		{"link slot 6", []string{"contact", "link", "S-017", "6"}},
		{"link slot not a number", []string{"contact", "link", "S-017", "one"}},
		{"bad expiry", []string{"contact", "link", "S-017", "1", "--expires", "soon"}},
		{"negative expiry", []string{"contact", "link", "S-017", "1", "--expires", "-5h"}},
		{"bad base url", []string{"contact", "link", "S-017", "1", "--base-url", "hub.example.org"}},
		{"links without N", []string{"contact", "links", "S-017"}},
		{"revoke without id", []string{"contact", "revoke"}},
		{"revoke bad id", []string{"contact", "revoke", "x1"}},
		{"unknown flag", []string{"contact", "link", "S-017", "1", "--frob"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := kioskctl(t, append([]string{"--data", data}, tc.args...)...)
			assert.Equal(t, 2, code, "stderr: %s", stderr)
		})
	}
	// Nothing was created by the refused commands.
	db := openTestDB(t, data)
	cs, err := db.ChildByName(context.Background(), "S-017")
	require.NoError(t, err)
	c, err := db.ContactBySlot(context.Background(), cs[0].ID, 1)
	require.NoError(t, err)
	ls, err := db.Links(context.Background(), c.ID)
	require.NoError(t, err)
	assert.Empty(t, ls)
}

func TestParseExpires(t *testing.T) {
	// Table of the accepted forms, in Asia/Shanghai.
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, loc)
	tests := []struct {
		in   string
		want string // RFC 3339, "" for never
	}{
		{"", ""},
		{"720h", "2026-04-09T08:00:00+08:00"},
		{"30d", "2026-04-09T08:00:00+08:00"},
		{"2026-06-30", "2026-07-01T00:00:00+08:00"},
		{"2026-06-30T12:00:00Z", "2026-06-30T20:00:00+08:00"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseExpires(tc.in, now, loc)
			require.NoError(t, err)
			if tc.want == "" {
				assert.True(t, got.IsZero())
				return
			}
			want, err := time.Parse(time.RFC3339, tc.want)
			require.NoError(t, err)
			assert.True(t, want.Equal(got), "got %s", got)
		})
	}
}
