package evdev

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/kiosk"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

const readerName = "Sycreader RFID Technology Co., Ltd SYC ID&IC USB Reader"

func keyboardInfo() Info {
	info := Info{Name: readerName, ID: InputID{Bustype: 3, Vendor: 0xffff, Product: 0x0035}}
	info.Events |= 1<<EvSyn | 1<<EvMsc
	for c := uint16(KeyEsc); c <= 0x58; c++ { // the main block and keypad
		info.SetKey(c)
	}
	info.SetKey(KeyKPEnter)
	return info
}

func mouseInfo() Info {
	info := Info{Name: readerName, ID: InputID{Bustype: 3, Vendor: 0xffff, Product: 0x0035}}
	info.Events |= 1<<EvSyn | 1<<EvRel
	info.SetKey(BtnLeft)
	info.SetKey(BtnLeft + 1)
	return info
}

// spec is a node the fake file system offers; every open gets a handle
// on the same event stream.
type spec struct {
	info    Info
	r       *io.PipeReader
	w       *io.PipeWriter
	grabs   atomic.Int32
	grabErr error
}

func newSpec(info Info) *spec {
	r, w := io.Pipe()
	return &spec{info: info, r: r, w: w}
}

type handle struct {
	s       *spec
	reading atomic.Bool
}

func (h *handle) Read(p []byte) (int, error) { h.reading.Store(true); return h.s.r.Read(p) }
func (h *handle) Info() (Info, error)        { return h.s.info, nil }
func (h *handle) Grab() error {
	h.s.grabs.Add(1)
	return h.s.grabErr
}

// Close closes the stream only if this handle read it: scans open and
// close nodes they do not keep.
func (h *handle) Close() error {
	if h.reading.Load() {
		return h.s.r.Close()
	}
	return nil
}

// fs is a fake /dev/input: files under root so the scan sees them, and an
// Opener that hands out the specs.
type fs struct {
	t    *testing.T
	root string
	mu   sync.Mutex
	node map[string]*spec
}

func newFS(t *testing.T) *fs {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "dev", "input", "by-id"), 0o755))
	return &fs{t: t, root: root, node: map[string]*spec{}}
}

func (f *fs) add(name string, s *spec) {
	require.NoError(f.t, os.WriteFile(filepath.Join(f.root, "dev", "input", name), nil, 0o644))
	f.mu.Lock()
	f.node[name] = s
	f.mu.Unlock()
}

func (f *fs) remove(name string) {
	require.NoError(f.t, os.Remove(filepath.Join(f.root, "dev", "input", name)))
	f.mu.Lock()
	delete(f.node, name)
	f.mu.Unlock()
}

func (f *fs) link(byID, target string) {
	require.NoError(f.t, os.Symlink(filepath.Join("..", target), filepath.Join(f.root, "dev", "input", "by-id", byID)))
}

func (f *fs) open(path string) (Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.node[filepath.Base(path)]
	if s == nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.ENOENT}
	}
	return &handle{s: s}, nil
}

// typed returns the events of a reader typing s and Enter in layout l:
// for each key a scan code, a press, a sync, a release, a sync, 8 ms
// apart. Upper-case letters are typed with left shift.
func typed(l Layout, s string, at time.Time) []byte {
	var b []byte
	ev := func(typ, code uint16, v int32) {
		b = l.Append(b, InputEvent{Time: at, Type: typ, Code: code, Value: v})
	}
	key := func(code uint16) {
		ev(EvMsc, 4, 0x70000+int32(code))
		ev(EvKey, code, KeyPressed)
		ev(EvSyn, 0, 0)
		ev(EvKey, code, KeyReleased)
		ev(EvSyn, 0, 0)
		at = at.Add(8 * time.Millisecond)
	}
	for _, c := range []byte(s) {
		code, shift := codeOf(c)
		if shift {
			ev(EvKey, KeyLeftShift, KeyPressed)
		}
		key(code)
		if shift {
			ev(EvKey, KeyLeftShift, KeyReleased)
		}
	}
	key(KeyEnter)
	return b
}

func codeOf(c byte) (uint16, bool) {
	for code, chars := range keyChars {
		if chars[0] == c {
			return uint16(code), false
		}
		if chars[1] == c {
			return uint16(code), true
		}
	}
	panic("no key for " + string(c))
}

