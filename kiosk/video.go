package kiosk

import (
	"context"
	"time"
)

// ParentLink is a parent's personal link to the video page, /p/{token}.
// The token is random (at least 128 bits) and only its hash is stored; a
// link can be revoked and may expire.
type ParentLink struct {
	ID      int64
	Contact ContactID
	Created time.Time
	// Expires is zero when the link never expires.
	Expires time.Time
	Revoked bool
}

// Links stores the parents' links and what parents say about themselves.
type Links interface {
	// CreateLink makes a new link for the contact and returns its token
	// (shown once: only its hash is kept). expires may be zero.
	CreateLink(ctx context.Context, contact ContactID, expires time.Time) (token string, link ParentLink, err error)
	// ResolveLink returns the link, its contact and the contact's child.
	// Errors: ENOTFOUND for an unknown token, EGONE for a revoked or
	// expired link (or a child who left).
	ResolveLink(ctx context.Context, token string) (ParentLink, Contact, Child, error)
	// RevokeLink revokes a link by id; ENOTFOUND if there is none.
	RevokeLink(ctx context.Context, id int64) error
	// Links lists a contact's links, newest first.
	Links(ctx context.Context, contact ContactID) ([]ParentLink, error)
	// SetAvailableUntil stores the time until which the parent says they
	// can take a video call ("I am available until 21:00"); zero clears.
	SetAvailableUntil(ctx context.Context, contact ContactID, until time.Time) error
}

// Presence is who can take a video call now: a parent whose page is open
// and connected is online.
type Presence interface {
	// Online reports whether the contact's parent page is connected, and
	// until when the parent said they are available (zero if not said).
	Online(contact ContactID) (online bool, until time.Time)
}
