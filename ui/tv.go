package ui

import (
	"context"
	"net/http"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/tv"
)

// TV admin API, for the console and kioskctl (kioskctl tv). Same rules as
// the rest of the admin API (loopback, bearer token, JSON bodies of at
// most 4 KiB with no unknown fields). An empty tv means the only TV when
// exactly one is configured. Without Opts.TV every endpoint answers 404.
//
//	GET  /api/tv                                        -> TVListResponse
//	POST /api/tv/start {"tv","programme","category","class","headcount","teacher","note"}
//	                                                    -> TVSessionResponse
//	POST /api/tv/stop  {"tv"}                           -> TVSessionResponse
//
// Start answers 400 (EINVALID) when the session rules fail (unknown
// category, head count not positive, no teacher...; the message lists
// every problem), 409 (ECONFLICT) when the TV already runs a session or
// its curfew has passed, 404 for an unknown TV. Stop answers 404 when the
// TV runs no session.

// TVAdmin runs the TV sessions; *kiosk/tv.Service implements it.
type TVAdmin interface {
	Start(ctx context.Context, r tv.Request) (tv.Session, error)
	Stop(ctx context.Context, name string) (tv.Session, error)
	Status() []tv.Status
}

var _ TVAdmin = (*tv.Service)(nil)

// TVListResponse is the body of GET /api/tv: every configured TV, by
// name, with its open session if any.
type TVListResponse struct {
	TVs []tv.Status `json:"tvs"`
}

// TVStopRequest is the body of POST /api/tv/stop.
type TVStopRequest struct {
	TV string `json:"tv"`
}

// TVSessionResponse is the body of a successful start or stop: the
// session as journaled (for a stop, with its end and cause).
type TVSessionResponse struct {
	OK      bool       `json:"ok"`
	Session tv.Session `json:"session"`
}

// tvRoutes registers the TV admin API on mux.
func (s *Server) tvRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/tv", func(w http.ResponseWriter, r *http.Request) {
		if s.tvs == nil {
			s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no TV configured"))
			return
		}
		list := s.tvs.Status()
		if list == nil {
			list = []tv.Status{}
		}
		writeJSON(w, http.StatusOK, TVListResponse{TVs: list})
	})
	mux.HandleFunc("POST /api/tv/start", func(w http.ResponseWriter, r *http.Request) {
		if s.tvs == nil {
			s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no TV configured"))
			return
		}
		var req tv.Request
		if err := decodeJSON(r, &req); err != nil {
			s.httpError(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
		defer cancel()
		ses, err := s.tvs.Start(ctx, req)
		if err != nil {
			s.httpError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, TVSessionResponse{OK: true, Session: ses})
	})
	mux.HandleFunc("POST /api/tv/stop", func(w http.ResponseWriter, r *http.Request) {
		if s.tvs == nil {
			s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no TV configured"))
			return
		}
		var req TVStopRequest
		if err := decodeJSON(r, &req); err != nil {
			s.httpError(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), adminTimeout)
		defer cancel()
		ses, err := s.tvs.Stop(ctx, req.TV)
		if err != nil {
			s.httpError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, TVSessionResponse{OK: true, Session: ses})
	})
}
