package kiosk

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The staff screen. A staff card (StaffRoster) tapped at a booth shows
// ScreenStaff instead of a child's screens: the member's name and role,
// and the TV panel (AttachTV): each TV running (programme, since when, a
// stop button) or idle (a form: programme, category, class or group, head
// count; the teacher is the member). Teachers and managers may start and
// stop sessions there; a technician sees the TVs and is refused. The
// screen goes back to idle after staffTimeout without an action, or on
// hangup (the page's 退出 button).

// staffTimeoutFactor times StationOpts.Identified is how long the staff
// screen stays without an action (2 min with the default 30 s): a teacher
// fills a form, a child only picks a tile.
const staffTimeoutFactor = 4

var (
	wordsTVRole    = Words{ZH: "技术员不能开关电视，请找值班教师或管理员", EN: "Technicians cannot run the TV. Please ask the duty teacher or a manager"}
	wordsTVStopped = Words{ZH: "已结束播放，电视已关闭", EN: "Stopped. The TV is off"}
	wordsNoTV      = Words{ZH: "没有配置电视", EN: "No TV is configured"}
)

// tvPanel is the TV control attached to a station.
type tvPanel struct {
	ctl  TVControl
	opts TVPanelOpts
}

// AttachTV gives the staff screen its TV panel: ctl runs the sessions,
// o says what the form offers. Without it the staff screen says that no
// TV is configured, and StartTV and StopTV answer EINVALID.
func (s *Station) AttachTV(ctl TVControl, o TVPanelOpts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tvs = &tvPanel{ctl: ctl, opts: o}
}

func (s *Station) staffTimeout() time.Duration {
	return staffTimeoutFactor * s.opts.Identified
}

// staffTap handles uid at booth when it is a staff card, and reports
// whether it was one. An enabled member gets the staff screen; a disabled
// member or card gets the denied screen (card disabled). A card the
// console waits to enrol at booth is captured as usual. Both are audited
// (who, booth; never the UID). Errors: the roster's, ENOTFOUND (no booth),
// ECONFLICT (the booth is in a call). Tap calls it without s.mu held.
func (s *Station) staffTap(ctx context.Context, booth, uid string) (bool, error) {
	sr, ok := s.roster.(StaffRoster)
	if !ok {
		return false, nil
	}
	st, err := sr.StaffByUID(ctx, uid)
	if ErrorCode(err) == ENOTFOUND {
		return false, nil
	} else if err != nil {
		return true, fmt.Errorf("look up staff card: %w", err)
	}
	var sc Screen
	if st.Enabled {
		sc = s.staffScreen(ctx, &StaffScreen{Name: st.Name, Role: st.Role, id: st.ID})
	}

	s.mu.Lock()
	bs, err := s.booth(booth)
	if err != nil {
		s.mu.Unlock()
		return true, err
	}
	if s.enrolTap(bs, uid) {
		s.mu.Unlock()
		return true, nil // the console enrols this card (it will refuse a staff card's UID)
	}
	if bs.call != nil {
		s.mu.Unlock()
		return true, &Error{Code: ECONFLICT, Message: "the booth is in a call", Reason: ReasonBoothBusy}
	}
	// A child identified or waiting in line here is no longer.
	if bs.child.ID != 0 {
		s.queue.Remove(bs.child.ID)
		s.refreshQueue()
	}
	bs.child, bs.contacts, bs.card, bs.identified, bs.overdue = Child{}, nil, Card{}, time.Time{}, nil
	action := "staff_tap"
	if st.Enabled {
		s.showStaff(bs, sc)
	} else {
		action = "staff_tap_refused"
		s.lingerThen(bs, Screen{Kind: ScreenDenied, Reason: ReasonCardDisabled}, LightDenied)
	}
	s.mu.Unlock()

	s.log.Info("staff card", "booth", booth, "role", st.Role, "enabled", st.Enabled)
	s.log.Debug("staff card uid", "booth", booth, "uid", uid)
	s.audit(ctx, "staff:"+st.Name, action, fmt.Sprintf("booth=%s role=%s", booth, st.Role))
	return true, nil
}

