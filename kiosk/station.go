package kiosk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// StationOpts are the station's optional settings; the zero value of each
// field means its default.
type StationOpts struct {
	// Now is the wall clock (time.Now). Durations are taken from the
	// monotonic reading that time.Now carries.
	Now func() time.Time
	// ClockSynced reports whether the wall clock is synchronised (NTP);
	// it is stored with every ledger entry. Default: always true.
	ClockSynced func() bool
	Logger      *slog.Logger
	// Identified is how long a tapped card stays identified at a booth
	// (30 s). Speed dial on the handset accepts it for HandsetWindow (60 s).
	Identified    time.Duration
	HandsetWindow time.Duration
	// Linger is how long the ended, denied and unknown screens stay
	// before the booth returns to idle or identified (5 s).
	Linger time.Duration
	// Heartbeat is the period of call heartbeats in the journal (5 s).
	Heartbeat time.Duration
	// Lines is the number of concurrent non-help calls the trunks carry;
	// further calls wait in the fair queue. 0 means unlimited.
	Lines int
	// NewID returns a fresh call id (random 128-bit hex by default).
	NewID func() string
}

// Station is the state machine of the calling room: one state per booth,
// driven by card taps, the child's picks on the screen or handset, and the
// dialer's call events. It applies the Policy, journals every call and
// denied attempt, drives the booths' lights and pushes a Screen to every
// subscriber of a booth on each change.
//
// Station is safe for concurrent use. Attach a Dialer before the first
// call; Run drives heartbeats; Close hangs up what is in progress.
type Station struct {
	policy  Policy
	roster  Roster
	journal Journal
	lights  map[string]Light
	opts    StationOpts
	log     *slog.Logger

	mu       sync.Mutex
	dialer   Dialer // phone calls
	video    Dialer // video calls, nil when video is off
	presence Presence
	booths   map[string]*boothState
	order    []Booth
	byExt    map[string]string // SIP extension -> booth id
	queue    *Queue
	calls    map[string]*activeCall // call id -> call
	closing  bool
	seq      uint64
	library  Library // set by AttachLibrary; nil without a library
	// tvs is set by AttachTV (station_staff.go); nil without TVs.
	tvs *tvPanel
}

type boothState struct {
	booth  Booth
	screen Screen
	subs   map[chan Screen]struct{}
	light  LightState

	// The identified child, if any, and when the card was tapped.
	child      Child
	contacts   []Contact
	card       Card
	identified time.Time
	// overdue is the identified child's overdue books, read at the tap.
	overdue []OverdueBook

	// fault, when not "", is why the booth cannot take calls now (its
	// card reader is dead, say): the screen asks the child to use another
	// booth and the light shows fault.
	fault string
	// simulated lists the booth's devices that are simulated, for the
	// screen's technician notice.
	simulated []string
	// enrol, when set, is the console waiting for a card here
	// (station_enrol.go): the next tap is captured for it.
	enrol *enrolment

	call  *activeCall
	timer *time.Timer
	gen   uint64 // bumps on every state change; stale timers check it
}

type activeCall struct {
	rec      CallRecord
	dialer   Dialer
	booth    *boothState
	start    time.Time // monotonic
	answered time.Time // monotonic, zero until answered
	ended    bool
}

