// Package console is the home managers' console of Qinqing Station, served
// by kioskd under /console: server-rendered pages (html/template) that work
// without JavaScript, for the people who run the Children's Home, the
// principal, inspectors and technicians.
//
// Security: a login page; the session id lives in a cookie named
// CookieName (HttpOnly, SameSite=Strict, Secure over TLS, Path=/console);
// every login gets a fresh id (no fixation); every POST form carries a
// CSRF token derived from the session (login forms: a double-submit
// cookie), and a POST without the right one gets 403; every response sets
// a Content-Security-Policy (W3C CSP Level 3: nothing but the console's
// own stylesheet, forms posting to itself, frame-ancestors 'none'),
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer, and
// pages are not cached (Cache-Control: no-store). Every route but the
// login, the setup link and the stylesheet redirects to /console/login
// without a session.
//
// Roles (kiosk.Role): a technician sees no children's data at all
// (403); an inspector reads the registers with numbers always masked and
// no roster details beyond name and class; a principal reads everything
// and may reveal numbers; a manager may do everything. Every view of
// children's data, every reveal, print and export is journaled as an
// 'audit' entry (who, what, filters) through the Store; the audit log is
// read-only and shown to managers and principals.
//
// Printed registers follow the school's paper form (亲情电话通话记录,
// 电脑视频交流记录): A4 landscape, the school's name and the register's
// title on top of every page, page numbers, and 经办人/负责人 signature
// lines at the foot of every page. Exports: CSV (RFC 4180, UTF-8 with BOM,
// kiosk/register) and XLSX (github.com/xuri/excelize/v2).
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qinqing/station/internal/staticfs"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/register"
)

//go:embed templates static
var assets embed.FS

// CookieName is the session cookie's name; loginCookie carries the login
// form's CSRF token before there is a session.
const (
	CookieName  = "qq_console"
	loginCookie = "qq_login"
)

// Store is what the console needs from the station's database;
// kiosk/sqlite's *DB implements it (checked in cmd/kioskd's tests).
type Store interface {
	Login(ctx context.Context, username, password, address string) (kiosk.Session, error)
	SessionByID(ctx context.Context, id string, idle, max time.Duration) (kiosk.Session, error)
	Logout(ctx context.Context, id string) error
	CheckSetupToken(ctx context.Context, token string) error
	ConsumeSetupToken(ctx context.Context, token string, n kiosk.NewUser) (kiosk.User, error)

	Audit(ctx context.Context, actor, action, detail string) error
	AuditLog(ctx context.Context, before int64, limit int) ([]kiosk.AuditEntry, error)

	Calls(ctx context.Context, from, to time.Time) ([]register.Call, error)
	SearchChildren(ctx context.Context, q kiosk.ChildQuery) ([]kiosk.Child, error)
	Classes(ctx context.Context) ([]string, error)
	Child(ctx context.Context, id kiosk.ChildID) (kiosk.Child, error)
	Contacts(ctx context.Context, id kiosk.ChildID) ([]kiosk.Contact, error)
	ChildCards(ctx context.Context, id kiosk.ChildID) ([]kiosk.Card, error)
	QuietChildren(ctx context.Context, since time.Time) ([]kiosk.Child, error)
}

// DeviceHealth is one line of the device health shown on Today.
type DeviceHealth struct {
	Name   string // e.g. "booth b1 reader"
	OK     bool
	Detail string // e.g. "no answer since 10:02"
}

// Opts configures a Console. Store is required; every other zero value
// means the documented default.
type Opts struct {
	// Store is the station's database. Required.
	Store Store
	// School is the school's name, printed on top of every register.
	// Default "留守儿童之家".
	School string
	// Loc is the time zone of dates shown and typed. Default
	// Asia/Shanghai (UTC+8 when the zone database is missing).
	Loc *time.Location
	// Logger receives the console's logs; nothing personal at info level.
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Devices reports device health for Today. Default nil: not shown.
	Devices func(ctx context.Context) []DeviceHealth
	// QuietDays: a child with no answered call in this many days is "not
	// heard from" on Today. Default 14.
	QuietDays int
	// TermStart returns the first day of the school term containing t,
	// for "calls this term". Default: 1 September for September to
	// January, else 1 February (Chinese school terms).
	TermStart func(t time.Time) time.Time
	// SessionIdle and SessionMax bound a session: idle time without a
	// request and total age. Defaults kiosk.SessionIdle (30 min) and
	// kiosk.SessionMax (12 h).
	SessionIdle, SessionMax time.Duration
	// PageSize is how many register rows a page shows. Default 50.
	PageSize int
	// PublicURL is the base of the parents' links made on a child's page
	// ("https://school.example:8443"), as parents' phones reach kioskd.
	// Default "": the request's scheme and Host.
	PublicURL string
	// CardFormat is how card numbers typed on a child's page are read
	// (kiosk.ParseCardNumber). Default "": kiosk.CardHex.
	CardFormat kiosk.CardFormat
	// BookRules returns the loan rules for a class ("" for the station's
	// default), e.g. config's BookRulesByClass; books.go. Rules whose
	// Location is nil count days in Loc. Default nil: books' defaults
	// in Loc.
	BookRules books.RulesByClass
	// TV starts and stops TV sessions (kiosk/tv.Service); tv.go. Default
	// nil: the TV page says no TV is configured.
	TV TVControl
	// Station is the running station (*kiosk.Station): live booth status
	// on Today and card enrolment at a booth's reader; booths.go.
	// Default nil: neither is offered.
	Station StationDesk
	// Settings configures the Settings page (settings.go): the config
	// file's policy and where changes apply. Default: built-in values,
	// applied nowhere.
	Settings SettingsOpts
	// Presence says which parents' pages are open now (the video
	// bridge), for the quiet list's contacts (quiet.go). Default nil: not
	// shown.
	Presence kiosk.Presence
}

