package sip_test

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	siplib "github.com/emiago/sipgo/sip"
	"github.com/qinqing/station/callbridge/sip"
	"github.com/qinqing/station/kiosk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawTrunk is a hand-driven UAS on a UDP socket: it answers an INVITE
// with 180, and when the CANCEL comes it first sends 200 OK to the INVITE
// (the answer crossing the CANCEL on the wire), then 200 to the CANCEL.
type rawTrunk struct {
	pc   net.PacketConn
	mu   sync.Mutex
	seen []string // methods received, in order
}

func (r *rawTrunk) record(m string) {
	r.mu.Lock()
	r.seen = append(r.seen, m)
	r.mu.Unlock()
}

func (r *rawTrunk) methods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *rawTrunk) serve(t *testing.T) {
	buf := make([]byte, 65535)
	var invite *siplib.Request
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		msg, err := siplib.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		req, ok := msg.(*siplib.Request)
		if !ok {
			continue
		}
		send := func(res *siplib.Response) { _, _ = r.pc.WriteTo([]byte(res.String()), from) }
		if req.Method == siplib.INVITE && invite != nil {
			continue // retransmission
		}
		r.record(string(req.Method))
		switch req.Method {
		case siplib.INVITE:
			invite = req
			ringing := siplib.NewResponseFromRequest(req, 180, "Ringing", nil)
			ringing.To().Params.Add("tag", "rawtrunk")
			send(ringing)
		case siplib.CANCEL:
			sdp := sip.BuildSDP(sip.OfferParams(netip.MustParseAddrPort("127.0.0.1:40000"), []string{"PCMU"}, 1))
			ok := siplib.NewSDPResponseFromRequest(invite, sdp)
			ok.To().Params.Add("tag", "rawtrunk")
			addr := r.pc.LocalAddr().(*net.UDPAddr)
			ok.AppendHeader(&siplib.ContactHeader{Address: siplib.Uri{Scheme: "sip", Host: "127.0.0.1", Port: addr.Port}})
			send(ok)
			send(siplib.NewResponseFromRequest(req, 200, "OK", nil))
		case siplib.BYE:
			send(siplib.NewResponseFromRequest(req, 200, "OK", nil))
		}
	}
}

func TestTrunk200CrossesCancel(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	raw := &rawTrunk{pc: pc}
	go raw.serve(t)
	t.Cleanup(func() { pc.Close() })

	e := newEnv(t, envOpts{cfg: func(c *sip.Config) { c.Trunks[0].URI = "sip:" + pc.LocalAddr().String() }})
	rec := newRecorder()
	e.auth.set(kiosk.CallRequest{CallID: "x-1", Number: callee, Limit: time.Minute, Observer: rec}, nil)
	pcall, err := e.phone.Dial("3")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(rec.kinds()) > 0 }, waitLong, 10*time.Millisecond, "trunk rings")
	pcall.Cancel()
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispCancelled, ev.Disposition)
	assert.Equal(t, kiosk.CauseCancelled, ev.Cause)
	assert.Zero(t, ev.Billsec, "a crossed answer is not billed")
	require.Eventually(t, func() bool {
		m := raw.methods()
		return len(m) >= 4 && m[len(m)-1] == "BYE"
	}, waitLong, 10*time.Millisecond, "trunk sees ACK then BYE after the crossing 200 OK")
	assert.Equal(t, []string{"INVITE", "CANCEL", "ACK", "BYE"}, raw.methods())
}
