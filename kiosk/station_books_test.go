package kiosk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// library is a fake kiosk.Library: two books at most, A9 is late.
type library struct {
	mu     sync.Mutex
	titles map[string]string
	lentTo map[string]kiosk.ChildID
	calls  []string
	// late is the overdue days of lent books; overdueErr fails Overdue.
	late       map[string]int
	overdueErr error
}

func newLibrary() *library {
	return &library{titles: map[string]string{"A1": "小王子", "A2": "红楼梦", "A3": "三国演义", "A9": "西游记"},
		lentTo: map[string]kiosk.ChildID{"A9": 2}, late: map[string]int{"A9": 3}}
}

func (l *library) Overdue(ctx context.Context, child kiosk.ChildID) ([]kiosk.BookLoan, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.overdueErr != nil {
		return nil, l.overdueErr
	}
	var out []kiosk.BookLoan
	for code, c := range l.lentTo {
		if c == child && l.late[code] > 0 {
			out = append(out, kiosk.BookLoan{Barcode: code, Title: l.titles[code], Due: due, OverdueDays: l.late[code]})
		}
	}
	return out, nil
}

var due = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC) // a Monday

func (l *library) Borrow(ctx context.Context, child kiosk.ChildID, booth, code string) (kiosk.BookLoan, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "borrow "+booth+" "+code)
	t, ok := l.titles[code]
	if !ok {
		return kiosk.BookLoan{}, kiosk.Errorf(kiosk.ENOTFOUND, "no book %s", code)
	}
	held := 0
	for _, c := range l.lentTo {
		if c == child {
			held++
		}
	}
	if held >= 2 {
		return kiosk.BookLoan{}, &kiosk.Error{Code: kiosk.EDENIED, Message: "limit", Reason: "book_limit"}
	}
	l.lentTo[code] = child
	return kiosk.BookLoan{Barcode: code, Title: t, Due: due, Held: held + 1}, nil
}

func (l *library) Return(ctx context.Context, booth, code string) (kiosk.BookLoan, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "return "+booth+" "+code)
	if _, ok := l.lentTo[code]; !ok {
		return kiosk.BookLoan{}, &kiosk.Error{Code: kiosk.EDENIED, Message: "not lent", Reason: "book_not_lent"}
	}
	delete(l.lentTo, code)
	late := 0
	if code == "A9" {
		late = 3
	}
	return kiosk.BookLoan{Barcode: code, Title: l.titles[code], Due: due, OverdueDays: late}, nil
}

// BookWords names the reason and the child whose class's rules apply.
func (l *library) BookWords(ctx context.Context, child kiosk.ChildID, r kiosk.Reason) kiosk.Words {
	return kiosk.Words{ZH: fmt.Sprintf("书:%s:%d", r, child), EN: "book: " + string(r)}
}

