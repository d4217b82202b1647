package ui

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui/console"
)

// TestConsoleMount checks that Opts.Console is served under /console with
// the console's own security headers (its forms must be allowed to post),
// each header once, and that the screen keeps its own.
func TestConsoleMount(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	con, err := console.New(console.Opts{Store: db})
	require.NoError(t, err)
	_, _, ts := newTestServer(t, Opts{Console: con.Handler()})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		path       string
		status     int
		formAction string
	}{
		{"/console/login", http.StatusOK, "form-action 'self'"},
		{"/console", http.StatusSeeOther, "form-action 'self'"},
		{"/console/calls", http.StatusSeeOther, "form-action 'self'"},
		{"/healthz", http.StatusOK, "form-action 'none'"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res, err := noRedirect.Get(ts.URL + tc.path)
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, tc.status, res.StatusCode)
			csp := res.Header.Values("Content-Security-Policy")
			require.Len(t, csp, 1, "one CSP header")
			assert.Contains(t, csp[0], tc.formAction)
			assert.Len(t, res.Header.Values("X-Content-Type-Options"), 1)
			assert.Len(t, res.Header.Values("X-Frame-Options"), 1)
		})
	}
}
