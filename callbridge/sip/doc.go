// Package sip is the station's SIP side, built on github.com/emiago/sipgo:
//
//   - a registrar for the booth phones (RFC 3261 section 10) with digest
//     authentication (RFC 3261 section 22, RFC 8760: SHA-256 and MD5
//     challenges, qop=auth, stale nonces answered with stale=true); the
//     binding and nonce tables are ours, sipgo has none;
//   - a back-to-back user agent, Bridge, implementing kiosk.Dialer:
//     click-to-call (INVITE the booth phone with auto-answer hints, then the
//     trunk) and handset calls (a registered booth phone INVITEs a
//     speed-dial digit, a number or the help code; kiosk.HandsetAuthorizer
//     decides), digest auth as a client toward the trunk (401 and 407);
//   - SDP offer/answer (RFC 4566, RFC 3264) pinned to G.711 PCMU/PCMA and
//     telephone-event (RFC 4733), with media anchored in a
//     callbridge.Relay per call;
//   - call supervision: ring timeout (NO ANSWER), busy (486/600/603),
//     other failures with their SIP code, CANCEL from the booth (and a 200
//     OK crossing our CANCEL: ACK then BYE), BYE from either side, crossing
//     BYEs, RTP timeout, warnings and the per-call limit. Each call reports
//     kiosk.CallEvents to its observer, ending with exactly one EventEnded;
//     Billsec runs from the trunk's 200 OK, on the monotonic clock.
//
// SIP status mapping, in one place (Bridge.onInvite and call.finish):
// policy EDENIED -> 403, ENOTFOUND/EINVALID -> 404, ECONFLICT -> 503, other
// errors -> 500; unusable SDP -> 488; unauthenticated INVITE -> 407;
// known but unsupported methods -> 405, unknown -> 501; toward a handset
// booth, the trunk's BUSY -> 486, NO ANSWER -> 480, CANCELLED -> 487,
// FAILED -> the trunk's code (or 503).
//
// Package sipdemo holds the in-process Phone and Trunk used by the tests
// and by kioskd -demo.
package sip
