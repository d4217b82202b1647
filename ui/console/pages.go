package console

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/register"
)

// pageNames are the templates under templates/, each parsed with
// base.html.
var pageNames = []string{"login", "setup", "error", "today", "children", "child", "calls", "calls_print", "audit"}

var funcs = template.FuncMap{
	"mask": kiosk.MaskPhone,
}

func (c *Console) parseTemplates() error {
	c.pages = make(map[string]*template.Template, len(pageNames))
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(assets, "templates/base.html", "templates/"+n+".html")
		if err != nil {
			return fmt.Errorf("console: parse template %s: %w", n, err)
		}
		c.pages[n] = t
	}
	return nil
}

// routeTable lists every route but the static assets and redirects.
func (c *Console) routeTable() []route {
	return []route{
		{"GET", "/console/login", public, false, c.loginForm},
		{"POST", "/console/login", public, false, c.loginPost},
		{"GET", "/console/setup/{token}", public, false, c.setupForm},
		{"POST", "/console/setup/{token}", public, false, c.setupPost},
		{"POST", "/console/logout", anyone, false, c.logout},
		{"GET", "/console/today", anyone, true, c.today},
		{"GET", "/console/children", children, true, c.childrenList},
		{"GET", "/console/children/{id}", children, true, c.childPage},
		{"POST", "/console/children/{id}/reveal", readAll, true, c.reveal},
		{"GET", "/console/calls", children, true, c.calls},
		{"GET", "/console/calls.csv", children, true, c.callsCSV},
		{"GET", "/console/calls.xlsx", children, true, c.callsXLSX},
		{"POST", "/console/calls.xlsx", readAll, true, c.callsXLSX},
		{"GET", "/console/reports/monthly", children, true, c.monthlyReport},
		{"GET", "/console/reports/quarterly", children, true, c.quarterlyReport},
		{"GET", "/console/audit", readAll, false, c.auditLog},
	}
}

// navItem is a link of the top navigation.
type navItem struct {
	Href, Label string
	Active      bool
}

// view is what every page template gets.
type view struct {
	Title  string
	School string
	User   *kiosk.User
	Role   string // the user's role in words
	CSRF   string
	Print  bool
	Nav    []navItem
	Data   any
	// Notice says what a form just did, after its redirect (forms.go).
	Notice string
}

var roleWords = map[kiosk.Role]string{
	kiosk.RoleManager:    "管理员",
	kiosk.RolePrincipal:  "校长",
	kiosk.RoleInspector:  "督查",
	kiosk.RoleTechnician: "技术员",
}

// render writes page with data; s may be nil (login, setup, errors
// before a session).
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, page, title string, print bool, data any) {
	v := view{Title: title, School: c.school, Print: print, Data: data}
	if s != nil {
		v.Notice = notice(r)
		u := s.User
		v.User = &u
		v.Role = roleWords[u.Role]
		v.CSRF = csrfToken(s.ID)
		v.Nav = c.nav(u.Role, r.URL.Path, r.URL.Query().Get("mode"))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.pages[page].ExecuteTemplate(w, "base", v); err != nil {
		c.log.Warn("render page", "page", page, "err", err)
	}
}

func (c *Console) nav(role kiosk.Role, path, mode string) []navItem {
	items := []navItem{{Href: "/console/today", Label: "今日 Today"}}
	if allowed(role, children) {
		items = append(items,
			navItem{Href: "/console/children", Label: "学生 Children"},
			navItem{Href: "/console/calls?mode=phone", Label: "亲情电话记录"},
			navItem{Href: "/console/calls?mode=video", Label: "视频交流记录"},
			navItem{Href: "/console/loans", Label: "图书借阅"},
			navItem{Href: "/console/tv", Label: "电视播放"},
			navItem{Href: "/console/roster", Label: "名册变更"},
			navItem{Href: "/console/consent", Label: "同意登记 Consent"},
			navItem{Href: "/console/reports/monthly", Label: "报表 Reports"},
		)
	}
	items = append(items, navItem{Href: "/console/equipment", Label: "设备记录"})
	if allowed(role, readAll) {
		items = append(items, navItem{Href: "/console/help", Label: "求助 Help"})
		items = append(items, navItem{Href: "/console/audit", Label: "审计日志 Audit"})
	}
	for i := range items {
		p, q, _ := strings.Cut(items[i].Href, "?")
		switch {
		case q != "":
			items[i].Active = path == p && (q == "mode="+mode || (mode == "" && q == "mode=phone"))
		default:
			items[i].Active = path == p || strings.HasPrefix(path, p+"/")
		}
	}
	return items
}

// errorPage answers status with a page saying msg.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, msg string) {
	c.render(w, r, s, status, "error", http.StatusText(status), false, msg)
}

