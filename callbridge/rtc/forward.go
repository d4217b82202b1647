package rtc

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// forwardTrack is a local track that carries RTP received on the other leg
// to this leg's browser. Unlike webrtc.TrackLocalStaticRTP it binds to
// whatever codec the leg negotiated first for its kind, because the screen
// leg's tracks are added before the codec is known. It rewrites SSRC and
// payload type to the bound values and strips header extensions and
// padding; sequence numbers and timestamps pass through (RFC 3550
// section 7.1, a translator).
type forwardTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType

	mu      sync.RWMutex
	binding *trackBinding

	total *relayed // the bridge's counters, nil in tests
}

// relayed counts what a Bridge has forwarded to browsers since it was
// created: RTP packets and their bytes (header and payload, before SRTP),
// over all calls and headset legs (Bridge.Relayed).
type relayed struct {
	packets, bytes atomic.Uint64
}

type trackBinding struct {
	id    string
	ssrc  uint32
	pt    uint8
	codec webrtc.RTPCodecParameters
	w     webrtc.TrackLocalWriter
}

func newForwardTrack(kind webrtc.RTPCodecType, streamID string, total *relayed) *forwardTrack {
	return &forwardTrack{id: kind.String(), streamID: streamID, kind: kind, total: total}
}

// Bind implements webrtc.TrackLocal: it takes the first negotiated codec
// that is not a retransmission or FEC format.
func (t *forwardTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		mt := strings.ToLower(c.MimeType)
		if strings.HasSuffix(mt, "/rtx") || strings.HasSuffix(mt, "/ulpfec") || strings.HasSuffix(mt, "/red") || strings.HasSuffix(mt, "/flexfec-03") {
			continue
		}
		t.mu.Lock()
		t.binding = &trackBinding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), codec: c, w: ctx.WriteStream()}
		t.mu.Unlock()
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// boundPT returns the payload type the track is bound to, false before
// negotiation.
func (t *forwardTrack) boundPT() (uint8, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.binding == nil {
		return 0, false
	}
	return t.binding.pt, true
}

// Unbind implements webrtc.TrackLocal.
func (t *forwardTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	if t.binding != nil && t.binding.id == ctx.ID() {
		t.binding = nil
	}
	t.mu.Unlock()
	return nil
}

func (t *forwardTrack) ID() string                { return t.id }
func (t *forwardTrack) RID() string               { return "" }
func (t *forwardTrack) StreamID() string          { return t.streamID }
func (t *forwardTrack) Kind() webrtc.RTPCodecType { return t.kind }

// write forwards p; it does nothing until the track is bound. p's header
// is rewritten in place (the caller reuses p for the next packet), so that
// forwarding allocates nothing; the extensions' backing array is kept for
// the next Unmarshal.
func (t *forwardTrack) write(p *rtp.Packet) {
	t.mu.RLock()
	bnd := t.binding
	t.mu.RUnlock()
	if bnd == nil || len(p.Payload) == 0 {
		return
	}
	h := &p.Header
	h.SSRC = bnd.ssrc
	h.PayloadType = bnd.pt
	h.Padding = false
	h.PaddingSize = 0
	h.Extension = false
	h.Extensions = h.Extensions[:0]
	h.ExtensionProfile = 0
	if _, err := bnd.w.WriteRTP(h, p.Payload); err == nil {
		if t.total != nil {
			t.total.packets.Add(1)
			t.total.bytes.Add(uint64(h.MarshalSize() + len(p.Payload)))
		}
	}
}
