package kiosk

import (
	"context"
	"time"
)

// Disposition is the outcome of a call attempt, with the names used in CDRs.
type Disposition string

const (
	DispAnswered  Disposition = "ANSWERED"
	DispNoAnswer  Disposition = "NO ANSWER"
	DispBusy      Disposition = "BUSY"
	DispFailed    Disposition = "FAILED"
	DispCancelled Disposition = "CANCELLED"
	DispDenied    Disposition = "DENIED"
)

// EndCause says why a call ended.
type EndCause string

const (
	CauseCallerHangup EndCause = "caller_hangup" // the child's leg hung up
	CauseCalleeHangup EndCause = "callee_hangup" // the parent's leg hung up
	CauseLimit        EndCause = "limit"         // the per-call limit was reached
	CauseRTPTimeout   EndCause = "rtp_timeout"   // no media for 30 s after answer
	CauseShutdown     EndCause = "shutdown"      // the daemon stopped
	CauseInterrupted  EndCause = "interrupted"   // closed after a crash, at the last heartbeat
	CauseNoAnswer     EndCause = "no_answer"     // ringing timed out
	CauseBusy         EndCause = "busy"          // the callee was busy
	CauseFailed       EndCause = "failed"        // the call could not be set up
	CauseCancelled    EndCause = "cancelled"     // the child gave up before answer
	CausePeerLost     EndCause = "peer_lost"     // a video page vanished (tab closed, network gone)
	CauseRevoked      EndCause = "revoked"       // the parent's link was revoked during the call
	CauseOperator     EndCause = "operator"      // staff ended the call (kioskctl hangup, admin API)
)

// CallQuality is what a call's media looked like at its end (video calls).
// Network figures come from RTCP receiver reports on each leg (RFC 3550
// section 6.4); frame figures from each browser's getStats
// (W3C webrtc-stats: framesDecoded, freezeCount). Zero means not known.
type CallQuality struct {
	// Per leg: "screen" is the kiosk's leg, "parent" the parent page's.
	Screen LegQuality `json:"screen"`
	Parent LegQuality `json:"parent"`
}

// LegQuality is one leg's media quality at the end of a call.
type LegQuality struct {
	RTTMs         float64 `json:"rtt_ms"`         // round-trip time, ms
	JitterMs      float64 `json:"jitter_ms"`      // interarrival jitter, ms
	PacketsLost   int64   `json:"packets_lost"`   // cumulative, as reported
	FramesDecoded int64   `json:"frames_decoded"` // by this leg's browser
	Freezes       int64   `json:"freezes"`        // freezeCount by this leg's browser
}

// CallRecord is one call in the ledger (the CDR). A call is journaled twice:
// at its start (Ended zero) and at its end; a denied attempt once, with
// Disposition DENIED and Reason set.
//
// Wall-clock times carry ClockSynced; Duration and Billsec come from the
// monotonic clock, never from wall-clock differences.
type CallRecord struct {
	CallID      string
	Booth       string
	ChildID     ChildID
	ChildName   string
	Class       string
	ContactID   ContactID
	ContactName string
	Relation    string
	Number      string // E.164 or the dialled string; masked wherever shown
	Mode        Mode
	Started     time.Time // the attempt began (policy allowed it)
	Ring        time.Time // the callee started ringing; zero if never
	Answered    time.Time // the callee answered (billsec starts); zero if never
	Ended       time.Time // zero in the start entry
	ClockSynced bool
	Duration    time.Duration // Started to Ended, monotonic
	Billsec     time.Duration // Answered to Ended, monotonic
	Disposition Disposition
	Cause       EndCause
	SIPCode     int           // final SIP status of the callee leg, 0 if none
	Limit       time.Duration // the per-call limit the policy applied
	Help        bool          // a help or emergency call
	Reason      Reason        // policy reason (DENIED attempts, help calls)
	Screen      string        // screen/PC id for video calls
	// Setup is, for video calls, the time from the first offer to the
	// first media packet (monotonic); Quality is filled at the end.
	Setup   time.Duration
	Quality *CallQuality
}

