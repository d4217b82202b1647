package ui

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/qinqing/station/kiosk"
)

// ErrorResponse is the JSON body of every admin API and HTTP error:
// {"code","message"} plus, for code "denied", the policy's reason and its
// words for people.
type ErrorResponse struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Reason  kiosk.Reason `json:"reason,omitempty"`
	Words   *kiosk.Words `json:"words,omitempty"`
}

// httpStatus maps a kiosk.Error code to an HTTP status: EINVALID 400,
// EUNAUTHORIZED 401, EDENIED 403, ENOTFOUND 404, ECONFLICT 409, EGONE 410,
// anything else 500.
func httpStatus(code string) int {
	switch code {
	case kiosk.EINVALID:
		return http.StatusBadRequest
	case kiosk.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case kiosk.EDENIED:
		return http.StatusForbidden
	case kiosk.ENOTFOUND:
		return http.StatusNotFound
	case kiosk.ECONFLICT:
		return http.StatusConflict
	case kiosk.EGONE:
		return http.StatusGone
	default:
		return http.StatusInternalServerError
	}
}

// errorResponse turns err into what a client may see. Internal errors
// (anything that is not a *kiosk.Error with a known code) get code
// "internal" and a generic message, so no detail leaks.
func errorResponse(err error) ErrorResponse {
	code := kiosk.ErrorCode(err)
	if httpStatus(code) == http.StatusInternalServerError {
		return ErrorResponse{Code: kiosk.EINTERNAL, Message: "internal error"}
	}
	resp := ErrorResponse{Code: code, Message: kiosk.ErrorMessage(err)}
	var ke *kiosk.Error
	if code == kiosk.EDENIED && errors.As(err, &ke) && ke.Reason != "" {
		resp.Reason = ke.Reason
		words := ke.Reason.Words()
		resp.Words = &words
	}
	return resp
}

// httpError is the one place where HTTP handlers turn an error into a
// response: JSON ErrorResponse with the status from httpStatus. Internal
// errors are logged here.
func (s *Server) httpError(w http.ResponseWriter, r *http.Request, err error) {
	resp := errorResponse(err)
	status := httpStatus(resp.Code)
	if status == http.StatusInternalServerError {
		s.log.Error("http request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kioskd"`)
	}
	writeJSON(w, status, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
