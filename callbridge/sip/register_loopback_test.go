package sip_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newClient(t testing.TB) *sipgo.Client {
	ua, err := sipgo.NewUA()
	require.NoError(t, err)
	t.Cleanup(func() { ua.Close() })
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	require.NoError(t, err)
	return c
}

func registerReq(t testing.TB, server, transport, user string) *siplib.Request {
	var dst siplib.Uri
	require.NoError(t, siplib.ParseUri("sip:"+server, &dst))
	req := siplib.NewRequest(siplib.REGISTER, dst)
	req.SetTransport(transport)
	aor := siplib.Uri{Scheme: "sip", User: user, Host: dst.Host}
	req.AppendHeader(&siplib.ToHeader{Address: aor})
	from := siplib.FromHeader{Address: aor, Params: siplib.NewParams()}
	from.Params.Add("tag", siplib.GenerateTagN(8))
	req.AppendHeader(&from)
	req.AppendHeader(&siplib.ContactHeader{Address: siplib.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5999}})
	return req
}

func TestRegisterLoopbackStaleNonce(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEnv(t, envOpts{noPhone: true, now: now})
	c := newClient(t)
	ctx := context.Background()

	req := registerReq(t, e.bridge.Addr("udp"), "UDP", ext)
	res, err := c.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
	require.NoError(t, err)
	require.Equal(t, 401, res.StatusCode)
	assert.Len(t, res.GetHeaders("WWW-Authenticate"), 1, "MD5 only by default")
	res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ext, Password: extPW})
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	_, ok := e.bridge.Registrar().Binding(ext)
	require.True(t, ok)

	// The same credentials after the nonce expired: a fresh challenge
	// marked stale, which the client answers without asking the user.
	skew.Store(int64(10 * time.Minute))
	again := req.Clone()
	again.RemoveHeader("Via")
	again.CSeq().SeqNo++
	res, err = c.Do(ctx, again)
	require.NoError(t, err)
	require.Equal(t, 401, res.StatusCode)
	assert.Contains(t, res.GetHeader("WWW-Authenticate").Value(), "stale=true")
	res, err = c.DoDigestAuth(ctx, again, res, sipgo.DigestAuth{Username: ext, Password: extPW})
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
}

func TestRegisterLoopbackTCP(t *testing.T) {
	e := newEnv(t, envOpts{noPhone: true})
	require.NotEmpty(t, e.bridge.Addr("tcp"))
	c := newClient(t)
	ctx := context.Background()
	req := registerReq(t, e.bridge.Addr("tcp"), "TCP", ext)
	res, err := c.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
	require.NoError(t, err)
	require.Equal(t, 401, res.StatusCode)
	res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ext, Password: extPW})
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	b, ok := e.bridge.Registrar().Lookup(ext)
	require.True(t, ok)
	assert.Equal(t, "TCP", b.Transport)
}

func TestMethodsAndMalformed(t *testing.T) {
	e := newEnv(t, envOpts{noPhone: true})
	c := newClient(t)
	ctx := context.Background()
	var dst siplib.Uri
	require.NoError(t, siplib.ParseUri("sip:"+e.bridge.Addr("udp"), &dst))
	tests := []struct {
		name   string
		method siplib.RequestMethod
		body   []byte
		want   int
	}{
		{"options", siplib.OPTIONS, nil, 200},
		{"subscribe not allowed", siplib.SUBSCRIBE, nil, 405},
		{"message not allowed", siplib.MESSAGE, nil, 405},
		{"bye outside dialog", siplib.BYE, nil, 481},
		{"invite without credentials", siplib.INVITE, nil, 407},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := siplib.NewRequest(tc.method, dst)
			req.AppendHeader(&siplib.ContactHeader{Address: siplib.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5999}})
			res, err := c.Do(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, tc.want, res.StatusCode)
		})
	}
}

func TestHandsetBadSDP(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := newClient(t)
	ctx := context.Background()
	tests := []struct {
		name string
		body string
	}{
		{"garbage", "hello"},
		{"no g711", "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var dst siplib.Uri
			require.NoError(t, siplib.ParseUri("sip:1@"+e.bridge.Addr("udp"), &dst))
			req := siplib.NewRequest(siplib.INVITE, dst)
			from := siplib.FromHeader{Address: siplib.Uri{Scheme: "sip", User: ext, Host: "127.0.0.1"}, Params: siplib.NewParams()}
			from.Params.Add("tag", siplib.GenerateTagN(8))
			req.AppendHeader(&from)
			req.AppendHeader(&siplib.ContactHeader{Address: siplib.Uri{Scheme: "sip", User: ext, Host: "127.0.0.1", Port: 5999}})
			req.AppendHeader(siplib.NewHeader("Content-Type", "application/sdp"))
			req.SetBody([]byte(tc.body))
			res, err := c.Do(ctx, req)
			require.NoError(t, err)
			require.Equal(t, 407, res.StatusCode)
			res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ext, Password: extPW})
			require.NoError(t, err)
			assert.Equal(t, 488, res.StatusCode, "SDP we cannot accept")
			assert.Empty(t, e.auth.asked, "refused before the policy is asked")
		})
	}
}
