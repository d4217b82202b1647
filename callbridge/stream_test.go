package callbridge

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newEndpoints(t *testing.T) (a, b *Endpoint) {
	t.Helper()
	a, err := NewEndpoint(loopback)
	require.NoError(t, err)
	b, err = NewEndpoint(loopback)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	a.SetRemote(b.LocalAddr())
	b.SetRemote(a.LocalAddr())
	return a, b
}

func TestEndpointSendTone(t *testing.T) {
	for _, pt := range []uint8{PayloadTypePCMU, PayloadTypePCMA} {
		t.Run(map[uint8]string{0: "pcmu", 8: "pcma"}[pt], func(t *testing.T) {
			a, b := newEndpoints(t)
			var rec recorder
			b.SetHandler(rec.handle)
			tone := Tone{Freq: 450, LevelDBm0: -10, Total: 100 * time.Millisecond}
			require.NoError(t, a.SendTone(t.Context(), tone, pt))
			require.Eventually(t, func() bool { return received(b) == 5 }, waitFor, pollEvery, "100 ms is five 20 ms packets")

			hdrs, pays := rec.snapshot()
			pcm := make([]int16, 0, 800)
			for i, h := range hdrs {
				assert.Equal(t, uint8(2), h.Version)
				assert.Equal(t, pt, h.PayloadType)
				assert.Equal(t, a.SSRC(), h.SSRC)
				assert.Equal(t, i == 0, h.Marker, "marker on the first packet only")
				assert.Equal(t, hdrs[0].SequenceNumber+uint16(i), h.SequenceNumber)
				assert.Equal(t, hdrs[0].Timestamp+uint32(160*i), h.Timestamp)
				dec := make([]int16, len(pays[i]))
				_, err := Decode(pt, dec, pays[i])
				require.NoError(t, err)
				pcm = append(pcm, dec...)
			}
			assert.InDelta(t, 90, zeroCrossings(pcm), 3, "450 Hz for 100 ms")
			_, last := b.Received()
			assert.False(t, last.IsZero())
		})
	}
}

func TestEndpointErrors(t *testing.T) {
	e, err := NewEndpoint(loopback)
	require.NoError(t, err)
	defer e.Close()
	assert.ErrorIs(t, e.Send(0, silence(0), false), ErrNoRemote)
	assert.ErrorIs(t, e.SendTone(t.Context(), WarningTone, 0), ErrNoRemote)
	assert.ErrorIs(t, e.SendTone(t.Context(), WarningTone, 18), ErrPayloadType)

	a, b := newEndpoints(t)
	ctx, cancel := context.WithTimeout(t.Context(), 70*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, a.SendTone(ctx, DemoTone, 0), context.DeadlineExceeded, "an endless tone ends with its context")
	require.Eventually(t, func() bool { return received(b) > 0 }, waitFor, pollEvery)

	// Datagrams that are not RTP are not counted.
	n := received(b)
	raw, err := net.Dial("udp4", b.LocalAddr().String())
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Write([]byte("garbage, not rtp"))
	require.NoError(t, err)
	require.NoError(t, a.Send(0, silence(0), false))
	require.Eventually(t, func() bool { return received(b) == n+1 }, waitFor, pollEvery)
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, n+1, received(b), "only the RTP packet counts")
}
