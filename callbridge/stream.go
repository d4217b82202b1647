package callbridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// ErrNoRemote is returned by Endpoint.Send and SendTone before SetRemote.
var ErrNoRemote = errors.New("callbridge: endpoint has no remote address")

// Endpoint is a minimal RTP (RFC 3550) endpoint on one UDP socket: it sends
// one G.711 stream with a random SSRC, counts the valid RTP packets it
// receives, and answers nothing (no RTCP). It is meant for tests, the demo
// trunk and test user agents, not for production media. It is safe for
// concurrent use.
type Endpoint struct {
	conn  *net.UDPConn
	local netip.AddrPort
	wg    sync.WaitGroup
	once  sync.Once

	mu      sync.Mutex // guards the sending state
	remote  netip.AddrPort
	ssrc    uint32
	seq     uint16
	ts      uint32
	sendBuf []byte

	rmu      sync.Mutex // guards the receiving state
	received int
	lastAt   time.Time
	handler  func(h *rtp.Header, payload []byte, at time.Time)
}

// NewEndpoint binds a UDP socket on ip with an OS-chosen port and starts
// its receiving goroutine (stopped by Close).
func NewEndpoint(ip netip.Addr) (*Endpoint, error) {
	conn, err := listenUDP(ip, 0)
	if err != nil {
		return nil, fmt.Errorf("new endpoint: listen %s: %w", ip, err)
	}
	e := &Endpoint{
		conn:    conn,
		local:   netip.AddrPortFrom(ip.Unmap(), uint16(conn.LocalAddr().(*net.UDPAddr).Port)),
		ssrc:    rand.Uint32(),
		seq:     uint16(rand.Uint32()),
		ts:      rand.Uint32(),
		sendBuf: make([]byte, maxPacket),
	}
	e.wg.Add(1)
	go e.receive()
	return e, nil
}

// LocalAddr returns the endpoint's RTP address.
func (e *Endpoint) LocalAddr() netip.AddrPort { return e.local }

// SetRemote sets where packets are sent.
func (e *Endpoint) SetRemote(a netip.AddrPort) {
	e.mu.Lock()
	e.remote = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	e.mu.Unlock()
}

// SSRC returns the endpoint's sending SSRC.
func (e *Endpoint) SSRC() uint32 { return e.ssrc }

// SetHandler installs f, called on the receiving goroutine for every valid
// RTP packet with its parsed header, payload and arrival time. h and payload
// are reused once f returns; f must not block. nil removes the handler.
func (e *Endpoint) SetHandler(f func(h *rtp.Header, payload []byte, at time.Time)) {
	e.rmu.Lock()
	e.handler = f
	e.rmu.Unlock()
}

// Received returns the number of valid RTP packets received and when the
// last one arrived (zero if none).
func (e *Endpoint) Received() (packets int, lastAt time.Time) {
	e.rmu.Lock()
	defer e.rmu.Unlock()
	return e.received, e.lastAt
}

// Send sends one RTP packet of payload type pt with the next sequence
// number; the timestamp then advances by len(payload) (one sample per byte,
// as in G.711). It returns ErrNoRemote before SetRemote, or the send error.
func (e *Endpoint) Send(pt uint8, payload []byte, marker bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.remote.IsValid() {
		return ErrNoRemote
	}
	h := rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: e.seq, Timestamp: e.ts, SSRC: e.ssrc}
	hl, err := h.MarshalTo(e.sendBuf)
	if err != nil {
		return fmt.Errorf("endpoint send: marshal header: %w", err)
	}
	n := hl + copy(e.sendBuf[hl:], payload)
	if _, err := e.conn.WriteToUDPAddrPort(e.sendBuf[:n], e.remote); err != nil {
		return fmt.Errorf("endpoint send: %w", err)
	}
	e.seq++
	e.ts += uint32(len(payload))
	return nil
}

// SendTone sends tone t as 20 ms G.711 packets of payload type pt (0 = PCMU,
// 8 = PCMA), paced by a ticker, the first with the marker bit. It returns nil
// when a finite tone has been sent, ctx.Err() if ctx ends first (always, for
// an endless tone), ErrNoRemote, or an error wrapping ErrPayloadType.
func (e *Endpoint) SendTone(ctx context.Context, t Tone, pt uint8) error {
	if pt != PayloadTypePCMU && pt != PayloadTypePCMA {
		return fmt.Errorf("send tone pt %d: %w", pt, ErrPayloadType)
	}
	gen := NewToneGen(t)
	payload := make([]byte, samplesPerTick)
	tick := time.NewTicker(packetTime)
	defer tick.Stop()
	for marker := true; !gen.Done(); marker = false {
		if _, err := gen.Payload(pt, payload); err != nil {
			return err
		}
		if err := e.Send(pt, payload, marker); err != nil {
			return fmt.Errorf("send tone: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func (e *Endpoint) receive() {
	defer e.wg.Done()
	buf := make([]byte, maxPacket)
	var h rtp.Header
	for {
		n, _, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		start, end, ok := parseRTP(&h, buf[:n])
		if !ok {
			continue
		}
		at := time.Now()
		e.rmu.Lock()
		e.received++
		e.lastAt = at
		f := e.handler
		e.rmu.Unlock()
		if f != nil {
			f(&h, buf[start:end], at)
		}
	}
}

// Close closes the socket and waits for the receiving goroutine. It is
// idempotent.
func (e *Endpoint) Close() error {
	var err error
	e.once.Do(func() {
		err = e.conn.Close()
		e.wg.Wait()
	})
	return err
}
