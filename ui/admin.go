package ui

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Admin API for kioskctl. Every request needs both a loopback peer
// (127.0.0.0/8 or ::1; others get 403 even with the token) and
// "Authorization: Bearer <AdminToken>" (RFC 6750; missing or wrong: 401).
// Bodies are JSON of at most 4 KiB with no unknown fields; an empty booth
// means the first booth. Errors are ErrorResponse with the status of
// httpStatus.
//
//	GET  /api/status                      -> Status
//	POST /api/tap    {"booth","uid"}      -> ActionResponse
//	POST /api/dial   {"booth","slot"}     -> ActionResponse
//	POST /api/hangup {"booth"}            -> ActionResponse
//	POST /api/help   {"booth"}            -> ActionResponse

// TapRequest is the body of POST /api/tap. UID is the card UID as a
// reader reports it (normalised by the station).
type TapRequest struct {
	Booth string `json:"booth"`
	UID   string `json:"uid"`
}

// DialRequest is the body of POST /api/dial: call contact Slot (1..5) of
// the child identified at Booth.
type DialRequest struct {
	Booth string `json:"booth"`
	Slot  int    `json:"slot"`
}

// BoothRequest is the body of POST /api/hangup and POST /api/help.
type BoothRequest struct {
	Booth string `json:"booth"`
}

// ActionResponse is the body of a successful admin action: the booth it
// acted on and the booth's screen state right after.
type ActionResponse struct {
	OK    bool             `json:"ok"`
	Booth string           `json:"booth"`
	State kiosk.ScreenKind `json:"state,omitempty"`
}

// Status is the body of GET /api/status: the /healthz fields plus one
// entry per booth.
type Status struct {
	Healthz
	Booths []BoothStatus `json:"booths"`
}

// BoothStatus is one booth in Status. State is "" if the station could
// not report the booth's screen.
type BoothStatus struct {
	ID    string           `json:"id"`
	Name  string           `json:"name,omitempty"`
	State kiosk.ScreenKind `json:"state"`
	Seq   uint64           `json:"seq"`
	Light kiosk.LightState `json:"light,omitempty"`
}

const adminTimeout = 10 * time.Second

func (s *Server) adminMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", s.apiStatus)
	s.deviceRoutes(mux) // ui/devices.go
	s.tvRoutes(mux)     // ui/tv.go
	mux.HandleFunc("POST /api/tap", func(w http.ResponseWriter, r *http.Request) {
		var req TapRequest
		s.apiAction(w, r, &req, func() string { return req.Booth }, func(ctx context.Context, booth string) error {
			if strings.TrimSpace(req.UID) == "" {
				return kiosk.Errorf(kiosk.EINVALID, "uid is required")
			}
			return s.station.Tap(ctx, booth, req.UID)
		})
	})
	mux.HandleFunc("POST /api/dial", func(w http.ResponseWriter, r *http.Request) {
		var req DialRequest
		s.apiAction(w, r, &req, func() string { return req.Booth }, func(ctx context.Context, booth string) error {
			if req.Slot < 1 || req.Slot > 5 {
				return kiosk.Errorf(kiosk.EINVALID, "slot must be 1..5, got %d", req.Slot)
			}
			return s.station.Pick(ctx, booth, req.Slot)
		})
	})
	mux.HandleFunc("POST /api/hangup", func(w http.ResponseWriter, r *http.Request) {
		var req BoothRequest
		// Staff hanging up from kioskctl is not the child hanging up:
		// the ledger says so when the station can tell them apart.
		hangup := s.station.Hangup
		if op, ok := s.station.(interface {
			OperatorHangup(ctx context.Context, booth string) error
		}); ok {
			hangup = op.OperatorHangup
		}
		s.apiAction(w, r, &req, func() string { return req.Booth }, hangup)
	})
	mux.HandleFunc("POST /api/help", func(w http.ResponseWriter, r *http.Request) {
		var req BoothRequest
		s.apiAction(w, r, &req, func() string { return req.Booth }, s.station.Help)
	})
	// Other methods on a known path get a JSON 405 rather than the mux's
	// plain-text one.
	for path, allow := range map[string]string{"/api/status": "GET, HEAD", "/api/tap": "POST", "/api/dial": "POST", "/api/hangup": "POST", "/api/help": "POST"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, ErrorResponse{Code: kiosk.EINVALID, Message: "method " + r.Method + " not allowed"})
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no such admin endpoint"))
	})
	return mux
}

// adminOnly admits loopback peers with the admin token. The peer check
// comes first, so a remote host learns nothing about the token.
func (s *Server) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopback(r.RemoteAddr) {
			s.log.Warn("admin request from non-loopback peer refused", "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, ErrorResponse{Code: kiosk.EDENIED, Message: "the admin API answers loopback clients only"})
			return
		}
		if !s.tokenOK(r.Header.Get("Authorization")) {
			s.httpError(w, r, kiosk.Errorf(kiosk.EUNAUTHORIZED, "missing or wrong admin token"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// tokenOK compares the bearer token in constant time: both sides are
// hashed first, so neither content nor length leaks through timing.
func (s *Server) tokenOK(authz string) bool {
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || s.adminToken == "" {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256([]byte(s.adminToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// loopback reports whether remoteAddr ("host:port") is a loopback address.
func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	st := Status{Healthz: s.healthz(), Booths: []BoothStatus{}}
	for _, b := range s.station.Booths() {
		bs := BoothStatus{ID: b.ID, Name: b.Name, Light: st.Lights[b.ID]}
		if sc, err := s.station.Screen(b.ID); err == nil {
			bs.State, bs.Seq = sc.Kind, sc.Seq
		}
		st.Booths = append(st.Booths, bs)
	}
	writeJSON(w, http.StatusOK, st)
}

// apiAction decodes the body into req, resolves the booth named by
// booth() and runs act with a bounded context.
func (s *Server) apiAction(w http.ResponseWriter, r *http.Request, req any, booth func() string, act func(ctx context.Context, booth string) error) {
	if err := decodeJSON(r, req); err != nil {
		s.httpError(w, r, err)
		return
	}
	b, err := s.booth(booth())
	if err != nil {
		s.httpError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
	defer cancel()
	if err := act(ctx, b.ID); err != nil {
		s.httpError(w, r, err)
		return
	}
	s.log.Debug("admin action", "path", r.URL.Path, "booth", b.ID)
	resp := ActionResponse{OK: true, Booth: b.ID}
	if sc, err := s.station.Screen(b.ID); err == nil {
		resp.State = sc.Kind
	}
	writeJSON(w, http.StatusOK, resp)
}

// decodeJSON reads one JSON object of at most 4 KiB with no unknown
// fields; an empty body is an empty object. Errors are EINVALID.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return kiosk.Errorf(kiosk.EINVALID, "bad request body: %v", err)
	}
	if dec.More() {
		return kiosk.Errorf(kiosk.EINVALID, "bad request body: trailing data after the JSON object")
	}
	return nil
}
