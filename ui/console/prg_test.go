package console

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doFollow is do, then, when the answer is 303 See Other, a GET of its
// Location, as a browser does: it returns the first answer and the body
// of the page landed on.
func doFollow(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, body := do(t, c, method, u, form)
	if res.StatusCode != http.StatusSeeOther {
		return res, body
	}
	loc, err := res.Request.URL.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	next, body := do(t, c, "GET", loc.String(), nil)
	require.Equal(t, http.StatusOK, next.StatusCode, "the page redirected to")
	return res, body
}

func TestConsentTwiceAndDates(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	id := e.ids["张丽"]
	path := e.srv.URL + "/console/children/" + itoa(int64(id)) + "/consent"
	count := func() int {
		h, err := e.db.ConsentHistory(context.Background(), id)
		require.NoError(t, err)
		return len(h)
	}
	f := url.Values{"csrf": {csrf}, "date": {"2026-11-01"}, "method": {"written"}, "relation": {"母亲"}}

	res, _ := do(t, c, "POST", path, f)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "Post/Redirect/Get: F5 reloads the page, not the form")
	assert.Equal(t, "/console/consent?child="+itoa(int64(id))+"&done=consent_recorded", res.Header.Get("Location"))
	require.Equal(t, 1, count())

	res, body := do(t, c, "POST", path, f)
	assert.Equal(t, http.StatusConflict, res.StatusCode, "the same form sent twice")
	assert.Contains(t, body, "重复登记")
	g := url.Values{"csrf": {csrf}, "date": {"2026-11-01"}, "method": {"written"}, "relation": {" 母亲 "}}
	res, _ = do(t, c, "POST", path, g)
	assert.Equal(t, http.StatusConflict, res.StatusCode, "the relation is compared trimmed")
	assert.Equal(t, 1, count(), "one entry")

	g.Set("date", "2026-11-02")
	res, _ = do(t, c, "POST", path, g)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "another date is a new entry")
	assert.Equal(t, 2, count())

	for _, tc := range []struct{ date, says string }{
		{"1900-01-01", "不能早于 2000-01-01"},
		{"1999-12-31", "不能早于 2000-01-01"},
		{"2026-11-21", "不能晚于今天 2026-11-20"}, // t0 is 2026-11-20 18:00 in Shanghai
		{"2030-01-01", "不能晚于今天"},
	} {
		h := url.Values{"csrf": {csrf}, "date": {tc.date}, "method": {"phone"}, "relation": {"父亲"}}
		res, body := do(t, c, "POST", path, h)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, tc.date)
		assert.Contains(t, body, tc.says, tc.date)
		h.Set("withdraw", "1")
		res, body = do(t, c, "POST", path, h)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "withdrawal on %s", tc.date)
		assert.Contains(t, body, "撤回日期", tc.date)
	}
	assert.Equal(t, 2, count(), "nothing recorded for a bad date")
	res, _ = do(t, c, "POST", path, url.Values{"csrf": {csrf}, "date": {"2026-11-20"}, "method": {"phone"}, "relation": {"父亲"}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "today is fine")
}

// seeNotice checks that res is 303 See Other to want (path and query,
// done=code included), then GETs it as the browser does and checks the
// page says the code's notice; it returns that page's body.
func seeNotice(t *testing.T, c *http.Client, res *http.Response, want, code string) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "Post/Redirect/Get")
	require.Equal(t, want, res.Header.Get("Location"))
	loc, err := res.Request.URL.Parse(want)
	require.NoError(t, err)
	next, body := do(t, c, "GET", loc.String(), nil)
	require.Equal(t, http.StatusOK, next.StatusCode, "the page redirected to")
	require.NotEmpty(t, notices[code], "a known notice")
	assert.Contains(t, body, template.HTMLEscapeString(notices[code]), "the notice shows")
	_, again := do(t, c, "GET", loc.String(), nil)
	assert.Contains(t, again, template.HTMLEscapeString(notices[code]), "F5 shows the page again, posting nothing")
	return body
}