// NewStation returns a station for the given booths. lights maps booth id
// to the booth's light; a booth without one has no light.
func NewStation(p Policy, booths []Booth, roster Roster, journal Journal, lights map[string]Light, opts StationOpts) *Station {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClockSynced == nil {
		opts.ClockSynced = func() bool { return true }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Identified <= 0 {
		opts.Identified = 30 * time.Second
	}
	if opts.HandsetWindow <= 0 {
		opts.HandsetWindow = 60 * time.Second
	}
	if opts.Linger <= 0 {
		opts.Linger = 5 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	if opts.NewID == nil {
		opts.NewID = randomID
	}
	s := &Station{
		policy:  p,
		roster:  roster,
		journal: journal,
		lights:  lights,
		opts:    opts,
		log:     opts.Logger.With("component", "station"),
		booths:  map[string]*boothState{},
		byExt:   map[string]string{},
		calls:   map[string]*activeCall{},
		queue:   NewQueue(QueueOpts{Now: opts.Now}),
	}
	for _, b := range booths {
		bs := &boothState{booth: b, subs: map[chan Screen]struct{}{}}
		s.booths[b.ID] = bs
		s.order = append(s.order, b)
		if b.Extension != "" {
			s.byExt[b.Extension] = b.ID
		}
		s.toIdle(bs)
	}
	return s
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// Attach sets the dialer that places calls. It must be called before the
// first call; the dialer usually needs the station itself (as
// HandsetAuthorizer), hence not a constructor argument.
func (s *Station) Attach(d Dialer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dialer = d
}

// AttachVideo sets the dialer of video calls and the presence of the
// parents' pages. Without it, video calls are refused and no tile shows
// a video button.
func (s *Station) AttachVideo(d Dialer, p Presence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.video, s.presence = d, p
}

// PresenceChanged refreshes the identified screens that show contact, so
// that a parent whose page comes online gets a video button at once.
func (s *Station) PresenceChanged(contact ContactID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bs := range s.booths {
		if bs.screen.Kind != ScreenIdentified || bs.call != nil {
			continue
		}
		for _, c := range bs.contacts {
			if c.ID == contact {
				sc := bs.screen
				sc.Tiles = s.tiles(bs.contacts)
				s.show(bs, sc, LightIdentified)
				// show stopped the identified timeout: restart it.
				left := s.opts.Identified - s.opts.Now().Sub(bs.identified)
				s.after(bs, left, func() { s.toIdle(bs) })
				break
			}
		}
	}
}

// tiles builds the contact tiles for a screen. Called with s.mu held.
func (s *Station) tiles(cs []Contact) []Tile {
	var ts []Tile
	for _, c := range cs {
		t := Tile{Slot: c.Slot, Name: c.Name, Relation: c.Relation,
			Masked: MaskPhone(c.Phone), Phone: c.Allows(ModePhone), Video: c.Allows(ModeVideo)}
		if t.Video && s.presence != nil {
			online, until := s.presence.Online(c.ID)
			t.Online = online
			if online && !until.IsZero() {
				t.Until = until.In(s.loc()).Format("15:04")
			}
		}
		ts = append(ts, t)
	}
	return ts
}

// Booths returns the configured booths in configuration order.
func (s *Station) Booths() []Booth {
	return append([]Booth(nil), s.order...)
}

// Screen returns what booth's screen shows now. Returns an ENOTFOUND
// *Error for an unknown booth.
func (s *Station) Screen(booth string) (Screen, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil {
		return Screen{}, err
	}
	return s.current(bs), nil
}

// Lights returns each booth's light state.
func (s *Station) Lights() map[string]LightState {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]LightState, len(s.booths))
	for id, bs := range s.booths {
		m[id] = bs.light
	}
	return m
}

// Subscribe returns a channel that receives booth's current screen, then
// every change, and a function that ends the subscription. A subscriber
// that falls 8 screens behind is dropped: its channel is closed.
func (s *Station) Subscribe(booth string) (<-chan Screen, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan Screen, 8)
	ch <- s.current(bs)
	bs.subs[ch] = struct{}{}
	cancel := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := bs.subs[ch]; ok {
			delete(bs.subs, ch)
			close(ch)
		}
	}
	return ch, cancel, nil
}

func (s *Station) booth(id string) (*boothState, error) {
	if id == "" && len(s.order) > 0 {
		id = s.order[0].ID
	}
	bs, ok := s.booths[id]
	if !ok {
		return nil, Errorf(ENOTFOUND, "no booth %q", id)
	}
	return bs, nil
}

// current returns bs's screen with the countdown brought up to date.
func (s *Station) current(bs *boothState) Screen {
	sc := bs.screen
	sc.Tiles = append([]Tile(nil), sc.Tiles...)
	if c := bs.call; c != nil && !c.answered.IsZero() {
		left := c.rec.Limit - s.opts.Now().Sub(c.answered)
		if left < 0 {
			left = 0
		}
		sc.RemainingMS = left.Milliseconds()
	}
	return sc
}

// show sets bs's screen and light and pushes the screen to subscribers.
// Called with s.mu held.
func (s *Station) show(bs *boothState, sc Screen, light LightState) {
	s.seq++
	bs.gen++
	sc.Booth = bs.booth.ID
	sc.Seq = s.seq
	if sc.Reason != "" && sc.Words == nil {
		w := sc.Reason.Words()
		sc.Words = &w
	}
	bs.screen = sc
	if bs.timer != nil {
		bs.timer.Stop()
		bs.timer = nil
	}
	s.setLight(bs, light)
	for ch := range bs.subs {
		select {
		case ch <- sc:
		default:
			delete(bs.subs, ch)
			close(ch)
		}
	}
}

func (s *Station) setLight(bs *boothState, st LightState) {
	if bs.light == st {
		return
	}
	// Once closing, only "off" is shown: a device fault reported during
	// shutdown (its poller still running) must not relight the booth.
	if s.closing && st != LightOff {
		return
	}
	bs.light = st
	if l := s.lights[bs.booth.ID]; l != nil {
		if err := l.Set(st); err != nil {
			s.log.Warn("light failed", "booth", bs.booth.ID, "state", st, "err", err)
		}
	}
}

// after runs f with s.mu held after d, unless bs changed state meanwhile.
// Called with s.mu held.
func (s *Station) after(bs *boothState, d time.Duration, f func()) {
	gen := bs.gen
	bs.timer = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if bs.gen == gen {
			f()
		}
	})
}

