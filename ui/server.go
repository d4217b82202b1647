// Package ui is the HTTP face of kioskd: the kiosk screen at "/" (an
// embedded page for a 1024x600 touch screen, no build step, no CDN), its
// websocket at "/ws" (RFC 6455, github.com/gorilla/websocket), a parent's
// video page at "/p/{token}" with its websocket "/p/{token}/ws", the
// health report at "/healthz" and the loopback admin API under "/api/"
// that kioskctl talks to.
//
// Every response carries a Content-Security-Policy (W3C CSP Level 3) that
// allows only the page's own origin, plus X-Content-Type-Options: nosniff
// and Referrer-Policy: no-referrer.
package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/qinqing/station/internal/staticfs"
	"github.com/qinqing/station/kiosk"
)

//go:embed assets
var assets embed.FS

// Station is what the screen and the admin API need from kiosk.Station.
type Station interface {
	// Booths lists the booths in configuration order; the first one is
	// the default when a request names none.
	Booths() []kiosk.Booth
	// Screen returns the booth's current screen, or an *kiosk.Error with
	// code ENOTFOUND for an unknown booth.
	Screen(booth string) (kiosk.Screen, error)
	// Subscribe returns a channel that receives the current screen first,
	// then every change, and a cancel func that unsubscribes. The station
	// closes the channel of a reader that falls behind.
	Subscribe(booth string) (<-chan kiosk.Screen, func(), error)
	// Tap presents card uid (normalised hex) at booth.
	Tap(ctx context.Context, booth, uid string) error
	// Pick calls contact slot (1..5) of the child identified at booth.
	Pick(ctx context.Context, booth string, slot int) error
	// Help calls the duty teacher or hotline from booth.
	Help(ctx context.Context, booth string) error
	// Hangup ends the call at booth.
	Hangup(ctx context.Context, booth string) error
}

// Opts configures a Server. Station is required; every other zero value
// means the documented default.
type Opts struct {
	// Station serves the booths' screens and actions. Required.
	Station Station
	// Health reports the daemon's health for /healthz and /api/status.
	// Default: a report with no components (status "ok").
	Health func() HealthReport
	// AdminToken is the bearer token of the admin API. Default "": the
	// admin API refuses every request with 401.
	AdminToken string
	// Version is reported by /healthz when the HealthReport has none.
	Version string
	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// PingInterval is the websocket keepalive period; a connection with no
	// pong for 2.5 periods is closed. Default 20 s.
	PingInterval time.Duration
	// WriteTimeout bounds each websocket write; a client that cannot take
	// a frame in that time is dropped. Default 5 s.
	WriteTimeout time.Duration
	// Signaler carries video-call signaling (callbridge/rtc's Bridge).
	// Default nil: no video; /p/{token} answers 404.
	Signaler Signaler
	// LinkLookups is how many unknown-token lookups of /p/{token} one
	// remote address may make per minute before it gets 429 Too Many
	// Requests for the rest of the minute. Default 10.
	LinkLookups int
	// Devices serves the technicians' device API (/api/devices). Default
	// nil: those endpoints answer 404.
	Devices DeviceAdmin
	// TV runs the TV sessions (/api/tv, ui/tv.go). Default nil: those
	// endpoints answer 404.
	TV TVAdmin
	// Books runs the library screens (借书/还书, ui/books.go). Default nil:
	// no library buttons, and "book" and "scan" messages answer EINVALID.
	Books BookDesk
	// Console is the managers' console (ui/console), mounted at
	// /console and /console/; it sets its own security headers, which
	// replace the screen's. Default nil: /console answers 404.
	Console http.Handler
}

// Server serves the kiosk screen, its websocket, /healthz and the admin
// API. Create it with New; it is safe for concurrent use.
type Server struct {
	station      Station
	health       func() HealthReport
	adminToken   string
	version      string
	log          *slog.Logger
	now          func() time.Time
	started      time.Time
	pingInterval time.Duration
	writeTimeout time.Duration
	signaler     Signaler
	devices      DeviceAdmin
	tvs          TVAdmin
	books        BookDesk
	limiter      *lookupLimiter
	parentPage   *template.Template

	index    *template.Template
	upgrader websocket.Upgrader
	handler  http.Handler

	mu     sync.Mutex
	closed bool
	conns  map[*websocket.Conn]struct{}
	wg     sync.WaitGroup
}

