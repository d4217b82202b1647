// Package cardreader holds what every card reader driver shares: the
// "card presented" Event, the Reader interface the daemon wires, the
// Presenter that turns a stream of raw reads into one event per
// presentation, the EM4100 (125 kHz) card-number mapping, and the reopen
// Backoff used when a reader vanishes.
//
// # One card, one child, on every reader
//
// A card's identity is its UID in normalised hex (kiosk.NormalizeUID:
// uppercase, no separators). Readers that print numbers instead of bytes
// are converted with the reader's configured kiosk.CardFormat
// (kiosk.ParseCardNumber): "hex", "8h10d" (the 10-digit decimal printed on
// the card: 4 bytes big-endian) or "reversed".
//
// EM4100/EM4102 125 kHz tags carry 5 bytes: a version (customer) byte and
// 4 data bytes. The UID of such a card is the 4 data bytes in hex (8 hex
// digits); the version byte is dropped. That is the number printed on the
// card as 10 decimal digits (8H10D of the same 4 bytes) and the number USB
// keyboard-wedge 125 kHz readers type, so an RDM6300 on one booth and a USB
// reader configured "8h10d" on another give the same child. Two tags that
// differ only in the version byte therefore share a UID; the roster
// refuses duplicate UIDs, so such a pair is caught at enrolment.
package cardreader

import (
	"context"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Event is one card presentation.
type Event struct {
	// Reader is the reader's configured device name (Reader.Name).
	Reader string
	// UID is the card UID normalised as by kiosk.NormalizeUID
	// ("04A1B2C3"). It is personal data once bound to a child: never log
	// it at info level.
	UID string
	// At is when the presentation was first read, from the driver's
	// injected clock.
	At time.Time
}

// Reader is a card reader driver as the daemon wires it.
type Reader interface {
	// Name returns the device name from the config.
	Name() string
	// Run reads cards until ctx is done, calling emit once per
	// presentation, from Run's goroutine (emit must not block for long).
	// A reader that vanishes is reopened with backoff inside Run; Run
	// returns ctx.Err() when ctx ends, ErrHalted after Halt, or an error
	// only when the device can never work (bad configuration).
	Run(ctx context.Context, emit func(Event)) error
	// Health reports ok, degraded or fault with a reason that never
	// contains a UID.
	Health() kiosk.Health
	// Halt stops Run and releases the device. It is safe to call more
	// than once and before or without Run.
	Halt() error
}