// CallEventKind is what happened to a call.
type CallEventKind string

const (
	EventRinging  CallEventKind = "ringing"
	EventAnswered CallEventKind = "answered"
	EventWarning  CallEventKind = "warning"
	EventEnded    CallEventKind = "ended"
	EventBoothUp  CallEventKind = "booth_answered" // click-to-call: the booth phone answered
)

// CallEvent is reported by a Dialer to the request's observer as a call
// progresses. For EventWarning, Remaining is the time left before the
// limit. For EventEnded, Disposition, Cause and SIPCode are set, and
// Billsec and Duration are monotonic durations.
type CallEvent struct {
	CallID      string
	Kind        CallEventKind
	At          time.Time
	Remaining   time.Duration
	Disposition Disposition
	Cause       EndCause
	SIPCode     int
	Billsec     time.Duration
	Duration    time.Duration
	// Video calls: Setup with EventAnswered or EventEnded, Quality with
	// EventEnded.
	Setup   time.Duration
	Quality *CallQuality
}

// CallObserver receives a call's events. Calls come from the dialer's
// goroutines and must not block.
type CallObserver interface {
	CallEvent(ev CallEvent)
}

// CallRequest asks a Dialer to place an allowed call.
type CallRequest struct {
	CallID string
	Booth  Booth
	// Mode is phone (SIP) or video (WebRTC); the zero value means phone.
	Mode Mode
	// Contact is who is called; ChildName is the child's first name,
	// shown on the parent's page when it rings.
	Contact   ContactID
	ChildName string
	// Number is the callee in E.164 form, or a short help number as
	// configured ("12355").
	Number string
	Help   bool
	// Limit is the per-call limit from answer to forced hang-up; Warnings
	// are the times before the limit at which a warning tone plays (e.g.
	// 120 s and 60 s).
	Limit    time.Duration
	Warnings []time.Duration
	Observer CallObserver
}

// Dialer places and ends calls (implemented by callbridge/sip).
type Dialer interface {
	// Dial places a click-to-call: it rings the booth phone with
	// auto-answer hints and, once the booth answers, calls Number. It
	// returns once the attempt has started; progress goes to
	// req.Observer, which always receives exactly one EventEnded.
	Dial(ctx context.Context, req CallRequest) error
	// Hangup ends the call with the given cause. It returns an ENOTFOUND
	// *Error if no such call is in progress.
	Hangup(callID string, cause EndCause) error
}

// HandsetAuthorizer decides calls dialled on a booth phone's keypad. The
// SIP bridge asks it when a registered booth extension sends an INVITE.
type HandsetAuthorizer interface {
	// AuthorizeHandset maps what the booth at extension ext dialled (a
	// speed-dial digit 1..5, a full number or the help short code) to a
	// CallRequest. It returns an EDENIED *Error, with Reason set, when the
	// policy refuses; the refusal is already journaled.
	AuthorizeHandset(ctx context.Context, ext, dialled string) (CallRequest, error)
}

// Journal is the append-only, hash-chained ledger of calls.
type Journal interface {
	// CallStarted appends the start entry of a call.
	CallStarted(ctx context.Context, r CallRecord) error
	// CallHeartbeat records that the call is still in progress at t;
	// after a crash the call is closed as interrupted at its last
	// heartbeat.
	CallHeartbeat(ctx context.Context, callID string, t time.Time) error
	// CallProgress records, for a call in progress, when the callee
	// answered, so that a call interrupted by a crash is closed as
	// ANSWERED with its billsec.
	CallProgress(ctx context.Context, callID string, answered time.Time) error
	// CallEnded appends the end entry of a call.
	CallEnded(ctx context.Context, r CallRecord) error
	// CallDenied appends a denied attempt (Disposition DENIED, Reason set).
	CallDenied(ctx context.Context, r CallRecord) error
	// Usage sums the child's answered non-help calls that started at or
	// after since.
	Usage(ctx context.Context, id ChildID, since time.Time) (Usage, error)
}