// storeError answers a store error: a *kiosk.Error's code maps to a
// status with its message; anything else is a 500.
func (c *Console) storeError(w http.ResponseWriter, r *http.Request, s *kiosk.Session, step string, err error) {
	switch kiosk.ErrorCode(err) {
	case kiosk.ENOTFOUND:
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
	case kiosk.EINVALID:
		c.errorPage(w, r, s, http.StatusBadRequest, kiosk.ErrorMessage(err))
	default:
		c.internal(w, r, step, err)
	}
}

// --- login, logout, setup

type loginData struct {
	Token, Username, Message string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request, _ *kiosk.Session) {
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, "/console/today", http.StatusSeeOther)
		return
	}
	tok := newLoginToken()
	c.setCookie(w, r, loginCookie, tok)
	msg := ""
	if r.URL.Query().Get("setup") == "done" {
		msg = "管理员已创建，请登录。 The manager account was created; please log in."
	}
	c.render(w, r, nil, http.StatusOK, "login", "登录 Log in", false, loginData{Token: tok, Message: msg})
}

// loginToken checks the double-submit token of a login or setup form.
func loginToken(r *http.Request) bool {
	ck, err := r.Cookie(loginCookie)
	return err == nil && sameOrigin(r) && sameToken(r.PostFormValue("csrf"), ck.Value)
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request, _ *kiosk.Session) {
	if !loginToken(r) {
		c.errorPage(w, r, nil, http.StatusForbidden, "登录表单已过期，请刷新页面后重试。 The login form expired; reload and try again.")
		return
	}
	username := r.PostFormValue("username")
	s, err := c.store.Login(r.Context(), username, r.PostFormValue("password"), remoteAddr(r))
	if err != nil {
		status, msg := http.StatusUnauthorized, "用户名或密码错误。 Wrong username or password."
		switch {
		case errors.Is(err, kiosk.ErrLoginLocked):
			status, msg = http.StatusTooManyRequests, lockedWords(w, err)
		case !errors.Is(err, kiosk.ErrBadLogin):
			c.internal(w, r, "login", err)
			return
		}
		tok := newLoginToken()
		c.setCookie(w, r, loginCookie, tok)
		if len(username) > 64 {
			username = ""
		}
		c.render(w, r, nil, status, "login", "登录 Log in", false, loginData{Token: tok, Username: username, Message: msg})
		return
	}
	// A session id the browser held before (known to whoever planted it)
	// ends here; the new one is fresh from the store.
	if old, err := r.Cookie(CookieName); err == nil {
		if err := c.store.Logout(r.Context(), old.Value); err != nil {
			c.log.Warn("end previous session", "err", err)
		}
	}
	c.clearCookie(w, r, loginCookie)
	c.setCookie(w, r, CookieName, s.ID)
	http.Redirect(w, r, "/console/today", http.StatusSeeOther)
}

