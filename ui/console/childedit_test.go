package console

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The station's database edits children's cards, status and links.
var _ RosterEditor = (*sqlite.DB)(nil)

// childEditActions are the manager's changes on 王小明's page, each with a
// valid form (without the CSRF token).
func childEditActions(t *testing.T, e *env) []struct {
	name, method, path string
	form               url.Values
} {
	t.Helper()
	ctx := context.Background()
	id := e.ids["王小明"]
	cs, err := e.db.Contacts(ctx, id)
	require.NoError(t, err)
	_, l, err := e.db.CreateLink(ctx, cs[1].ID, t0.AddDate(0, 1, 0))
	require.NoError(t, err)
	base := "/console/children/" + itoa(int64(id))
	return []struct {
		name, method, path string
		form               url.Values
	}{
		{"add card", "POST", base + "/cards", url.Values{"number": {"a1-b2-c3-d4"}}},
		{"disable card", "POST", base + "/cards/disable", url.Values{"card": {"04A1B2C3"}}},
		{"create link", "POST", base + "/links", url.Values{"contact": {itoa(int64(cs[0].ID))}, "days": {"7"}}},
		{"revoke link", "POST", base + "/links/revoke", url.Values{"link": {itoa(l.ID)}}},
		{"confirm status", "GET", base + "/status", nil},
		{"mark left", "POST", base + "/status", url.Values{"status": {"left"}}},
	}
}

// rosterState is what the actions change: 王小明's cards, links and
// status.
func rosterState(t *testing.T, e *env) string {
	t.Helper()
	ctx := context.Background()
	id := e.ids["王小明"]
	ch, err := e.db.Child(ctx, id)
	require.NoError(t, err)
	cards, err := e.db.ChildCards(ctx, id)
	require.NoError(t, err)
	cs, err := e.db.Contacts(ctx, id)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString(string(ch.Status))
	for _, c := range cards {
		b.WriteString(" " + c.UID)
		if c.Enabled {
			b.WriteString("+")
		}
	}
	for _, c := range cs {
		ls, err := e.db.Links(ctx, c.ID)
		require.NoError(t, err)
		for _, l := range ls {
			b.WriteString(" L" + itoa(l.ID))
			if l.Revoked {
				b.WriteString("r")
			}
		}
	}
	return b.String()
}

func TestChildEditOnlyManager(t *testing.T) {
	e := newEnv(t)
	acts := childEditActions(t, e)
	for _, role := range []string{"principal", "inspector", "technician"} {
		c, csrf := e.login(t, role)
		for _, a := range acts {
			t.Run(role+" "+a.name, func(t *testing.T) {
				before, audits := rosterState(t, e), len(e.audits(t))
				var form url.Values
				if a.method == "POST" {
					form = url.Values{"csrf": {csrf}}
					for k, v := range a.form {
						form[k] = v
					}
				}
				res, body := do(t, c, a.method, e.srv.URL+a.path, form)
				assert.Equal(t, http.StatusForbidden, res.StatusCode)
				assert.NotContains(t, body, "/p/")
				assert.Equal(t, before, rosterState(t, e), "nothing changed")
				assert.Len(t, e.audits(t), audits, "nothing audited")
			})
		}
	}
	// The principal sees the child page but no edit controls.
	c, _ := e.login(t, "principal")
	res, body := do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(e.ids["王小明"])), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "家长链接")
	assert.NotContains(t, body, "/cards/disable")
	assert.NotContains(t, body, `action="/console/children/`+itoa(int64(e.ids["王小明"]))+`/links"`)
	assert.NotContains(t, body, "/status")

	// The manager without a CSRF token (or a wrong one) is refused too.
	m, csrf := e.login(t, "manager")
	for _, a := range acts {
		if a.method != "POST" {
			continue
		}
		for _, tok := range []string{"", csrf + "x"} {
			t.Run("manager csrf="+tok+" "+a.name, func(t *testing.T) {
				before, audits := rosterState(t, e), len(e.audits(t))
				form := url.Values{}
				if tok != "" {
					form.Set("csrf", tok)
				}
				for k, v := range a.form {
					form[k] = v
				}
				res, _ := do(t, m, a.method, e.srv.URL+a.path, form)
				assert.Equal(t, http.StatusForbidden, res.StatusCode)
				assert.Equal(t, before, rosterState(t, e), "nothing changed")
				assert.Len(t, e.audits(t), audits, "nothing audited")
			})
		}
	}
	// With the token, every action works and writes one audit entry.
	wantAction := map[string]string{"add card": "card_add", "disable card": "card_disable", "create link": "link_create",
		"revoke link": "link_revoke", "confirm status": "view_child", "mark left": "child_status"}
	for _, a := range acts {
		t.Run("manager "+a.name, func(t *testing.T) {
			before, audits := rosterState(t, e), len(e.audits(t))
			var form url.Values
			if a.method == "POST" {
				form = url.Values{"csrf": {csrf}}
				for k, v := range a.form {
					form[k] = v
				}
			}
			res, _ := do(t, m, a.method, e.srv.URL+a.path, form)
			want := http.StatusOK
			if a.method == "POST" {
				want = http.StatusSeeOther // Post/Redirect/Get; a new link's URL is shown on the next GET, once
			}
			require.Equal(t, want, res.StatusCode)
			after := e.audits(t)
			require.Len(t, after, audits+1)
			assert.Equal(t, "manager", after[0].Actor)
			assert.Equal(t, wantAction[a.name], after[0].Action)
			if a.method == "POST" {
				assert.NotEqual(t, before, rosterState(t, e), "the action changed the roster")
			}
		})
	}
}

