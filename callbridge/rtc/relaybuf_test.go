package rtc

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/pion/transport/v5/packetio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRelayBuffer(t *testing.T) {
	t.Run("queues until bound, then hands on in order", func(t *testing.T) {
		r := newRelayBuffer()
		src := []byte{1, 2, 3}
		_, err := r.Write(src)
		require.NoError(t, err)
		src[0] = 9 // the session reuses its buffer: the queue has a copy
		_, err = r.Write([]byte{4})
		require.NoError(t, err)

		p := make([]byte, 10)
		n, err := r.Read(p)
		require.NoError(t, err)
		assert.Equal(t, []byte{1, 2, 3}, p[:n], "a reader gets the oldest packet first")

		var got [][]byte
		r.bind(func(b []byte) { got = append(got, append([]byte(nil), b...)) })
		_, err = r.Write([]byte{5, 6})
		require.NoError(t, err)
		assert.Equal(t, [][]byte{{4}, {5, 6}}, got, "bind hands on what is queued, then each write")
		assert.Zero(t, r.queued)
	})

	t.Run("a full queue drops new packets", func(t *testing.T) {
		r := newRelayBuffer()
		big := make([]byte, relayQueueBytes/2)
		for range 2 {
			_, err := r.Write(big)
			require.NoError(t, err)
		}
		_, err := r.Write([]byte{1})
		assert.ErrorIs(t, err, packetio.ErrFull)
		p := make([]byte, len(big))
		_, err = r.Read(p)
		require.NoError(t, err)
		_, err = r.Write([]byte{1})
		assert.NoError(t, err, "room again once read")
	})

	t.Run("short buffer", func(t *testing.T) {
		r := newRelayBuffer()
		_, _ = r.Write([]byte{1, 2, 3})
		n, err := r.Read(make([]byte, 2))
		assert.Equal(t, 2, n)
		assert.ErrorIs(t, err, io.ErrShortBuffer)
	})

	t.Run("deadline and close wake a waiting reader", func(t *testing.T) {
		r := newRelayBuffer()
		require.NoError(t, r.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		start := time.Now()
		_, err := r.Read(make([]byte, 10))
		assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)
		assert.GreaterOrEqual(t, time.Since(start), 15*time.Millisecond)

		require.NoError(t, r.SetReadDeadline(time.Time{}))
		done := make(chan error, 1)
		go func() {
			_, err := r.Read(make([]byte, 10))
			done <- err
		}()
		time.Sleep(10 * time.Millisecond)
		require.NoError(t, r.Close())
		select {
		case err := <-done:
			assert.ErrorIs(t, err, io.EOF)
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not wake the reader")
		}
		_, err = r.Write([]byte{1})
		assert.ErrorIs(t, err, io.ErrClosedPipe)
	})

	t.Run("a queued packet is read before the deadline counts", func(t *testing.T) {
		r := newRelayBuffer()
		_, _ = r.Write([]byte{7})
		require.NoError(t, r.SetReadDeadline(time.Now().Add(-time.Second)))
		n, err := r.Read(make([]byte, 10))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = r.Read(make([]byte, 10))
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	})
}
