package kiosk_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// queueClock is a settable clock for the queue.
type queueClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *queueClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *queueClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func queueChildren(es []kiosk.QueueEntry) []kiosk.ChildID {
	var out []kiosk.ChildID
	for _, e := range es {
		out = append(out, e.Child)
	}
	return out
}

func TestQueueOrder(t *testing.T) {
	t0 := hoursAt(3, 17, 0, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name   string
		pushes []kiosk.QueueEntry
		want   []kiosk.ChildID
	}{
		{"first come first served", []kiosk.QueueEntry{
			{Child: 1, Arrived: at(0)}, {Child: 2, Arrived: at(1)}, {Child: 3, Arrived: at(2)},
		}, []kiosk.ChildID{1, 2, 3}},
		{"fewer calls go ahead", []kiosk.QueueEntry{
			{Child: 1, Answered7d: 3, Arrived: at(0)}, {Child: 2, Answered7d: 1, Arrived: at(1)}, {Child: 3, Answered7d: 0, Arrived: at(2)},
		}, []kiosk.ChildID{3, 2, 1}},
		{"ties by arrival", []kiosk.QueueEntry{
			{Child: 1, Answered7d: 2, Arrived: at(0)}, {Child: 2, Answered7d: 1, Arrived: at(2)},
			{Child: 3, Answered7d: 1, Arrived: at(1)}, {Child: 4, Answered7d: 2, Arrived: at(3)},
		}, []kiosk.ChildID{3, 2, 1, 4}},
		{"same arrival keeps push order", []kiosk.QueueEntry{
			{Child: 5, Arrived: at(0)}, {Child: 4, Arrived: at(0)}, {Child: 6, Arrived: at(0)},
		}, []kiosk.ChildID{5, 4, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &queueClock{now: at(10)}
			q := kiosk.NewQueue(kiosk.QueueOpts{Now: clock.Now})
			for _, e := range tc.pushes {
				q.Push(e)
			}
			assert.Equal(t, tc.want, queueChildren(q.Snapshot()), "snapshot order")
			for i, c := range tc.want {
				assert.Equal(t, i+1, q.Position(c), "position of child %d", c)
			}
			var popped []kiosk.ChildID
			for {
				e, ok := q.Pop()
				if !ok {
					break
				}
				popped = append(popped, e.Child)
			}
			assert.Equal(t, tc.want, popped, "pop order")
			assert.Zero(t, q.Len())
		})
	}
}

func TestQueuePushReturnsPosition(t *testing.T) {
	clock := &queueClock{now: hoursAt(3, 17, 0, 0)}
	q := kiosk.NewQueue(kiosk.QueueOpts{Now: clock.Now})
	assert.Equal(t, 1, q.Push(kiosk.QueueEntry{Booth: "a", Child: 1, Answered7d: 2}))
	clock.Advance(time.Second)
	assert.Equal(t, 2, q.Push(kiosk.QueueEntry{Booth: "b", Child: 2, Answered7d: 2}))
	clock.Advance(time.Second)
	assert.Equal(t, 1, q.Push(kiosk.QueueEntry{Booth: "c", Child: 3, Answered7d: 0}), "fewer calls: straight to the front")
	assert.Equal(t, 2, q.Position(1))
	assert.Equal(t, 3, q.Position(2))
	snap := q.Snapshot()
	require.Len(t, snap, 3)
	assert.Equal(t, hoursAt(3, 17, 0, 2), snap[0].Arrived, "zero Arrived is set from the clock")
}

func TestQueueDuplicates(t *testing.T) {
	clock := &queueClock{now: hoursAt(3, 17, 0, 0)}
	q := kiosk.NewQueue(kiosk.QueueOpts{Now: clock.Now})
	q.Push(kiosk.QueueEntry{Booth: "a", Child: 1, Answered7d: 1})
	clock.Advance(time.Second)
	q.Push(kiosk.QueueEntry{Booth: "b", Child: 2, Answered7d: 1})
	clock.Advance(time.Second)

	pos := q.Push(kiosk.QueueEntry{Booth: "c", Child: 1, Answered7d: 0, Arrived: clock.Now()})
	assert.Equal(t, 1, pos, "child 1 keeps its place")
	assert.Equal(t, 2, q.Len(), "not added twice")
	snap := q.Snapshot()
	require.Len(t, snap, 2)
	assert.Equal(t, kiosk.QueueEntry{Booth: "c", Child: 1, Answered7d: 1, Arrived: hoursAt(3, 17, 0, 0)}, snap[0],
		"only the booth changes: arrival and count stay")

	assert.Equal(t, 2, q.Push(kiosk.QueueEntry{Booth: "b", Child: 2}), "a re-push of the second child reports 2")
	assert.Equal(t, 2, q.Len())
}