// send writes b to w, failing the test instead of hanging when the driver
// never reads (it picked the wrong node, say).
func send(t *testing.T, w io.Writer, b []byte) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := w.Write(b); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the driver did not read the written bytes within 5 s")
	}
}

type runner struct {
	events chan cardreader.Event
	scans  chan Scan
	done   chan error
}

func (r *runner) next(t *testing.T) cardreader.Event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case err := <-r.done:
		t.Fatalf("Run returned %v while an event was expected", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return cardreader.Event{}
}

func (r *runner) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s")
	}
	return nil
}

func start(t *testing.T, d *Dev) *runner {
	r := &runner{events: make(chan cardreader.Event, 10), scans: make(chan Scan, 10), done: make(chan error, 1)}
	go func() { r.done <- d.Run(context.Background(), func(e cardreader.Event) { r.events <- e }) }()
	t.Cleanup(func() { _ = d.Halt() })
	return r
}

func TestReaderPicksKeyboardNodeAndConverts8H10D(t *testing.T) {
	for _, l := range []Layout{Layout32, Layout64} {
		t.Run(map[Layout]string{Layout32: "32-bit input_event", Layout64: "64-bit input_event"}[l], func(t *testing.T) {
			f := newFS(t)
			mouse, kbd := newSpec(mouseInfo()), newSpec(keyboardInfo())
			f.add("event0", mouse) // scanned first
			f.add("event1", kbd)
			f.add("event2", newSpec(Info{Name: "AT Translated Set 2 keyboard"}))
			d, err := New(&Opts{Name: "booth1-reader", NameContains: "sycreader", Format: kiosk.Card8H10D,
				Root: f.root, Open: f.open, Layout: l, Now: func() time.Time { return t0 }})
			require.NoError(t, err)
			r := start(t, d)

			send(t, kbd.w, typed(l, "0040856634", t0))
			e := r.next(t)
			assert.Equal(t, cardreader.Event{Reader: "booth1-reader", UID: "026F6C3A", At: t0}, e)
			assert.Equal(t, "0040856634", kiosk.FormatCardNumber(e.UID, kiosk.Card8H10D))
			assert.Equal(t, filepath.Join(f.root, "dev", "input", "event1"), d.Node())
			assert.Equal(t, int32(1), kbd.grabs.Load(), "keyboard node grabbed")
			assert.Equal(t, int32(0), mouse.grabs.Load(), "mouse node not grabbed")
			assert.Equal(t, kiosk.Health{Status: kiosk.HealthOK}, d.Health())

			require.NoError(t, d.Halt())
			assert.ErrorIs(t, r.wait(t), cardreader.ErrHalted)
		})
	}
}

func TestReaderResumesAfterUnplug(t *testing.T) {
	f := newFS(t)
	f.add("event0", newSpec(mouseInfo()))
	kbd := newSpec(keyboardInfo())
	f.add("event1", kbd)
	back := newSpec(keyboardInfo())

	var d *Dev
	var (
		mu      sync.Mutex
		sleeps  []time.Duration
		healths []kiosk.Health
	)
	sleep := func(ctx context.Context, dur time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sleeps = append(sleeps, dur)
		healths = append(healths, d.Health())
		if len(sleeps) == 2 {
			// The reader comes back under another event number.
			f.add("event3", back)
		}
		return ctx.Err()
	}
	d, err := New(&Opts{Vendor: 0xffff, Product: 0x0035, Format: kiosk.Card8H10D, Root: f.root, Open: f.open,
		Layout: NativeLayout, Sleep: sleep, Backoff: cardreader.Backoff{Min: time.Second, Max: time.Minute}})
	require.NoError(t, err)
	r := start(t, d)

	send(t, kbd.w, typed(NativeLayout, "0040856634", t0))
	assert.Equal(t, "026F6C3A", r.next(t).UID)

	f.remove("event1")
	require.NoError(t, kbd.w.CloseWithError(&os.PathError{Op: "read", Path: "/dev/input/event1", Err: syscall.ENODEV}))
	send(t, back.w, typed(NativeLayout, "0068472190", t0.Add(time.Minute)))
	assert.Equal(t, "0414CD7E", r.next(t).UID)
	assert.Equal(t, filepath.Join(f.root, "dev", "input", "event3"), d.Node())
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)
	assert.Equal(t, int32(1), back.grabs.Load())

	mu.Lock()
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, sleeps)
	for _, h := range healths {
		assert.Equal(t, kiosk.HealthFault, h.Status)
		assert.Contains(t, h.Reason, "unplugged")
	}
	mu.Unlock()
	st := d.Stats()
	assert.Equal(t, uint64(2), st.Opens)
	assert.Equal(t, uint64(1), st.Failures)
	assert.Equal(t, uint64(2), st.Events)
}

