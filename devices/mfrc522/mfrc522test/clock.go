package mfrc522test

import (
	"sync"
	"time"
)

// Clock is a virtual clock: Sleep advances it instead of blocking, and the
// fake Chip advances it by the duration of each SPI transaction, so a
// driver running on it sees the chip's timing without waiting for it. Pass
// its Now and Sleep as mfrc522.Opts.Now and Opts.Sleep.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading 2025-01-01T00:00:00Z.
func NewClock() *Clock {
	return &Clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Sleep advances the virtual time by d (nothing if d <= 0) and returns at once.
func (c *Clock) Sleep(d time.Duration) { c.Advance(d) }

// Advance moves the virtual time forward by d; d <= 0 is ignored.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// advanceTo moves the virtual time to t if t is later.
func (c *Clock) advanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}