// New returns a Server for opts. It returns an error if opts.Station is
// nil or the embedded page cannot be parsed.
func New(opts Opts) (*Server, error) {
	if opts.Station == nil {
		return nil, errors.New("ui: new server: Opts.Station is required")
	}
	s := &Server{
		station:      opts.Station,
		health:       opts.Health,
		adminToken:   opts.AdminToken,
		version:      opts.Version,
		log:          opts.Logger,
		now:          opts.Now,
		pingInterval: opts.PingInterval,
		writeTimeout: opts.WriteTimeout,
		signaler:     opts.Signaler,
		devices:      opts.Devices,
		tvs:          opts.TV,
		books:        opts.Books,
		conns:        make(map[*websocket.Conn]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("component", "ui")
	if s.now == nil {
		s.now = time.Now
	}
	if s.health == nil {
		s.health = func() HealthReport { return HealthReport{} }
	}
	if s.pingInterval <= 0 {
		s.pingInterval = 20 * time.Second
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = 5 * time.Second
	}
	s.started = s.now()
	if opts.LinkLookups <= 0 {
		opts.LinkLookups = 10
	}
	s.limiter = newLookupLimiter(opts.LinkLookups, time.Minute, s.now)

	idx, err := template.ParseFS(assets, "assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse index page: %w", err)
	}
	s.index = idx
	pp, err := template.ParseFS(assets, "assets/parent.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse parent page: %w", err)
	}
	s.parentPage = pp
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		HandshakeTimeout: 10 * time.Second,
		CheckOrigin:      sameHost,
	}

	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("ui: open assets: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", noCache(staticfs.Handler(static))))
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	mux.HandleFunc("GET /p/{token}", s.serveParent)
	mux.HandleFunc("GET /p/{token}/ws", s.serveParentWS)
	mux.Handle("/api/", s.adminOnly(s.adminMux()))
	if opts.Console != nil {
		mux.Handle("/console", opts.Console)
		mux.Handle("/console/", opts.Console)
	}
	s.handler = limitURI(securityHeaders(mux)) // limits.go
	return s, nil
}

// Handler returns the HTTP handler for every route of the server.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes every open websocket (clients see a going-away close frame
// and reconnect to the next daemon), refuses new ones with 503 and waits
// for the connection goroutines to end. http.Server.Shutdown does not do
// this, because websocket connections are hijacked.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing"),
			time.Now().Add(time.Second))
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// booth resolves a booth ID from a request: "" means the first booth.
// It returns an *kiosk.Error with code ENOTFOUND for an unknown booth or
// when no booth is configured.
func (s *Server) booth(id string) (kiosk.Booth, error) {
	booths := s.station.Booths()
	if len(booths) == 0 {
		return kiosk.Booth{}, kiosk.Errorf(kiosk.ENOTFOUND, "no booth is configured")
	}
	if id == "" {
		return booths[0], nil
	}
	for _, b := range booths {
		if b.ID == id {
			return b, nil
		}
	}
	return kiosk.Booth{}, kiosk.Errorf(kiosk.ENOTFOUND, "unknown booth %q", id)
}

// serveIndex serves the kiosk page for ?booth=ID (default the first
// booth); 404 for an unknown booth, so a misconfigured kiosk URL shows.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	b, err := s.booth(r.URL.Query().Get("booth"))
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	data := struct {
		Booth, BoothName, Version string
		Books                     bool
	}{b.ID, b.Name, s.version, s.books != nil}
	if err := s.index.Execute(w, data); err != nil {
		s.log.Debug("write index", "err", err)
	}
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries. connect-src
// names ws:// and wss:// of the request's host as well as 'self', because
// browsers before CSP Level 3 do not let 'self' match websocket schemes.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		connect := "'self'"
		if hostOK(r.Host) {
			connect += " ws://" + r.Host + " wss://" + r.Host
		}
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data:; connect-src "+connect+"; object-src 'none'; base-uri 'none'; "+
			"form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// hostOK reports whether host is safe to echo into a header: a host name,
// IPv4 or bracketed IPv6 address, with an optional port.
func hostOK(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", c) {
			return false
		}
	}
	return true
}
