// Package kiosktest provides in-memory fakes of the kiosk contracts
// (Roster, Journal, Dialer) for tests of the station and of adapters.
// They record what they are asked, so tests can assert the sequence.
package kiosktest

import (
	"context"
	"sync"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Roster is an in-memory kiosk.Roster.
type Roster struct {
	mu       sync.Mutex
	children map[kiosk.ChildID]kiosk.Child
	contacts map[kiosk.ChildID][]kiosk.Contact
	cards    map[string]kiosk.Card
}

var _ kiosk.Roster = (*Roster)(nil)

// NewRoster returns a roster holding entries; child ids are assigned
// 1, 2, ... in order when zero, and contact slots are taken as given.
func NewRoster(entries ...kiosk.RosterEntry) *Roster {
	r := &Roster{children: map[kiosk.ChildID]kiosk.Child{}, contacts: map[kiosk.ChildID][]kiosk.Contact{}, cards: map[string]kiosk.Card{}}
	for i, e := range entries {
		if e.Child.ID == 0 {
			e.Child.ID = kiosk.ChildID(i + 1)
		}
		if e.Child.Status == "" {
			e.Child.Status = kiosk.ChildActive
		}
		r.children[e.Child.ID] = e.Child
		for j, c := range e.Contacts {
			c.ChildID = e.Child.ID
			if c.ID == 0 {
				c.ID = kiosk.ContactID(int(e.Child.ID)*10 + j + 1)
			}
			r.contacts[e.Child.ID] = append(r.contacts[e.Child.ID], c)
		}
		for _, uid := range e.Cards {
			r.cards[uid] = kiosk.Card{UID: uid, ChildID: e.Child.ID, Enabled: true}
		}
	}
	return r
}

// DisableCard marks a card lost.
func (r *Roster) DisableCard(uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cards[uid]
	c.Enabled = false
	r.cards[uid] = c
}

// SetStatus changes a child's status.
func (r *Roster) SetStatus(id kiosk.ChildID, s kiosk.ChildStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.children[id]
	c.Status = s
	r.children[id] = c
}

func (r *Roster) CardByUID(_ context.Context, uid string) (kiosk.Card, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cards[uid]
	if !ok {
		return kiosk.Card{}, kiosk.Errorf(kiosk.ENOTFOUND, "no such card")
	}
	return c, nil
}

func (r *Roster) Child(_ context.Context, id kiosk.ChildID) (kiosk.Child, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.children[id]
	if !ok {
		return kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "no such child")
	}
	return c, nil
}

func (r *Roster) Contacts(_ context.Context, id kiosk.ChildID) ([]kiosk.Contact, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]kiosk.Contact(nil), r.contacts[id]...), nil
}

// Journal is an in-memory kiosk.Journal that keeps every entry in order.
type Journal struct {
	mu         sync.Mutex
	Started    []kiosk.CallRecord
	Ended      []kiosk.CallRecord
	Denied     []kiosk.CallRecord
	Heartbeats map[string]time.Time
}

var _ kiosk.Journal = (*Journal)(nil)

// NewJournal returns an empty journal.
func NewJournal() *Journal { return &Journal{Heartbeats: map[string]time.Time{}} }

func (j *Journal) CallStarted(_ context.Context, r kiosk.CallRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Started = append(j.Started, r)
	return nil
}

func (j *Journal) CallHeartbeat(_ context.Context, id string, t time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Heartbeats[id] = t
	return nil
}

// CallProgress records the answer time as a heartbeat.
func (j *Journal) CallProgress(_ context.Context, id string, t time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Heartbeats[id] = t
	return nil
}

func (j *Journal) CallEnded(_ context.Context, r kiosk.CallRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Ended = append(j.Ended, r)
	return nil
}

func (j *Journal) CallDenied(_ context.Context, r kiosk.CallRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.Denied = append(j.Denied, r)
	return nil
}

// Usage sums the answered, non-help ended calls started at or after since.
func (j *Journal) Usage(_ context.Context, id kiosk.ChildID, since time.Time) (kiosk.Usage, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var u kiosk.Usage
	for _, r := range j.Ended {
		if r.ChildID == id && !r.Help && r.Disposition == kiosk.DispAnswered && !r.Started.Before(since) {
			u.Calls++
			u.Seconds += int(r.Billsec.Round(time.Second) / time.Second)
		}
	}
	return u, nil
}

// Snapshot returns copies of the started, ended and denied entries.
func (j *Journal) Snapshot() (started, ended, denied []kiosk.CallRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]kiosk.CallRecord(nil), j.Started...), append([]kiosk.CallRecord(nil), j.Ended...),
		append([]kiosk.CallRecord(nil), j.Denied...)
}

// Dialer is a fake kiosk.Dialer: it records requests and lets the test
// drive each call's events.
type Dialer struct {
	mu    sync.Mutex
	reqs  []kiosk.CallRequest
	calls map[string]kiosk.CallRequest
	// Dialed receives every request Dial is given (buffered, 16).
	Dialed chan kiosk.CallRequest
}

var _ kiosk.Dialer = (*Dialer)(nil)

// NewDialer returns a fake dialer.
func NewDialer() *Dialer {
	return &Dialer{calls: map[string]kiosk.CallRequest{}, Dialed: make(chan kiosk.CallRequest, 16)}
}

func (d *Dialer) Dial(_ context.Context, req kiosk.CallRequest) error {
	d.mu.Lock()
	d.reqs = append(d.reqs, req)
	d.calls[req.CallID] = req
	d.mu.Unlock()
	d.Dialed <- req
	return nil
}

// Hangup ends the call with cause, reporting EventEnded like a real
// bridge: ANSWERED if Answer was called, else CANCELLED.
func (d *Dialer) Hangup(id string, cause kiosk.EndCause) error {
	d.mu.Lock()
	req, ok := d.calls[id]
	delete(d.calls, id)
	d.mu.Unlock()
	if !ok {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no call %s", id)
	}
	req.Observer.CallEvent(kiosk.CallEvent{CallID: id, Kind: kiosk.EventEnded, Disposition: kiosk.DispCancelled, Cause: cause})
	return nil
}

// Event sends ev to the observer of the call ev.CallID names; an
// EventEnded forgets the call.
func (d *Dialer) Event(ev kiosk.CallEvent) {
	d.mu.Lock()
	req, ok := d.calls[ev.CallID]
	if ev.Kind == kiosk.EventEnded {
		delete(d.calls, ev.CallID)
	}
	d.mu.Unlock()
	if ok {
		req.Observer.CallEvent(ev)
	}
}

// Active returns the number of calls not yet ended.
func (d *Dialer) Active() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

// LastHeartbeat returns the last heartbeat time of a call, zero if none.
func (j *Journal) LastHeartbeat(id string) time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.Heartbeats[id]
}