func TestBookDesk(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Linger: time.Hour})
	lib := newLibrary()
	desk := f.st.AttachLibrary(lib)
	screens, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()

	err = desk.Choose(ctx, "b1", kiosk.BookBorrow)
	assert.Equal(t, kiosk.EDENIED, kiosk.ErrorCode(err), "borrowing needs a card")

	require.NoError(t, f.st.Tap(ctx, "b1", uidMing))
	waitScreen(t, screens, kiosk.ScreenIdentified)
	require.NoError(t, desk.Choose(ctx, "b1", kiosk.BookBorrow))
	sc := waitScreen(t, screens, kiosk.ScreenBookScan)
	require.NotNil(t, sc.Book)
	assert.Equal(t, kiosk.BookBorrow, sc.Book.Action)
	assert.Equal(t, "王小明", sc.Child)

	require.NoError(t, desk.Scan(ctx, "b1", "A1"))
	sc = waitScreen(t, screens, kiosk.ScreenBookLent)
	require.NotNil(t, sc.Book)
	assert.Equal(t, "小王子", sc.Book.Title)
	assert.Equal(t, "2026-03-09", sc.Book.Due)
	assert.Equal(t, "3月9日 星期一前还", sc.Book.DueWords.ZH)
	assert.Equal(t, 1, sc.Book.Held)
	assert.Equal(t, kiosk.LightIdle, f.st.Lights()["b1"], "the light confirms")

	// Still identified: the next scan borrows too.
	require.NoError(t, desk.Scan(ctx, "b1", "A2"))
	sc = waitScreen(t, screens, kiosk.ScreenBookLent)
	assert.Equal(t, "红楼梦", sc.Book.Title)

	require.NoError(t, desk.Scan(ctx, "b1", "A3"))
	sc = waitScreen(t, screens, kiosk.ScreenDenied)
	assert.Equal(t, kiosk.Reason("book_limit"), sc.Reason, "third book refused")
	require.NotNil(t, sc.Words)
	lib.mu.Lock()
	ming := lib.lentTo["A1"]
	lib.mu.Unlock()
	require.NotZero(t, ming)
	assert.Equal(t, fmt.Sprintf("书:book_limit:%d", ming), sc.Words.ZH, "the library's words, for the child's class")
	assert.Equal(t, kiosk.LightDenied, f.st.Lights()["b1"])

	require.NoError(t, desk.Scan(ctx, "b1", "ZZ"))
	sc = waitScreen(t, screens, kiosk.ScreenDenied)
	assert.Contains(t, sc.Words.ZH, "不认识", "unknown barcode shown, not an error")

	// Returning needs no card: at the other booth, idle.
	other, cancel2, err := f.st.Subscribe("b2")
	require.NoError(t, err)
	defer cancel2()
	require.NoError(t, desk.Scan(ctx, "b2", "A1"))
	sc = waitScreen(t, other, kiosk.ScreenBookReturned)
	assert.Equal(t, "小王子", sc.Book.Title)
	assert.Zero(t, sc.Book.OverdueDays)
	assert.Equal(t, "还书成功，谢谢你！", sc.Words.ZH)

	require.NoError(t, desk.Choose(ctx, "b2", kiosk.BookReturn))
	waitScreen(t, other, kiosk.ScreenBookScan)
	require.NoError(t, desk.Scan(ctx, "b2", "A9"))
	sc = waitScreen(t, other, kiosk.ScreenBookReturned)
	assert.Equal(t, 3, sc.Book.OverdueDays)
	assert.Contains(t, sc.Words.ZH, "下次记得按时还", "late, said kindly")

	// An identified child who chose 还书 returns, not borrows.
	require.NoError(t, desk.Choose(ctx, "b1", kiosk.BookReturn))
	waitScreen(t, screens, kiosk.ScreenBookScan)
	require.NoError(t, desk.Scan(ctx, "b1", "A2"))
	waitScreen(t, screens, kiosk.ScreenBookReturned)

	assert.Equal(t, []string{"borrow b1 A1", "borrow b1 A2", "borrow b1 A3", "borrow b1 ZZ", "return b2 A1", "return b2 A9", "return b1 A2"}, lib.calls)

	// A return refused: no child's rules (0) for the words.
	require.NoError(t, desk.Scan(ctx, "b2", "A1"))
	sc = waitScreen(t, other, kiosk.ScreenDenied)
	assert.Equal(t, "书:book_not_lent:0", sc.Words.ZH)

	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(desk.Choose(ctx, "b1", "lend")))
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(desk.Scan(ctx, "b9", "A1")))
}

func TestOverdueOnTap(t *testing.T) {
	ctx := context.Background()
	xiyou := []kiosk.OverdueBook{{Barcode: "A9", Title: "西游记", Days: 3,
		Words: kiosk.Words{ZH: "《西游记》已经晚了3天，记得带来还哦", EN: `"西游记" is 3 days late. Please bring it back soon`}}}
	tests := []struct {
		name   string
		attach bool
		err    error
		uid    string
		want   []kiosk.OverdueBook
	}{
		{name: "late book shown on the next tap", attach: true, uid: uidHong, want: xiyou},
		{name: "nothing late", attach: true, uid: uidMing},
		{name: "no library attached", uid: uidHong},
		{name: "library error: the tap goes on", attach: true, err: kiosk.Errorf(kiosk.EINTERNAL, "disk"), uid: uidHong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Linger: time.Hour})
			if tc.attach {
				lib := newLibrary()
				lib.overdueErr = tc.err
				f.st.AttachLibrary(lib)
			}
			screens, cancel, err := f.st.Subscribe("b1")
			require.NoError(t, err)
			defer cancel()
			require.NoError(t, f.st.Tap(ctx, "b1", tc.uid))
			sc := waitScreen(t, screens, kiosk.ScreenIdentified)
			assert.Equal(t, tc.want, sc.Overdue)
		})
	}
}

func TestOverdueGoneOnceReturned(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, defaultPolicy(), kiosk.StationOpts{Linger: 20 * time.Millisecond})
	lib := newLibrary()
	desk := f.st.AttachLibrary(lib)
	screens, cancel, err := f.st.Subscribe("b1")
	require.NoError(t, err)
	defer cancel()

	require.NoError(t, f.st.Tap(ctx, "b1", uidHong))
	sc := waitScreen(t, screens, kiosk.ScreenIdentified)
	require.Len(t, sc.Overdue, 1)
	first := sc.Overdue

	require.NoError(t, desk.Choose(ctx, "b1", kiosk.BookReturn))
	waitScreen(t, screens, kiosk.ScreenBookScan)
	require.NoError(t, desk.Scan(ctx, "b1", "A9"))
	waitScreen(t, screens, kiosk.ScreenBookReturned)
	sc = waitScreen(t, screens, kiosk.ScreenIdentified)
	assert.Empty(t, sc.Overdue, "returned: no more reminder")
	assert.Equal(t, "A9", first[0].Barcode, "the pushed screen is not changed afterwards")
}
