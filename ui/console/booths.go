package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
)

// StationDesk is what the console needs from the running station;
// *kiosk.Station implements it. With one (Opts.Station), Today shows the
// booths' live status and a child's page can enrol a card by tapping it
// at a chosen booth's reader.
type StationDesk interface {
	// Booths lists the booths in configuration order.
	Booths() []kiosk.Booth
	// BoothStatus is a snapshot of every booth.
	BoothStatus() []kiosk.BoothStatus
	// EnrolNext waits up to timeout for the next card tapped at booth
	// and returns its normalised UID; see kiosk.Station.EnrolNext for
	// the errors (ECONFLICT busy or cancelled, EGONE timeout).
	EnrolNext(ctx context.Context, booth string, timeout time.Duration) (string, error)
	// CancelEnrol ends the wait at booth; ENOTFOUND when none.
	CancelEnrol(booth string) error
}

var _ StationDesk = (*kiosk.Station)(nil)

// boothRefresh is how often the live booth view reloads itself, in
// seconds (an HTML meta refresh: no script).
const boothRefresh = 5

// boothDesk is the console's side of the station: the desk itself, the
// enrol timeout, and what the live view last showed each session of
// children's data, so that a view refreshing every few seconds writes an
// audit entry when a child's name first appears to a user, not every
// refresh.
type boothDesk struct {
	station StationDesk
	timeout time.Duration

	mu   sync.Mutex
	seen map[string]string // session id -> booth=child ids last shown
}

// maxSeen bounds boothDesk.seen; past it the map starts afresh (a few
// more audit entries, never fewer).
const maxSeen = 1024

func newBoothDesk(s StationDesk) *boothDesk {
	if s == nil {
		return nil
	}
	return &boothDesk{station: s, timeout: kiosk.DefaultEnrolTimeout, seen: map[string]string{}}
}

func init() { pageNames = append(pageNames, "booths") }

// boothRoutes are the live booth view and card enrolment; console.go
// appends them when Opts.Station is set. Enrolment and cancelling are the
// manager's (readAll in the guard, then managerOnly).
func (c *Console) boothRoutes() []route {
	if c.booths == nil {
		return nil
	}
	return []route{
		{"GET", "/console/booths", anyone, true, c.boothsView},
		{"POST", "/console/booths/{booth}/cancel", readAll, false, c.managerOnly(c.enrolCancel)},
		{"POST", "/console/children/{id}/cards/enrol", readAll, true, c.managerOnly(c.cardEnrol)},
	}
}

// --- live status

// boothRow is one booth as the live view shows it.
type boothRow struct {
	ID, Name  string
	State     string // in words
	Busy      bool   // in a call or waiting for one
	Child     string // the child's name, only for roles that see children's data
	Mode      string // 电话 phone, 视频 video, 求助 help
	For, Left string // "m:ss" since the call started, before its limit
	Queued    int
	Fault     string
	Enrolling bool
}

type boothsData struct {
	Rows    []boothRow
	Queue   int // children waiting for a line
	Names   bool
	Manager bool
	Refresh int
	Updated string // "15:04:05"
}

var stateWords = map[kiosk.ScreenKind]string{
	kiosk.ScreenIdle:         "空闲 idle",
	kiosk.ScreenIdentified:   "已刷卡 card tapped",
	kiosk.ScreenUnknown:      "未知卡 unknown card",
	kiosk.ScreenClosed:       "未开放 closed",
	kiosk.ScreenQueued:       "排队等线路 waiting for a line",
	kiosk.ScreenCalling:      "呼叫中 calling",
	kiosk.ScreenConnected:    "通话中 in a call",
	kiosk.ScreenWarning:      "通话中（最后一分钟） last minute",
	kiosk.ScreenEnded:        "通话结束 call ended",
	kiosk.ScreenDenied:       "已拒绝 refused",
	kiosk.ScreenEnrol:        "等待登记新卡 enrolling a card",
	kiosk.ScreenBookScan:     "图书 library",
	kiosk.ScreenBookLent:     "图书 library",
	kiosk.ScreenBookReturned: "图书 library",
}