func (s *Station) toIdle(bs *boothState) {
	bs.child, bs.contacts, bs.card, bs.identified = Child{}, nil, Card{}, time.Time{}
	bs.overdue = nil
	now := s.opts.Now()
	sc := Screen{Kind: ScreenIdle, Hours: strings.Join(s.policy.Hours.Today(now), " "), Simulated: bs.simulated}
	if !s.policy.Hours.Open(now) {
		sc.NextOpening, sc.NextOpeningWords = s.nextOpening(now)
	}
	light := LightIdle
	if bs.fault != "" {
		sc.Reason, light = ReasonDeviceFault, LightFault
	}
	s.show(bs, sc, light)
}

// SetBoothFault marks booth as unable to take calls (reason, for logs and
// health) or, with reason "", as well again. A faulty booth's idle screen
// asks the child to use another booth and its light shows fault; help
// calls still work. A call in progress is not affected.
func (s *Station) SetBoothFault(booth, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil {
		return err
	}
	if bs.fault == reason {
		return nil
	}
	bs.fault = reason
	if reason != "" {
		s.log.Warn("booth fault", "booth", bs.booth.ID, "reason", reason)
	} else {
		s.log.Info("booth recovered", "booth", bs.booth.ID)
	}
	if bs.call == nil && (bs.screen.Kind == ScreenIdle || reason != "") {
		s.toIdle(bs)
	}
	return nil
}

// SetSimulated lists the booth's simulated devices ("reader", "light"),
// which its idle screen names for the technician.
func (s *Station) SetSimulated(booth string, devices []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil {
		return err
	}
	bs.simulated = append([]string(nil), devices...)
	if bs.call == nil && bs.screen.Kind == ScreenIdle {
		s.toIdle(bs)
	}
	return nil
}

// nextOpening returns when the room opens next, as RFC 3339 and in a
// child's words; "" and nil when it does not within a year.
func (s *Station) nextOpening(now time.Time) (string, *Words) {
	t, ok := s.policy.Hours.NextOpening(now)
	if !ok {
		return "", nil
	}
	t, now = t.In(s.loc()), now.In(s.loc())
	w := OpeningWords(now, t)
	return t.Format(time.RFC3339), &w
}

// OpeningWords says when t comes, seen from now (both in the station's
// zone), as a child would read it: today, tomorrow, a weekday within the
// week, else the date; always with the time.
func OpeningWords(now, t time.Time) Words {
	hm := t.Format("15:04")
	y1, m1, d1 := now.Date()
	y2, m2, d2 := t.Date()
	days := int(time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC).Sub(time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)).Hours() / 24)
	zhDays := [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}
	switch {
	case days <= 0:
		return Words{"今天 " + hm, "today " + hm}
	case days == 1:
		return Words{"明天 " + hm, "tomorrow " + hm}
	case days < 7:
		return Words{zhDays[t.Weekday()] + " " + hm, t.Format("Mon") + " " + hm}
	}
	return Words{fmt.Sprintf("%d月%d日 %s", int(m2), d2, hm), t.Format("Jan 2") + " " + hm}
}

// lingerThen shows sc for the linger time, then the identified screen if
// the child is still identified, else idle.
func (s *Station) lingerThen(bs *boothState, sc Screen, light LightState) {
	s.show(bs, sc, light)
	s.after(bs, s.opts.Linger, func() {
		if bs.call != nil {
			return
		}
		if bs.child.ID != 0 && s.opts.Now().Sub(bs.identified) < s.opts.Identified {
			s.showIdentified(context.Background(), bs)
			return
		}
		s.toIdle(bs)
	})
}

