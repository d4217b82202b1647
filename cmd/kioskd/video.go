package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/qinqing/station/callbridge/rtc"
	"github.com/qinqing/station/kiosk"
)

// newVideo builds the video bridge (callbridge/rtc) from [video]: ICE
// servers, TURN time-limited credentials, timeouts. Loopback candidates
// are allowed when the HTTP listener is on loopback (the demo, one
// machine); a real kiosk listens on its LAN address.
func (m *Main) newVideo() (*rtc.Bridge, error) {
	vc := m.Config.Video
	cfg := rtc.Config{
		RingTimeout:     vc.RingTimeout.Duration,
		ReconnectWindow: vc.PeerTimeout.Duration,
		UDPPort:         vc.UDPPort,
	}
	for _, s := range vc.ICEServers {
		srv := rtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
		if s.Secret != "" && cfg.TURNSecret == "" {
			cfg.TURNSecret, cfg.TURNTTL = s.Secret, s.TTL.Duration
		}
		cfg.ICEServers = append(cfg.ICEServers, srv)
	}
	if host, _, err := net.SplitHostPort(m.Config.HTTP.Listen); err == nil {
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			cfg.AllowLoopback = true
		}
	}
	b, err := rtc.New(cfg, m.db, rtc.Opts{Logger: m.Logger, OnPresence: func(c kiosk.ContactID) {
		if m.station != nil {
			m.station.PresenceChanged(c)
		}
	}})
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	return b, nil
}

// demoLinks makes a parent link for each demo contact approved for video
// and returns "relation (child): URL" lines for the banner. The demo's
// links never expire; each start makes new ones and revokes the old.
func (m *Main) demoLinks(ctx context.Context) ([]string, error) {
	base := strings.TrimRight(m.Config.Video.PublicURL, "/")
	if base == "" {
		base = m.HTTPURL()
	}
	var lines []string
	for _, e := range demoRoster {
		kids, err := m.db.ChildByName(ctx, e.Child.ExternalID)
		if err != nil || len(kids) != 1 {
			return nil, fmt.Errorf("demo links: child %s: %v", e.Child.ExternalID, err)
		}
		for _, c := range e.Contacts {
			if !c.Allows(kiosk.ModeVideo) {
				continue
			}
			contact, err := m.db.ContactBySlot(ctx, kids[0].ID, c.Slot)
			if err != nil {
				return nil, fmt.Errorf("demo links: %w", err)
			}
			// Only the newest demo links work: tokens are stored hashed and
			// cannot be printed again, so the previous run's are revoked.
			old, err := m.db.Links(ctx, contact.ID)
			if err != nil {
				return nil, fmt.Errorf("demo links: %w", err)
			}
			for _, l := range old {
				if !l.Revoked {
					if err := m.db.RevokeLink(ctx, l.ID); err != nil {
						return nil, fmt.Errorf("demo links: %w", err)
					}
				}
			}
			tok, _, err := m.db.CreateLink(ctx, contact.ID, time.Time{})
			if err != nil {
				return nil, fmt.Errorf("demo links: %w", err)
			}
			lines = append(lines, fmt.Sprintf("%s of %s (card %s, contact %d): %s/p/%s",
				c.Relation, e.Child.Name, e.Cards[0], c.Slot, base, tok))
		}
	}
	return lines, nil
}
