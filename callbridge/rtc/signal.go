package rtc

import (
	"encoding/json"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Version is the signaling protocol version, carried as "v" in every
// message.
const Version = 1

// Message types. Pages send hello, ping, answer, candidate, accept,
// hangup, stats and available; the daemon sends session, pong, ring,
// offer, candidate, connected, warning, end, busy, presence and error.
const (
	// Page -> daemon.
	TypeHello     = "rtc.hello"     // first message: Session is "" or the id to resume
	TypePing      = "rtc.ping"      // every Heartbeat
	TypeAnswer    = "rtc.answer"    // Call, SDP: the page's answer to an offer
	TypeAccept    = "rtc.accept"    // Call: the parent pressed answer
	TypeHangup    = "rtc.hangup"    // Call: the page's hang-up button (or declining a ring); Cause CausePageClosed when the page is going away
	TypeStats     = "rtc.stats"     // Call, Stats: the browser's getStats figures
	TypeAvailable = "rtc.available" // Until: the parent is available until (RFC 3339), "" clears

	// Both ways.
	TypeCandidate = "rtc.candidate" // Call, Candidate (null candidate: end of candidates)

	// Daemon -> page.
	TypeSession   = "rtc.session"   // Session, ICEServers, HeartbeatMS; parent: Child, Until
	TypePong      = "rtc.pong"      // reply to ping
	TypeRing      = "rtc.ring"      // Call, Child: the child is calling (parent page)
	TypeOffer     = "rtc.offer"     // Call, SDP; Kind "audio" for a headset leg; Restart for an ICE restart
	TypeConnected = "rtc.connected" // Call, LimitMS, RemainingMS: media flows both ways
	TypeWarning   = "rtc.warning"   // Call, RemainingMS: the warning before the limit
	TypeEnd       = "rtc.end"       // Call, Cause: the call ended (or stopped ringing)
	TypeBusy      = "rtc.busy"      // Call, Cause "in_call": another device of this link took the call
	TypeError     = "rtc.error"     // Code, Message: a message was refused
)

// Causes sent with rtc.end and rtc.busy besides kiosk.EndCause values.
const (
	CauseAnsweredElsewhere = "answered_elsewhere" // another device of the link answered
	CauseInCall            = "in_call"            // this link is already in a call
)

// CodeNoSession is the rtc.error code for a message from a page without a
// session (never said hello, or forgotten after ReconnectWindow): the page
// says rtc.hello again.
const CodeNoSession = "no_session"

// CausePageClosed is the Cause of the rtc.hangup a page sends as it is
// closed (pagehide): the call ends as peer_lost, not as a hang-up.
const CausePageClosed = "page_closed"

// Message is one signaling message, a JSON object with "v":1 and "type".
// Fields not used by a type are omitted.
type Message struct {
	V           int                      `json:"v"`
	Type        string                   `json:"type"`
	Session     string                   `json:"session,omitempty"`
	Call        string                   `json:"call,omitempty"`
	SDP         string                   `json:"sdp,omitempty"`
	Candidate   *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Child       string                   `json:"child,omitempty"`
	Cause       string                   `json:"cause,omitempty"`
	LimitMS     int64                    `json:"limit_ms,omitempty"`
	RemainingMS int64                    `json:"remaining_ms,omitempty"`
	HeartbeatMS int64                    `json:"heartbeat_ms,omitempty"`
	ICEServers  []ICEServer              `json:"ice_servers,omitempty"`
	Until       string                   `json:"until,omitempty"`
	Stats       *PageStats               `json:"stats,omitempty"`
	Code        string                   `json:"code,omitempty"`
	Message     string                   `json:"message,omitempty"`
	// End is set on the page's final candidate message (no more
	// candidates), since a null candidate is omitted in JSON.
	End bool `json:"end,omitempty"`
	// Kind is "audio" (KindAudio) on the offer of a headset leg: an
	// audio-only phone call through the kiosk screen's headset; "" for
	// a video call.
	Kind string `json:"kind,omitempty"`
	// Restart is set on an offer that restarts ICE on the call's
	// PeerConnection (RFC 8445 section 9; JSEP, RFC 8829 section 4.1.7):
	// the page answers it on the PeerConnection it has, instead of
	// starting a new one, and its candidates trickle again.
	Restart bool `json:"restart,omitempty"`
}

// PageStats are a browser's getStats figures for the video it receives
// (W3C webrtc-stats RTCInboundRtpStreamStats), sent every few seconds and
// at the end of a call.
type PageStats struct {
	FramesDecoded  int64   `json:"frames_decoded"`
	FreezeCount    int64   `json:"freeze_count"`
	FramesDropped  int64   `json:"frames_dropped,omitempty"`
	PacketsLost    int64   `json:"packets_lost,omitempty"`
	JitterMs       float64 `json:"jitter_ms,omitempty"`
	RTTMs          float64 `json:"rtt_ms,omitempty"`
	FrameWidth     int     `json:"frame_width,omitempty"`
	FrameHeight    int     `json:"frame_height,omitempty"`
	AudioConcealed int64   `json:"audio_concealed,omitempty"`
}

// IsSignal reports whether a screen websocket message of this type
// belongs to the rtc signaling (its type starts with "rtc.").
func IsSignal(typ string) bool { return strings.HasPrefix(typ, "rtc.") }

func encode(m Message) json.RawMessage {
	m.V = Version
	b, err := json.Marshal(m)
	if err != nil {
		// Message has only marshalable fields.
		panic(err)
	}
	return b
}
