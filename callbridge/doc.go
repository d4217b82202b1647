// Package callbridge holds the media plumbing of a call, with no signalling:
// ITU-T G.711 companding (μ-law and A-law), a tone generator for the
// call-progress and warning tones heard in China (450 Hz, levels in dBm0,
// cadences in on/off durations), and Relay, the RTP/RTCP anchor that sits
// between the booth leg and the trunk leg of one call (RFC 3550 packets,
// symmetric RTP with source latching as in RFC 4961).
//
// The SIP side (callbridge/sip) owns sockets only through Relay: it puts
// Relay.LocalAddr in each leg's SDP, feeds the peer's SDP address to
// Relay.SetRemote, and asks Relay for media statistics and timeouts.
//
// Endpoint is a tiny RTP sender/receiver used by tests, the demo trunk and
// the test user agents.
package callbridge
