package sip

import (
	"testing"
	"time"

	siplib "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is an injected clock for exact expiry tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time      { return c.t }
func (c *fakeClock) Add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} }
func mustURI(t testing.TB, s string) siplib.Uri {
	var u siplib.Uri
	require.NoError(t, siplib.ParseUri(s, &u))
	return u
}

// newRegister builds a REGISTER for ext with the given Contact value and
// Expires header ("" for none).
func newRegister(t testing.TB, ext, contact, expires string) *siplib.Request {
	req := siplib.NewRequest(siplib.REGISTER, mustURI(t, "sip:kiosk.local"))
	to := &siplib.ToHeader{Address: mustURI(t, "sip:"+ext+"@kiosk.local")}
	from := &siplib.FromHeader{Address: mustURI(t, "sip:"+ext+"@kiosk.local"), Params: siplib.NewParams()}
	from.Params.Add("tag", "abc")
	callID := siplib.CallIDHeader("reg-" + ext)
	req.AppendHeader(to)
	req.AppendHeader(from)
	req.AppendHeader(&callID)
	req.AppendHeader(&siplib.CSeqHeader{SeqNo: 1, MethodName: siplib.REGISTER})
	if contact != "" {
		req.AppendHeader(siplib.NewHeader("Contact", contact))
	}
	if expires != "" {
		req.AppendHeader(siplib.NewHeader("Expires", expires))
	}
	req.SetSource("127.0.0.1:5099")
	req.SetTransport("UDP")
	return req
}

// answer adds an Authorization computed for the challenge number i of res.
func answer(t testing.TB, req *siplib.Request, res *siplib.Response, i int, user, pw string) *siplib.Request {
	hs := res.GetHeaders("WWW-Authenticate")
	require.Greater(t, len(hs), i)
	chal, err := digest.ParseChallenge(hs[i].Value())
	require.NoError(t, err)
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: req.Recipient.String(), Username: user, Password: pw})
	require.NoError(t, err)
	req = req.Clone()
	req.RemoveHeader("Authorization")
	req.AppendHeader(siplib.NewHeader("Authorization", cred.String()))
	return req
}

func TestRegistrarDigest(t *testing.T) {
	users := map[string]string{"201": "secret201", "202": "secret202"}
	tests := []struct {
		name     string
		chal     int // which challenge to answer: 0 SHA-256, 1 MD5
		user, pw string
		toExt    string
		want     int
	}{
		{name: "sha-256", chal: 0, user: "201", pw: "secret201", toExt: "201", want: 200},
		{name: "md5", chal: 1, user: "201", pw: "secret201", toExt: "201", want: 200},
		{name: "wrong password", chal: 0, user: "201", pw: "nope", toExt: "201", want: 401},
		{name: "unknown user", chal: 0, user: "999", pw: "x", toExt: "999", want: 401},
		{name: "other extension", chal: 0, user: "202", pw: "secret202", toExt: "201", want: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			r := NewRegistrar("kiosk", users, RegistrarOpts{Now: clk.Now, Algorithms: []string{"SHA-256", "MD5"}})
			req := newRegister(t, tc.toExt, "<sip:"+tc.toExt+"@127.0.0.1:5099>", "")
			res := r.Handle(req)
			require.Equal(t, 401, res.StatusCode, "first REGISTER is challenged")
			hs := res.GetHeaders("WWW-Authenticate")
			require.Len(t, hs, 2, "SHA-256 and MD5 challenges")
			assert.Contains(t, hs[0].Value(), "SHA-256")
			assert.Contains(t, hs[1].Value(), "MD5")

			res = r.Handle(answer(t, req, res, tc.chal, tc.user, tc.pw))
			assert.Equal(t, tc.want, res.StatusCode)
			_, ok := r.Binding(tc.toExt)
			assert.Equal(t, tc.want == 200, ok, "binding exists only after success")
			if tc.want == 200 {
				c := res.Contact()
				require.NotNil(t, c)
				v, _ := c.Params.Get("expires")
				assert.Equal(t, "3600", v, "default expiry")
			}
		})
	}
}

// By default only MD5 is offered (sipp and baresip give up on a response
// that offers SHA-256) and only MD5 is accepted.
func TestRegistrarDefaultMD5Only(t *testing.T) {
	r := NewRegistrar("kiosk", map[string]string{"201": "pw"}, RegistrarOpts{Now: newFakeClock().Now})
	req := newRegister(t, "201", "<sip:201@127.0.0.1:5099>", "")
	res := r.Handle(req)
	hs := res.GetHeaders("WWW-Authenticate")
	require.Len(t, hs, 1)
	assert.Contains(t, hs[0].Value(), "algorithm=MD5")

	// A SHA-256 answer to a challenge we did not offer is refused.
	chal, err := digest.ParseChallenge(hs[0].Value())
	require.NoError(t, err)
	chal.Algorithm = "SHA-256"
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: req.Recipient.String(), Username: "201", Password: "pw"})
	require.NoError(t, err)
	sha := req.Clone()
	sha.AppendHeader(siplib.NewHeader("Authorization", cred.String()))
	assert.Equal(t, 401, r.Handle(sha).StatusCode)

	assert.Equal(t, 200, r.Handle(answer(t, req, res, 0, "201", "pw")).StatusCode)
}