// lockedWords says a refused login's wait (the store's error's
// RetryAfter, rounded up: seconds under a minute, else minutes) and sets
// the Retry-After header to it in seconds (RFC 9110, 10.2.3). An error
// without a wait says 15 minutes, the longest lock.
func lockedWords(w http.ResponseWriter, err error) string {
	wait := 15 * time.Minute
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		wait = ra.RetryAfter()
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	if secs < 60 {
		return fmt.Sprintf("登录失败次数过多，请 %d 秒后再试。 Too many failed logins; try again in %d seconds.", secs, secs)
	}
	mins := (secs + 59) / 60
	return fmt.Sprintf("登录失败次数过多，请 %d 分钟后再试。 Too many failed logins; try again in %d minutes.", mins, mins)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if err := c.store.Logout(r.Context(), s.ID); err != nil {
		c.internal(w, r, "logout", err)
		return
	}
	c.clearCookie(w, r, CookieName)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

type setupData struct {
	Token, Path, Username, Name, Message string
	Min                                  int
}

func (c *Console) setupForm(w http.ResponseWriter, r *http.Request, _ *kiosk.Session) {
	token := r.PathValue("token")
	if err := c.store.CheckSetupToken(r.Context(), token); err != nil {
		if kiosk.ErrorCode(err) == kiosk.EGONE {
			c.errorPage(w, r, nil, http.StatusGone, "此设置链接已失效。 "+kiosk.ErrorMessage(err))
			return
		}
		c.internal(w, r, "setup token", err)
		return
	}
	tok := newLoginToken()
	c.setCookie(w, r, loginCookie, tok)
	c.render(w, r, nil, http.StatusOK, "setup", "创建管理员 First manager", false,
		setupData{Token: tok, Path: r.URL.Path, Min: kiosk.MinPasswordLen})
}

func (c *Console) setupPost(w http.ResponseWriter, r *http.Request, _ *kiosk.Session) {
	if !loginToken(r) {
		c.errorPage(w, r, nil, http.StatusForbidden, "表单已过期，请刷新页面后重试。 The form expired; reload and try again.")
		return
	}
	d := setupData{Path: r.URL.Path, Username: r.PostFormValue("username"), Name: r.PostFormValue("name"), Min: kiosk.MinPasswordLen}
	again := func(status int, msg string) {
		d.Token = newLoginToken()
		d.Message = msg
		c.setCookie(w, r, loginCookie, d.Token)
		c.render(w, r, nil, status, "setup", "创建管理员 First manager", false, d)
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		again(http.StatusBadRequest, "两次输入的密码不一致。 The passwords differ.")
		return
	}
	_, err := c.store.ConsumeSetupToken(r.Context(), r.PathValue("token"),
		kiosk.NewUser{Username: d.Username, DisplayName: d.Name, Password: pw})
	switch kiosk.ErrorCode(err) {
	case "":
		c.clearCookie(w, r, loginCookie)
		http.Redirect(w, r, "/console/login?setup=done", http.StatusSeeOther)
	case kiosk.EINVALID, kiosk.ECONFLICT:
		again(http.StatusBadRequest, kiosk.ErrorMessage(err))
	case kiosk.EGONE:
		c.errorPage(w, r, nil, http.StatusGone, "此设置链接已失效。 "+kiosk.ErrorMessage(err))
	default:
		c.internal(w, r, "setup", err)
	}
}

// --- today

type todayData struct {
	Date              string
	ShowChildren      bool
	Calls, Answered   int
	Minutes           int64
	Help              [][]string // register cells of today's help calls
	OpenHelp          []helpCase // help cases not closed yet, any day
	Header            []string
	QuietDays, Quiet  int
	Devices           []DeviceHealth
	HasDevices        bool
	DevicesOK         bool
	DevicesProblemCnt int
	// NoConsent counts children without a standing guardian's consent
	// (manager and principal; 0: nothing to say).
	NoConsent int
	// HasBooks is set when the station keeps a library; Overdue counts
	// its books out past their due date.
	HasBooks bool
	Overdue  int
	// Booths is the number of booths whose live status Today frames
	// (booths.go), BoothsHeight the frame's height in pixels; 0: none.
	Booths, BoothsHeight int
}

// dayStart is midnight of t's day in the console's zone.
func (c *Console) dayStart(t time.Time) time.Time {
	t = t.In(c.loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, c.loc)
}

func (c *Console) today(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ctx := r.Context()
	now := c.now()
	start := c.dayStart(now)
	rows, err := c.store.Calls(ctx, start, start.AddDate(0, 0, 1))
	if err != nil {
		c.internal(w, r, "today calls", err)
		return
	}
	d := todayData{Date: start.Format("2006-01-02"), QuietDays: c.quietDays, ShowChildren: allowed(s.User.Role, children)}
	d.Booths, d.BoothsHeight = c.boothsFrame(w)
	var help []register.Call
	var billsec time.Duration
	for _, row := range rows {
		if row.Disposition == kiosk.DispDenied {
			continue
		}
		d.Calls++
		if row.Disposition == kiosk.DispAnswered {
			d.Answered++
			billsec += row.Billsec
		}
		if row.Help {
			help = append(help, row)
		}
	}
	d.Minutes = int64((billsec + 30*time.Second) / time.Minute)
	if c.devices != nil {
		d.HasDevices = true
		d.Devices = c.devices(ctx)
		d.DevicesOK = true
		for _, dv := range d.Devices {
			if !dv.OK {
				d.DevicesOK = false
				d.DevicesProblemCnt++
			}
		}
	}
	if d.ShowChildren {
		if d.Help, err = registerCells(help, c.loc); err != nil {
			c.internal(w, r, "today help", err)
			return
		}
		d.Header = registerHeader()
		if d.OpenHelp, err = c.openHelpCases(r); err != nil {
			c.internal(w, r, "today open help", err)
			return
		}
		quiet, err := c.store.QuietChildren(ctx, now.AddDate(0, 0, -c.quietDays))
		if err != nil {
			c.internal(w, r, "today quiet", err)
			return
		}
		d.Quiet = len(quiet)
		overdue, hasBooks, err := c.overdueBooks(ctx)
		if err != nil {
			c.internal(w, r, "today overdue", err)
			return
		}
		d.HasBooks, d.Overdue = hasBooks, len(overdue)
		if allowed(s.User.Role, readAll) {
			if d.NoConsent, err = c.missingConsents(ctx); err != nil {
				c.internal(w, r, "today consent", err)
				return
			}
		}
		if !c.audit(w, r, s, "view_today", fmt.Sprintf("date=%s help=%d quiet=%d", d.Date, len(help), d.Quiet)) {
			return
		}
	}
	c.render(w, r, s, http.StatusOK, "today", "今日 Today", false, d)
}

// --- children

type childrenData struct {
	Q, Class  string
	Quiet     bool
	QuietDays int
	Classes   []string
	Children  []kiosk.Child
	Full      bool // roster details beyond name and class
	// Reach is the quiet list's contacts, links and presence (quiet.go);
	// nil unless Quiet and Full.
	Reach *quietReach
}

func (c *Console) childrenList(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ctx := r.Context()
	q := r.URL.Query()
	d := childrenData{Q: strings.TrimSpace(q.Get("q")), Class: q.Get("class"), Quiet: q.Get("quiet") == "1",
		QuietDays: c.quietDays, Full: mayReveal(s.User.Role)}
	var err error
	if d.Classes, err = c.store.Classes(ctx); err != nil {
		c.internal(w, r, "classes", err)
		return
	}
	if d.Quiet {
		all, err := c.store.QuietChildren(ctx, c.now().AddDate(0, 0, -c.quietDays))
		if err != nil {
			c.internal(w, r, "quiet children", err)
			return
		}
		for _, ch := range all {
			if (d.Class == "" || ch.Class == d.Class) && (d.Q == "" || strings.Contains(ch.Name, d.Q) || strings.Contains(ch.Class, d.Q)) {
				d.Children = append(d.Children, ch)
			}
		}
		if d.Full {
			if d.Reach, err = c.quietReach(ctx, d.Children); err != nil {
				c.internal(w, r, "quiet contacts", err)
				return
			}
		}
	} else if d.Children, err = c.store.SearchChildren(ctx, kiosk.ChildQuery{Text: d.Q, Class: d.Class}); err != nil {
		c.internal(w, r, "children", err)
		return
	}
	if !c.audit(w, r, s, "view_children", fmt.Sprintf("q=%q class=%q quiet=%t rows=%d%s", d.Q, d.Class, d.Quiet, len(d.Children), d.Reach.auditDetail())) {
		return
	}
	c.render(w, r, s, http.StatusOK, "children", "学生 Children", false, d)
}

type contactView struct {
	kiosk.Contact
	Shown    string // the number as shown: masked, or in full when revealed
	Revealed bool
}

type childData struct {
	Child     kiosk.Child
	Full      bool // contacts, cards, gender, status
	CanReveal bool
	Contacts  []contactView
	Cards     []kiosk.Card
	Term      string
	Header    []string
	Calls     [][]string
	Edit      *childEdit // cards, links and status changes; nil: none
	// Consent is the guardian's consent; nil: not shown.
	Consent *consentBox
}

func (c *Console) childID(r *http.Request) (kiosk.ChildID, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return kiosk.ChildID(id), err == nil && id > 0
}

// childPage shows a child; revealed is the contact whose number is shown
// in full (0: none).
func (c *Console) showChild(w http.ResponseWriter, r *http.Request, s *kiosk.Session, revealed kiosk.ContactID) {
	ctx := r.Context()
	id, ok := c.childID(r)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
		return
	}
	ch, err := c.store.Child(ctx, id)
	if err != nil {
		c.storeError(w, r, s, "child", err)
		return
	}
	d := childData{Child: ch, Full: mayReveal(s.User.Role), CanReveal: mayReveal(s.User.Role), Header: registerHeader()}
	if d.Full {
		cs, err := c.store.Contacts(ctx, id)
		if err != nil {
			c.internal(w, r, "contacts", err)
			return
		}
		for _, ct := range cs {
			v := contactView{Contact: ct, Shown: kiosk.MaskPhone(ct.Phone)}
			if revealed != 0 && ct.ID == revealed {
				v.Shown, v.Revealed = ct.Phone, true
			}
			d.Contacts = append(d.Contacts, v)
		}
		if d.Cards, err = c.store.ChildCards(ctx, id); err != nil {
			c.internal(w, r, "cards", err)
			return
		}
		if d.Edit, err = c.childEditData(ctx, s, d.Contacts); err != nil {
			c.internal(w, r, "child edit", err)
			return
		}
		if d.Consent, err = c.childConsent(ctx, s, id); err != nil {
			c.internal(w, r, "child consent", err)
			return
		}
	}
	now := c.now()
	term := c.termStart(now.In(c.loc))
	d.Term = term.Format("2006-01-02")
	all, err := c.store.Calls(ctx, term, time.Time{})
	if err != nil {
		c.internal(w, r, "child calls", err)
		return
	}
	var mine []register.Call
	for _, row := range all {
		if row.ChildID == id {
			mine = append(mine, row)
		}
	}
	if d.Calls, err = registerCells(mine, c.loc); err != nil {
		c.internal(w, r, "child calls", err)
		return
	}
	if revealed == 0 && !c.audit(w, r, s, "view_child", fmt.Sprintf("child=%d", id)) {
		return
	}
	c.render(w, r, s, http.StatusOK, "child", ch.Name, false, d)
}

