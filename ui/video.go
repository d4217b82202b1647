package ui

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/qinqing/station/kiosk"
)

// Signaler carries the video calls' signaling (implemented by
// callbridge/rtc's Bridge; cmd/kioskd passes it in Opts). Messages are
// JSON objects with "v":1 and a "type" starting with "rtc.", passed as
// they are. ui owns the websockets; the Signaler owns what they mean.
type Signaler interface {
	// ResolveLink resolves a parent's link token. Errors: ENOTFOUND for an
	// unknown token, EGONE for a revoked or expired link.
	ResolveLink(ctx context.Context, token string) (kiosk.ParentLink, kiosk.Contact, kiosk.Child, error)
	// Screen attaches a kiosk screen's signaling channel for booth. send
	// delivers a message to the page and must not block; recv handles a
	// message from the page; detach is called once when the channel
	// closes.
	Screen(booth string, send func(json.RawMessage)) (recv func(json.RawMessage), detach func())
	// Parent attaches a parent page's channel for token, as Screen.
	// Errors as ResolveLink.
	Parent(ctx context.Context, token string, send func(json.RawMessage)) (recv func(json.RawMessage), detach func(), err error)
}

// VideoStation is the Station of a kiosk with video calls: a pick with
// "mode":"video" goes to PickMode (kiosk.Station.PickMode).
type VideoStation interface {
	// PickMode calls contact slot (1..5) of the child identified at booth
	// in mode (phone or video).
	PickMode(ctx context.Context, booth string, slot int, mode kiosk.Mode) error
}

// queueSignal returns a send func for a Signaler that queues messages for
// conn's writer without blocking; a client that falls wsSignalBuffer
// messages behind is dropped (its connection closed, so the page
// reconnects and resumes its session).
func queueSignal(sig chan json.RawMessage, conn *websocket.Conn, log *slog.Logger, who string) func(json.RawMessage) {
	var once sync.Once
	return func(m json.RawMessage) {
		select {
		case sig <- m:
		default:
			once.Do(func() {
				log.Warn("signaling client too slow, dropped", "page", who)
				_ = conn.Close()
			})
		}
	}
}

// lookupLimiter counts each remote address's unknown-token lookups in
// fixed windows.
type lookupLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]*lookupWindow
}

type lookupWindow struct {
	start time.Time
	n     int
}

func newLookupLimiter(max int, window time.Duration, now func() time.Time) *lookupLimiter {
	return &lookupLimiter{max: max, window: window, now: now, seen: map[string]*lookupWindow{}}
}

// blocked reports whether addr used up its failures in this window.
func (l *lookupLimiter) blocked(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.seen[addr]
	return w != nil && l.now().Sub(w.start) < l.window && w.n >= l.max
}

// fail counts one unknown-token lookup from addr.
func (l *lookupLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.seen) > 4096 {
		for a, w := range l.seen {
			if now.Sub(w.start) >= l.window {
				delete(l.seen, a)
			}
		}
	}
	w := l.seen[addr]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &lookupWindow{start: now}
		l.seen[addr] = w
	}
	w.n++
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// resolveParent resolves the request's token with the rate limit: it
// writes the error page or response itself and returns false when the
// request must stop. html selects an HTML page over a JSON error.
func (s *Server) resolveParent(w http.ResponseWriter, r *http.Request, html bool) bool {
	addr := remoteHost(r)
	if s.limiter.blocked(addr) {
		w.Header().Set("Retry-After", "60")
		s.parentError(w, r, http.StatusTooManyRequests, html)
		return false
	}
	if s.signaler == nil {
		s.parentError(w, r, http.StatusNotFound, html)
		return false
	}
	_, _, _, err := s.signaler.ResolveLink(r.Context(), r.PathValue("token"))
	switch code := kiosk.ErrorCode(err); code {
	case "":
		return true
	case kiosk.ENOTFOUND:
		s.limiter.fail(addr)
		s.parentError(w, r, http.StatusNotFound, html)
	case kiosk.EGONE:
		s.parentError(w, r, http.StatusGone, html)
	default:
		s.log.Error("resolve parent link", "err", err)
		s.parentError(w, r, http.StatusInternalServerError, html)
	}
	return false
}

// parentError answers a parent's request that cannot go on: an HTML page
// in both languages (data-state "notfound", "gone", "limited" or
// "error"), or a JSON ErrorResponse for the websocket route.
func (s *Server) parentError(w http.ResponseWriter, r *http.Request, status int, html bool) {
	state := map[int]string{http.StatusNotFound: "notfound", http.StatusGone: "gone",
		http.StatusTooManyRequests: "limited"}[status]
	if state == "" {
		state = "error"
	}
	if !html {
		code := map[int]string{http.StatusNotFound: kiosk.ENOTFOUND, http.StatusGone: kiosk.EGONE,
			http.StatusTooManyRequests: "rate_limited"}[status]
		if code == "" {
			code = kiosk.EINTERNAL
		}
		writeJSON(w, status, ErrorResponse{Code: code, Message: http.StatusText(status)})
		return
	}
	s.renderParent(w, status, state)
}

func (s *Server) renderParent(w http.ResponseWriter, status int, state string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Only this page may use the camera and microphone.
	w.Header().Set("Permissions-Policy", "camera=(self), microphone=(self)")
	w.WriteHeader(status)
	if err := s.parentPage.Execute(w, struct{ State, Version string }{state, s.version}); err != nil {
		s.log.Debug("write parent page", "err", err)
	}
}

// serveParent serves a parent's video page: 200 for a valid link, 410 for
// a revoked or expired one, 404 for an unknown token, 429 after too many
// unknown tokens from one address.
func (s *Server) serveParent(w http.ResponseWriter, r *http.Request) {
	if !s.resolveParent(w, r, true) {
		return
	}
	s.renderParent(w, http.StatusOK, "loading")
}

// serveParentWS runs a parent page's signaling websocket: every text
// message goes to the Signaler, every message from it to the page.
func (s *Server) serveParentWS(w http.ResponseWriter, r *http.Request) {
	if !s.resolveParent(w, r, false) {
		return
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closed {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Debug("parent websocket upgrade failed", "err", err)
		return
	}
	if !s.track(conn) {
		_ = conn.Close()
		return
	}
	defer s.untrack(conn)
	sig := make(chan json.RawMessage, wsSignalBuffer)
	recv, detach, err := s.signaler.Parent(r.Context(), r.PathValue("token"), queueSignal(sig, conn, s.log, "parent"))
	if err != nil {
		// Revoked between the lookup and now.
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.ClosePolicyViolation, kiosk.ErrorCode(err)), time.Now().Add(s.writeTimeout))
		_ = conn.Close()
		return
	}
	defer detach()
	done := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.wsWrite(conn, "parent", nil, nil, sig, done)
	}()
	pongWait := s.pingInterval * 5 / 2
	conn.SetReadLimit(wsSignalReadLimit)
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		if typ == websocket.TextMessage {
			recv(json.RawMessage(data))
		}
	}
	close(done)
	<-writerDone
	_ = conn.Close()
}
