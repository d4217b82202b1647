package tv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Power switches a TV. devices/relay.Dev and devices/cec.Dev implement
// it. Both methods are idempotent; an error means the TV may not have
// switched (it is journaled with the session, never fatal).
type Power interface {
	On() error
	Off() error
}

// Journal keeps the TV register. kiosk/sqlite.DB implements it.
type Journal interface {
	// TVStarted appends the start entry of s (Ended zero) and starts its
	// heartbeat at s.Started.
	TVStarted(ctx context.Context, s Session) error
	// TVEnded appends the end entry of s; a second end of the same
	// session is an ECONFLICT *kiosk.Error.
	TVEnded(ctx context.Context, s Session) error
	// TVHeartbeat records that session id still runs at t, so that a
	// crash closes it there; ENOTFOUND when it is not open.
	TVHeartbeat(ctx context.Context, id string, t time.Time) error
}

// TV is one configured TV.
type TV struct {
	// Name identifies the TV ("tv1"); required, unique.
	Name string
	// Room is where it stands (a booth id or a room's name), for the
	// register and the console.
	Room string
	// Power switches it; nil means no power control (PowerNone).
	Power Power
	// PowerKind is PowerRelay, PowerCEC or PowerNone, for reports.
	// Default PowerRelay; always PowerNone when Power is nil.
	PowerKind string
	// Curfew is the latest time it may run; zero means none.
	Curfew Curfew
}

// Opts are the Service's optional dependencies; the zero value of each
// field means its default.
type Opts struct {
	// Now is the wall clock. Default time.Now.
	Now func() time.Time
	// Location is the station's time zone, for curfews. Default
	// time.Local.
	Location *time.Location
	// ClockSynced reports whether the wall clock is synced; journaled.
	// Default: always true.
	ClockSynced func() bool
	// Rand is the source of session ids. Default crypto/rand.
	Rand io.Reader
	// Every is how often Run checks the curfews and heartbeats open
	// sessions. Default 15 s.
	Every time.Duration
	// Logger receives the service's logs (no names at info level).
	// Default discards.
	Logger *slog.Logger
}

// Service runs the TV sessions of the configured TVs: at most one open
// session per TV. It is safe for concurrent use.
type Service struct {
	tvs  map[string]TV
	list []string // names, sorted
	j    Journal
	opts Opts
	log  *slog.Logger

	mu    sync.Mutex
	open  map[string]*Session // by TV name
	state map[string]bool     // by TV name: last power state asked
	perr  map[string]string   // by TV name: last power error
}

