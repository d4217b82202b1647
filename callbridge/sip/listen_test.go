package sip_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/qinqing/station/callbridge/sip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A socket in use fails Run with the operating system's error, named once:
// "listen udp 127.0.0.1:5060: bind: address already in use".
func TestListenPortInUse(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })

	for _, tc := range []struct{ name, listen, want string }{
		{"udp", "udp:" + pc.LocalAddr().String(), "listen udp " + pc.LocalAddr().String() + ": bind: address already in use"},
		{"tcp", "tcp:" + ln.Addr().String(), "listen tcp " + ln.Addr().String() + ": bind: address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := sip.New(sip.Config{Listen: []string{tc.listen}}, &fakeAuth{}, sip.Opts{})
			require.NoError(t, err)
			err = b.Run(t.Context())
			require.Error(t, err, "Run fails on a port in use")
			assert.ErrorIs(t, err, syscall.EADDRINUSE)
			var op *net.OpError
			require.True(t, errors.As(err, &op), "the error is the *net.OpError: %v", err)
			assert.Equal(t, err.Error(), op.Error(), "the address is named once, by the OpError")
			assert.Equal(t, tc.want, err.Error())
			assert.Equal(t, err, b.StartErr())
		})
	}
}
