package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/qinqing/station/kiosk"
)

// WSVersion is the version of the screen's websocket protocol, carried
// in every message as "v".
const WSVersion = 1

// Message types of the screen's websocket.
const (
	WSScreen = "screen" // server -> client: Screen is the booth's screen now
	WSError  = "error"  // server -> client: an action failed: Code, Message, Reason, Words
	WSPick   = "pick"   // client -> server: call contact Slot (1..5); Mode "video" for a video call
	WSHelp   = "help"   // client -> server: the help tile
	WSHangup = "hangup" // client -> server: the hang-up button
)

// WSMessage is one JSON text frame of GET /ws?booth=ID (RFC 6455). The
// server pushes {"v":1,"type":"screen","screen":{...}} on connect and on
// every change; the client sends {"v":1,"type":"pick","slot":N},
// {"v":1,"type":"help"} or {"v":1,"type":"hangup"}; a failed action comes
// back as {"v":1,"type":"error","code":..,"message":..} with "reason" and
// "words" when the policy refused it. With a Signaler, a pick may carry
// "mode":"video", and messages whose type starts with "rtc." are video
// signaling, passed both ways between the page and the Signaler as they
// are.
type WSMessage struct {
	V       int           `json:"v"`
	Type    string        `json:"type"`
	Screen  *kiosk.Screen `json:"screen,omitempty"`
	Slot    int           `json:"slot,omitempty"`
	Mode    kiosk.Mode    `json:"mode,omitempty"`
	Code    string        `json:"code,omitempty"`
	Message string        `json:"message,omitempty"`
	Reason  kiosk.Reason  `json:"reason,omitempty"`
	Words   *kiosk.Words  `json:"words,omitempty"`
	// Action is a "book" message's choice: "borrow" or "return".
	Action kiosk.BookAction `json:"action,omitempty"`
}

const (
	wsReadLimit  = 4 << 10
	wsOutBuffer  = 8
	wsActTimeout = 10 * time.Second
	// With video signaling, SDP answers (a few kB) come from the page.
	wsSignalReadLimit = 64 << 10
	// wsSignalBuffer is how many signaling messages may wait for the
	// writer; a client that falls further behind is dropped.
	wsSignalBuffer = 64
)

// signalPrefix starts the type of every video signaling message.
const signalPrefix = "rtc."

// sameHost admits a websocket handshake with no Origin (not a browser) or
// an Origin whose host:port equals the request's Host, so another site
// open in the kiosk browser cannot drive the booth.
func sameHost(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// wsError is the one place where websocket handlers turn an error into a
// message for the client; internal errors are logged here and sent with
// a generic message.
func (s *Server) wsError(booth string, err error) WSMessage {
	resp := errorResponse(err)
	if resp.Code == kiosk.EINTERNAL {
		s.log.Error("screen action failed", "booth", booth, "err", err)
	}
	return WSMessage{V: WSVersion, Type: WSError, Code: resp.Code, Message: resp.Message, Reason: resp.Reason, Words: resp.Words}
}

// serveWS runs one screen connection: the handler goroutine reads client
// messages and acts on them; one writer goroutine owns every write.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	b, err := s.booth(r.URL.Query().Get("booth"))
	if err != nil {
		s.httpError(w, r, err)
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

	screens, unsubscribe, err := s.station.Subscribe(b.ID)
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	defer unsubscribe()

	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has already answered with an HTTP error.
		s.log.Debug("websocket upgrade failed", "booth", b.ID, "err", err)
		return
	}
	if !s.track(conn) {
		_ = conn.Close()
		return
	}
	defer s.untrack(conn)
	s.log.Debug("screen connected", "booth", b.ID)

	out := make(chan WSMessage, wsOutBuffer)
	done := make(chan struct{})
	writerDone := make(chan struct{})
	var sig chan json.RawMessage
	var signal func(json.RawMessage)
	if s.signaler != nil {
		sig = make(chan json.RawMessage, wsSignalBuffer)
		var detach func()
		signal, detach = s.signaler.Screen(b.ID, queueSignal(sig, conn, s.log, b.ID))
		defer detach()
	}
	go func() {
		defer close(writerDone)
		s.wsWrite(conn, b.ID, screens, out, sig, done)
	}()
	s.wsRead(r.Context(), conn, b.ID, out, signal)
	close(done)
	<-writerDone
	_ = conn.Close()
	s.log.Debug("screen disconnected", "booth", b.ID)
}

