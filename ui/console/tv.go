package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/width"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/tv"
)

// The TV page (/console/tv/control, issue 6): each configured TV with its
// power control (a relay, HDMI-CEC or none: switched by hand), whether it
// was last switched on, its curfew and its open session; a form that
// starts a session (TV, channel or programme, category 新闻/少儿/科普/
// 安全教育/影片, class or group, head count, teacher, note) and a button
// that stops it. The tv.Service switches the TV and journals the session
// in the 电视播放节目记录 register (/console/tv).
//
// Roles follow the design's table: managers run the Home and may start
// and stop; principals and inspectors read the page (the console is read
// only for them; 403 on start and stop); technicians see no TV page, as
// they see no registers (403). Starts and stops are audited (tv_start,
// tv_stop) naming the manager; the session's teacher is whoever the form
// names. The page shows no child's data, so views are not audited.

// TVControl starts and stops TV sessions; kiosk/tv's *Service implements
// it (and so does the admin API's ui.TVAdmin).
type TVControl interface {
	// Start turns the TV on and journals the session's start; EINVALID
	// (the session rules, every problem listed), ECONFLICT (a session
	// runs, or the curfew passed), ENOTFOUND (no such TV).
	Start(ctx context.Context, r tv.Request) (tv.Session, error)
	// Stop turns the TV off and journals the end; ENOTFOUND when it runs
	// no session.
	Stop(ctx context.Context, name string) (tv.Session, error)
	// Status returns every TV's state, by name.
	Status() []tv.Status
}

var _ TVControl = (*tv.Service)(nil)

func init() {
	pageNames = append(pageNames, "tvcontrol")
}

// tvPath is the TV page, where its forms redirect (seeOther).
const tvPath = "/console/tv/control"

// tvRoutes lists the TV page's routes; New appends them.
func (c *Console) tvRoutes() []route {
	return []route{
		{"GET", "/console/tv/control", children, false, c.tvPage},
		{"POST", "/console/tv/control/start", readAll, false, c.tvStart},
		{"POST", "/console/tv/control/stop", readAll, false, c.tvStop},
	}
}

// powerWords names a TV's power control for the page.
var powerWords = map[string]string{
	tv.PowerRelay: "继电器 Relay",
	tv.PowerCEC:   "HDMI-CEC",
	tv.PowerNone:  "无（请手动开关） None: switch by hand",
}

// tvRow is one TV on the page.
type tvRow struct {
	Name, Room, Power, Curfew, PowerError string
	On                                    bool
	Session                               *tvSessionRow
}

type tvSessionRow struct {
	Programme, Category, Class, Teacher, Note string
	Headcount                                 int
	Started, Until                            string // HH:MM; Until "" without a curfew
	Minutes                                   int
}

// tvForm is the start form as typed.
type tvForm struct {
	TV, Programme, Category, Class, Headcount, Teacher, Note string
}

type tvData struct {
	Configured   bool
	TVs          []tvRow
	Idle         []string // TVs without a session, for the form
	Categories   []string
	Classes      []string
	CanRun       bool
	Form         tvForm
	Message, Err string
}

func (c *Console) tvPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	c.tvRender(w, r, s, http.StatusOK, tvForm{Teacher: s.User.Name()}, "")
}