// New returns a Service for tvs, journaling into j. It returns an error
// for a TV without a name or a name used twice. Nothing is switched:
// drivers start in their safe state (off).
func New(tvs []TV, j Journal, opts Opts) (*Service, error) {
	if j == nil {
		return nil, errors.New("tv service: nil journal")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.ClockSynced == nil {
		opts.ClockSynced = func() bool { return true }
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Every <= 0 {
		opts.Every = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{tvs: map[string]TV{}, j: j, opts: opts, log: opts.Logger.With("component", "tv"),
		open: map[string]*Session{}, state: map[string]bool{}, perr: map[string]string{}}
	for _, t := range tvs {
		if t.Name == "" {
			return nil, errors.New("tv service: a TV without a name")
		}
		if _, dup := s.tvs[t.Name]; dup {
			return nil, fmt.Errorf("tv service: TV %q configured twice", t.Name)
		}
		switch {
		case t.Power == nil:
			t.PowerKind = PowerNone
		case t.PowerKind == "":
			t.PowerKind = PowerRelay
		}
		s.tvs[t.Name] = t
		s.list = append(s.list, t.Name)
	}
	sort.Strings(s.list)
	return s, nil
}

// pick returns the TV named name, or the only TV when name is "".
func (s *Service) pick(name string) (TV, error) {
	if name == "" {
		if len(s.list) == 1 {
			return s.tvs[s.list[0]], nil
		}
		if len(s.list) == 0 {
			return TV{}, kiosk.Errorf(kiosk.ENOTFOUND, "没有配置电视")
		}
		return TV{}, kiosk.Errorf(kiosk.EINVALID, "请指定电视（%d台）", len(s.list))
	}
	t, ok := s.tvs[name]
	if !ok {
		return TV{}, kiosk.Errorf(kiosk.ENOTFOUND, "没有名为 %q 的电视", name)
	}
	return t, nil
}

// Start validates r (see Request.Validate), checks that the TV has no
// open session (ECONFLICT) and that its curfew has not passed today
// (ECONFLICT), turns the TV on, and journals the start. A power failure
// does not stop the session (a teacher can switch the TV by hand): it is
// recorded in Session.PowerError. If the journal fails, the TV is turned
// off again and the error is returned.
func (s *Service) Start(ctx context.Context, r Request) (Session, error) {
	r = r.Normalize()
	if err := r.Validate(); err != nil {
		return Session{}, err
	}
	t, err := s.pick(r.TV)
	if err != nil {
		return Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.open[t.Name]; o != nil {
		return Session{}, kiosk.Errorf(kiosk.ECONFLICT, "电视 %s 正在播放（%s），请先结束", t.Name, o.Programme)
	}
	now := s.opts.Now()
	var deadline time.Time
	if t.Curfew != 0 {
		d, ok := t.Curfew.Deadline(now, s.opts.Location)
		if !ok {
			return Session{}, kiosk.Errorf(kiosk.ECONFLICT, "已过电视最晚播放时间 %s", t.Curfew)
		}
		deadline = d
	}
	var rnd [16]byte
	if _, err := io.ReadFull(s.opts.Rand, rnd[:]); err != nil {
		return Session{}, fmt.Errorf("tv start: session id: %w", err)
	}
	ses := Session{
		ID: hex.EncodeToString(rnd[:]), TV: t.Name, Room: t.Room,
		Programme: r.Programme, Category: r.Category, Class: r.Class, Headcount: r.Headcount,
		Teacher: r.Teacher, Note: r.Note, Started: now, Curfew: deadline,
		Power: t.PowerKind, ClockSynced: s.opts.ClockSynced(),
	}
	ses.PowerError = s.switchLocked(t, true)
	if err := s.j.TVStarted(ctx, ses); err != nil {
		s.switchLocked(t, false)
		return Session{}, fmt.Errorf("tv start %s: journal: %w", t.Name, err)
	}
	s.open[t.Name] = &ses
	s.log.Info("tv session started", "tv", t.Name, "session", ses.ID, "category", ses.Category,
		"headcount", ses.Headcount, "power", ses.Power, "power_ok", ses.PowerError == "")
	return ses, nil
}

// switchLocked turns t on or off and returns the error's text ("" when
// it worked or t has no power control). Called with s.mu held.
func (s *Service) switchLocked(t TV, on bool) string {
	if t.Power == nil {
		return ""
	}
	var err error
	if on {
		err = t.Power.On()
	} else {
		err = t.Power.Off()
	}
	s.state[t.Name] = on
	if err != nil {
		s.perr[t.Name] = err.Error()
		s.log.Warn("tv power switch failed", "tv", t.Name, "on", on, "power", t.PowerKind, "err", err)
		return err.Error()
	}
	delete(s.perr, t.Name)
	return ""
}

// Stop ends the open session of the TV named tv ("" when only one is
// configured) with CauseStop: the TV is turned off, then the end is
// journaled. ENOTFOUND when it has no open session.
func (s *Service) Stop(ctx context.Context, tv string) (Session, error) {
	t, err := s.pick(tv)
	if err != nil {
		return Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[t.Name] == nil {
		return Session{}, kiosk.Errorf(kiosk.ENOTFOUND, "电视 %s 没有在播放", t.Name)
	}
	return s.endLocked(ctx, t, CauseStop)
}

// endLocked turns t off and journals the end of its open session. On a
// journal error the session stays open (in memory and on disk), so that
// a later Stop, Check or restart closes it. Called with s.mu held.
func (s *Service) endLocked(ctx context.Context, t TV, cause Cause) (Session, error) {
	ses := *s.open[t.Name]
	now := s.opts.Now()
	ses.PowerError = s.switchLocked(t, false)
	ses.Ended = now
	ses.Duration = now.Sub(ses.Started) // monotonic when both came from time.Now
	if ses.Duration < 0 {
		ses.Duration = 0
	}
	ses.Cause = cause
	if err := s.j.TVEnded(ctx, ses); err != nil && kiosk.ErrorCode(err) != kiosk.ECONFLICT {
		return Session{}, fmt.Errorf("tv end %s: journal: %w", t.Name, err)
	}
	delete(s.open, t.Name)
	s.log.Info("tv session ended", "tv", t.Name, "session", ses.ID, "cause", cause,
		"duration", ses.Duration.Round(time.Second), "power_ok", ses.PowerError == "")
	return ses, nil
}

// Check ends, with CauseCurfew, every open session whose curfew has come
// (turning its TV off) and heartbeats the others. It returns the sessions
// it ended and the first error met (it goes on past errors). Run calls it
// every Opts.Every; tests call it with a fake clock.
func (s *Service) Check(ctx context.Context) ([]Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var (
		ended []Session
		first error
	)
	for _, name := range s.list {
		o := s.open[name]
		if o == nil {
			continue
		}
		if !o.Curfew.IsZero() && !now.Before(o.Curfew) {
			ses, err := s.endLocked(ctx, s.tvs[name], CauseCurfew)
			if err != nil {
				first = cmpErr(first, err)
				continue
			}
			ended = append(ended, ses)
			continue
		}
		if err := s.j.TVHeartbeat(ctx, o.ID, now); err != nil {
			first = cmpErr(first, fmt.Errorf("tv heartbeat %s: %w", name, err))
		}
	}
	return ended, first
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// Run calls Check every Opts.Every until ctx is done; errors are logged.
// The caller owns the goroutine and waits for Run to return.
func (s *Service) Run(ctx context.Context) {
	tk := time.NewTicker(s.opts.Every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if _, err := s.Check(ctx); err != nil {
				s.log.Warn("tv check failed", "err", err)
			}
		}
	}
}

// Close ends every open session with CauseShutdown (turning the TVs off)
// and returns the first error. Call it before the relays are halted and
// before the journal closes.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, name := range s.list {
		if s.open[name] == nil {
			continue
		}
		if _, err := s.endLocked(ctx, s.tvs[name], CauseShutdown); err != nil {
			first = cmpErr(first, err)
		}
	}
	return first
}

// Status is one TV's state for the admin API and kioskctl.
type Status struct {
	Name   string `json:"name"`
	Room   string `json:"room,omitempty"`
	Power  string `json:"power"`            // PowerRelay, PowerCEC or PowerNone
	On     bool   `json:"on"`               // last state asked of the power control
	Curfew string `json:"curfew,omitempty"` // "HH:MM", "" for none
	// PowerError is the last switching error; "" when the last switch
	// worked.
	PowerError string `json:"power_error,omitempty"`
	// Session is the open session, nil when none.
	Session *Session `json:"session,omitempty"`
}

// Status returns every TV's state, sorted by name.
func (s *Service) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.list))
	for _, name := range s.list {
		t := s.tvs[name]
		st := Status{Name: name, Room: t.Room, Power: t.PowerKind, On: s.state[name],
			Curfew: t.Curfew.String(), PowerError: s.perr[name]}
		if o := s.open[name]; o != nil {
			c := *o
			st.Session = &c
		}
		out = append(out, st)
	}
	return out
}
