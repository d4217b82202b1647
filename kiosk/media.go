package kiosk

import (
	"context"
	"net/netip"
)

// MediaLeg is a booth's audio leg that is not a SIP phone: the kiosk
// screen's headset over WebRTC, exposed to the SIP side as plain RTP
// (RFC 3550) on loopback, G.711 PCMU or PCMA, never transcoded. RTCP is
// neither sent nor expected on it.
type MediaLeg interface {
	// RTPAddr is where the leg receives RTP to play to the child.
	RTPAddr() netip.AddrPort
	// SetRemote sets where the leg sends the child's audio; until it is
	// called the child's audio is dropped.
	SetRemote(rtp netip.AddrPort)
	// PayloadType is 0 (PCMU) or 8 (PCMA), as the browser negotiated;
	// packets the leg sends carry it, and packets it receives with any
	// other payload type (telephone-event, say) are not played.
	PayloadType() uint8
	// Done is closed when the leg has ended, by Close or by itself (the
	// screen vanished, hung up or its connection failed).
	Done() <-chan struct{}
	// Close ends the leg and the screen's PeerConnection; it is
	// idempotent.
	Close() error
}

// ScreenAudio opens headset legs on the kiosk screens (callbridge/rtc
// implements it), so that a booth without a phone can call a phone number.
type ScreenAudio interface {
	// OpenAudio asks booth's kiosk screen for an audio-only WebRTC leg
	// for call callID and returns once audio can flow. It fails with an
	// ENOTFOUND *Error when no screen is connected at that booth, and
	// with ctx's error when the screen does not connect by ctx's
	// deadline.
	OpenAudio(ctx context.Context, booth, callID string) (MediaLeg, error)
}
