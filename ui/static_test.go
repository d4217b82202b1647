package ui

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAssetsServeFilesOnly(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	get := func(p string) (int, string) {
		t.Helper()
		res, err := http.Get(ts.URL + p)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	for _, p := range []string{"/assets/", "/assets", "/assets/index.html", "/assets/parent.html", "/assets/INDEX.HTML",
		"/assets/./", "/assets/nothing.js", "/assets/..%2fserver.go"} {
		code, body := get(p)
		assert.NotEqual(t, http.StatusOK, code, p)
		assert.NotContains(t, body, "{{", "no raw template at %s", p)
		assert.NotContains(t, body, "app.js", "no listing at %s", p)
	}
	code, body := get("/assets/app.js")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "'use strict'")
	code, body = get("/?booth=b1")
	assert.Equal(t, http.StatusOK, code, "the screen is rendered by its route")
	assert.NotContains(t, body, "{{")
}