// mmss formats d as m:ss, rounded down to the second.
func mmss(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// boothRows turns the station's snapshot into rows; names says whether
// children's names are shown. It returns the rows and, for the audit,
// "booth=child id" of every child shown.
func boothRows(st []kiosk.BoothStatus, names bool) ([]boothRow, int, []string) {
	rows := make([]boothRow, 0, len(st))
	queue := 0
	var shown []string
	for _, b := range st {
		row := boothRow{ID: b.Booth.ID, Name: b.Booth.Name, State: stateWords[b.State], Queued: b.Queued,
			Fault: b.Fault, Enrolling: b.Enrolling}
		if row.Name == "" {
			row.Name = b.Booth.ID
		}
		if row.State == "" {
			row.State = string(b.State)
		}
		if b.Queued > 0 {
			queue++
			row.Busy = true
		}
		if c := b.Call; c != nil {
			row.Busy = true
			row.Mode = "电话 phone"
			if c.Mode == kiosk.ModeVideo {
				row.Mode = "视频 video"
			}
			if c.Help {
				row.Mode = "求助 help"
			}
			row.For = mmss(c.Elapsed)
			if c.Answered && c.Limit > 0 {
				row.Left = mmss(c.Left)
			}
		}
		if names && b.Child.ID != 0 {
			row.Child = b.Child.Name
			shown = append(shown, fmt.Sprintf("%s=%d", b.Booth.ID, b.Child.ID))
		}
		rows = append(rows, row)
	}
	return rows, queue, shown
}

// boothsView is the live booth status: a small page that reloads itself
// every boothRefresh seconds, framed by Today (and usable on its own).
// Children's names are shown to the roles that see children's data, and
// audited when a name first appears to the session (see boothDesk).
func (c *Console) boothsView(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	names := allowed(s.User.Role, children)
	d := boothsData{Names: names, Manager: s.User.Role == kiosk.RoleManager, Refresh: boothRefresh,
		Updated: c.now().In(c.loc).Format("15:04:05")}
	var shown []string
	d.Rows, d.Queue, shown = boothRows(c.booths.station.BoothStatus(), names)
	if sig := strings.Join(shown, " "); c.booths.firstSight(s.ID, sig) {
		if !c.audit(w, r, s, "view_booths", "children "+sig) {
			return
		}
	}
	// Framed by Today: this page alone may be framed, by the console only.
	w.Header().Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors 'none'", "frame-ancestors 'self'", 1))
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	v := view{Title: "话机状态 Booths", School: c.school, CSRF: csrfToken(s.ID), Data: d}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.pages["booths"].ExecuteTemplate(w, "booths_frame", v); err != nil {
		c.log.Warn("render page", "page", "booths", "err", err)
	}
}

// firstSight records that session was shown sig (booth=child ids) and
// reports whether that needs an audit entry: sig names a child and
// differs from what the session saw last.
func (b *boothDesk) firstSight(session, sig string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	last, ok := b.seen[session]
	if ok && last == sig {
		return false
	}
	if len(b.seen) >= maxSeen {
		b.seen = map[string]string{}
	}
	b.seen[session] = sig
	return sig != ""
}

// boothsFrame prepares Today for the live booth view: it allows Today to
// frame /console/booths and returns the number of booths and the frame's
// height in pixels; 0, 0 without a station.
func (c *Console) boothsFrame(w http.ResponseWriter) (n, height int) {
	if c.booths == nil {
		return 0, 0
	}
	n = len(c.booths.station.Booths())
	w.Header().Set("Content-Security-Policy", csp+"; frame-src 'self'")
	return n, 96 + 38*n
}

// enrolCancel ends the enrolment waiting at a booth; the manager's page
// that waits for it then says so.
func (c *Console) enrolCancel(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	b, ok := c.booths.booth(r.PathValue("booth"))
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到该话机 No such booth")
		return
	}
	err := c.booths.station.CancelEnrol(b.ID)
	switch kiosk.ErrorCode(err) {
	case "", kiosk.ENOTFOUND: // done, or it had ended already
	default:
		c.internal(w, r, "cancel enrol", err)
		return
	}
	if err == nil && !c.audit(w, r, s, "card_enrol_cancel", "booth="+b.ID) {
		return
	}
	http.Redirect(w, r, "/console/booths", http.StatusSeeOther)
}

// booth returns the configured booth with id.
func (b *boothDesk) booth(id string) (kiosk.Booth, bool) {
	for _, x := range b.station.Booths() {
		if x.ID == id && id != "" {
			return x, true
		}
	}
	return kiosk.Booth{}, false
}

// boothOptions are the booths a child's page offers for enrolment, by
// configuration order; nil without a station.
func (c *Console) boothOptions() []kiosk.Booth {
	if c.booths == nil {
		return nil
	}
	return c.booths.station.Booths()
}