func TestReaderByIDPath(t *testing.T) {
	f := newFS(t)
	f.add("event0", newSpec(mouseInfo()))
	kbd := newSpec(keyboardInfo())
	f.add("event1", kbd)
	f.link("usb-Sycreader_RFID-event-kbd", "event1")
	f.link("usb-Sycreader_RFID-if01-event-mouse", "event0")

	t.Run("keyboard link", func(t *testing.T) {
		d, err := New(&Opts{Path: "/dev/input/by-id/usb-Sycreader_RFID-event-kbd", Format: kiosk.CardReversed, Root: f.root, Open: f.open})
		require.NoError(t, err)
		r := start(t, d)
		send(t, kbd.w, typed(NativeLayout, "7ecd1404", t0))
		assert.Equal(t, "0414CD7E", r.next(t).UID, "reversed hex, lower case")
	})
	t.Run("mouse link is refused", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		d, err := New(&Opts{Path: "/dev/input/by-id/usb-Sycreader_RFID-if01-event-mouse", Root: f.root, Open: f.open,
			Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }})
		require.NoError(t, err)
		assert.ErrorIs(t, d.Run(ctx, func(cardreader.Event) {}), context.Canceled)
		h := d.Health()
		assert.Equal(t, kiosk.HealthFault, h.Status)
		assert.Equal(t, ErrNotKeyboard.Error(), h.Reason)
	})
	t.Run("no such device", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		d, err := New(&Opts{NameContains: "barcode", Root: f.root, Open: f.open,
			Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }})
		require.NoError(t, err)
		assert.ErrorIs(t, d.Run(ctx, func(cardreader.Event) {}), context.Canceled)
		assert.Equal(t, kiosk.Health{Status: kiosk.HealthFault, Reason: ErrNotFound.Error()}, d.Health())
	})
}

func TestReaderBadNumberAndGrabFailure(t *testing.T) {
	f := newFS(t)
	kbd := newSpec(keyboardInfo())
	kbd.grabErr = syscall.EBUSY
	f.add("event0", kbd)
	d, err := New(&Opts{NameContains: "USB Reader", Format: kiosk.Card8H10D, Root: f.root, Open: f.open})
	require.NoError(t, err)
	r := start(t, d)
	send(t, kbd.w, typed(NativeLayout, "12345", t0))
	send(t, kbd.w, typed(NativeLayout, "0040856634", t0.Add(time.Second)))
	assert.Equal(t, "026F6C3A", r.next(t).UID, "the bad line did not stop the reader")
	assert.Equal(t, uint64(1), d.Stats().BadNumbers)
	h := d.Health()
	assert.Equal(t, kiosk.HealthDegraded, h.Status)
	assert.Contains(t, h.Reason, "not grabbed")
}

func TestScanner(t *testing.T) {
	f := newFS(t)
	kbd := newSpec(keyboardInfo())
	kbd.info.Name = "Honeywell Barcode Scanner"
	f.add("event4", kbd)
	d, err := New(&Opts{Name: "library-scanner", NameContains: "barcode", Root: f.root, Open: f.open, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	scans := make(chan Scan, 4)
	done := make(chan error, 1)
	go func() { done <- d.Scan(context.Background(), func(s Scan) { scans <- s }) }()

	send(t, kbd.w, append(typed(NativeLayout, "9787020002207", t0), typed(NativeLayout, "ISBN 7-02-000220-X", t0.Add(time.Second))...))
	for _, want := range []string{"9787020002207", "ISBN 7-02-000220-X"} {
		select {
		case s := <-scans:
			assert.Equal(t, Scan{Device: "library-scanner", Code: want, At: t0}, s)
		case <-time.After(5 * time.Second):
			t.Fatal("no scan within 5 s")
		}
	}
	assert.Error(t, d.Run(context.Background(), nil), "Run while Scan runs")
	require.NoError(t, d.Halt())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, cardreader.ErrHalted)
	case <-time.After(5 * time.Second):
		t.Fatal("Scan did not return")
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]*Opts{
		"nothing to match": nil,
		"bad format":       {NameContains: "x", Format: "decimal"},
		"bad layout":       {NameContains: "x", Layout: 20},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(o)
			assert.Error(t, err)
		})
	}
}