// audit appends an 'audit' entry when the journal keeps them; a failure
// is logged.
func (s *Station) audit(ctx context.Context, actor, action, detail string) {
	a, ok := s.journal.(Auditor)
	if !ok {
		return
	}
	if err := a.Audit(context.WithoutCancel(ctx), actor, action, detail); err != nil {
		s.log.Error("audit staff action", "action", action, "err", err)
	}
}

// staffScreen builds the staff screen of who (Name, Role, id and Notice
// set) with the TV panel as it is now. Called without s.mu held: it asks
// the TV control and reads the roster's classes.
func (s *Station) staffScreen(ctx context.Context, who *StaffScreen) Screen {
	ss := *who
	ss.RoleWords = ss.Role.Words()
	ss.MayRunTV = ss.Role.MayRunTV()
	s.mu.Lock()
	p := s.tvs
	s.mu.Unlock()
	if p != nil {
		ss.TVs = p.ctl.TVs()
		for i := range ss.TVs {
			if t := &ss.TVs[i]; t.Running && !t.Started.IsZero() {
				t.Since = t.Started.In(s.loc()).Format("15:04")
			}
		}
		ss.Categories = append([]string(nil), p.opts.Categories...)
		ss.Classes = []string{TVAll}
		if p.opts.Classes != nil {
			classes, err := p.opts.Classes(ctx)
			if err != nil {
				s.log.Error("read classes for the tv form", "err", err)
			}
			var named []string
			for _, c := range classes {
				if c != "" && c != TVAll {
					named = append(named, c)
				}
			}
			// 三年级 before 四年级 before 五年级 (not code point order).
			sort.SliceStable(named, func(i, j int) bool { return gradeKey(named[i]) < gradeKey(named[j]) })
			ss.Classes = append(ss.Classes, named...)
		}
	}
	return Screen{Kind: ScreenStaff, Staff: &ss}
}

// gradeDigits turns Chinese numerals 一..九 into digits, so that class
// names sort by grade ("一年级2班" as "1年级2班", "初三" as "初3").
var gradeDigits = strings.NewReplacer("一", "1", "二", "2", "三", "3", "四", "4", "五", "5", "六", "6", "七", "7", "八", "8", "九", "9")

func gradeKey(class string) string { return gradeDigits.Replace(class) }

// showStaff shows sc (a staff screen) at bs and starts its timeout.
// Called with s.mu held.
func (s *Station) showStaff(bs *boothState, sc Screen) {
	s.show(bs, sc, LightIdentified)
	s.after(bs, s.staffTimeout(), func() { s.toIdle(bs) })
}

// staffAt returns who the staff screen at booth belongs to, and the TV
// panel. Errors: ENOTFOUND (no booth); EDENIED ReasonNotIdentified when
// the booth does not show a staff screen.
func (s *Station) staffAt(booth string) (StaffScreen, *tvPanel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil {
		return StaffScreen{}, nil, err
	}
	if bs.screen.Kind != ScreenStaff || bs.screen.Staff == nil || bs.call != nil {
		return StaffScreen{}, nil, &Error{Code: EDENIED, Message: "tap a staff card first", Reason: ReasonNotIdentified}
	}
	ss := bs.screen.Staff
	return StaffScreen{Name: ss.Name, Role: ss.Role, id: ss.id}, s.tvs, nil
}