// --- enrolment

// cardEnrol puts the chosen booth (form "booth") in enrol mode, waits up
// to the enrol timeout (60 s) for a card tapped there, and binds it to
// the child through the RosterEditor, like a typed number. The request
// blocks meanwhile; the answer is the usual result page. A card already
// known (this child's or another's) is refused. Every attempt is audited:
// card_enrol when a card was added, card_enrol_failed with the result
// otherwise (timeout; conflict: busy, faulty or cancelled; cancelled:
// the page was left; known; other_child).
func (c *Console) cardEnrol(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ed, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	b, ok := c.booths.booth(r.PostFormValue("booth"))
	if !ok {
		c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: "请选择话机 Choose a booth"})
		return
	}
	ctx := r.Context()
	fail := func(status int, result, msg string) {
		if c.audit(w, r, s, "card_enrol_failed", fmt.Sprintf("child=%d booth=%s result=%s", ch.ID, b.ID, result)) {
			c.done(w, r, s, status, ch, doneData{Error: msg})
		}
	}
	secs := int(c.booths.timeout / time.Second)
	uid, err := c.booths.station.EnrolNext(ctx, b.ID, c.booths.timeout)
	switch kiosk.ErrorCode(err) {
	case "":
	case kiosk.EGONE:
		fail(http.StatusGatewayTimeout, "timeout", fmt.Sprintf(
			"%d 秒内没有在 %s 刷卡，已取消，话机已恢复。 No card was tapped at %s within %d s; the booth is back to normal.", secs, b.Name, b.Name, secs))
		return
	case kiosk.ECONFLICT:
		fail(http.StatusConflict, "conflict", fmt.Sprintf(
			"话机 %s 现在不能登记（正在通话或排队、设备故障、已在等待登记，或登记被取消）。 Booth %s cannot enrol now: %s.", b.Name, b.Name, kiosk.ErrorMessage(err)))
		return
	default:
		if ctx.Err() != nil {
			// The manager left the page; the booth is idle again. Audit
			// with a context that outlives the request.
			if aerr := c.store.Audit(context.WithoutCancel(ctx), s.User.Username, "card_enrol_failed",
				fmt.Sprintf("child=%d booth=%s result=cancelled", ch.ID, b.ID)); aerr != nil {
				c.log.Error("audit", "err", aerr)
			}
			return
		}
		c.internal(w, r, "enrol", err)
		return
	}
	card, err := ed.CardByUID(ctx, uid)
	switch {
	case err == nil && card.ChildID == ch.ID:
		msg := "这张卡已经是该学生的卡，无需登记。 This card is already the child's."
		if !card.Enabled {
			msg = "这张卡是该学生已停用的卡；如要重新启用，请在上方输入卡号 " + uid + " 添加。 This is the child's disabled card; to enable it again, add its number " + uid + " above."
		}
		fail(http.StatusConflict, "known", msg)
		return
	case err == nil:
		class := "?"
		if other, err := c.store.Child(ctx, card.ChildID); err == nil {
			class = other.Class
		}
		fail(http.StatusConflict, "other_child", fmt.Sprintf(
			"此卡已属于 %s 的另一名学生，请先在该学生页面停用。 The card belongs to another child in class %s; disable it there first.", class, class))
		return
	case kiosk.ErrorCode(err) != kiosk.ENOTFOUND:
		c.internal(w, r, "card by uid", err)
		return
	}
	if staff, err := c.isStaffCard(ctx, uid); err != nil {
		c.internal(w, r, "staff card", err)
		return
	} else if staff {
		fail(http.StatusConflict, "staff_card", staffCardWords)
		return
	}
	if err := ed.AddCard(ctx, uid, ch.ID); err != nil {
		if kiosk.ErrorCode(err) == kiosk.ECONFLICT {
			fail(http.StatusConflict, "other_child", cardTakenWords)
			return
		}
		c.storeError(w, r, s, "add card", err)
		return
	}
	if !c.audit(w, r, s, "card_enrol", fmt.Sprintf("child=%d booth=%s card=%s", ch.ID, b.ID, maskCard(uid))) {
		return
	}
	c.log.Info("card enrolled", "child", int64(ch.ID), "booth", b.ID)
	c.done(w, r, s, http.StatusOK, ch, doneData{Done: "卡已登记并启用。 The card " + uid + " was enrolled at " + b.Name + " and enabled."})
}
