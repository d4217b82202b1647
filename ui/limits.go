package ui

import (
	"net/http"
	"strconv"
)

// Request size limits. A URL longer than MaxURILen is answered 414 URI
// Too Long (RFC 9110 section 15.5.15) before any route sees it: no page
// of the kiosk, the console or the admin API needs more, and a log line,
// audit entry or redirect carrying it would only grow. MaxHeaderBytes is
// the http.Server limit of the request line and headers together (Go
// answers 431 Request Header Fields Too Large above it); it is well above
// MaxURILen, so that an over-long URL is read whole and gets its 414
// rather than a connection reset while the client is still sending.
const (
	MaxURILen      = 8 << 10
	MaxHeaderBytes = 256 << 10
)

// limitURI answers 414, closing the connection, for a request whose
// request-target is longer than MaxURILen bytes; otherwise it calls h.
func limitURI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > MaxURILen {
			w.Header().Set("Connection", "close")
			http.Error(w, "414 URI Too Long: at most "+strconv.Itoa(MaxURILen)+" bytes", http.StatusRequestURITooLong)
			return
		}
		h.ServeHTTP(w, r)
	})
}
