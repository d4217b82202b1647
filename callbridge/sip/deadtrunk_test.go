package sip_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/callbridge/sip"
	"github.com/qinqing/station/kiosk"
)

// deadTrunk is a UDP socket that reads what is sent to it and answers
// nothing: a trunk that is down, or a gateway whose SIP service hangs.
func deadTrunk(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return "sip:" + c.LocalAddr().String()
}

// TestTrunkSilent: a trunk that sends no response at all (not even 100
// Trying) fails the call after TrunkTimeout with SIP code 408, instead of
// leaving the child waiting for RFC 3261's Timer B (32 s), which is how
// long the INVITE transaction would otherwise last.
func TestTrunkSilent(t *testing.T) {
	uri := deadTrunk(t)
	e := newEnv(t, envOpts{cfg: func(c *sip.Config) {
		c.Trunks = []sip.Trunk{{Name: "dead", URI: uri, DialPattern: "0{national}"}}
		c.TrunkTimeout = 300 * time.Millisecond
		c.RingTimeout = 20 * time.Second
	}})
	rec := e.dial(t, time.Minute)
	ev := rec.waitEnded(t) // waitLong (8 s) is far below Timer B
	assert.Equal(t, kiosk.DispFailed, ev.Disposition)
	assert.Equal(t, kiosk.CauseFailed, ev.Cause)
	assert.Equal(t, 408, ev.SIPCode, "no response: Request Timeout")
	assert.NotContains(t, rec.kinds(), kiosk.EventRinging)
}

// TestRingTimeoutWithoutProvisional: the ring timeout ends a call whose
// trunk never answered the INVITE at once too, as NO ANSWER (there is
// nothing to CANCEL without a provisional response).
func TestRingTimeoutWithoutProvisional(t *testing.T) {
	uri := deadTrunk(t)
	e := newEnv(t, envOpts{cfg: func(c *sip.Config) {
		c.Trunks = []sip.Trunk{{Name: "dead", URI: uri, DialPattern: "0{national}"}}
		c.TrunkTimeout = time.Minute
		c.RingTimeout = 300 * time.Millisecond
	}})
	rec := e.dial(t, time.Minute)
	ev := rec.waitEnded(t)
	assert.Equal(t, kiosk.DispNoAnswer, ev.Disposition)
	assert.Equal(t, kiosk.CauseNoAnswer, ev.Cause)
}