// refreshStaff shows the staff screen of who again at booth, with notice,
// if the booth still shows who's staff screen; its timeout restarts.
func (s *Station) refreshStaff(ctx context.Context, booth string, who StaffScreen, notice Words, isErr bool) {
	who.Notice, who.Error = &notice, isErr
	sc := s.staffScreen(ctx, &who)
	s.mu.Lock()
	defer s.mu.Unlock()
	bs, err := s.booth(booth)
	if err != nil || bs.call != nil || bs.screen.Kind != ScreenStaff || bs.screen.Staff == nil ||
		bs.screen.Staff.id != who.id || bs.screen.Staff.Name != who.Name {
		return // the screen moved on (timeout, another card): nothing to refresh
	}
	s.showStaff(bs, sc)
}

// StartTV starts the TV session r from the staff screen at booth, with
// the staff member as its teacher (r.Teacher is ignored). It runs only
// while booth shows a staff screen (EDENIED ReasonNotIdentified
// otherwise; ENOTFOUND for no booth) and a TV is attached (EINVALID). The
// outcome is shown on the staff screen (Notice): started, or why not (a
// technician may not run the TV; the session rules; the TV already runs;
// the curfew has passed), and such refusals return nil; other errors
// (the journal's) are returned.
func (s *Station) StartTV(ctx context.Context, booth string, r TVStart) error {
	who, p, err := s.staffAt(booth)
	if err != nil {
		return err
	}
	if p == nil {
		s.refreshStaff(ctx, booth, who, wordsNoTV, true)
		return Errorf(EINVALID, "no TV is configured")
	}
	if !who.Role.MayRunTV() {
		s.log.Info("tv start refused at kiosk", "booth", booth, "role", who.Role)
		s.refreshStaff(ctx, booth, who, wordsTVRole, true)
		return nil
	}
	r.Teacher = who.Name
	err = p.ctl.StartTV(ctx, r)
	if err == nil {
		s.log.Info("tv started at kiosk", "booth", booth, "tv", r.TV, "role", who.Role)
		s.refreshStaff(ctx, booth, who, Words{ZH: "已开始播放：" + r.Programme, EN: "Started: " + r.Programme}, false)
		return nil
	}
	return s.tvRefused(ctx, booth, who, "start", err)
}

// StopTV ends the session of the TV named tv ("" for the only one) from
// the staff screen at booth; the TV is turned off. Errors and refusals as
// for StartTV (a TV that runs nothing is a refusal shown on the screen).
func (s *Station) StopTV(ctx context.Context, booth, tv string) error {
	who, p, err := s.staffAt(booth)
	if err != nil {
		return err
	}
	if p == nil {
		s.refreshStaff(ctx, booth, who, wordsNoTV, true)
		return Errorf(EINVALID, "no TV is configured")
	}
	if !who.Role.MayRunTV() {
		s.log.Info("tv stop refused at kiosk", "booth", booth, "role", who.Role)
		s.refreshStaff(ctx, booth, who, wordsTVRole, true)
		return nil
	}
	err = p.ctl.StopTV(ctx, tv)
	if err == nil {
		s.log.Info("tv stopped at kiosk", "booth", booth, "tv", tv, "role", who.Role)
		s.refreshStaff(ctx, booth, who, wordsTVStopped, false)
		return nil
	}
	return s.tvRefused(ctx, booth, who, "stop", err)
}

// tvRefused shows a refusal of the TV control (EINVALID, ECONFLICT,
// ENOTFOUND: its message, in Chinese) on the staff screen and returns
// nil; any other error is shown as a generic failure and returned.
func (s *Station) tvRefused(ctx context.Context, booth string, who StaffScreen, what string, err error) error {
	switch ErrorCode(err) {
	case EINVALID, ECONFLICT, ENOTFOUND:
		msg := ErrorMessage(err)
		s.refreshStaff(ctx, booth, who, Words{ZH: msg, EN: "Not done: " + msg}, true)
		return nil
	}
	s.refreshStaff(ctx, booth, who, Words{ZH: "出了点问题，请再试一次", EN: "Something went wrong. Please try again"}, true)
	return fmt.Errorf("tv %s at booth %s: %w", what, booth, err)
}
