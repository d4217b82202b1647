package kiosk

import (
	"context"
	"fmt"
	"time"
)

// Enrolling a card by tapping it, and the booths' live status, for the
// managers' console. A manager picks a booth on a child's page; the
// booth's screen asks for the new card, the next tap there is captured
// (it identifies nobody) and its UID goes back to the console, which
// binds it to the child.

// DefaultEnrolTimeout is how long a booth waits for the card to enrol
// when EnrolNext is given no timeout.
const DefaultEnrolTimeout = 60 * time.Second

var (
	wordsEnrolWait = Words{ZH: "请刷卡登记", EN: "Tap the new card"}
	wordsEnrolRead = Words{ZH: "已读卡，请看管理后台", EN: "Card read. See the console"}
)

// enrolment is a console waiting for a card at a booth. Its fields are
// guarded by the station's lock; done is closed once, by finish.
type enrolment struct {
	done chan struct{}
	uid  string
	err  error
}

// finish ends e with uid or err and frees the booth for another
// enrolment. Called with s.mu held.
func (s *Station) finish(bs *boothState, e *enrolment, uid string, err error) {
	select {
	case <-e.done:
		return
	default:
	}
	e.uid, e.err = uid, err
	close(e.done)
	if bs.enrol == e {
		bs.enrol = nil
	}
}

// EnrolNext puts booth in enrol mode and returns the normalised UID of
// the next card tapped there (uppercase hex, NormalizeUID), which is then
// not treated as a child's tap. timeout <= 0 means DefaultEnrolTimeout.
// The booth returns to idle on timeout, on cancel (ctx or CancelEnrol)
// and, after Linger, once the card was read.
//
// Errors: ENOTFOUND (no booth); ECONFLICT when the booth is in a call or
// waiting for a line, has a device fault, already waits for a card, the
// station is closing, or the enrolment was cancelled (CancelEnrol) or cut
// short (a help call started there); EGONE when no card was tapped within
// timeout; ctx.Err() when ctx ends first. The UID is not logged.
func (s *Station) EnrolNext(ctx context.Context, booth string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultEnrolTimeout
	}
	s.mu.Lock()
	bs, err := s.booth(booth)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	switch k := bs.screen.Kind; {
	case s.closing:
		err = Errorf(ECONFLICT, "the station is shutting down")
	case bs.call != nil || k == ScreenQueued || k == ScreenCalling || k == ScreenConnected || k == ScreenWarning:
		err = &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	case bs.enrol != nil:
		err = Errorf(ECONFLICT, "the booth already waits for a card to enrol")
	case bs.fault != "":
		err = &Error{Code: ECONFLICT, Message: "the booth has a device fault", Reason: ReasonDeviceFault}
	}
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	e := &enrolment{done: make(chan struct{})}
	bs.enrol = e
	// Whoever was identified here is no longer: the booth is the
	// manager's until the card is read.
	bs.child, bs.contacts, bs.card, bs.identified, bs.overdue = Child{}, nil, Card{}, time.Time{}, nil
	s.show(bs, Screen{Kind: ScreenEnrol, Words: &wordsEnrolWait}, LightRinging)
	// A private subscription tells when something else takes the screen
	// (a help call, a book prompt, a hang-up), which ends the enrolment.
	screens := make(chan Screen, 8)
	bs.subs[screens] = struct{}{}
	s.mu.Unlock()
	s.log.Info("card enrol started", "booth", bs.booth.ID, "timeout_s", timeout.Seconds())

	defer func() {
		s.mu.Lock()
		if _, ok := bs.subs[screens]; ok {
			delete(bs.subs, screens)
			close(screens)
		}
		s.mu.Unlock()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-e.done:
			return e.uid, e.err
		case sc, ok := <-screens:
			if !ok {
				screens = nil // dropped; done, the timer and ctx still end the wait
				continue
			}
			if sc.Kind != ScreenEnrol {
				s.mu.Lock()
				s.finish(bs, e, "", Errorf(ECONFLICT, "the booth left enrol mode (%s)", sc.Kind))
				s.mu.Unlock()
			}
		case <-timer.C:
			s.end(bs, e, Errorf(EGONE, "no card was tapped at booth %s within %s", bs.booth.ID, timeout))
		case <-ctx.Done():
			s.end(bs, e, fmt.Errorf("enrol at booth %s: %w", bs.booth.ID, ctx.Err()))
		}
	}
}

