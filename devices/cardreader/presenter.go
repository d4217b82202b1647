package cardreader

import (
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
)

// DefaultAbsence is how long a card must stay unread before the same card
// counts as presented again.
const DefaultAbsence = 500 * time.Millisecond

// PresenterOpts configures a Presenter. The zero value means the defaults.
type PresenterOpts struct {
	// Absence is how long the card last read must go unread before the
	// same card is a new presentation. Zero or negative means
	// DefaultAbsence (500 ms). Readers that repeat a frame while a card
	// stays in the field (RDM6300: about every 65 ms; MFRC522: every poll)
	// need it longer than their longest gap between two reads.
	Absence time.Duration
}

// PresenterStats counts what a Presenter was fed.
type PresenterStats struct {
	Reads    uint64 // every Feed call
	Events   uint64 // reads that were a new presentation
	Phantoms uint64 // all-zero or all-FF UIDs, rejected
	Invalid  uint64 // UIDs that are not 4, 7 or 10 bytes of hex, rejected
}

// Presenter turns raw reads into one "card presented" event per
// presentation. A read is a new presentation when no card was read before,
// when its UID differs from the card read last (a different card counts at
// once, so cards A, B, A give three events), or when the same card was
// last read Absence or longer ago. Every read of the current card extends
// its presence, so a card held still for minutes is one presentation.
//
// Time is injected: Feed takes the read's time and no goroutine runs. A
// Presenter is safe for concurrent use; times fed should not go backwards
// (a read older than the last is treated as 0 s after it).
type Presenter struct {
	absence time.Duration

	mu     sync.Mutex
	last   string // normalised UID of the card read last; "" before any
	lastAt time.Time
	stats  PresenterStats
}

// NewPresenter returns a Presenter; opts may be nil.
func NewPresenter(opts *PresenterOpts) *Presenter {
	p := &Presenter{absence: DefaultAbsence}
	if opts != nil && opts.Absence > 0 {
		p.absence = opts.Absence
	}
	return p
}

// Absence returns the absence time in use.
func (p *Presenter) Absence() time.Duration { return p.absence }

// Feed records a read of uid (any form kiosk.NormalizeUID accepts) at
// time at and reports whether it is a new presentation. Phantom (all-zero,
// all-FF) and malformed UIDs are counted and return false without
// touching the presence of the current card.
func (p *Presenter) Feed(uid string, at time.Time) bool {
	_, ok := p.Observe(uid, at)
	return ok
}

// Observe is Feed that also returns the normalised UID ("" when the read
// was rejected).
func (p *Presenter) Observe(uid string, at time.Time) (string, bool) {
	norm, err := kiosk.NormalizeUID(uid)
	if err != nil {
		p.mu.Lock()
		p.stats.Reads++
		if phantom(uid) {
			p.stats.Phantoms++
		} else {
			p.stats.Invalid++
		}
		p.mu.Unlock()
		return "", false
	}
	return norm, p.feed(norm, at)
}

// FeedBytes is Observe for a reader that reports raw UID bytes (MFRC522:
// 4, 7 or 10 bytes, cascade tags and BCC already removed).
func (p *Presenter) FeedBytes(uid []byte, at time.Time) (string, bool) {
	switch len(uid) {
	case 4, 7, 10:
	default:
		p.mu.Lock()
		p.stats.Reads++
		p.stats.Invalid++
		p.mu.Unlock()
		return "", false
	}
	zero, ff := true, true
	for _, b := range uid {
		zero = zero && b == 0x00
		ff = ff && b == 0xFF
	}
	if zero || ff {
		p.mu.Lock()
		p.stats.Reads++
		p.stats.Phantoms++
		p.mu.Unlock()
		return "", false
	}
	norm := strings.ToUpper(hex.EncodeToString(uid))
	return norm, p.feed(norm, at)
}

func (p *Presenter) feed(norm string, at time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Reads++
	isNew := p.last == "" || norm != p.last || at.Sub(p.lastAt) >= p.absence
	if isNew {
		p.stats.Events++
		p.last = norm
	}
	if at.After(p.lastAt) || isNew {
		p.lastAt = at
	}
	return isNew
}

// Reset forgets the current card, so its next read is a new presentation
// (after a reader was reopened, say).
func (p *Presenter) Reset() {
	p.mu.Lock()
	p.last = ""
	p.lastAt = time.Time{}
	p.mu.Unlock()
}

// Stats returns the counters since the Presenter was made.
func (p *Presenter) Stats() PresenterStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Sink returns a function that feeds each read to p and calls emit with an
// Event named reader for each new presentation; drivers call it from their
// read loop.
func (p *Presenter) Sink(reader string, emit func(Event)) func(uid string, at time.Time) {
	return func(uid string, at time.Time) {
		if norm, ok := p.Observe(uid, at); ok {
			emit(Event{Reader: reader, UID: norm, At: at})
		}
	}
}

// phantom reports whether s, with separators and case ignored, is only
// 0 digits or only F digits: what readers report on a bad read.
func phantom(s string) bool {
	var zero, ff, n int
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':', '-', ' ':
		case '0':
			zero++
			n++
		case 'f', 'F':
			ff++
			n++
		default:
			return false
		}
	}
	return n > 0 && (zero == n || ff == n)
}