// Tap handles a card presented at booth's reader. uid may be in any form
// NormalizeUID accepts. An unknown or refused card shows its reason on
// the screen and is not an error; errors are EINVALID (bad UID), ENOTFOUND
// (no booth) and ECONFLICT (the booth is in a call).
func (s *Station) Tap(ctx context.Context, booth, uid string) error {
	norm, err := NormalizeUID(uid)
	if err != nil {
		return err
	}
	if staff, err := s.staffTap(ctx, booth, norm); staff {
		return err // a staff card: the staff screen (station_staff.go)
	}
	card, cerr := s.roster.CardByUID(ctx, norm)
	if cerr != nil && ErrorCode(cerr) != ENOTFOUND {
		return fmt.Errorf("look up card: %w", cerr)
	}
	var child Child
	var contacts []Contact
	var usage Usage
	if cerr == nil {
		if child, err = s.roster.Child(ctx, card.ChildID); err != nil {
			return fmt.Errorf("look up child: %w", err)
		}
		if contacts, err = s.roster.Contacts(ctx, card.ChildID); err != nil {
			return fmt.Errorf("look up contacts: %w", err)
		}
		if usage, err = s.journal.Usage(ctx, child.ID, WeekStart(s.opts.Now(), s.loc())); err != nil {
			return fmt.Errorf("read usage: %w", err)
		}
	}
	overdue := s.overdueBooks(ctx, child)

	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil {
		return err
	}
	if s.enrolTap(bs, norm) {
		return nil // a card the console enrols (station_enrol.go), not a child's tap
	}
	if bs.call != nil {
		return &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	}
	if pos := s.queue.Position(bs.child.ID); pos > 0 && bs.child.ID != 0 {
		s.queue.Remove(bs.child.ID)
	}
	now := s.opts.Now()
	switch {
	case cerr != nil:
		s.log.Info("unknown card", "booth", bs.booth.ID)
		s.log.Debug("unknown card uid", "booth", bs.booth.ID, "uid", norm)
		s.lingerThen(bs, Screen{Kind: ScreenUnknown, Reason: ReasonCardUnknown}, LightDenied)
		return nil
	case !card.Enabled:
		s.lingerThen(bs, Screen{Kind: ScreenDenied, Reason: ReasonCardDisabled}, LightDenied)
		return nil
	case child.Status != ChildActive:
		s.lingerThen(bs, Screen{Kind: ScreenDenied, Reason: ReasonChildInactive}, LightDenied)
		return nil
	}
	bs.child, bs.contacts, bs.card, bs.identified = child, contacts, card, now
	bs.overdue = overdue
	if !s.policy.Hours.Open(now) {
		sc := Screen{Kind: ScreenClosed, Reason: ReasonClosed, Child: child.Name,
			Hours: strings.Join(s.policy.Hours.Today(now), " ")}
		sc.NextOpening, sc.NextOpeningWords = s.nextOpening(now)
		s.show(bs, sc, LightDenied)
		s.after(bs, s.opts.Linger, func() { s.toIdle(bs) })
		return nil
	}
	s.showIdentifiedUsage(bs, usage)
	return nil
}

func (s *Station) showIdentified(ctx context.Context, bs *boothState) {
	// Called with s.mu held; the usage read is a quick indexed query.
	u, err := s.journal.Usage(ctx, bs.child.ID, WeekStart(s.opts.Now(), s.loc()))
	if err != nil {
		s.log.Error("read usage", "err", err)
	}
	s.showIdentifiedUsage(bs, u)
}

func (s *Station) showIdentifiedUsage(bs *boothState, u Usage) {
	mins, calls := s.policy.QuotaLeft(u)
	sc := Screen{Kind: ScreenIdentified, Child: bs.child.Name, QuotaMinutesLeft: &mins, QuotaCallsLeft: &calls,
		Tiles: s.tiles(bs.contacts), Overdue: bs.overdue}
	s.show(bs, sc, LightIdentified)
	left := s.opts.Identified - s.opts.Now().Sub(bs.identified)
	s.after(bs, left, func() { s.toIdle(bs) })
}

// Pick places a phone call from booth to the identified child's contact
// in slot (1..5), as if the child tapped its tile; see PickMode.
func (s *Station) Pick(ctx context.Context, booth string, slot int) error {
	return s.PickMode(ctx, booth, slot, ModePhone)
}

// PickMode places a call in mode (phone or video) from booth to the
// identified child's contact in slot (1..5). A refusal is shown on the
// screen, journaled, and returned as an EDENIED *Error with its Reason; a
// phone call that must wait for a line is queued (and returns nil).
func (s *Station) PickMode(ctx context.Context, booth string, slot int, mode Mode) error {
	s.mu.Lock()
	bs, err := s.booth(booth)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	child, contacts, card, at := bs.child, bs.contacts, bs.card, bs.identified
	busy := bs.call != nil
	s.mu.Unlock()
	if busy {
		return &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	}
	if child.ID == 0 || s.opts.Now().Sub(at) >= s.opts.Identified {
		return &Error{Code: EDENIED, Message: "tap a card first", Reason: ReasonNotIdentified}
	}
	contact, found := contactBySlot(contacts, slot)
	_, err = s.place(ctx, bs, attempt{card: card, child: child, contact: contact, found: found, mode: mode, dial: true})
	return err
}

func contactBySlot(cs []Contact, slot int) (Contact, bool) {
	for _, c := range cs {
		if c.Slot == slot {
			return c, true
		}
	}
	return Contact{}, false
}

// Help places a help call from booth to the first help number. Help is
// never refused by the policy; it fails only when the booth is already in
// a call or nothing is configured to call.
func (s *Station) Help(ctx context.Context, booth string) error {
	s.mu.Lock()
	bs, err := s.booth(booth)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	child, card, busy, help := bs.child, bs.card, bs.call != nil, s.policy.HelpNumbers // SetPolicy may change them
	s.mu.Unlock()
	if busy {
		return &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	}
	if len(help) == 0 {
		return Errorf(EINVALID, "no help number is configured")
	}
	_, err = s.place(ctx, bs, attempt{card: card, child: child, contact: helpContact(help[0]),
		found: true, help: true, dial: true})
	return err
}

