package ui

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// fakeDesk records the library calls it gets.
type fakeDesk struct {
	mu    sync.Mutex
	calls []string
	done  chan struct{}
}

func (d *fakeDesk) record(s string) error {
	d.mu.Lock()
	d.calls = append(d.calls, s)
	d.mu.Unlock()
	d.done <- struct{}{}
	return nil
}

func (d *fakeDesk) Choose(_ context.Context, booth string, a kiosk.BookAction) error {
	return d.record(booth + " choose " + string(a))
}

func (d *fakeDesk) Scan(_ context.Context, booth, code string) error {
	return d.record(booth + " scan " + code)
}

func TestWSBooks(t *testing.T) {
	desk := &fakeDesk{done: make(chan struct{}, 4)}
	_, _, ts := newTestServer(t, Opts{Books: desk})
	c := dialWS(t, ts, "?booth=b2")
	readMsg(t, c) // the current screen
	for _, msg := range []string{
		`{"v":1,"type":"book","action":"borrow"}`,
		`{"v":1,"type":"book","action":"return"}`,
		`{"v":1,"type":"scan","code":" 9787020000012-1 "}`,
	} {
		require.NoError(t, c.WriteMessage(1, []byte(msg)))
		<-desk.done
	}
	assert.Equal(t, []string{"b2 choose borrow", "b2 choose return", "b2 scan 9787020000012-1"}, desk.calls)

	for _, tc := range []struct{ name, msg, want string }{
		{"unknown action", `{"v":1,"type":"book","action":"renew"}`, "unknown book action"},
		{"empty code", `{"v":1,"type":"scan","code":"  "}`, "scan code must be"},
		{"long code", `{"v":1,"type":"scan","code":"` + strings.Repeat("1", 65) + `"}`, "scan code must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, c.WriteMessage(1, []byte(tc.msg)))
			m := readMsg(t, c)
			assert.Equal(t, WSError, m.Type)
			assert.Equal(t, kiosk.EINVALID, m.Code)
			assert.Contains(t, m.Message, tc.want)
		})
	}

	// The page offers the library only with a desk.
	resp, err := http.Get(ts.URL + "/?booth=b2")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), `data-books="true"`)
}

func TestWSBooksOff(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	c := dialWS(t, ts, "?booth=b1")
	readMsg(t, c)
	require.NoError(t, c.WriteMessage(1, []byte(`{"v":1,"type":"scan","code":"123"}`)))
	m := readMsg(t, c)
	assert.Equal(t, WSError, m.Type)
	assert.Contains(t, m.Message, "library is not enabled")
	resp, err := http.Get(ts.URL + "/?booth=b1")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), `data-books="false"`)
}