func TestParseID(t *testing.T) {
	v, p, err := ParseID("ffff:0035")
	require.NoError(t, err)
	assert.Equal(t, [2]uint16{0xffff, 0x0035}, [2]uint16{v, p})
	for _, bad := range []string{"", "ffff", "fffff:1", "ffff:zz"} {
		_, _, err := ParseID(bad)
		assert.Error(t, err, bad)
	}
}

func TestLayouts(t *testing.T) {
	e := InputEvent{Time: time.Unix(1767225600, 123456000), Type: EvKey, Code: KeyEnter, Value: KeyPressed}
	tests := []struct {
		l    Layout
		want []byte // little-endian
	}{
		{Layout64, []byte{
			0x00, 0xb9, 0x55, 0x69, 0, 0, 0, 0, // tv_sec
			0x40, 0xe2, 0x01, 0, 0, 0, 0, 0, // tv_usec
			0x01, 0x00, 0x1c, 0x00, 0x01, 0, 0, 0}},
		{Layout32, []byte{
			0x00, 0xb9, 0x55, 0x69, // tv_sec
			0x40, 0xe2, 0x01, 0, // tv_usec
			0x01, 0x00, 0x1c, 0x00, 0x01, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(map[Layout]string{Layout32: "32-bit", Layout64: "64-bit"}[tc.l], func(t *testing.T) {
			b := tc.l.Append(nil, e)
			require.Len(t, b, tc.l.Size())
			if littleEndian() {
				assert.Equal(t, tc.want, b)
				got := tc.l.Decode(tc.want)
				assert.True(t, got.Time.Equal(e.Time), "time %v", got.Time)
				assert.Equal(t, e.Type, got.Type)
				assert.Equal(t, e.Code, got.Code)
				assert.Equal(t, e.Value, got.Value)
			}
			neg := InputEvent{Time: e.Time, Type: EvRel, Code: 0, Value: -3}
			assert.Equal(t, int32(-3), tc.l.Decode(tc.l.Append(nil, neg)).Value)
		})
	}
	assert.Contains(t, []Layout{Layout32, Layout64}, NativeLayout)
}

func littleEndian() bool { x := uint16(1); return *(*byte)(unsafePointer(&x)) == 1 }

func TestKeyDecoder(t *testing.T) {
	press := func(code uint16, at time.Duration) InputEvent {
		return InputEvent{Time: t0.Add(at), Type: EvKey, Code: code, Value: KeyPressed}
	}
	with := func(e InputEvent, v int32) InputEvent { e.Value = v; return e }
	kp := map[byte]uint16{'0': 82, '1': 79, '2': 80, '3': 81, '4': 75, '5': 76, '6': 77, '7': 71, '8': 72, '9': 73}
	tests := []struct {
		name string
		ev   []InputEvent
		want []string
	}{
		{"top row digits", []InputEvent{press(Key1, 0), press(Key1+1, 1), press(Key0, 2), press(KeyEnter, 3)}, []string{"120"}},
		{"keypad digits and keypad enter", []InputEvent{press(kp['4'], 0), press(kp['0'], 1), press(kp['9'], 2), press(KeyKPEnter, 3)}, []string{"409"}},
		{"repeats and releases ignored", []InputEvent{
			press(Key1, 0), with(press(Key1, 1), KeyRepeat), with(press(Key1, 2), KeyRepeat), with(press(Key1, 3), KeyReleased),
			press(Key1+1, 4), with(press(KeyEnter, 5), KeyRepeat), press(KeyEnter, 6)}, []string{"12"}},
		{"shift makes upper case", []InputEvent{press(KeyLeftShift, 0), press(30, 1), with(press(KeyLeftShift, 2), KeyReleased), press(30, 3), press(KeyEnter, 4)}, []string{"Aa"}},
		{"empty line", []InputEvent{press(KeyEnter, 0), press(KeyEnter, 1)}, nil},
		{"pause starts a new line", []InputEvent{press(Key1, 0), press(Key1+1, 600*time.Millisecond), press(KeyEnter, 601*time.Millisecond)}, []string{"2"}},
		{"non-key events ignored", []InputEvent{{Type: EvMsc, Code: 4, Value: 0x7001e}, press(Key1, 0), {Type: EvSyn}, press(KeyEnter, 1)}, []string{"1"}},
		{"unmapped keys ignored", []InputEvent{press(KeyEsc, 0), press(Key1, 1), press(BtnLeft, 2), press(KeyEnter, 3)}, []string{"1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var k KeyDecoder
			var got []string
			for _, e := range tc.ev {
				if line, ok := k.Event(e); ok {
					got = append(got, line)
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("overflow drops the line", func(t *testing.T) {
		var k KeyDecoder
		for i := 0; i < maxLine+1; i++ {
			_, ok := k.Event(press(Key1, time.Duration(i)))
			require.False(t, ok)
		}
		_, ok := k.Event(press(KeyEnter, time.Millisecond))
		assert.False(t, ok)
		k.Event(press(Key1, 2*time.Millisecond))
		line, ok := k.Event(press(KeyEnter, 3*time.Millisecond))
		assert.True(t, ok)
		assert.Equal(t, "1", line)
	})
}

func TestInfoIsKeyboard(t *testing.T) {
	kbd, mouse := keyboardInfo(), mouseInfo()
	assert.True(t, kbd.IsKeyboard())
	assert.False(t, mouse.IsKeyboard())
	consumer := Info{}
	consumer.SetKey(KeyEnter) // Enter but no digits
	assert.False(t, consumer.IsKeyboard())
	var none Info
	assert.False(t, none.IsKeyboard())
	assert.False(t, none.HasKey(0xffff))
}

func BenchmarkDecodeTyped(b *testing.B) {
	stream := typed(NativeLayout, "0040856634", t0)
	size := NativeLayout.Size()
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		var k KeyDecoder
		for off := 0; off < len(stream); off += size {
			k.Event(NativeLayout.Decode(stream[off:]))
		}
	}
}

// TestIdentity: the identity is the attached unit's vendor:product and
// name; it survives an unplug and changes when another model is plugged
// in under the same by-id name.
func TestIdentity(t *testing.T) {
	f := newFS(t)
	kbd := newSpec(keyboardInfo())
	f.add("event1", kbd)
	f.link("usb-reader-event-kbd", "event1")
	d, err := New(&Opts{Path: "/dev/input/by-id/usb-reader-event-kbd", Format: kiosk.Card8H10D, Root: f.root,
		Open: f.open, Backoff: cardreader.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
	require.NoError(t, err)
	assert.Equal(t, "", d.Identity(), "nothing attached yet")
	r := start(t, d)

	send(t, kbd.w, typed(NativeLayout, "0040856634", t0))
	r.next(t)
	assert.Equal(t, `ffff:0035 "`+readerName+`"`, d.Identity())

	f.remove("event1")
	require.NoError(t, kbd.w.CloseWithError(&os.PathError{Op: "read", Path: "/dev/input/event1", Err: syscall.ENODEV}))
	require.Eventually(t, func() bool { return d.Health().Status == kiosk.HealthFault }, 5*time.Second, time.Millisecond)
	assert.Equal(t, `ffff:0035 "`+readerName+`"`, d.Identity(), "an unplugged reader keeps the last identity")

	other := keyboardInfo()
	other.Name, other.ID.Vendor, other.ID.Product = "IC Reader", 0x08ff, 0x0009
	back := newSpec(other)
	f.add("event1", back)
	send(t, back.w, typed(NativeLayout, "0068472190", t0.Add(time.Minute)))
	assert.Equal(t, "0414CD7E", r.next(t).UID)
	assert.Equal(t, `08ff:0009 "IC Reader"`, d.Identity(), "the new unit's identity")
}
