package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

// helpCase is a help case as the page shows it.
type helpCase struct {
	register.HelpCase
	Child    string // name and class, or 未刷卡 without a card
	Started  string // local date and time
	Duration string // since the call started (open) or until closed
	Closed   string
}

type helpData struct {
	F         callFilter
	Open      []helpCase
	Closed    []helpCase
	CanClose  bool
	Message   string
	FormQuery string
}

// humanDuration says d in days, hours and minutes, e.g. "2天3小时", "5分钟".
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "不到1分钟"
	}
	days, h, m := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%d天%d小时", days, h)
	case h > 0:
		return fmt.Sprintf("%d小时%d分钟", h, m)
	}
	return fmt.Sprintf("%d分钟", m)
}

func (c *Console) helpView(hc register.HelpCase, now time.Time) helpCase {
	v := helpCase{HelpCase: hc, Child: "未刷卡 no card", Started: hc.Started.In(c.loc).Format("2006-01-02 15:04")}
	if hc.ChildName != "" {
		v.Child = strings.TrimSpace(hc.ChildName + " " + hc.Class)
	}
	end := now
	if !hc.Closed.IsZero() {
		end = hc.Closed
		v.Closed = hc.Closed.In(c.loc).Format("2006-01-02 15:04")
	}
	v.Duration = humanDuration(end.Sub(hc.Started))
	return v
}

// openHelpCases returns the open help cases, oldest first; nil when the
// store has no help cases.
func (c *Console) openHelpCases(r *http.Request) ([]helpCase, error) {
	rs, ok := c.store.(RegisterStore)
	if !ok {
		return nil, nil
	}
	all, err := rs.HelpCases(r.Context(), time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	now := c.now()
	var out []helpCase
	for _, hc := range all {
		if hc.Closed.IsZero() {
			out = append(out, c.helpView(hc, now))
		}
	}
	return out, nil
}

// helpCases shows the open help cases (all of them) and the cases closed
// whose call started in the filter's period (default: this month), with
// the follow-up form for managers.
func (c *Console) helpCases(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	c.helpPage(w, r, s, "")
}

// helpPage renders the help cases page with msg on top.
func (c *Console) helpPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session, msg string) {
	rs, ok := c.store.(RegisterStore)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "求助记录不可用 Not available")
		return
	}
	f, err := c.regFilter(r.URL.Query())
	if err != nil {
		c.storeError(w, r, s, "help filter", err)
		return
	}
	all, err := rs.HelpCases(r.Context(), time.Time{}, time.Time{})
	if err != nil {
		c.internal(w, r, "help cases", err)
		return
	}
	now := c.now()
	d := helpData{F: f, CanClose: s.User.Role == kiosk.RoleManager}
	for _, hc := range all {
		switch {
		case hc.Closed.IsZero():
			d.Open = append(d.Open, c.helpView(hc, now))
		case !hc.Started.Before(f.fromT) && hc.Started.Before(f.toT):
			d.Closed = append(d.Closed, c.helpView(hc, now))
		}
	}
	d.Message = msg
	if !c.audit(w, r, s, "view_help", fmt.Sprintf("from=%s to=%s open=%d closed=%d", f.From, f.To, len(d.Open), len(d.Closed))) {
		return
	}
	c.render(w, r, s, http.StatusOK, "helpcases", "求助记录 Help cases", false, d)
}

// helpPost records a follow-up note (form: csrf, note, close=1 to close)
// on the help case of the path's call id; managers only (403 otherwise).
// Done, it redirects (303, Post/Redirect/Get) to the help cases page,
// which says what was done; else an error page: 400 for a missing note,
// 404 for no such help call, 409 when the case is already closed.
func (c *Console) helpPost(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if s.User.Role != kiosk.RoleManager {
		c.errorPage(w, r, s, http.StatusForbidden, "只有管理员可以记录跟进和结案。 Managers only.")
		return
	}
	rs, ok := c.store.(RegisterStore)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "求助记录不可用 Not available")
		return
	}
	callID := r.PathValue("call")
	closeCase := r.PostFormValue("close") == "1"
	note := r.PostFormValue("note")
	if strings.TrimSpace(note) == "" {
		c.errorPage(w, r, s, http.StatusBadRequest, "请填写跟进说明（做了什么、结果如何）。 A follow-up note is required.")
		return
	}
	err := rs.HelpFollowUp(r.Context(), s.User.Username, callID, note, closeCase)
	if kiosk.ErrorCode(err) == kiosk.ECONFLICT {
		c.errorPage(w, r, s, http.StatusConflict, "此求助已结案。 The case is already closed.")
		return
	} else if err != nil {
		c.storeError(w, r, s, "help follow-up", err)
		return
	}
	code := "help_noted"
	if closeCase {
		code = "help_closed"
	}
	seeOther(w, r, "/console/help", code)
}
