// Package rtc bridges video calls between a booth's kiosk screen and a
// parent's phone browser with github.com/pion/webrtc/v4. Both browsers
// connect to the daemon, never to each other: each call holds two
// PeerConnections (the screen leg and the parent leg) and forwards RTP
// between them without transcoding (RFC 3550), so the daemon can count,
// warn and cut exactly as the SIP bridge does.
//
// Negotiation (JSEP, RFC 8829): the daemon is the offerer on both legs. The
// screen leg is offered first with Opus, VP8 and H.264 (constrained
// baseline, packetization-mode 1); the parent leg is offered after the
// parent accepts, restricted to the first audio and video codec the screen
// answered, so that the same codec flows both ways. Limitation: a parent
// browser that does not support the screen's chosen codec cannot take the
// call (the parent leg fails to negotiate and the call ends FAILED). RTP
// header extensions are not negotiated (except MID) and are stripped when
// forwarding; browsers then rotate camera frames themselves.
//
// Feedback: one interceptor shared by all PeerConnections (reports.go)
// sends RTCP sender and receiver reports (RFC 3550 section 6.4) for every
// leg from one goroutine, every Config.ReportInterval (1 s), and measures
// each leg's RTT from the page's report blocks (section 6.4.1), jitter
// and loss both ways: that is the call's quality in the ledger. Generic
// NACKs (RFC 4585 6.2.1) from a receiving browser are forwarded to the
// sending browser, which retransmits: the daemon keeps no retransmission
// buffer, as sequence numbers pass through unchanged. PLI and FIR from a receiving browser (RFC 4585 6.3.1, RFC 5104 4.3.1)
// become a PLI toward the sending browser, at most one per 200 ms; REMB
// (draft-alvestrand-rmcat-remb) from a receiver is forwarded to the
// sender, so the sender adapts to the receiver's downlink. Transport-wide
// congestion control is not negotiated.
//
// Signaling: JSON text messages with "v":1 and a "type" starting with
// "rtc." (see Message), carried by the ui package's websockets: the kiosk
// screen's /ws and the parent page's /p/{token}/ws. ICE candidates trickle
// both ways (RFC 8838); candidates that arrive before the answer are held
// and applied after it. The package implements ui's Signaler, kiosk.Dialer
// (video calls) and kiosk.Presence without importing ui: cmd/kioskd wires
// the Bridge into both.
//
// Liveness: a page sends rtc.ping every Config.Heartbeat. A page that is
// neither heard from nor reconnected (rtc.hello with its session id) within
// Config.ReconnectWindow (10 s) is lost; a page whose websocket is gone
// while its ICE connection is disconnected or failed is lost at once. A
// lost page ends its call with cause peer_lost.
//
// ICE restart (RFC 8445 section 9): when a leg's ICE connection fails,
// or stays disconnected for 2 s more (restartGrace; a short outage heals
// by itself), in an answered call while the page's signaling is attached
// (or comes back within ReconnectWindow), the daemon offers that page new
// ICE credentials on the same PeerConnection (rtc.offer with
// "restart":true); the page answers on its PeerConnection, both sides
// gather and check again, and media resumes on the new path (a phone
// moving from Wi-Fi to mobile data). A restart offer still unanswered
// when the page reconnects is sent again (the first may have gone down a
// dead websocket). Each restart has ReconnectWindow to bring the path
// back, and a leg gets at most 3 in a call; then the call ends as
// peer_lost.
//
// Headset legs (kiosk.ScreenAudio, OpenAudio): a booth without a phone
// calls a phone number through its kiosk screen's headset. The daemon
// offers the screen an audio-only PeerConnection (rtc.offer with Kind
// "audio") whose only codecs are PCMU and PCMA (RFC 3551), so the audio
// crosses to the SIP trunk untouched; the leg is plain RTP on a UDP socket
// on 127.0.0.1, which callbridge/sip's relay treats as the booth's leg. A
// lost screen page ends the leg (and the SIP side ends the call as
// peer_lost).
//
// ICE: STUN and TURN servers come from Config. TURN must be reachable from
// the internet (a kiosk behind school NAT cannot relay for a parent on a
// mobile network); time-limited TURN credentials follow
// draft-uberti-behave-turn-rest (see TURNCredentials). Loopback host
// candidates are gathered only with Config.AllowLoopback (tests and the
// single-machine demo), and mDNS (.local) candidates are neither gathered
// nor resolved. Config.Interfaces limits host candidates to the
// interfaces that matter, and Config.UDPPort makes all PeerConnections
// share one UDP port (ICE UDP mux) for firewalls.
//
// Forwarding: each leg's PeerConnection has its own webrtc.API whose
// SettingEngine.BufferFactory is the leg's (relaybuf.go): once pion has
// fired OnTrack for a page's stream, each packet its SRTP session
// decrypts is forwarded on that session's goroutine, straight to the
// other leg's track. No goroutine of ours reads a remote track, and a
// packet crosses three goroutines in the daemon (socket reader, the
// DTLS/SRTP demultiplexer, the SRTP session) instead of four.
//
// Cost per call (BenchmarkCall, BENCHMARKS.md): 26 goroutines while
// connected, 24 of them pion's (SRTP, DTLS, ICE per PeerConnection) and 2
// ours (an RTCP reader per leg); the call's state has no goroutine of
// its own (call.go: events are applied by a goroutine started per burst
// of events, timers are time.AfterFunc); about 0.55 MB of heap. A headset
// leg has its RTCP reader too: it gives the leg's RTT.
package rtc