// Console serves the console's routes. Create it with New; it is safe for
// concurrent use.
type Console struct {
	store     Store
	school    string
	loc       *time.Location
	log       *slog.Logger
	now       func() time.Time
	devices   func(ctx context.Context) []DeviceHealth
	quietDays int
	termStart func(time.Time) time.Time
	idle, max time.Duration
	pageSize  int

	publicURL  string
	cardFormat kiosk.CardFormat

	bookRules books.RulesByClass // books.go
	tv        TVControl          // tv.go
	stock     *stockTakes        // books.go
	newLinks  onceLinks          // childedit.go; the zero value is ready
	booths    *boothDesk         // booths.go; nil without a station

	presence kiosk.Presence // quiet.go; nil: unknown

	pages   map[string]*template.Template
	routes  []route
	handler http.Handler
}

// access says who may use a route.
type access int

const (
	public   access = iota // no session needed
	anyone                 // any logged-in user
	children               // manager, principal, inspector: children's data
	readAll                // manager, principal
)

// route is one console route, for the mux and for the tests that walk
// every route.
type route struct {
	method, path string
	access       access
	// childData: the route shows children's data and must audit it.
	childData bool
	h         func(w http.ResponseWriter, r *http.Request, s *kiosk.Session)
}

// New returns a Console for opts; an error if opts.Store is nil or the
// embedded templates do not parse.
func New(opts Opts) (*Console, error) {
	if opts.Store == nil {
		return nil, errors.New("console: new: Opts.Store is required")
	}
	c := &Console{
		store:     opts.Store,
		school:    opts.School,
		loc:       opts.Loc,
		log:       opts.Logger,
		now:       opts.Now,
		devices:   opts.Devices,
		quietDays: opts.QuietDays,
		termStart: opts.TermStart,
		idle:      opts.SessionIdle,
		max:       opts.SessionMax,
		pageSize:  opts.PageSize,

		publicURL:  opts.PublicURL,
		cardFormat: opts.CardFormat,
	}
	if c.school == "" {
		c.school = "留守儿童之家"
	}
	if c.loc == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			loc = time.FixedZone("CST", 8*3600)
		}
		c.loc = loc
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "console")
	if c.now == nil {
		c.now = time.Now
	}
	if c.quietDays <= 0 {
		c.quietDays = 14
	}
	if c.termStart == nil {
		c.termStart = defaultTermStart
	}
	if c.pageSize <= 0 {
		c.pageSize = 50
	}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static assets: %w", err)
	}
	c.routes = c.routeTable()
	c.routes = append(c.routes, c.registerRoutes()...)
	c.routes = append(c.routes, c.childEditRoutes()...)
	c.routes = append(c.routes, c.childFormRoutes()...)
	c.routes = append(c.routes, c.consentRoutes()...)
	c.routes = append(c.routes, c.overdueRoutes()...)
	c.routes = append(c.routes, c.settingsRoutes(opts.Settings)...)
	c.bookRules, c.tv, c.stock = opts.BookRules, opts.TV, newStockTakes()
	c.routes = append(c.routes, c.bookRoutes()...)
	c.routes = append(c.routes, c.tvRoutes()...)
	c.booths = newBoothDesk(opts.Station)
	c.presence = opts.Presence
	c.routes = append(c.routes, c.boothRoutes()...)
	c.routes = append(c.routes, c.rosterImportRoutes()...)
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", staticfs.Handler(static)))
	mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/today", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/today", http.StatusSeeOther)
	})
	for _, rt := range c.routes {
		mux.Handle(rt.method+" "+rt.path, c.guard(rt))
	}
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		// Unknown paths: no hint of what exists to someone without a
		// session.
		if _, err := c.session(r); err != nil {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		c.errorPage(w, r, nil, http.StatusNotFound, "页面不存在 Not found")
	})
	c.handler = headers(mux)
	return c, nil
}

