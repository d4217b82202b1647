package cardreader

import (
	"context"
	"errors"
	"time"
)

// ErrHalted is returned by Run after Halt.
var ErrHalted = errors.New("cardreader: halted")

// Backoff is the delay between attempts to reopen a vanished reader: Min
// after the first failure, doubling up to Max. The zero value means
// Min 100 ms, Max 5 s.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the wait before attempt n (0 is the first retry).
func (b Backoff) Delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	if hi < lo {
		hi = lo
	}
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// Sleep waits d or until ctx is done, and returns ctx.Err() in that case.
// Drivers take it as the default of their injectable sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
