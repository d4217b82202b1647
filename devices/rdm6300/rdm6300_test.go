package rdm6300

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/devices/cardreader"
	"github.com/qinqing/station/kiosk"
)

func frame(digits string) []byte { return append(append([]byte{stx}, digits...), etx) }

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		uid     string
		version byte
		err     error
	}{
		{"version 01, checksum includes it", frame("01C8F0080031"), "C8F00800", 0x01, nil},
		{"version 00", frame("000414CD7EA3"), "0414CD7E", 0x00, nil},
		{"lower case", frame("000414cd7ea3"), "0414CD7E", 0x00, nil},
		{"flipped low checksum digit", frame("000414CD7EA2"), "", 0, ErrChecksum},
		{"flipped high checksum digit", frame("01C8F0080021"), "", 0, ErrChecksum},
		{"checksum without the version byte", frame("01C8F0080030"), "", 0, ErrChecksum},
		{"flipped data digit", frame("000414CD7FA3"), "", 0, ErrChecksum},
		{"too short", frame("000414CD7EA"), "", 0, ErrFrame},
		{"no ETX", append([]byte{stx}, "000414CD7EA3\r"...), "", 0, ErrFrame},
		{"non-hex digit", frame("000414CD7GA3"), "", 0, ErrFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ParseFrame(tc.in)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.uid, id.UID())
			assert.Equal(t, tc.version, id.Version())
		})
	}
}

func decodeAll(d *Decoder, chunks ...[]byte) []string {
	var got []string
	for _, c := range chunks {
		d.Write(c, func(id cardreader.EM4100) { got = append(got, id.String()) })
	}
	return got
}

func TestDecoderSplitFrames(t *testing.T) {
	f := frame("01C8F0080031")
	for cut := 0; cut <= len(f); cut++ {
		var d Decoder
		got := decodeAll(&d, f[:cut], f[cut:])
		assert.Equal(t, []string{"01C8F00800"}, got, "frame cut at byte %d", cut)
	}
	var d Decoder
	var chunks [][]byte
	for _, b := range frame("000414CD7EA3") {
		chunks = append(chunks, []byte{b})
	}
	assert.Equal(t, []string{"000414CD7E"}, decodeAll(&d, chunks...), "one byte per read")
}

func TestDecoderGarbageAndErrors(t *testing.T) {
	var stream []byte
	stream = append(stream, 0x00, 0xff, 'x', '\r', '\n', etx) // power-up noise
	stream = append(stream, frame("01C8F0080031")...)
	stream = append(stream, "garbage"...)
	stream = append(stream, stx, '0', '0', '0', '4')                    // cut short by the next STX
	stream = append(stream, frame("000414CD7EA2")...)                   // bad checksum
	stream = append(stream, stx, '0', '0', 'Z', etx)                    // non-hex
	stream = append(stream, append([]byte{stx}, "000414CD7EA3Q"...)...) // no ETX
	stream = append(stream, frame("01C8F0080031")...)
	stream = append(stream, frame("000414CD7EA3")...)

	var d Decoder
	got := decodeAll(&d, stream)
	assert.Equal(t, []string{"01C8F00800", "01C8F00800", "000414CD7E"}, got)
	st := d.Stats()
	assert.Equal(t, uint64(3), st.Frames)
	assert.Equal(t, uint64(1), st.BadChecksum)
	assert.Equal(t, uint64(3), st.BadFrames)
	assert.Equal(t, uint64(6+7+1), st.Skipped, "noise, 'garbage', and the ETX after the non-hex digit")
}

// script is a fake clock that returns times in order.
type script struct {
	mu    sync.Mutex
	times []time.Time
}

func (s *script) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.times[0]
	if len(s.times) > 1 {
		s.times = s.times[1:]
	}
	return t
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
	done   chan error
}

func run(t *testing.T, d *Dev) *runner {
	t.Helper()
	r := &runner{events: make(chan cardreader.Event, 100), done: make(chan error, 1)}
	go func() { r.done <- d.Run(context.Background(), func(e cardreader.Event) { r.events <- e }) }()
	t.Cleanup(func() { _ = d.Halt() })
	return r
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

func (r *runner) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %+v", e)
	default:
	}
}

func (r *runner) stop(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s")
	}
	return nil
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func TestDevOnePresentationWhileCardStays(t *testing.T) {
	// Frame read times: 20 frames 65 ms apart with one 150 ms gap, then
	// one more 600 ms after the last.
	var times []time.Time
	at := t0
	for i := 0; i < 20; i++ {
		if i == 10 {
			at = at.Add(150 * time.Millisecond)
		} else if i > 0 {
			at = at.Add(65 * time.Millisecond)
		}
		times = append(times, at)
	}
	times = append(times, at.Add(600*time.Millisecond))
	clk := &script{times: times}
	pr, pw := io.Pipe()
	d, err := New(pr, &Opts{Name: "booth1", Now: clk.Now})
	require.NoError(t, err)
	r := run(t, d)

	for i := 0; i < 20; i++ {
		send(t, pw, frame("000414CD7EA3"))
	}
	e := r.next(t)
	assert.Equal(t, cardreader.Event{Reader: "booth1", UID: "0414CD7E", At: t0}, e)
	send(t, pw, frame("000414CD7EA3"))
	e2 := r.next(t)
	assert.Equal(t, "0414CD7E", e2.UID, "the card counts again after 600 ms away")
	r.none(t)
	st := d.Stats()
	assert.Equal(t, uint64(21), st.Frames, "%+v", st)
	assert.Equal(t, uint64(2), st.Events)
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)

	require.NoError(t, d.Halt())
	assert.ErrorIs(t, r.stop(t), cardreader.ErrHalted)
	assert.NoError(t, d.Halt(), "second Halt")
}