// end finishes e with err and, when the booth still asks for the card,
// returns it to idle.
func (s *Station) end(bs *boothState, e *enrolment, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bs.enrol == e && bs.screen.Kind == ScreenEnrol {
		s.finish(bs, e, "", err)
		s.log.Info("card enrol ended", "booth", bs.booth.ID, "code", ErrorCode(err))
		s.toIdle(bs)
		return
	}
	s.finish(bs, e, "", err)
}

// CancelEnrol ends the enrolment waiting at booth: EnrolNext returns an
// ECONFLICT *Error and the booth returns to idle. ENOTFOUND when there
// is no such booth or it waits for no card.
func (s *Station) CancelEnrol(booth string) error {
	s.mu.Lock()
	bs, err := s.booth(booth)
	var e *enrolment
	if err == nil {
		e = bs.enrol
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if e == nil {
		return Errorf(ENOTFOUND, "booth %s waits for no card", bs.booth.ID)
	}
	s.end(bs, e, Errorf(ECONFLICT, "the enrolment at booth %s was cancelled", bs.booth.ID))
	return nil
}

// enrolTap captures uid (normalised) for the enrolment waiting at bs, if
// any, and reports whether it did: the tap then identifies nobody. Tap
// calls it with s.mu held.
func (s *Station) enrolTap(bs *boothState, uid string) bool {
	e := bs.enrol
	if e == nil || bs.screen.Kind != ScreenEnrol {
		return false
	}
	s.finish(bs, e, uid, nil)
	s.log.Info("card enrol read", "booth", bs.booth.ID)
	// Still ScreenEnrol, so the waiter does not take it for an
	// interruption; lingerThen returns to idle (nobody is identified).
	s.lingerThen(bs, Screen{Kind: ScreenEnrol, Words: &wordsEnrolRead}, LightIdle)
	return true
}

// endEnrolments ends every waiting enrolment with ECONFLICT: the station
// is closing. Close calls it with s.mu held.
func (s *Station) endEnrolments() {
	for _, bs := range s.booths {
		if e := bs.enrol; e != nil {
			s.finish(bs, e, "", Errorf(ECONFLICT, "the station is shutting down"))
		}
	}
}

// BoothStatus is one booth as the console's live view shows it. It holds
// the child's name for the roles that may see children's data; never a
// phone number or a card UID.
type BoothStatus struct {
	Booth Booth
	// State is what the booth's screen shows; Light its light.
	State ScreenKind
	Light LightState
	// Fault is why the booth cannot take calls ("" when it can).
	Fault string
	// Child is the child identified, queued or in a call at the booth:
	// ID, Name and Class only (zero when none).
	Child Child
	// Call is the call in progress; nil when none.
	Call *CallStatus
	// Queued is the booth's child's position in the queue for a line
	// (1 is next); 0 when not waiting.
	Queued int
	// Enrolling is set while the console waits for a card here.
	Enrolling bool
}

// CallStatus is a call in progress, as BoothStatus shows it. Durations
// come from the monotonic clock.
type CallStatus struct {
	Mode Mode
	Help bool
	// Started is when the call began (wall clock); Elapsed is how long
	// ago.
	Started time.Time
	Elapsed time.Duration
	// Answered is set once the parent (or the help line) answered; Left
	// is then the time left before the limit (0 when the limit is
	// reached). Limit is the call's limit, 0 for none.
	Answered bool
	Left     time.Duration
	Limit    time.Duration
}

// BoothStatus returns a snapshot of every booth, in configuration order.
func (s *Station) BoothStatus() []BoothStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	out := make([]BoothStatus, 0, len(s.order))
	for _, b := range s.order {
		bs := s.booths[b.ID]
		st := BoothStatus{Booth: bs.booth, State: bs.screen.Kind, Light: bs.light, Fault: bs.fault,
			Enrolling: bs.enrol != nil, Child: Child{ID: bs.child.ID, Name: bs.child.Name, Class: bs.child.Class}}
		if c := bs.call; c != nil {
			st.Child = Child{ID: c.rec.ChildID, Name: c.rec.ChildName, Class: c.rec.Class}
			cs := &CallStatus{Mode: c.rec.Mode, Help: c.rec.Help, Started: c.rec.Started,
				Elapsed: now.Sub(c.start), Limit: c.rec.Limit}
			if !c.answered.IsZero() {
				cs.Answered = true
				if c.rec.Limit > 0 {
					cs.Left = max(c.rec.Limit-now.Sub(c.answered), 0)
				}
			}
			st.Call = cs
		}
		if st.Child.ID != 0 {
			st.Queued = s.queue.Position(st.Child.ID)
		}
		out = append(out, st)
	}
	return out
}