// helpContact is the contact a help call goes to.
func helpContact(number string) Contact {
	return Contact{Name: "求助", Relation: "老师", Phone: number}
}

// attempt is one call the station is asked to place.
type attempt struct {
	card    Card
	child   Child
	contact Contact
	found   bool   // contact is an approved contact of child
	help    bool   // a help or emergency call
	number  string // what to call; contact.Phone when empty
	mode    Mode   // phone when empty
	// dial: the station dials (click-to-call, screen); otherwise the
	// request goes back to the SIP bridge, which has the booth's leg.
	dial bool
}

// place decides and, when allowed, starts a call.
func (s *Station) place(ctx context.Context, bs *boothState, a attempt) (CallRequest, error) {
	now := s.opts.Now()
	var usage Usage
	if a.child.ID != 0 {
		var err error
		if usage, err = s.journal.Usage(ctx, a.child.ID, WeekStart(now, s.loc())); err != nil {
			return CallRequest{}, fmt.Errorf("read usage: %w", err)
		}
	}
	if a.number == "" {
		a.number = a.contact.Phone
	}
	if a.mode == "" {
		a.mode = ModePhone
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return CallRequest{}, Errorf(ECONFLICT, "the station is shutting down")
	}
	if bs.call != nil {
		return CallRequest{}, &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	}
	ask := Ask{Now: now, Card: a.card, CardFound: a.child.ID != 0, Child: a.child, Contact: a.contact,
		ContactFound: a.found, Mode: a.mode, Help: a.help, Usage: usage, InCall: s.inCall(a.child.ID)}
	d := s.policy.Decide(ask)
	rec := CallRecord{
		CallID: s.opts.NewID(), Booth: bs.booth.ID, ChildID: a.child.ID, ChildName: a.child.Name, Class: a.child.Class,
		ContactID: a.contact.ID, ContactName: a.contact.Name, Relation: a.contact.Relation, Number: a.number,
		Mode: a.mode, Started: now, ClockSynced: s.opts.ClockSynced(), Limit: d.Limit, Help: a.help, Reason: d.Reason,
	}
	dialer := s.dialer
	if a.mode == ModePhone && bs.booth.Extension == "" {
		rec.Screen = bs.booth.ID // the kiosk screen's headset is the child's leg
	}
	if a.mode == ModeVideo {
		dialer = s.video
		rec.Screen = bs.booth.ID
		if d.Allowed && !a.help && s.presence != nil {
			if online, _ := s.presence.Online(a.contact.ID); !online {
				d = Decision{Reason: ReasonParentOffline}
			}
		}
		if d.Allowed && dialer == nil {
			d = Decision{Reason: ReasonModeNotAllowed}
		}
		rec.Reason, rec.Limit = d.Reason, d.Limit
	}
	if !d.Allowed {
		rec.Ended, rec.Disposition = now, DispDenied
		if err := s.journal.CallDenied(ctx, rec); err != nil {
			s.log.Error("journal denied call", "err", err)
		}
		s.lingerThen(bs, Screen{Kind: ScreenDenied, Reason: d.Reason, Child: a.child.Name}, LightDenied)
		return CallRequest{}, &Error{Code: EDENIED, Message: string(d.Reason.Words().EN), Reason: d.Reason}
	}
	if !a.help && a.dial && a.mode == ModePhone && s.opts.Lines > 0 && s.linesInUse() >= s.opts.Lines {
		s.queueUp(ctx, bs, a.child, a.contact)
		return CallRequest{}, nil
	}
	if dialer == nil && a.dial {
		return CallRequest{}, Errorf(EINTERNAL, "no dialer attached")
	}
	if err := s.journal.CallStarted(ctx, rec); err != nil {
		s.lingerThen(bs, Screen{Kind: ScreenDenied, Reason: ReasonDeviceFault}, LightFault)
		return CallRequest{}, fmt.Errorf("journal call start: %w", err)
	}
	s.log.Info("call started", "call", rec.CallID, "booth", bs.booth.ID, "mode", a.mode, "help", a.help,
		"limit_s", d.Limit.Seconds())
	c := &activeCall{rec: rec, dialer: dialer, booth: bs, start: now}
	s.calls[rec.CallID] = c
	bs.call = c
	s.show(bs, Screen{Kind: ScreenCalling, Child: a.child.Name, Contact: contactWord(a.contact), Help: a.help,
		LimitMS: d.Limit.Milliseconds(), Mode: a.mode, Call: rec.CallID}, LightRinging)
	req := CallRequest{CallID: rec.CallID, Booth: bs.booth, Mode: a.mode, Contact: a.contact.ID,
		ChildName: GivenName(a.child.Name), Number: a.number, Help: a.help, Limit: d.Limit,
		Warnings: s.policy.WarningsFor(d.Limit), Observer: observer{s, rec.CallID}}
	if a.dial {
		go func() {
			// Dial may block on I/O; the station's lock is not held.
			if err := dialer.Dial(context.WithoutCancel(ctx), req); err != nil {
				s.log.Error("dial", "call", req.CallID, "err", err)
				s.CallEvent(CallEvent{CallID: req.CallID, Kind: EventEnded, At: s.opts.Now(),
					Disposition: DispFailed, Cause: CauseFailed})
			}
		}()
	}
	return req, nil
}