func (s *Server) track(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *websocket.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// wsRead reads client messages until the connection fails or closes.
// Actions run one at a time, in order. A client whose error replies do
// not fit in out is dropped.
func (s *Server) wsRead(ctx context.Context, conn *websocket.Conn, booth string, out chan<- WSMessage, signal func(json.RawMessage)) {
	pongWait := s.pingInterval * 5 / 2
	conn.SetReadLimit(wsReadLimit)
	if signal != nil {
		conn.SetReadLimit(wsSignalReadLimit)
	}
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		if typ != websocket.TextMessage {
			continue
		}
		err = s.wsAct(ctx, booth, data, signal)
		if err == nil {
			continue
		}
		select {
		case out <- s.wsError(booth, err):
		default:
			s.log.Warn("screen client too slow, dropped", "booth", booth)
			return
		}
	}
}

// wsAct decodes one client message and runs it on the station.
func (s *Server) wsAct(ctx context.Context, booth string, data []byte, signal func(json.RawMessage)) error {
	var m WSMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return kiosk.Errorf(kiosk.EINVALID, "message is not JSON")
	}
	if m.V != WSVersion {
		return kiosk.Errorf(kiosk.EINVALID, "unsupported protocol version %d, want %d", m.V, WSVersion)
	}
	if strings.HasPrefix(m.Type, signalPrefix) {
		if signal == nil {
			return kiosk.Errorf(kiosk.EINVALID, "video calls are not enabled")
		}
		signal(json.RawMessage(data))
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wsActTimeout)
	defer cancel()
	switch m.Type {
	case WSPick:
		if m.Slot < 1 || m.Slot > 5 {
			return kiosk.Errorf(kiosk.EINVALID, "slot must be 1..5, got %d", m.Slot)
		}
		switch m.Mode {
		case "", kiosk.ModePhone:
			return s.station.Pick(ctx, booth, m.Slot)
		case kiosk.ModeVideo:
			vs, ok := s.station.(VideoStation)
			if !ok || s.signaler == nil {
				return kiosk.Errorf(kiosk.EINVALID, "video calls are not enabled")
			}
			return vs.PickMode(ctx, booth, m.Slot, kiosk.ModeVideo)
		default:
			return kiosk.Errorf(kiosk.EINVALID, "unknown mode %q", m.Mode)
		}
	case WSHelp:
		return s.station.Help(ctx, booth)
	case WSHangup:
		return s.station.Hangup(ctx, booth)
	case WSBook, WSScan:
		return s.wsBook(ctx, booth, m)
	case WSTVStart, WSTVStop:
		return s.wsStaffTV(ctx, booth, m.Type, data) // tv_staff.go
	default:
		return kiosk.Errorf(kiosk.EINVALID, "unknown message type %q", m.Type)
	}
}

// wsWrite owns every write to conn: screens from the station, replies
// from out, and pings. It returns when done closes or a write fails, and
// closes conn on failure so that the reader stops too. When the station
// drops this subscriber, the client gets close code 1013 (try again
// later) and reconnects.
func (s *Server) wsWrite(conn *websocket.Conn, booth string, screens <-chan kiosk.Screen, out <-chan WSMessage, sig <-chan json.RawMessage, done <-chan struct{}) {
	ping := time.NewTicker(s.pingInterval)
	defer ping.Stop()
	fail := func(what string, err error) {
		s.log.Debug("screen write failed", "booth", booth, "what", what, "err", err)
		_ = conn.Close()
	}
	for {
		select {
		case <-done:
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(s.writeTimeout))
			return
		case sc, ok := <-screens:
			if !ok {
				s.log.Info("screen subscription dropped by station", "booth", booth)
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "subscription dropped"), time.Now().Add(s.writeTimeout))
				_ = conn.Close()
				return
			}
			if err := s.wsSend(conn, WSMessage{V: WSVersion, Type: WSScreen, Screen: &sc}); err != nil {
				fail("screen", err)
				return
			}
		case m := <-out:
			if err := s.wsSend(conn, m); err != nil {
				fail("reply", err)
				return
			}
		case raw := <-sig:
			_ = conn.SetWriteDeadline(time.Now().Add(s.writeTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, raw); err != nil {
				fail("signal", err)
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.writeTimeout)); err != nil {
				fail("ping", err)
				return
			}
		}
	}
}

func (s *Server) wsSend(conn *websocket.Conn, m WSMessage) error {
	_ = conn.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	return conn.WriteJSON(m)
}
