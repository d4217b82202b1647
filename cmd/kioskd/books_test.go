package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui"
)

// bookScreen is a kiosk page's websocket in a test: it sends the page's
// messages and waits for screens.
type bookScreen struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialScreen(t *testing.T, m *Main) *bookScreen {
	t.Helper()
	u := "ws" + strings.TrimPrefix(m.HTTPURL(), "http") + "/ws?booth=" + config.DemoBooth
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &bookScreen{t: t, conn: conn}
}

func (s *bookScreen) send(m ui.WSMessage) {
	s.t.Helper()
	m.V = ui.WSVersion
	require.NoError(s.t, s.conn.WriteJSON(m))
}

// until reads messages until a screen of kind arrives (an error message
// fails the test) and returns it.
func (s *bookScreen) until(kind kiosk.ScreenKind) kiosk.Screen {
	s.t.Helper()
	require.NoError(s.t, s.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		var m ui.WSMessage
		require.NoError(s.t, s.conn.ReadJSON(&m), "waiting for screen %s", kind)
		require.NotEqual(s.t, ui.WSError, m.Type, "error %s: %s", m.Code, m.Message)
		if m.Type == ui.WSScreen && m.Screen.Kind == kind {
			return *m.Screen
		}
	}
}

// untilError reads messages until an error message arrives.
func (s *bookScreen) untilError() ui.WSMessage {
	s.t.Helper()
	require.NoError(s.t, s.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		var m ui.WSMessage
		require.NoError(s.t, s.conn.ReadJSON(&m), "waiting for an error")
		if m.Type == ui.WSError {
			return m
		}
	}
}

// choose picks 借书 or 还书 and scans code as the page's
// keypad does.
func (s *bookScreen) choose(action kiosk.BookAction, code string) {
	s.t.Helper()
	s.send(ui.WSMessage{Type: ui.WSBook, Action: action})
	sc := s.until(kiosk.ScreenBookScan)
	require.NotNil(s.t, sc.Book)
	require.Equal(s.t, action, sc.Book.Action)
	s.send(ui.WSMessage{Type: ui.WSScan, Code: code})
}

// testCatalogue is three titles, one copy each; the ISBNs have valid
// check digits.
func testCatalogue(t *testing.T) []books.Title {
	var out []books.Title
	for i, tc := range []struct{ isbn, title string }{
		{"9787020000012", "小王子"},
		{"9787530111116", "草房子"},
		{"9787111222224", "十万个为什么"},
	} {
		isbn, err := books.ParseISBN(tc.isbn)
		require.NoError(t, err, "test ISBN %d", i)
		out = append(out, books.Title{ISBN: isbn, Title: tc.title, Author: "作者", Copies: []string{books.CopyBarcode(isbn, 1)}})
	}
	return out
}

// TestBooksAtTheKiosk: the demo daemon with a small catalogue. A book
// lent to another child comes back at the idle screen without a card; a
// child taps, borrows two books through the page's messages, the third
// is refused by the limit in a child's words; the loans are in the DB and
// the register 图书借阅登记表.
func TestBooksAtTheKiosk(t *testing.T) {
	m := startDemo(t, time.Minute)
	ctx := context.Background()
	require.NotNil(t, m.desk, "[books] is on by default")
	cat := testCatalogue(t)
	_, err := m.db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	code := func(i int) string { return books.CopyBarcode(cat[i].ISBN, 1) }
	card1, err := m.db.CardByUID(ctx, "DE000001")
	require.NoError(t, err)
	card2, err := m.db.CardByUID(ctx, "DE000002")
	require.NoError(t, err)
	rules := m.Config.BookRules()

	// A book out with child 2 comes back at the idle screen, no card.
	_, err = m.db.Lend(ctx, sqlite.LendRequest{Child: card2.ChildID, Barcode: code(2), Rules: m.Config.BookRulesByClass()})
	require.NoError(t, err)
	s := dialScreen(t, m)
	s.until(kiosk.ScreenIdle)
	s.send(ui.WSMessage{Type: ui.WSBook, Action: kiosk.BookBorrow})
	e := s.untilError()
	assert.Equal(t, string(kiosk.EDENIED), e.Code, "borrowing needs a card")
	assert.Equal(t, kiosk.ReasonNotIdentified, e.Reason)
	s.choose(kiosk.BookReturn, code(2))
	sc := s.until(kiosk.ScreenBookReturned)
	require.NotNil(t, sc.Book)
	assert.Equal(t, "十万个为什么", sc.Book.Title)
	assert.Zero(t, sc.Book.OverdueDays)
	assert.Empty(t, sc.Child, "no card was tapped")
	open, err := m.db.OpenLoans(ctx, card2.ChildID, m.Config.BookRulesByClass())
	require.NoError(t, err)
	assert.Empty(t, open, "the book is back")

	// Child 1 taps and borrows two books, typed as the keypad does.
	require.NoError(t, m.station.Tap(ctx, config.DemoBooth, "DE000001"))
	s.until(kiosk.ScreenIdentified)
	for i := 0; i < 2; i++ {
		s.choose(kiosk.BookBorrow, code(i))
		sc := s.until(kiosk.ScreenBookLent)
		require.NotNil(t, sc.Book)
		assert.Equal(t, cat[i].Title, sc.Book.Title)
		assert.Equal(t, i+1, sc.Book.Held)
		want := books.Date(time.Now(), rules.Location).AddDate(0, 0, 7).Format(time.DateOnly)
		assert.Equal(t, want, sc.Book.Due, "7-day loans")
		require.NotNil(t, sc.Book.DueWords)
		assert.Contains(t, sc.Book.DueWords.ZH, "前还")
	}
	// The third is refused: at most 2 books at once.
	s.choose(kiosk.BookBorrow, code(2))
	sc = s.until(kiosk.ScreenDenied)
	assert.Equal(t, books.ReasonLimit, sc.Reason)
	require.NotNil(t, sc.Words)
	assert.Equal(t, "你已经借了2本书，先还一本再借吧", sc.Words.ZH)

	open, err = m.db.OpenLoans(ctx, card1.ChildID, m.Config.BookRulesByClass())
	require.NoError(t, err)
	require.Len(t, open, 2)
	reg, err := m.db.LoanRegister(ctx, time.Time{}, time.Time{}, m.Config.BookRulesByClass())
	require.NoError(t, err)
	require.Len(t, reg, 3, "child 2's loan and child 1's two")
	var out []string
	for _, r := range reg {
		if r.Returned.IsZero() {
			out = append(out, r.Title)
			assert.Equal(t, "王小明", r.ChildName)
			assert.Equal(t, "三年级1班", r.Class)
		}
	}
	assert.ElementsMatch(t, []string{"小王子", "草房子"}, out)

	// A bad keypad entry is refused before the desk.
	s.send(ui.WSMessage{Type: ui.WSScan, Code: "  "})
	assert.Equal(t, string(kiosk.EINVALID), s.untilError().Code)
}

// TestBooksOff: with [books] enabled = false there is no desk and the
// page's book messages answer EINVALID.
func TestBooksOff(t *testing.T) {
	m := NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = "127.0.0.1:0"
	m.SIPAddr = "127.0.0.1:0"
	m.Stdout, m.Logger = io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Tweak = func(c *config.Config) { c.Books.Enabled = false }
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	assert.Nil(t, m.desk)
	s := dialScreen(t, m)
	s.send(ui.WSMessage{Type: ui.WSBook, Action: kiosk.BookReturn})
	e := s.untilError()
	assert.Equal(t, string(kiosk.EINVALID), e.Code)
	assert.Contains(t, e.Message, "library is not enabled")
}