func TestDevBadChecksumHealth(t *testing.T) {
	pr, pw := io.Pipe()
	d, err := New(pr, nil)
	require.NoError(t, err)
	r := run(t, d)
	send(t, pw, frame("000414CD7EA2"))
	// The pipe hands the bytes over before Write returns; a good frame
	// after it proves the bad one was decoded.
	require.Eventually(t, func() bool { return d.Stats().BadChecksum == 1 }, 5*time.Second, time.Millisecond)
	h := d.Health()
	assert.Equal(t, kiosk.HealthDegraded, h.Status)
	assert.Contains(t, h.Reason, "checksum")
	r.none(t)

	send(t, pw, frame("01C8F0080031"))
	assert.Equal(t, "C8F00800", r.next(t).UID)
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)
}

func TestDevReopensAfterUnplug(t *testing.T) {
	pr1, pw1 := io.Pipe()
	pr2, pw2 := io.Pipe()
	var (
		mu      sync.Mutex
		opens   int
		healths []kiosk.Health
		sleeps  []time.Duration
	)
	var d *Dev
	open := func() (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		opens++
		healths = append(healths, d.Health())
		if opens < 3 {
			return nil, errors.New("no such file or directory")
		}
		return pr2, nil
	}
	sleep := func(ctx context.Context, dur time.Duration) error {
		mu.Lock()
		sleeps = append(sleeps, dur)
		mu.Unlock()
		return ctx.Err()
	}
	d, err := New(pr1, &Opts{Open: open, Sleep: sleep, Backoff: cardreader.Backoff{Min: time.Second, Max: 10 * time.Second}})
	require.NoError(t, err)
	r := run(t, d)

	send(t, pw1, frame("000414CD7EA3"))
	assert.Equal(t, "0414CD7E", r.next(t).UID)

	require.NoError(t, pw1.CloseWithError(errors.New("read /dev/ttyUSB0: input/output error")))
	send(t, pw2, frame("01C8F0080031")) // blocks until Run reads the reopened port
	assert.Equal(t, "C8F00800", r.next(t).UID)
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)

	mu.Lock()
	assert.Equal(t, 3, opens)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, sleeps)
	require.Len(t, healths, 3)
	assert.Equal(t, kiosk.HealthFault, healths[0].Status)
	assert.Contains(t, healths[0].Reason, "serial port lost")
	assert.Contains(t, healths[1].Reason, "not open")
	mu.Unlock()
	st := d.Stats()
	assert.Equal(t, uint64(2), st.Opens)
	assert.Equal(t, uint64(1), st.Failures)
}

func TestDevEOFWithoutReopen(t *testing.T) {
	pr, pw := io.Pipe()
	d, err := New(pr, nil)
	require.NoError(t, err)
	r := run(t, d)
	require.NoError(t, pw.Close())
	err = r.stop(t)
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, kiosk.HealthFault, d.Health().Status)
}

func TestDevIdleReadsAreAFault(t *testing.T) {
	d, err := New(io.NopCloser(zeroReader{}), nil)
	require.NoError(t, err)
	err = d.Run(context.Background(), func(cardreader.Event) {})
	assert.ErrorIs(t, err, io.ErrNoProgress)
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestNewUARTMissingPort(t *testing.T) {
	_, err := NewUART("", nil)
	require.Error(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := NewUART("/nonexistent/ttyRDM", &Opts{Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}})
	require.NoError(t, err)
	assert.Equal(t, kiosk.HealthFault, d.Health().Status, "before Run")
	err = d.Run(ctx, func(cardreader.Event) {})
	assert.ErrorIs(t, err, context.Canceled)
	h := d.Health()
	assert.Equal(t, kiosk.HealthFault, h.Status)
	assert.Contains(t, h.Reason, "not open")
}

func TestRunTwice(t *testing.T) {
	pr, pw := io.Pipe()
	d, err := New(pr, nil)
	require.NoError(t, err)
	r := run(t, d)
	send(t, pw, frame("01C8F0080031"))
	r.next(t) // Run is running now
	assert.Error(t, d.Run(context.Background(), nil))
	require.NoError(t, d.Halt())
	assert.ErrorIs(t, r.stop(t), cardreader.ErrHalted)
}

func TestRunAfterHalt(t *testing.T) {
	pr, _ := io.Pipe()
	d, err := New(pr, nil)
	require.NoError(t, err)
	require.NoError(t, d.Halt())
	assert.ErrorIs(t, d.Run(context.Background(), nil), cardreader.ErrHalted)
}

func BenchmarkDecoderFrame(b *testing.B) {
	f := frame("000414CD7EA3")
	var d Decoder
	var n int
	fn := func(cardreader.EM4100) { n++ }
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		d.Write(f, fn)
	}
	if n == 0 {
		b.Fatal("no frame decoded")
	}
}

func BenchmarkParseFrame(b *testing.B) {
	f := frame("01C8F0080031")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}
