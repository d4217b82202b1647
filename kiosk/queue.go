package kiosk

import (
	"sort"
	"sync"
	"time"
)

// DefaultPatience is how long a queued child waits before nobody may
// overtake it any more (QueueOpts.Patience when zero).
const DefaultPatience = 10 * time.Minute

// QueueEntry is one child waiting for a line.
type QueueEntry struct {
	// Booth is where the child waits (the screen that shows the position).
	Booth string
	Child ChildID
	// Answered7d counts the child's answered calls in the last 7 days.
	Answered7d int
	// Arrived is when the child joined the queue (Push sets it to now
	// when zero).
	Arrived time.Time
}

// QueueOpts configures a Queue; the zero value means the defaults.
type QueueOpts struct {
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Patience is how long an entry waits before it can no longer be
	// overtaken (DefaultPatience, 10 min, when zero or negative).
	Patience time.Duration
}

// Queue is the fair queue of children waiting for a line when every line
// is busy. The order, recomputed at each call from the clock:
//
//  1. entries that have waited Patience (10 min) or longer, first come
//     first served: once a child has waited that long, nobody who arrives
//     later goes ahead of it (anti-starvation);
//  2. then the others, the child with fewer answered calls in the last 7
//     days first, and among equals first come first served.
//
// Entries with the same Arrived keep their Push order. A child is queued
// at most once. Queue is safe for concurrent use; the zero value is an
// empty queue with the default options.
type Queue struct {
	opts QueueOpts

	mu      sync.Mutex
	seq     uint64
	entries []queueItem
}

type queueItem struct {
	QueueEntry
	seq uint64
}

// NewQueue returns an empty queue.
func NewQueue(opts QueueOpts) *Queue {
	return &Queue{opts: opts}
}

func (q *Queue) now() time.Time {
	if q.opts.Now != nil {
		return q.opts.Now()
	}
	return time.Now()
}

func (q *Queue) patience() time.Duration {
	if q.opts.Patience <= 0 {
		return DefaultPatience
	}
	return q.opts.Patience
}

// sortLocked puts q.entries in serving order at now.
func (q *Queue) sortLocked(now time.Time) {
	patience := q.patience()
	sort.SliceStable(q.entries, func(i, j int) bool {
		a, b := q.entries[i], q.entries[j]
		agedA, agedB := now.Sub(a.Arrived) >= patience, now.Sub(b.Arrived) >= patience
		if agedA != agedB {
			return agedA
		}
		if !agedA && a.Answered7d != b.Answered7d {
			return a.Answered7d < b.Answered7d
		}
		if !a.Arrived.Equal(b.Arrived) {
			return a.Arrived.Before(b.Arrived)
		}
		return a.seq < b.seq
	})
}

func (q *Queue) positionLocked(child ChildID) int {
	for i, e := range q.entries {
		if e.Child == child {
			return i + 1
		}
	}
	return 0
}

// Push queues e and returns its 1-based position. A child already queued
// is not added twice: its entry keeps its place, arrival and count, only
// its Booth is updated to e.Booth (the child moved), and its current
// position is returned. A zero e.Arrived is set to the queue's clock.
func (q *Queue) Push(e QueueEntry) (position int) {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.entries {
		if q.entries[i].Child == e.Child {
			q.entries[i].Booth = e.Booth
			q.sortLocked(now)
			return q.positionLocked(e.Child)
		}
	}
	if e.Arrived.IsZero() {
		e.Arrived = now
	}
	q.seq++
	q.entries = append(q.entries, queueItem{QueueEntry: e, seq: q.seq})
	q.sortLocked(now)
	return q.positionLocked(e.Child)
}

// Remove takes child out of the queue (it gave up, left the booth or got
// a line) and reports whether it was queued.
func (q *Queue) Remove(child ChildID) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, e := range q.entries {
		if e.Child == child {
			q.entries = append(q.entries[:i], q.entries[i+1:]...)
			return true
		}
	}
	return false
}

// Position returns child's 1-based position now, 0 when it is not queued.
func (q *Queue) Position(child ChildID) int {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sortLocked(now)
	return q.positionLocked(child)
}

// Pop removes and returns the entry to serve next; false when the queue
// is empty.
func (q *Queue) Pop() (QueueEntry, bool) {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) == 0 {
		return QueueEntry{}, false
	}
	q.sortLocked(now)
	e := q.entries[0].QueueEntry
	q.entries = append(q.entries[:0], q.entries[1:]...)
	return e, true
}

// Len returns the number of queued children.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// Snapshot returns the queue in serving order now (element i is at
// position i+1), as a new slice; nil when empty.
func (q *Queue) Snapshot() []QueueEntry {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sortLocked(now)
	var out []QueueEntry
	for _, e := range q.entries {
		out = append(out, e.QueueEntry)
	}
	return out
}
