package rtc

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/transport/v5/packetio"
)

// relayQueueBytes bounds what a relayBuffer holds for a reader: pion's
// own bound for an SRTCP stream (100 kB). An RTP stream holds packets only
// until it is bound, a few at most.
const relayQueueBytes = 100_000

// relayBuffer is the buffer pion's SRTP and SRTCP sessions write one
// stream's decrypted packets into (webrtc.SettingEngine.BufferFactory).
// It queues packets for a reader, as pion's own buffer does, until bind
// gives it a sink; from then on each packet goes to the sink as it is
// written, on the SRTP session's read goroutine, and nothing is queued.
// So a forwarded RTP packet crosses one goroutine less (no reader of ours
// waits on the stream), and a call needs no goroutine per remote track.
// A full queue drops new packets, as pion's does (packetio.ErrFull).
type relayBuffer struct {
	mu     sync.Mutex
	sink   func([]byte) // nil until bind
	q      [][]byte
	queued int // bytes in q
	closed bool
	until  time.Time     // read deadline, zero for none
	ready  chan struct{} // a packet was queued or the deadline moved (capacity 1)
	done   chan struct{} // closed by Close
}

func newRelayBuffer() *relayBuffer {
	return &relayBuffer{ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// Write implements io.Writer for pion's session: p is the session's own
// buffer, valid only during the call.
func (r *relayBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	if sink := r.sink; sink != nil {
		r.mu.Unlock()
		sink(p)
		return len(p), nil
	}
	defer r.mu.Unlock()
	if r.closed {
		return 0, io.ErrClosedPipe
	}
	if r.queued+len(p) > relayQueueBytes {
		return 0, packetio.ErrFull
	}
	r.q = append(r.q, append([]byte(nil), p...))
	r.queued += len(p)
	select {
	case r.ready <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Read implements io.Reader: it returns the oldest queued packet, waiting
// for one; io.EOF once closed and empty, os.ErrDeadlineExceeded past the
// read deadline. A packet longer than p is cut short, with
// io.ErrShortBuffer.
func (r *relayBuffer) Read(p []byte) (int, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		r.mu.Lock()
		if len(r.q) > 0 {
			pkt := r.q[0]
			r.q[0] = nil
			r.q = r.q[1:]
			r.queued -= len(pkt)
			r.mu.Unlock()
			n := copy(p, pkt)
			if n < len(pkt) {
				return n, io.ErrShortBuffer
			}
			return n, nil
		}
		if r.closed {
			r.mu.Unlock()
			return 0, io.EOF
		}
		until := r.until
		r.mu.Unlock()
		var expired <-chan time.Time
		if !until.IsZero() {
			d := time.Until(until)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			expired = timer.C
		}
		select {
		case <-r.ready:
		case <-r.done:
		case <-expired:
		}
	}
}

// SetReadDeadline sets when a waiting Read gives up (zero: never); pion's
// SRTP streams pass their read deadlines on to their buffers.
func (r *relayBuffer) SetReadDeadline(t time.Time) error {
	r.mu.Lock()
	r.until = t
	r.mu.Unlock()
	select {
	case r.ready <- struct{}{}:
	default:
	}
	return nil
}

// Close implements io.Closer: readers get what is queued, then io.EOF.
func (r *relayBuffer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.done)
	}
	return nil
}

// bind hands what is queued to sink, in order, and then every packet
// written. Readers waiting meanwhile wait until Close.
func (r *relayBuffer) bind(sink func([]byte)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pkt := range r.q {
		sink(pkt)
	}
	r.q, r.queued = nil, 0
	r.sink = sink
}