// The digest's uri must be the Request-URI (RFC 2617 section 3.2.2.5):
// credentials computed for another URI are refused.
func TestRegistrarDigestURIMustMatch(t *testing.T) {
	r := NewRegistrar("kiosk", map[string]string{"201": "pw"}, RegistrarOpts{Now: newFakeClock().Now})
	req := newRegister(t, "201", "<sip:201@127.0.0.1:5099>", "")
	res := r.Handle(req)
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	require.NoError(t, err)
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:elsewhere.example", Username: "201", Password: "pw"})
	require.NoError(t, err)
	other := req.Clone()
	other.AppendHeader(siplib.NewHeader("Authorization", cred.String()))
	assert.Equal(t, 401, r.Handle(other).StatusCode)
}

func TestRegistrarStaleNonce(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistrar("kiosk", map[string]string{"201": "pw"}, RegistrarOpts{Now: clk.Now, NonceTTL: time.Minute,
		Algorithms: []string{"SHA-256", "MD5"}})
	req := newRegister(t, "201", "<sip:201@127.0.0.1:5099>", "")
	chal := r.Handle(req)
	authed := answer(t, req, chal, 0, "201", "pw")
	require.Equal(t, 200, r.Handle(authed).StatusCode)

	clk.Add(61 * time.Second)
	res := r.Handle(authed)
	require.Equal(t, 401, res.StatusCode, "expired nonce is refused")
	assert.Contains(t, res.GetHeader("WWW-Authenticate").Value(), "stale=true")
	require.Equal(t, 200, r.Handle(answer(t, req, res, 1, "201", "pw")).StatusCode, "fresh nonce accepted")

	bad := answer(t, req, chal, 0, "201", "wrong")
	res = r.Handle(bad)
	require.Equal(t, 401, res.StatusCode)
	assert.NotContains(t, res.GetHeader("WWW-Authenticate").Value(), "stale=true", "a wrong password is not stale")
}

func TestRegistrarExpiry(t *testing.T) {
	tests := []struct {
		name      string
		contact   string
		expires   string
		want      int
		bound     bool
		minHeader string
	}{
		{name: "contact param", contact: "<sip:201@127.0.0.1:5099>;expires=120", want: 200, bound: true},
		{name: "expires header", contact: "<sip:201@127.0.0.1:5099>", expires: "600", want: 200, bound: true},
		{name: "too brief", contact: "<sip:201@127.0.0.1:5099>", expires: "30", want: 423, bound: true, minHeader: "60"},
		{name: "unregister expires 0", contact: "<sip:201@127.0.0.1:5099>", expires: "0", want: 200},
		{name: "unregister star", contact: "*", expires: "0", want: 200},
		{name: "star without expires 0", contact: "*", want: 400, bound: true},
		{name: "bad expires", contact: "<sip:201@127.0.0.1:5099>", expires: "soon", want: 400, bound: true},
		{name: "query", want: 200, bound: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			r := NewRegistrar("kiosk", map[string]string{"201": "pw"}, RegistrarOpts{Now: clk.Now})
			register := func(contact, expires string) *siplib.Response {
				req := newRegister(t, "201", contact, expires)
				return r.Handle(answer(t, req, r.Handle(req), 0, "201", "pw"))
			}
			require.Equal(t, 200, register("<sip:201@127.0.0.1:5000>", "").StatusCode, "initial registration")
			res := register(tc.contact, tc.expires)
			assert.Equal(t, tc.want, res.StatusCode)
			_, ok := r.Binding("201")
			assert.Equal(t, tc.bound, ok)
			if tc.minHeader != "" {
				require.NotNil(t, res.GetHeader("Min-Expires"))
				assert.Equal(t, tc.minHeader, res.GetHeader("Min-Expires").Value())
			}
		})
	}
}

func TestRegistrarBindingLapses(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistrar("kiosk", map[string]string{"201": "pw"}, RegistrarOpts{Now: clk.Now})
	req := newRegister(t, "201", "<sip:201@127.0.0.1:5099>", "120")
	require.Equal(t, 200, r.Handle(answer(t, req, r.Handle(req), 0, "201", "pw")).StatusCode)
	c, ok := r.Binding("201")
	require.True(t, ok)
	assert.Equal(t, "127.0.0.1", c.Host)
	assert.Equal(t, 5099, c.Port)
	b, _ := r.Lookup("201")
	assert.Equal(t, "127.0.0.1:5099", b.Source)

	clk.Add(119 * time.Second)
	_, ok = r.Binding("201")
	assert.True(t, ok, "still bound 1 s before expiry")
	assert.Equal(t, 1, r.Registered())
	clk.Add(time.Second)
	_, ok = r.Binding("201")
	assert.False(t, ok, "lapsed at expiry")
	assert.Equal(t, 0, r.Registered())
}