func contactWord(c Contact) string {
	if c.Relation != "" {
		return c.Relation
	}
	return c.Name
}

func (s *Station) inCall(id ChildID) bool {
	if id == 0 {
		return false
	}
	for _, c := range s.calls {
		if c.rec.ChildID == id && !c.ended {
			return true
		}
	}
	return false
}

func (s *Station) linesInUse() int {
	n := 0
	for _, c := range s.calls {
		if !c.rec.Help && !c.ended && c.rec.Mode == ModePhone {
			n++
		}
	}
	return n
}

// queued remembers what a queued child asked for.
type queued struct {
	booth   *boothState
	child   Child
	contact Contact
}

func (s *Station) queueUp(ctx context.Context, bs *boothState, child Child, contact Contact) {
	answered := 0
	if u, err := s.journal.Usage(ctx, child.ID, s.opts.Now().Add(-7*24*time.Hour)); err == nil {
		answered = u.Calls
	}
	pos := s.queue.Push(QueueEntry{Booth: bs.booth.ID, Child: child.ID, Answered7d: answered, Arrived: s.opts.Now()})
	bs.contacts = reorderFirst(bs.contacts, contact.Slot)
	s.show(bs, Screen{Kind: ScreenQueued, Child: child.Name, Contact: contactWord(contact), Position: pos,
		Reason: ReasonLineBusy}, LightRinging)
	s.refreshQueue()
}

