package sip_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	siplib "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/qinqing/station/callbridge/sip"
	"github.com/qinqing/station/kiosk"
	"github.com/stretchr/testify/require"
)

func reportP95(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p95 := lat[(len(lat)*95+99)/100-1] // nearest-rank percentile
	b.ReportMetric(float64(p95.Microseconds()), "p95-us")
}

// authorize answers the first challenge of res for req (Authorization or
// Proxy-Authorization); the nonce stays valid for the benchmark's run.
func authorize(b *testing.B, req *siplib.Request, res *siplib.Response) {
	name, hdr := "Authorization", "WWW-Authenticate"
	if res.StatusCode == 407 {
		name, hdr = "Proxy-Authorization", "Proxy-Authenticate"
	}
	chal, err := digest.ParseChallenge(res.GetHeader(hdr).Value())
	require.NoError(b, err)
	cred, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: req.Recipient.Addr(), Username: ext, Password: extPW})
	require.NoError(b, err)
	req.RemoveHeader(name)
	req.AppendHeader(siplib.NewHeader(name, cred.String()))
}

func BenchmarkRegister(b *testing.B) {
	e := newEnv(b, envOpts{noPhone: true})
	c := newClient(b)
	ctx := context.Background()
	req := registerReq(b, e.bridge.Addr("udp"), "UDP", ext)
	res, err := c.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
	require.NoError(b, err)
	authorize(b, req, res)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := req.Clone()
		r.RemoveHeader("Via")
		r.CSeq().SeqNo += uint32(i + 1)
		t0 := time.Now()
		res, err := c.Do(ctx, r)
		lat = append(lat, time.Since(t0))
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("register: %v %v", err, res)
		}
	}
	b.StopTimer()
	reportP95(b, lat)
}

// BenchmarkInviteToTrunk times a booth INVITE (authorised handset call)
// in to the trunk's INVITE out; the trunk then answers 486.
func BenchmarkInviteToTrunk(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(b, err)
	defer pc.Close()
	arrived := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			at := time.Now()
			msg, err := siplib.ParseMessage(append([]byte(nil), buf[:n]...))
			if err != nil {
				continue
			}
			if req, ok := msg.(*siplib.Request); ok && req.Method == siplib.INVITE {
				select {
				case arrived <- at:
				default:
				}
				res := siplib.NewResponseFromRequest(req, 486, "Busy Here", nil)
				res.To().Params.Add("tag", "bench")
				_, _ = pc.WriteTo([]byte(res.String()), from)
			}
		}
	}()
	e := newEnv(b, envOpts{cfg: func(c *sip.Config) { c.Trunks[0].URI = "sip:" + pc.LocalAddr().String() }})
	e.auth.set(kiosk.CallRequest{Number: callee, Limit: time.Minute}, nil)
	c := newClient(b)
	ctx := context.Background()
	var dst siplib.Uri
	require.NoError(b, siplib.ParseUri("sip:1@"+e.bridge.Addr("udp"), &dst))
	newInvite := func() *siplib.Request {
		req := siplib.NewRequest(siplib.INVITE, dst)
		from := siplib.FromHeader{Address: siplib.Uri{Scheme: "sip", User: ext, Host: "127.0.0.1"}, Params: siplib.NewParams()}
		from.Params.Add("tag", siplib.GenerateTagN(8))
		req.AppendHeader(&from)
		req.AppendHeader(&siplib.ContactHeader{Address: siplib.Uri{Scheme: "sip", User: ext, Host: "127.0.0.1", Port: 5999}})
		req.AppendHeader(siplib.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(sip.BuildSDP(sip.OfferParams(e.phone.Addr(), nil, 1)))
		return req
	}
	first := newInvite()
	res, err := c.Do(ctx, first)
	require.NoError(b, err)
	require.Equal(b, 407, res.StatusCode)
	auth := first.Clone()
	authorize(b, auth, res)
	proxyAuth := auth.GetHeader("Proxy-Authorization").Value()

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := newInvite()
		req.AppendHeader(siplib.NewHeader("Proxy-Authorization", proxyAuth))
		t0 := time.Now()
		tx, err := c.TransactionRequest(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(t0))
		case <-time.After(5 * time.Second):
			b.Fatal("no INVITE reached the trunk")
		}
		for done := false; !done; {
			select {
			case r := <-tx.Responses():
				done = r.StatusCode >= 200
			case <-tx.Done():
				done = true
			}
		}
		tx.Terminate()
	}
	b.StopTimer()
	reportP95(b, lat)
	require.Eventually(b, func() bool { return e.bridge.ActiveCalls() == 0 }, 5*time.Second, 10*time.Millisecond)
}
