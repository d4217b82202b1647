package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// fakePresence is kiosk.Presence from a table: contacts not in it are
// offline.
type fakePresence struct {
	mu     sync.Mutex
	online map[kiosk.ContactID]time.Time // contact -> available until (zero: not said)
	asked  []kiosk.ContactID
}

func (p *fakePresence) Online(c kiosk.ContactID) (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, c)
	until, ok := p.online[c]
	return ok, until
}

var _ kiosk.Presence = (*fakePresence)(nil)

// withConsole returns a copy of e whose console is made from opts over
// e's store and clock, served by a server of its own.
func withConsole(t *testing.T, e *env, opts Opts) *env {
	t.Helper()
	opts.Store, opts.Loc, opts.Now = e.db, e.con.loc, e.clk.Now
	con, err := New(opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/console/", con.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e2 := *e
	e2.con, e2.srv = con, srv
	return &e2
}

var quietContactRe = regexp.MustCompile(`(?s)<li data-test="quiet-contact">(.*?)</li>`)

// quietContacts returns the quiet list's contact lines, tags removed and
// spaces folded.
func quietContacts(body string) []string {
	var out []string
	tags := regexp.MustCompile(`<[^>]+>`)
	for _, m := range quietContactRe.FindAllStringSubmatch(body, -1) {
		out = append(out, strings.Join(strings.Fields(tags.ReplaceAllString(m[1], "")), " "))
	}
	return out
}

// TestQuietListContactsAndPresence: 20 days after t0 neither child has
// been heard from. 张奶奶 has a link and her page is open, available until
// 18:30; 李芳's only link was revoked; 王建国 never had one; and 李芳
// is online from an old page left open (presence comes from the bridge,
// whatever the links say).
func TestQuietListContactsAndPresence(t *testing.T) {
	base := newEnv(t)
	ctx := context.Background()
	wang, err := base.db.Contacts(ctx, base.ids["王小明"])
	require.NoError(t, err)
	zhang, err := base.db.Contacts(ctx, base.ids["张丽"])
	require.NoError(t, err)
	_, _, err = base.db.CreateLink(ctx, zhang[0].ID, time.Time{})
	require.NoError(t, err)
	_, l, err := base.db.CreateLink(ctx, wang[1].ID, time.Time{})
	require.NoError(t, err)
	require.NoError(t, base.db.RevokeLink(ctx, l.ID))
	now := t0.AddDate(0, 0, 20) // 12-10 18:00 in Shanghai
	base.clk.Set(now)
	pres := &fakePresence{online: map[kiosk.ContactID]time.Time{
		zhang[0].ID: now.Add(30 * time.Minute),
		wang[1].ID:  now.Add(16 * time.Hour), // tomorrow 10:00
	}}
	e := withConsole(t, base, Opts{Presence: pres, QuietDays: 14})

	c, _ := e.login(t, "manager")
	res, body := do(t, c, "GET", e.srv.URL+"/console/children?quiet=1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, []string{
		"父亲 王建国 138****0001 · 无家长链接 no parent link · 不在线 offline",
		"母亲 李芳 138****0002 · 无家长链接 no parent link · 在线 online（可通话至 12-11 10:00 available until）",
		"奶奶 张奶奶 138****0003 · 家长链接 1 个 link · 在线 online（可通话至 18:30 available until）",
	}, quietContacts(body), "class order: 三年级1班 before 五年级2班; contacts by slot")
	assert.Regexp(t, `<b id="online-count">2</b>`, body)
	for _, n := range fullNumbers {
		assert.NotContains(t, body, n, "numbers are masked on the quiet list")
	}

	es := e.audits(t)
	require.NotEmpty(t, es)
	assert.Equal(t, "view_children", es[0].Action)
	assert.Equal(t, "manager", es[0].Actor)
	assert.Contains(t, es[0].Detail, "quiet=true rows=2 contacts=3 online=2", "the contacts shown are audited")

	t.Run("filtered by class", func(t *testing.T) {
		_, body := do(t, c, "GET", e.srv.URL+"/console/children?quiet=1&class=五年级2班", nil)
		assert.Len(t, quietContacts(body), 1)
		assert.Regexp(t, `<b id="online-count">1</b>`, body)
	})
	t.Run("principal sees the same", func(t *testing.T) {
		c, _ := e.login(t, "principal")
		_, body := do(t, c, "GET", e.srv.URL+"/console/children?quiet=1", nil)
		assert.Len(t, quietContacts(body), 3)
	})
	t.Run("inspector: names and classes only", func(t *testing.T) {
		c, _ := e.login(t, "inspector")
		res, body := do(t, c, "GET", e.srv.URL+"/console/children?quiet=1", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "张丽")
		assert.Empty(t, quietContacts(body))
		for _, s := range []string{"138****", "张奶奶", "家长链接", "online"} {
			assert.NotContains(t, body, s)
		}
		es := e.audits(t)
		assert.NotContains(t, es[0].Detail, "contacts=", "no contacts shown")
	})
	t.Run("the plain children list shows no contacts", func(t *testing.T) {
		_, body := do(t, c, "GET", e.srv.URL+"/console/children", nil)
		assert.Empty(t, quietContacts(body))
		assert.NotContains(t, body, "quiet-reach")
	})
}

// TestQuietListWithoutPresence: with no video bridge the list shows
// contacts and links but claims nothing about who is online.
func TestQuietListWithoutPresence(t *testing.T) {
	e := newEnv(t)
	c, _ := e.login(t, "manager")
	_, body := do(t, c, "GET", e.srv.URL+"/console/children?quiet=1", nil)
	assert.Equal(t, []string{"奶奶 张奶奶 138****0003 · 无家长链接 no parent link"}, quietContacts(body))
	assert.NotContains(t, body, "online-count")
	assert.NotContains(t, body, "不在线")
}

// TestQuietDaysOption: Opts.QuietDays sets the window of the quiet list
// and its headings. 王小明 called on t0; 张丽 never did.
func TestQuietDaysOption(t *testing.T) {
	base := newEnv(t)
	base.clk.Set(t0.AddDate(0, 0, 3))
	for _, tc := range []struct {
		days int
		want []string // children on the quiet list
	}{
		{days: 2, want: []string{"王小明", "张丽"}},
		{days: 4, want: []string{"张丽"}},
		{days: 0, want: []string{"张丽"}}, // the default, 14
	} {
		e := withConsole(t, base, Opts{QuietDays: tc.days})
		c, _ := e.login(t, "manager")
		_, body := do(t, c, "GET", e.srv.URL+"/console/children?quiet=1", nil)
		days := tc.days
		if days == 0 {
			days = 14
		}
		assert.Contains(t, body, " · "+itoa(int64(days))+" 天未与家人通话", "heading, %d days", tc.days)
		for _, n := range []string{"王小明", "张丽"} {
			if slices.Contains(tc.want, n) {
				assert.Contains(t, body, ">"+n+"</a>", "%s is quiet for %d days", n, tc.days)
			} else {
				assert.NotContains(t, body, ">"+n+"</a>", "%s is not quiet for %d days", n, tc.days)
			}
		}
		_, body = do(t, c, "GET", e.srv.URL+"/console/today", nil)
		assert.Regexp(t, `<b>\d+</b><span>`+itoa(int64(days))+` 天未与家人通话`, body, "Today's tile, %d days", tc.days)
	}
}