// reorderFirst moves the contact in slot to the front, so that when the
// queue reaches the child the station knows whom it wanted.
func reorderFirst(cs []Contact, slot int) []Contact {
	out := make([]Contact, 0, len(cs))
	for _, c := range cs {
		if c.Slot == slot {
			out = append([]Contact{c}, out...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// refreshQueue updates the position shown at every queued booth.
func (s *Station) refreshQueue() {
	for _, e := range s.queue.Snapshot() {
		bs := s.booths[e.Booth]
		if bs == nil || bs.screen.Kind != ScreenQueued {
			continue
		}
		if pos := s.queue.Position(e.Child); pos != bs.screen.Position {
			sc := bs.screen
			sc.Position = pos
			s.show(bs, sc, LightRinging)
		}
	}
}

// serveQueue starts the call of the first queued child when a line is
// free. Called with s.mu held.
func (s *Station) serveQueue() {
	if s.closing || (s.opts.Lines > 0 && s.linesInUse() >= s.opts.Lines) {
		return
	}
	e, ok := s.queue.Pop()
	if !ok {
		return
	}
	bs := s.booths[e.Booth]
	if bs == nil || bs.screen.Kind != ScreenQueued || bs.child.ID != e.Child || len(bs.contacts) == 0 {
		s.serveQueue()
		return
	}
	child, contact, card := bs.child, bs.contacts[0], bs.card
	bs.screen.Kind = ScreenCalling // leave the queued state before unlocking
	go func() {
		if _, err := s.place(context.Background(), bs, attempt{card: card, child: child, contact: contact, found: true, dial: true}); err != nil {
			s.log.Warn("queued call", "booth", bs.booth.ID, "err", err)
		}
	}()
	s.refreshQueue()
}

// Hangup ends whatever booth is doing: the call in progress (cause
// caller_hangup), the queue wait, or the identified state.
func (s *Station) Hangup(ctx context.Context, booth string) error {
	return s.HangupCause(ctx, booth, CauseCallerHangup)
}

// HangupCause is Hangup with the cause the ledger records for a call in
// progress: CauseCallerHangup when the child hangs up, CauseOperator when
// staff end the call from kioskctl or the admin API.
func (s *Station) HangupCause(ctx context.Context, booth string, cause EndCause) error {
	s.mu.Lock()
	bs, err := s.booth(booth)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	c := bs.call
	if c == nil {
		s.queue.Remove(bs.child.ID)
		s.refreshQueue()
		s.toIdle(bs)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if err := c.dialer.Hangup(c.rec.CallID, cause); err != nil && ErrorCode(err) != ENOTFOUND {
		return fmt.Errorf("hang up: %w", err)
	}
	return nil
}

// AuthorizeHandset implements HandsetAuthorizer: the booth phone at ext
// dialled a speed-dial digit, an approved number or the help code.
func (s *Station) AuthorizeHandset(ctx context.Context, ext, dialled string) (CallRequest, error) {
	s.mu.Lock()
	id, ok := s.byExt[ext]
	var bs *boothState
	if ok {
		bs = s.booths[id]
	}
	var child Child
	var contacts []Contact
	var card Card
	if bs != nil && bs.child.ID != 0 && s.opts.Now().Sub(bs.identified) < s.opts.HandsetWindow {
		child, contacts, card = bs.child, bs.contacts, bs.card
	}
	pol := s.policy // SetPolicy may replace it once the lock is released
	s.mu.Unlock()
	if bs == nil {
		return CallRequest{}, Errorf(ENOTFOUND, "no booth has extension %q", ext)
	}
	if pol.IsHelpNumber(dialled) {
		number := dialled
		if dialled == pol.HelpCode && len(pol.HelpNumbers) > 0 {
			number = pol.HelpNumbers[0]
		}
		return s.place(ctx, bs, attempt{card: card, child: child, contact: helpContact(number), found: true, help: true, number: number})
	}
	if child.ID == 0 {
		now := s.opts.Now()
		rec := CallRecord{CallID: s.opts.NewID(), Booth: bs.booth.ID, Number: dialled, Mode: ModePhone,
			Started: now, Ended: now, ClockSynced: s.opts.ClockSynced(), Disposition: DispDenied, Reason: ReasonNotIdentified}
		if err := s.journal.CallDenied(ctx, rec); err != nil {
			s.log.Error("journal denied call", "err", err)
		}
		return CallRequest{}, &Error{Code: EDENIED, Message: "tap a card first", Reason: ReasonNotIdentified}
	}
	var contact Contact
	found := false
	if len(dialled) == 1 && dialled[0] >= '1' && dialled[0] <= '5' {
		contact, found = contactBySlot(contacts, int(dialled[0]-'0'))
	} else if e164, err := ParsePhone(dialled); err == nil {
		for _, c := range contacts {
			if c.Phone == e164 {
				contact, found = c, true
			}
		}
	}
	number := contact.Phone
	if !found {
		number = dialled
	}
	return s.place(ctx, bs, attempt{card: card, child: child, contact: contact, found: found, number: number})
}

// observer routes a dialer's events to the station.
type observer struct {
	s  *Station
	id string
}

func (o observer) CallEvent(ev CallEvent) {
	ev.CallID = o.id
	o.s.CallEvent(ev)
}

// CallEvent applies a call's progress to its booth and the journal. It
// implements CallObserver for the dialer's events; events for unknown or
// ended calls are ignored.
func (s *Station) CallEvent(ev CallEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[ev.CallID]
	if c == nil || c.ended {
		return
	}
	bs := c.booth
	now := s.opts.Now()
	if ev.At.IsZero() {
		ev.At = now
	}
	switch ev.Kind {
	case EventBoothUp:
		// The booth phone answered a click-to-call; the parent is next.
	case EventRinging:
		if c.rec.Ring.IsZero() {
			c.rec.Ring = ev.At
		}
		s.show(bs, Screen{Kind: ScreenCalling, Child: c.rec.ChildName, Contact: bs.screen.Contact, Help: c.rec.Help,
			LimitMS: c.rec.Limit.Milliseconds(), Mode: c.rec.Mode, Call: c.rec.CallID}, LightRinging)
	case EventAnswered:
		c.rec.Answered = ev.At
		c.answered = now
		if ev.Setup > 0 {
			c.rec.Setup = ev.Setup
		}
		if err := s.journal.CallHeartbeat(context.Background(), c.rec.CallID, now); err != nil {
			s.log.Error("journal heartbeat", "err", err)
		}
		if err := s.journal.CallProgress(context.Background(), c.rec.CallID, ev.At); err != nil {
			s.log.Error("journal answer", "err", err)
		}
		s.show(bs, Screen{Kind: ScreenConnected, Child: c.rec.ChildName, Contact: bs.screen.Contact, Help: c.rec.Help,
			LimitMS: c.rec.Limit.Milliseconds(), RemainingMS: c.rec.Limit.Milliseconds(),
			Mode: c.rec.Mode, Call: c.rec.CallID}, LightConnected)
	case EventWarning:
		sc := bs.screen
		sc.Kind = ScreenWarning
		sc.RemainingMS = ev.Remaining.Milliseconds()
		s.show(bs, sc, LightWarning)
	case EventEnded:
		s.endCall(c, ev)
	}
}

// endCall closes c in the journal and returns its booth to rest. Called
// with s.mu held.
func (s *Station) endCall(c *activeCall, ev CallEvent) {
	c.ended = true
	delete(s.calls, c.rec.CallID)
	bs := c.booth
	bs.call = nil
	now := s.opts.Now()
	c.rec.Ended = ev.At
	c.rec.ClockSynced = c.rec.ClockSynced && s.opts.ClockSynced()
	c.rec.Duration = now.Sub(c.start)
	if ev.Duration > 0 {
		c.rec.Duration = ev.Duration
	}
	c.rec.Disposition, c.rec.Cause, c.rec.SIPCode = ev.Disposition, ev.Cause, ev.SIPCode
	if ev.Setup > 0 {
		c.rec.Setup = ev.Setup
	}
	if ev.Quality != nil {
		c.rec.Quality = ev.Quality
	}
	switch {
	case ev.Billsec > 0:
		c.rec.Billsec = ev.Billsec
	case !c.answered.IsZero():
		c.rec.Billsec = now.Sub(c.answered)
	}
	if c.rec.Disposition == "" {
		c.rec.Disposition = DispFailed
	}
	if err := s.journal.CallEnded(context.Background(), c.rec); err != nil {
		s.log.Error("journal call end", "call", c.rec.CallID, "err", err)
	}
	s.log.Info("call ended", "call", c.rec.CallID, "booth", bs.booth.ID, "disposition", c.rec.Disposition,
		"cause", c.rec.Cause, "billsec", c.rec.Billsec.Round(time.Second).Seconds())
	sc := Screen{Kind: ScreenEnded, Child: c.rec.ChildName, Contact: bs.screen.Contact, Help: c.rec.Help,
		DurationMS: c.rec.Billsec.Milliseconds(), Disposition: string(c.rec.Disposition), Mode: c.rec.Mode,
		Call: c.rec.CallID}
	if s.closing {
		s.show(bs, sc, LightOff)
	} else {
		// The child is done: back to idle after the ended screen.
		bs.identified = time.Time{}
		s.lingerThen(bs, sc, LightIdle)
	}
	s.serveQueue()
}

// Run writes call heartbeats until ctx ends.
func (s *Station) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.heartbeat(ctx)
		}
	}
}

func (s *Station) heartbeat(ctx context.Context) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.calls))
	for id := range s.calls {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	now := s.opts.Now()
	for _, id := range ids {
		if err := s.journal.CallHeartbeat(ctx, id, now); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("journal heartbeat", "call", id, "err", err)
		}
	}
}