func TestCards(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	id := e.ids["王小明"]
	base := e.srv.URL + "/console/children/" + itoa(int64(id))

	res, body := do(t, c, "GET", base, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `name="number"`, "the add card form")
	assert.Contains(t, body, `name="card" value="04A1B2C3"`, "a disable button for the enabled card")
	assert.Contains(t, body, "十六进制 hex", "the card format is named")

	tests := []struct {
		name, number string
		status       int
		says         []string
		never        []string
	}{
		{"hex with separators", "0a:0b:0c:0d", http.StatusSeeOther, []string{"0A0B0C0D", "卡已添加并启用"}, nil},
		{"again: no-op", "0A0B0C0D", http.StatusSeeOther, []string{"0A0B0C0D"}, nil},
		{"bad digits", "12345", http.StatusBadRequest, []string{"卡号无效", "hex digits"}, nil},
		{"decimal in hex format", "0077705923", http.StatusBadRequest, []string{"8H10D"}, nil},
		{"phantom read", "00000000", http.StatusBadRequest, []string{"all zeros"}, nil},
		{"another child's card", "de:ad:be:ef", http.StatusConflict, []string{"五年级2班"}, []string{"张丽"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := doFollow(t, c, "POST", base+"/cards", url.Values{"csrf": {csrf}, "number": {tt.number}})
			assert.Equal(t, tt.status, res.StatusCode)
			for _, s := range tt.says {
				assert.Contains(t, body, s)
			}
			for _, s := range tt.never {
				assert.NotContains(t, body, s)
			}
		})
	}
	cards, err := e.db.ChildCards(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, []kiosk.Card{{UID: "04A1B2C3", ChildID: id, Enabled: true}, {UID: "0A0B0C0D", ChildID: id, Enabled: true}}, cards)
	other, err := e.db.CardByUID(context.Background(), "DEADBEEF")
	require.NoError(t, err)
	assert.Equal(t, e.ids["张丽"], other.ChildID, "the other child keeps the card")

	// Disable a lost card: it stays on record, disabled; another child's
	// card cannot be disabled from this page.
	res, body = do(t, c, "POST", base+"/cards/disable", url.Values{"csrf": {csrf}, "card": {"DEADBEEF"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	other, err = e.db.CardByUID(context.Background(), "DEADBEEF")
	require.NoError(t, err)
	assert.True(t, other.Enabled)
	res, _ = do(t, c, "POST", base+"/cards/disable", url.Values{"csrf": {csrf}, "card": {"04A1B2C3"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/children/"+itoa(int64(id))+"?done=card_disabled", res.Header.Get("Location"))
	card, err := e.db.CardByUID(context.Background(), "04A1B2C3")
	require.NoError(t, err)
	assert.False(t, card.Enabled)
	assert.Equal(t, id, card.ChildID)
	es := e.audits(t)
	assert.Equal(t, "card_disable", es[0].Action)
	assert.Equal(t, "child="+itoa(int64(id))+" card=…B2C3", es[0].Detail, "only the last digits of a card in the audit")
	assert.Equal(t, "card_add", es[2].Action)

	// The 8H10D format: a console configured so reads the printed decimal.
	con, err := New(Opts{Store: e.db, Now: e.clk.Now, CardFormat: kiosk.Card8H10D})
	require.NoError(t, err)
	srv := httptest.NewServer(con.Handler())
	t.Cleanup(srv.Close)
	e2 := *e
	e2.srv = srv
	c2, csrf2 := e2.login(t, "manager")
	res, body = do(t, c2, "POST", srv.URL+"/console/children/"+itoa(int64(id))+"/cards", url.Values{"csrf": {csrf2}, "number": {"0077705923"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	card, err = e.db.CardByUID(context.Background(), "04A1B2C3")
	require.NoError(t, err)
	assert.True(t, card.Enabled, "0077705923 is 0x04A1B2C3: the lost card was enabled again")
}

var linkRe = regexp.MustCompile(`(https?://[^\s"<]+)/p/([a-z2-7]+)`)

func TestParentLinks(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	ctx := context.Background()
	id := e.ids["王小明"]
	base := e.srv.URL + "/console/children/" + itoa(int64(id))
	cs, err := e.db.Contacts(ctx, id)
	require.NoError(t, err)

	res, _ := do(t, c, "POST", base+"/links", url.Values{"csrf": {csrf}, "contact": {itoa(int64(cs[1].ID))}, "days": {"7"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "Post/Redirect/Get: F5 makes no second link")
	loc := res.Header.Get("Location")
	require.Regexp(t, `^/console/children/\d+/links/new\?k=[0-9a-f]{32}$`, loc)
	es := e.audits(t)
	assert.Equal(t, "link_create", es[0].Action, "audited when made")
	res, body := do(t, c, "GET", e.srv.URL+loc, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	m := linkRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the URL is shown")
	assert.Equal(t, e.srv.URL, m[1], "without PublicURL the base is the request's host")
	token := m[2]
	assert.Len(t, token, sqlite.TokenLen)
	assert.Contains(t, body, "<svg")
	assert.Regexp(t, `<path fill="#000" d="(M\d+ \d+h1v1h-1z){100,}"`, body, "the QR code's modules")
	assert.Contains(t, body, "2026-11-27 18:00", "the expiry, in the console's zone")
	assert.Contains(t, body, "只显示这一次")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	// The token is never stored, audited or shown again.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(e.db.Path() + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		require.NoError(t, err)
		assert.False(t, bytes.Contains(b, []byte(token)), "the token is not in %s", e.db.Path()+suffix)
	}
	es = e.audits(t)
	assert.Equal(t, "view_child", es[0].Action, "the page shown is audited as a view")
	assert.Contains(t, es[0].Detail, "page=link")
	assert.Equal(t, "link_create", es[1].Action)
	assert.Contains(t, es[1].Detail, "slot=2")
	for _, a := range es[:2] {
		assert.NotContains(t, a.Detail, token)
		assert.NotContains(t, a.Detail, loc[strings.Index(loc, "k=")+2:], "nor the view's key")
	}

	// Shown once: F5, or the link's page in another session, says so.
	res, body = do(t, c, "GET", e.srv.URL+loc, nil)
	assert.Equal(t, http.StatusGone, res.StatusCode, "a second view")
	assert.Contains(t, body, "此链接已显示过")
	assert.NotContains(t, body, token)
	_, body = do(t, c, "GET", base, nil)
	assert.NotContains(t, body, token)
	assert.Contains(t, body, "2026-11-27 18:00")
	assert.Contains(t, body, "有效 active")
	_, body = do(t, c, "GET", e.srv.URL+"/console/audit", nil)
	assert.NotContains(t, body, token)
	// The link works: the store resolves the token.
	l, ct, _, err := e.db.ResolveLink(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, cs[1].ID, ct.ID)

	t.Run("bad forms", func(t *testing.T) {
		for _, f := range []url.Values{
			{"contact": {itoa(int64(cs[1].ID))}, "days": {"-1"}},
			{"contact": {itoa(int64(cs[1].ID))}, "days": {"0"}},
			{"contact": {itoa(int64(cs[1].ID))}, "days": {"3661"}},
			{"contact": {itoa(int64(cs[1].ID))}, "days": {"soon"}},
			{"contact": {"x"}},
		} {
			f.Set("csrf", csrf)
			links, err := e.db.Links(ctx, cs[1].ID)
			require.NoError(t, err)
			res, body := do(t, c, "POST", base+"/links", f)
			assert.Equal(t, http.StatusBadRequest, res.StatusCode, "days=%q", f.Get("days"))
			assert.NotRegexp(t, linkRe, body)
			if f.Get("days") != "" {
				assert.Contains(t, body, "1 到 3660", "the message says what is wanted")
			}
			after, err := e.db.Links(ctx, cs[1].ID)
			require.NoError(t, err)
			assert.Len(t, after, len(links), "no link made for days=%q", f.Get("days"))
		}
		other, err := e.db.Contacts(ctx, e.ids["张丽"])
		require.NoError(t, err)
		res, _ := do(t, c, "POST", base+"/links", url.Values{"csrf": {csrf}, "contact": {itoa(int64(other[0].ID))}})
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "another child's contact")
		_, ol, err := e.db.CreateLink(ctx, other[0].ID, t0.AddDate(0, 0, 1))
		require.NoError(t, err)
		res, _ = do(t, c, "POST", base+"/links/revoke", url.Values{"csrf": {csrf}, "link": {itoa(ol.ID)}})
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "another child's link")
	})

	// Revoke.
	res, _ = do(t, c, "POST", base+"/links/revoke", url.Values{"csrf": {csrf}, "link": {itoa(l.ID)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, _, _, err = e.db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err))
	assert.Equal(t, "link_revoke", e.audits(t)[0].Action)
	_, body = do(t, c, "GET", base, nil)
	assert.Contains(t, body, "已撤销 revoked")

	// With PublicURL, the link's base is it.
	con, err := New(Opts{Store: e.db, Now: e.clk.Now, PublicURL: "https://qq.example.cn:8443/"})
	require.NoError(t, err)
	srv := httptest.NewServer(con.Handler())
	t.Cleanup(srv.Close)
	e2 := *e
	e2.srv = srv
	c2, csrf2 := e2.login(t, "manager")
	newLink := func() string {
		res, _ := do(t, c2, "POST", srv.URL+"/console/children/"+itoa(int64(id))+"/links", url.Values{"csrf": {csrf2}, "contact": {itoa(int64(cs[0].ID))}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		return srv.URL + res.Header.Get("Location")
	}
	loc = newLink()
	c3, _ := e2.login(t, "manager")
	res, body = do(t, c3, "GET", loc, nil)
	assert.Equal(t, http.StatusGone, res.StatusCode, "another session, even the same manager's")
	assert.NotRegexp(t, linkRe, body)
	res, body = do(t, c2, "GET", loc, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "the session that made it still sees it once")
	m = linkRe.FindStringSubmatch(body)
	require.NotNil(t, m)
	assert.Equal(t, "https://qq.example.cn:8443", m[1])
	assert.Contains(t, body, "长期有效 no expiry")

	loc = newLink()
	e.clk.Set(t0.Add(linkShowFor))
	res, body = do(t, c2, "GET", loc, nil)
	assert.Equal(t, http.StatusGone, res.StatusCode, "not viewed within linkShowFor")
	assert.NotRegexp(t, linkRe, body)
	e.clk.Set(t0)
}

func TestChildStatus(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	ctx := context.Background()
	id := e.ids["王小明"]
	base := e.srv.URL + "/console/children/" + itoa(int64(id))

	_, body := do(t, c, "GET", base, nil)
	assert.Contains(t, body, `href="/console/children/`+itoa(int64(id))+`/status"`)
	res, body := do(t, c, "GET", base+"/status", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `name="status" value="left"`, "the confirm page asks to mark as left")
	ch, err := e.db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.ChildActive, ch.Status, "the confirm page changes nothing")

	res, body = do(t, c, "POST", base+"/status", url.Values{"csrf": {csrf}, "status": {"gone"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)

	res, _ = do(t, c, "POST", base+"/status", url.Values{"csrf": {csrf}, "status": {"left"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ch, err = e.db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.ChildLeft, ch.Status)
	es := e.audits(t)
	assert.Equal(t, "child_status", es[0].Action)
	assert.Equal(t, "child="+itoa(int64(id))+" from=active to=left", es[0].Detail)
	_, body = do(t, c, "GET", e.srv.URL+res.Header.Get("Location"), nil)
	assert.Contains(t, body, "已标记为离校", "the child's page says what was done")

	// History stays: the calls are still on the page.
	_, body = do(t, c, "GET", base, nil)
	assert.Contains(t, body, "已离校 left")
	assert.Contains(t, body, "王建国")
	// No new link for a child who left.
	cs, err := e.db.Contacts(ctx, id)
	require.NoError(t, err)
	res, body = do(t, c, "POST", base+"/links", url.Values{"csrf": {csrf}, "contact": {itoa(int64(cs[0].ID))}})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, body, "已离校")

	res, body = do(t, c, "GET", base+"/status", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `name="status" value="active"`)
	res, _ = do(t, c, "POST", base+"/status", url.Values{"csrf": {csrf}, "status": {"active"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ch, err = e.db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kiosk.ChildActive, ch.Status)
}