func (c *Console) childPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	c.showChild(w, r, s, 0)
}

// reveal shows one contact's full number on the child's page, audited.
func (c *Console) reveal(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	id, ok := c.childID(r)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
		return
	}
	cid, err := strconv.ParseInt(r.PostFormValue("contact"), 10, 64)
	if err != nil || cid <= 0 {
		c.errorPage(w, r, s, http.StatusBadRequest, "缺少联系人 Missing contact")
		return
	}
	cs, err := c.store.Contacts(r.Context(), id)
	if err != nil {
		c.storeError(w, r, s, "contacts", err)
		return
	}
	slot := 0
	for _, ct := range cs {
		if int64(ct.ID) == cid {
			slot = ct.Slot
		}
	}
	if slot == 0 {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到该联系人 No such contact")
		return
	}
	if !c.audit(w, r, s, "reveal_phone", fmt.Sprintf("child=%d contact=%d slot=%d", id, cid, slot)) {
		return
	}
	c.showChild(w, r, s, kiosk.ContactID(cid))
}

// --- audit log

type auditData struct {
	Entries []kiosk.AuditEntry
	Times   []string
	Next    int64 // before= of the next (older) page; 0 when none
}

func (c *Console) auditLog(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const n = 100
	es, err := c.store.AuditLog(r.Context(), before, n)
	if err != nil {
		c.internal(w, r, "audit log", err)
		return
	}
	d := auditData{Entries: es}
	for _, e := range es {
		d.Times = append(d.Times, e.At.In(c.loc).Format("2006-01-02 15:04:05"))
	}
	if len(es) == n {
		d.Next = es[len(es)-1].Seq
	}
	c.render(w, r, s, http.StatusOK, "audit", "审计日志 Audit log", false, d)
}