// Close ends the calls still in progress with cause shutdown (asking the
// dialer to hang up, then closing in the journal whatever the dialer did
// not report by ctx's deadline), stops the booths' timers and turns the
// lights off.
func (s *Station) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.endEnrolments() // consoles waiting for a card get ECONFLICT
	calls := make([]*activeCall, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		if c.dialer == nil {
			continue
		}
		if err := c.dialer.Hangup(c.rec.CallID, CauseShutdown); err != nil && ErrorCode(err) != ENOTFOUND {
			s.log.Warn("hang up at shutdown", "call", c.rec.CallID, "err", err)
		}
	}
	// Wait for the dialer's EventEnded, bounded by ctx.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.calls)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		break
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		disp := DispCancelled
		if !c.answered.IsZero() {
			disp = DispAnswered
		}
		s.endCall(c, CallEvent{CallID: c.rec.CallID, Kind: EventEnded, At: s.opts.Now(), Disposition: disp, Cause: CauseShutdown})
	}
	for _, bs := range s.booths {
		if bs.timer != nil {
			bs.timer.Stop()
		}
		bs.gen++
		s.setLight(bs, LightOff)
	}
	return nil
}

// loc is the station's time zone. It reads only Hours.Loc, which
// SetPolicy never writes, so callers need not hold s.mu.
func (s *Station) loc() *time.Location {
	if l := s.policy.Hours.Loc; l != nil {
		return l
	}
	return DefaultLocation()
}

// SetPolicy replaces the station's policy at once, without a restart (the
// console's settings): the next tap, pick or dialled number is judged by
// p. Calls in progress keep the limit and warnings they started with; idle
// screens show the new opening hours and an identified child's screen the
// quota left under p. The time zone stays the one the station started
// with (p.Hours.Loc is ignored: it comes from the config file, and loc is
// read without the lock). p's slices must not be modified afterwards.
func (s *Station) SetPolicy(ctx context.Context, p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Field by field, every field but Hours.Loc (TestSetPolicyCopiesEveryField).
	s.policy.Hours.Windows, s.policy.Hours.Closures = p.Hours.Windows, p.Hours.Closures
	s.policy.Limit, s.policy.HelpLimit, s.policy.Warnings = p.Limit, p.HelpLimit, p.Warnings
	s.policy.Quota, s.policy.HelpCode, s.policy.HelpNumbers = p.Quota, p.HelpCode, p.HelpNumbers
	for _, b := range s.order {
		switch bs := s.booths[b.ID]; {
		case bs.call != nil:
		case bs.screen.Kind == ScreenIdle:
			s.toIdle(bs)
		case bs.screen.Kind == ScreenIdentified:
			s.showIdentified(ctx, bs)
		}
	}
}