// Handler returns the handler of every /console route; mount it at
// "/console/" (and "/console").
func (c *Console) Handler() http.Handler { return c.handler }

func defaultTermStart(t time.Time) time.Time {
	y, m := t.Year(), t.Month()
	switch {
	case m >= time.September:
		return time.Date(y, time.September, 1, 0, 0, 0, 0, t.Location())
	case m == time.January:
		return time.Date(y-1, time.September, 1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, time.February, 1, 0, 0, 0, 0, t.Location())
}

// csp is the console's Content-Security-Policy: its own stylesheet and
// images, no scripts, forms only to itself, never framed.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// maxForm bounds a POST body, in bytes.
const maxForm = 64 << 10

// headers sets the console's security headers, replacing any set by an
// enclosing handler (ui sets its own for the kiosk screen).
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if r.Method == http.MethodPost {
			// Console forms are a few short fields; the roster upload
			// takes a file (postLimit).
			r.Body = http.MaxBytesReader(w, r.Body, postLimit(r.URL.Path))
		}
		if strings.HasPrefix(r.URL.Path, "/console/static/") {
			hd.Set("Cache-Control", "no-cache")
		} else {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// session returns the request's session; kiosk.ErrNoSession when there is
// none.
func (c *Console) session(r *http.Request) (kiosk.Session, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return kiosk.Session{}, kiosk.ErrNoSession
	}
	s, err := c.store.SessionByID(r.Context(), ck.Value, c.idle, c.max)
	if err != nil {
		return kiosk.Session{}, err
	}
	s.ID = ck.Value
	return s, nil
}

// csrfToken derives the session's CSRF token: only someone holding the
// session id can compute it, and it needs no storage.
func csrfToken(sessionID string) string {
	h := sha256.Sum256([]byte("qinqing-console-csrf\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a POST that a browser says came from another site:
// Sec-Fetch-Site (W3C Fetch Metadata) other than same-origin or none, or
// an Origin naming another host. Browsers send "Origin: null" under
// Referrer-Policy: no-referrer, and old ones send neither header; those
// pass, and the CSRF token still applies.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// allowed reports whether role may use a route with access a.
func allowed(role kiosk.Role, a access) bool {
	switch a {
	case public, anyone:
		return true
	case children:
		return role == kiosk.RoleManager || role == kiosk.RolePrincipal || role == kiosk.RoleInspector
	case readAll:
		return role == kiosk.RoleManager || role == kiosk.RolePrincipal
	}
	return false
}

// mayReveal reports whether role may see full phone numbers.
func mayReveal(role kiosk.Role) bool {
	return role == kiosk.RoleManager || role == kiosk.RolePrincipal
}

// guard runs a route's checks in order: session (else redirect to the
// login page), role (else 403), CSRF and origin on POST (else 403).
func (c *Console) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.access == public {
			if !c.bodyTooLarge(w, r, nil) {
				rt.h(w, r, nil)
			}
			return
		}
		s, err := c.session(r)
		if errors.Is(err, kiosk.ErrNoSession) {
			c.clearCookie(w, r, CookieName)
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		} else if err != nil {
			c.internal(w, r, "session", err)
			return
		}
		if !allowed(s.User.Role, rt.access) {
			c.errorPage(w, r, &s, http.StatusForbidden, "无权访问 Forbidden: 您的角色不能查看此页面。")
			return
		}
		if r.Method == http.MethodPost {
			if c.bodyTooLarge(w, r, &s) {
				return
			}
			if !sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), csrfToken(s.ID)) {
				c.errorPage(w, r, &s, http.StatusForbidden, "请求已过期或来源无效，请返回重试。 Invalid or missing form token.")
				return
			}
		}
		rt.h(w, r, &s)
	})
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, Path
// /console, Secure when the request came over TLS; maxAge 0 makes it a
// browser-session cookie.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/console",
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	if _, err := r.Cookie(name); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// remoteAddr is the client's IP address, without the port; proxies are
// not trusted.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newLoginToken returns a random token for the login form's double-submit
// cookie.
func newLoginToken() string {
	b := make([]byte, 24)
	rand.Read(b) // never fails (crypto/rand, Go >= 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// audit writes an audit entry; when it fails, the page must not be shown
// (a view that cannot be journaled does not happen), so the caller gets
// false after a 500 was written.
func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *kiosk.Session, action, detail string) bool {
	if err := c.store.Audit(r.Context(), s.User.Username, action, detail); err != nil {
		c.internal(w, r, "audit", err)
		return false
	}
	return true
}

// internal logs err and answers 500 with a generic page.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, step string, err error) {
	c.log.Error("console request failed", "step", step, "path", r.URL.Path, "err", err)
	c.errorPage(w, r, nil, http.StatusInternalServerError, "系统出错，请稍后再试。 Internal error.")
}
