package ui

import (
	"context"
	"strings"

	"github.com/qinqing/station/kiosk"
)

// Library message types of the screen's websocket (client -> server).
const (
	// WSBook chooses 借书 or 还书: {"v":1,"type":"book","action":"borrow"}
	// or "return".
	WSBook = "book"
	// WSScan is a barcode typed on the on-screen keypad (a USB scanner's
	// reads reach the daemon directly): {"v":1,"type":"scan","code":"..."}.
	WSScan = "scan"
)

// maxScanCode bounds a barcode from the keypad: an ISBN-13 plus a copy
// number, or an accession number, is far shorter.
const maxScanCode = 64

// BookDesk runs the library screens (kiosk.BookDesk): Choose shows the
// scan prompt for "borrow" or "return", Scan lends or takes back the book
// a barcode names. Errors are *kiosk.Error (EDENIED ReasonNotIdentified
// when borrowing without a card, ECONFLICT in a call); refusals by the
// loan rules are shown on the screen, not returned.
type BookDesk interface {
	Choose(ctx context.Context, booth string, action kiosk.BookAction) error
	Scan(ctx context.Context, booth, code string) error
}

// wsBook runs a "book" or "scan" message; EINVALID when the library is
// not enabled, the action is unknown or the code is empty or too long.
func (s *Server) wsBook(ctx context.Context, booth string, m WSMessage) error {
	if s.books == nil {
		return kiosk.Errorf(kiosk.EINVALID, "the library is not enabled")
	}
	if m.Type == WSBook {
		switch m.Action {
		case kiosk.BookBorrow, kiosk.BookReturn:
			return s.books.Choose(ctx, booth, m.Action)
		default:
			return kiosk.Errorf(kiosk.EINVALID, "unknown book action %q, want \"borrow\" or \"return\"", m.Action)
		}
	}
	code := strings.TrimSpace(m.Code)
	if code == "" || len(code) > maxScanCode {
		return kiosk.Errorf(kiosk.EINVALID, "scan code must be 1 to %d characters", maxScanCode)
	}
	return s.books.Scan(ctx, booth, code)
}