func TestQueueRemove(t *testing.T) {
	q := kiosk.NewQueue(kiosk.QueueOpts{})
	t0 := hoursAt(3, 17, 0, 0)
	for i := 1; i <= 4; i++ {
		q.Push(kiosk.QueueEntry{Child: kiosk.ChildID(i), Arrived: t0.Add(time.Duration(i) * time.Second)})
	}
	assert.True(t, q.Remove(2))
	assert.False(t, q.Remove(2), "already removed")
	assert.False(t, q.Remove(99), "never queued")
	assert.Equal(t, 0, q.Position(2))
	assert.Equal(t, 0, q.Position(99))
	assert.Equal(t, []kiosk.ChildID{1, 3, 4}, queueChildren(q.Snapshot()))
	assert.Equal(t, 2, q.Position(3), "later children move up")
	assert.Equal(t, 3, q.Len())

	assert.True(t, q.Remove(1))
	assert.True(t, q.Remove(4))
	e, ok := q.Pop()
	require.True(t, ok)
	assert.Equal(t, kiosk.ChildID(3), e.Child)
	_, ok = q.Pop()
	assert.False(t, ok, "empty")
	assert.Nil(t, q.Snapshot())
}

func TestQueueZeroValue(t *testing.T) {
	var q kiosk.Queue
	assert.Equal(t, 0, q.Len())
	_, ok := q.Pop()
	assert.False(t, ok)
	assert.Equal(t, 1, q.Push(kiosk.QueueEntry{Child: 1}))
	assert.Equal(t, 1, q.Position(1))
}

func TestQueueAntiStarvation(t *testing.T) {
	t0 := hoursAt(3, 17, 0, 0)
	clock := &queueClock{now: t0}
	q := kiosk.NewQueue(kiosk.QueueOpts{Now: clock.Now})

	q.Push(kiosk.QueueEntry{Child: 1, Answered7d: 5})
	clock.Advance(9 * time.Minute)
	assert.Equal(t, 1, q.Push(kiosk.QueueEntry{Child: 2, Answered7d: 0}), "at 9 min a child with fewer calls may still overtake")
	assert.Equal(t, 2, q.Position(1))

	clock.Advance(time.Minute - time.Nanosecond)
	assert.Equal(t, 2, q.Position(1), "one tick before 10 min")
	clock.Advance(time.Nanosecond)
	assert.Equal(t, 1, q.Position(1), "at 10 min child 1 goes back to the front, being first come")

	clock.Advance(time.Minute)
	assert.Equal(t, 3, q.Push(kiosk.QueueEntry{Child: 3, Answered7d: 0}), "nobody overtakes a child who waited 10 min")
	assert.Equal(t, []kiosk.ChildID{1, 2, 3}, queueChildren(q.Snapshot()))

	t.Run("patience option", func(t *testing.T) {
		clock := &queueClock{now: t0}
		q := kiosk.NewQueue(kiosk.QueueOpts{Now: clock.Now, Patience: time.Minute})
		q.Push(kiosk.QueueEntry{Child: 1, Answered7d: 5})
		clock.Advance(time.Minute)
		assert.Equal(t, 2, q.Push(kiosk.QueueEntry{Child: 2, Answered7d: 0}))
	})
}

func TestQueueConcurrent(t *testing.T) {
	q := kiosk.NewQueue(kiosk.QueueOpts{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := kiosk.ChildID(g*1000 + i)
				q.Push(kiosk.QueueEntry{Child: id, Answered7d: i % 3})
				q.Position(id)
				q.Snapshot()
				if i%2 == 0 {
					q.Remove(id)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 8*25, q.Len())
	seen := map[kiosk.ChildID]bool{}
	for {
		e, ok := q.Pop()
		if !ok {
			break
		}
		assert.False(t, seen[e.Child], "child %d popped twice", e.Child)
		seen[e.Child] = true
	}
	assert.Len(t, seen, 8*25)
}

func BenchmarkQueuePushPop(b *testing.B) {
	q := kiosk.NewQueue(kiosk.QueueOpts{})
	for i := range 10 {
		q.Push(kiosk.QueueEntry{Child: kiosk.ChildID(i), Answered7d: i % 3})
	}
	id := kiosk.ChildID(100)
	for b.Loop() {
		q.Push(kiosk.QueueEntry{Child: id, Answered7d: 1})
		q.Pop()
		id++
	}
}
