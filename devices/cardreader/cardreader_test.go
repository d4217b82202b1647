package cardreader

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// frames returns n read times 65 ms apart, with gap instead of 65 ms
// before read number gapAt (no gap if gapAt < 1).
func frames(n, gapAt int, gap time.Duration) []time.Time {
	var ts []time.Time
	at := t0
	for i := 0; i < n; i++ {
		if i > 0 {
			if i == gapAt {
				at = at.Add(gap)
			} else {
				at = at.Add(65 * time.Millisecond)
			}
		}
		ts = append(ts, at)
	}
	return ts
}

func TestPresenterSameCard(t *testing.T) {
	tests := []struct {
		name    string
		absence time.Duration
		gap     time.Duration
		want    int
	}{
		{"20 frames with a 150 ms gap are one presentation", 0, 150 * time.Millisecond, 1},
		{"a 499 ms gap is still one presentation", 0, 499 * time.Millisecond, 1},
		{"a 500 ms gap is a second presentation", 0, 500 * time.Millisecond, 2},
		{"a 600 ms gap is a second presentation", 0, 600 * time.Millisecond, 2},
		{"configured 1 s absence keeps a 600 ms gap one presentation", time.Second, 600 * time.Millisecond, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPresenter(&PresenterOpts{Absence: tc.absence})
			var got int
			for _, at := range frames(20, 10, tc.gap) {
				if p.Feed("0414cd7e", at) {
					got++
				}
			}
			assert.Equal(t, tc.want, got, "presentations")
			st := p.Stats()
			assert.Equal(t, uint64(20), st.Reads)
			assert.Equal(t, uint64(tc.want), st.Events)
		})
	}
}

func TestPresenterHeldCardStaysOnePresentation(t *testing.T) {
	// A card held for a minute, read every 400 ms: each read extends its
	// presence, even though the first read was long ago.
	p := NewPresenter(nil)
	var got int
	for at := t0; at.Before(t0.Add(time.Minute)); at = at.Add(400 * time.Millisecond) {
		if p.Feed("04A1B2C3", at) {
			got++
		}
	}
	assert.Equal(t, 1, got)
}

func TestPresenterAlternatingCards(t *testing.T) {
	p := NewPresenter(nil)
	seq := []struct {
		uid  string
		want bool
	}{
		{"04A1B2C3", true},
		{"04:a1:b2:c3", false}, // same card, other spelling
		{"0414CD7E", true},     // a different card counts at once
		{"04A1B2C3", true},     // and so does the first one again
		{"0414CD7E", true},
		{"0414CD7E", false},
		{"04112233445566", true}, // 7-byte UID
	}
	for i, s := range seq {
		at := t0.Add(time.Duration(i) * 65 * time.Millisecond)
		assert.Equal(t, s.want, p.Feed(s.uid, at), "read %d", i)
	}
}

func TestPresenterRejects(t *testing.T) {
	p := NewPresenter(nil)
	require.True(t, p.Feed("04A1B2C3", t0))
	for i, uid := range []string{"00000000", "FFFFFFFF", "ff:ff:ff:ff:ff:ff:ff", "00-00-00-00", "", "04A1B2", "zz112233"} {
		assert.False(t, p.Feed(uid, t0.Add(time.Duration(i+1)*10*time.Millisecond)), "read %q", uid)
	}
	// Rejected reads neither end nor extend the current presentation.
	assert.False(t, p.Feed("04A1B2C3", t0.Add(100*time.Millisecond)))
	st := p.Stats()
	assert.Equal(t, uint64(4), st.Phantoms)
	assert.Equal(t, uint64(3), st.Invalid)
	assert.Equal(t, uint64(1), st.Events)
	assert.Equal(t, uint64(9), st.Reads)
}

func TestPresenterFeedBytes(t *testing.T) {
	p := NewPresenter(nil)
	uid, ok := p.FeedBytes([]byte{0x04, 0xa1, 0xb2, 0xc3}, t0)
	assert.True(t, ok)
	assert.Equal(t, "04A1B2C3", uid)
	_, ok = p.FeedBytes([]byte{0x04, 0xa1, 0xb2, 0xc3}, t0.Add(50*time.Millisecond))
	assert.False(t, ok, "same card again within the absence time")
	_, ok = p.FeedBytes([]byte{0, 0, 0, 0}, t0)
	assert.False(t, ok)
	_, ok = p.FeedBytes([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, t0)
	assert.False(t, ok)
	_, ok = p.FeedBytes([]byte{1, 2, 3}, t0)
	assert.False(t, ok)
	st := p.Stats()
	assert.Equal(t, uint64(2), st.Phantoms)
	assert.Equal(t, uint64(1), st.Invalid)
}

func TestPresenterResetAndSink(t *testing.T) {
	p := NewPresenter(nil)
	var got []Event
	sink := p.Sink("booth1-reader", func(e Event) { got = append(got, e) })
	sink("04a1b2c3", t0)
	sink("04a1b2c3", t0.Add(10*time.Millisecond))
	p.Reset()
	sink("04a1b2c3", t0.Add(20*time.Millisecond))
	sink("00000000", t0.Add(30*time.Millisecond))
	require.Len(t, got, 2)
	assert.Equal(t, Event{Reader: "booth1-reader", UID: "04A1B2C3", At: t0}, got[0])
	assert.Equal(t, t0.Add(20*time.Millisecond), got[1].At)
}

func TestEM4100(t *testing.T) {
	tests := []struct {
		in      string
		uid     string
		decimal string
	}{
		{"000414CD7E", "0414CD7E", "0068472190"},
		{"01C8F00800", "C8F00800", "3371173888"},
		{"0a026f6c3a", "026F6C3A", "0040856634"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			id, err := ParseEM4100(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.uid, id.UID())
			assert.Equal(t, tc.decimal, id.Decimal())
			// The same card typed by an 8H10D keyboard-wedge reader is the
			// same UID.
			fromDecimal, err := kiosk.ParseCardNumber(id.Decimal(), kiosk.Card8H10D)
			require.NoError(t, err)
			assert.Equal(t, id.UID(), fromDecimal)
			assert.Equal(t, tc.decimal, kiosk.FormatCardNumber(id.UID(), kiosk.Card8H10D))
		})
	}
	for _, bad := range []string{"", "0414CD7E", "000414CD7EA3", "000414CD7G"} {
		_, err := ParseEM4100(bad)
		assert.ErrorIs(t, err, ErrEM4100, "input %q", bad)
	}
}

func TestBackoff(t *testing.T) {
	var zero Backoff
	assert.Equal(t, 100*time.Millisecond, zero.Delay(0))
	assert.Equal(t, 200*time.Millisecond, zero.Delay(1))
	assert.Equal(t, 5*time.Second, zero.Delay(10))
	assert.Equal(t, 5*time.Second, zero.Delay(1000))
	b := Backoff{Min: time.Second, Max: 3 * time.Second}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, []time.Duration{b.Delay(0), b.Delay(1), b.Delay(2)})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.NoError(t, Sleep(context.Background(), time.Microsecond))
}

func BenchmarkPresenterFeed(b *testing.B) {
	p := NewPresenter(nil)
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(65 * time.Millisecond)
		p.Feed("0414CD7E", at)
	}
}

func BenchmarkPresenterFeedBytes(b *testing.B) {
	p := NewPresenter(nil)
	uid := []byte{0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(50 * time.Millisecond)
		p.FeedBytes(uid, at)
	}
}
