package console

import (
	"context"
	"fmt"
	"time"

	"github.com/qinqing/station/kiosk"
)

// "Every child heard from home": the children list with quiet=1 lists the
// active children with no answered call in the last QuietDays days. For
// managers and principals each row also shows the child's contacts
// (relation, name, masked number), their parents' links and whether each
// link's page is open now (Opts.Presence), so that a manager sees in one
// click whom to ring or who could take a video call now. Inspectors see
// name and class only. The view is audited with the children list.

// linkLister is the part of RosterEditor the quiet list reads.
type linkLister interface {
	Links(ctx context.Context, contact kiosk.ContactID) ([]kiosk.ParentLink, error)
}

// quietContact is one contact of a quiet child as the list shows it.
type quietContact struct {
	Relation, Name string
	Shown          string // the number, masked (kiosk.MaskPhone)
	Video          bool   // approved for video calls
	// Links is the number of active (not revoked, not expired) parent
	// links; -1 when the store keeps none.
	Links int
	// Online: the contact's parent page is open and connected now.
	Online bool
	// Until is when the parent said they are available, "15:30" today or
	// "11-21 15:30"; "" when not said or offline.
	Until string
}

// quietReach is the quiet list's contact part.
type quietReach struct {
	// Contacts are each listed child's contacts, by slot.
	Contacts map[kiosk.ChildID][]quietContact
	// Presence: the console knows which parents' pages are open; without
	// it the list says so instead of "offline".
	Presence bool
	// HasLinks: the store keeps parents' links.
	HasLinks bool
	// N counts the contacts listed, Online those online now.
	N, Online int
}

// quietReach reads the contacts, links and presence of kids.
func (c *Console) quietReach(ctx context.Context, kids []kiosk.Child) (*quietReach, error) {
	links, hasLinks := c.store.(linkLister)
	q := &quietReach{Contacts: make(map[kiosk.ChildID][]quietContact, len(kids)), Presence: c.presence != nil, HasLinks: hasLinks}
	now := c.now()
	for _, k := range kids {
		cs, err := c.store.Contacts(ctx, k.ID)
		if err != nil {
			return nil, fmt.Errorf("quiet list: contacts of child %d: %w", k.ID, err)
		}
		row := make([]quietContact, 0, len(cs))
		for _, ct := range cs {
			v := quietContact{Relation: ct.Relation, Name: ct.Name, Shown: kiosk.MaskPhone(ct.Phone),
				Video: ct.Allows(kiosk.ModeVideo), Links: -1}
			if hasLinks {
				ls, err := links.Links(ctx, ct.ID)
				if err != nil {
					return nil, fmt.Errorf("quiet list: links of contact %d: %w", ct.ID, err)
				}
				v.Links = 0
				for _, l := range ls {
					if !l.Revoked && (l.Expires.IsZero() || now.Before(l.Expires)) {
						v.Links++
					}
				}
			}
			if c.presence != nil {
				var until time.Time
				v.Online, until = c.presence.Online(ct.ID)
				if v.Online && !until.IsZero() {
					v.Until = c.clockTime(until, now)
				}
			}
			if v.Online {
				q.Online++
			}
			row = append(row, v)
		}
		q.N += len(row)
		q.Contacts[k.ID] = row
	}
	return q, nil
}

// clockTime is t as "15:04" when it falls on now's day in the console's
// zone, else "01-02 15:04".
func (c *Console) clockTime(t, now time.Time) string {
	t = t.In(c.loc)
	if c.dayStart(t).Equal(c.dayStart(now)) {
		return t.Format("15:04")
	}
	return t.Format("01-02 15:04")
}

// auditDetail is what the audit entry adds for the contacts shown: ""
// when none were.
func (q *quietReach) auditDetail() string {
	if q == nil {
		return ""
	}
	return fmt.Sprintf(" contacts=%d online=%d", q.N, q.Online)
}