// tvRender renders the TV page with msg on top (an error when status is
// 400 or more) and the start form filled with f.
func (c *Console) tvRender(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, f tvForm, msg string) {
	d := tvData{Configured: c.tv != nil, Categories: tv.Categories, CanRun: s.User.Role == kiosk.RoleManager, Form: f}
	if status >= 400 {
		d.Err = msg
	} else {
		d.Message = msg
	}
	if c.tv != nil {
		now := c.now()
		for _, st := range c.tv.Status() {
			row := tvRow{Name: st.Name, Room: st.Room, Power: powerWords[st.Power], Curfew: st.Curfew, PowerError: st.PowerError, On: st.On}
			if row.Power == "" {
				row.Power = st.Power
			}
			if ses := st.Session; ses != nil {
				sr := &tvSessionRow{Programme: ses.Programme, Category: ses.Category, Class: ses.Class, Teacher: ses.Teacher,
					Note: ses.Note, Headcount: ses.Headcount, Started: ses.Started.In(c.loc).Format("15:04")}
				if !ses.Curfew.IsZero() {
					sr.Until = ses.Curfew.In(c.loc).Format("15:04")
				}
				if m := int(now.Sub(ses.Started) / time.Minute); m > 0 {
					sr.Minutes = m
				}
				row.Session = sr
			} else {
				d.Idle = append(d.Idle, st.Name)
			}
			d.TVs = append(d.TVs, row)
		}
	}
	if d.CanRun && len(d.Idle) > 0 {
		classes, err := c.store.Classes(r.Context())
		if err != nil {
			c.internal(w, r, "classes", err)
			return
		}
		d.Classes = classes
	}
	c.render(w, r, s, status, "tvcontrol", "电视 TV", false, d)
}

// tvStart starts a session (form: tv, programme, category, class,
// headcount, teacher, note); managers only. 400 listing every problem,
// 404 for no such TV (or none configured), 409 when the TV runs a
// session or its curfew has passed.
func (c *Console) tvStart(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if !c.managerMay(w, r, s, "开关电视") {
		return
	}
	if c.tv == nil {
		c.errorPage(w, r, s, http.StatusNotFound, "没有配置电视 No TV configured")
		return
	}
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := tvForm{TV: v("tv"), Programme: v("programme"), Category: v("category"), Class: v("class"),
		Headcount: v("headcount"), Teacher: v("teacher"), Note: v("note")}
	req := tv.Request{TV: f.TV, Programme: f.Programme, Category: f.Category, Class: f.Class, Teacher: f.Teacher, Note: f.Note}
	if f.Headcount != "" {
		n, err := strconv.Atoi(width.Fold.String(f.Headcount))
		if err != nil {
			c.tvRender(w, r, s, http.StatusBadRequest, f, "人数须为数字 Head count must be a number")
			return
		}
		req.Headcount = n
	}
	ses, err := c.tv.Start(r.Context(), req)
	if err != nil {
		c.tvFail(w, r, s, f, "tv start", err)
		return
	}
	if !c.audit(w, r, s, "tv_start", fmt.Sprintf("tv=%s session=%s category=%s class=%q headcount=%d power=%s",
		ses.TV, ses.ID, ses.Category, ses.Class, ses.Headcount, ses.Power)) {
		return
	}
	done := "tv_started"
	if ses.PowerError != "" {
		done = "tv_started_by_hand"
	}
	seeOther(w, r, tvPath, done)
}

// tvStop stops the session of the form's tv; managers only. 404 when it
// runs none.
func (c *Console) tvStop(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if !c.managerMay(w, r, s, "开关电视") {
		return
	}
	if c.tv == nil {
		c.errorPage(w, r, s, http.StatusNotFound, "没有配置电视 No TV configured")
		return
	}
	ses, err := c.tv.Stop(r.Context(), strings.TrimSpace(r.PostFormValue("tv")))
	if err != nil {
		c.tvFail(w, r, s, tvForm{Teacher: s.User.Name()}, "tv stop", err)
		return
	}
	if !c.audit(w, r, s, "tv_stop", fmt.Sprintf("tv=%s session=%s minutes=%d", ses.TV, ses.ID, int(ses.Duration/time.Minute))) {
		return
	}
	done := "tv_stopped"
	if ses.PowerError != "" {
		done = "tv_stopped_by_hand"
	}
	seeOther(w, r, tvPath, done)
}

// tvFail shows a start or stop error on the page with the form kept.
func (c *Console) tvFail(w http.ResponseWriter, r *http.Request, s *kiosk.Session, f tvForm, step string, err error) {
	st := httpStatus(err)
	if st == 0 {
		c.internal(w, r, step, err)
		return
	}
	c.tvRender(w, r, s, st, f, kiosk.ErrorMessage(err))
}
