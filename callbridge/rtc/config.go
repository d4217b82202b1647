package rtc

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Defaults of Config.
const (
	DefaultRingTimeout            = 45 * time.Second
	DefaultSetupTimeout           = 20 * time.Second
	DefaultReconnectWindow        = 10 * time.Second
	DefaultHeartbeat              = 2 * time.Second
	DefaultICEDisconnectedTimeout = 3 * time.Second
	DefaultICEFailedTimeout       = 8 * time.Second
	DefaultICEKeepalive           = time.Second
	DefaultTURNTTL                = 12 * time.Hour
)

// ICEServer is a STUN or TURN server as in the W3C RTCIceServer dictionary;
// the same JSON is sent to the pages.
type ICEServer struct {
	// URLs are "stun:host:port", "turn:host:port?transport=udp" or
	// "turns:host:443?transport=tcp".
	URLs []string `json:"urls"`
	// Username and Credential authenticate to a TURN server. When both are
	// empty and Config.TURNSecret is set, time-limited credentials are
	// made for every session (TURNCredentials).
	Username   string `json:"username,omitempty"`
	Credential string `json:"credential,omitempty"`
}

// Config configures a Bridge. The zero value of each field means its
// default.
type Config struct {
	// ICEServers are used by the daemon's PeerConnections and sent to the
	// pages. Default none: host candidates only (loopback and LAN).
	ICEServers []ICEServer
	// TURNSecret is the shared secret of a TURN server run with coturn's
	// use-auth-secret (draft-uberti-behave-turn-rest); TURNUser is the
	// user part of the credentials (default "kiosk") and TURNTTL their
	// lifetime (default 12 h).
	TURNSecret string
	TURNUser   string
	TURNTTL    time.Duration
	// RingTimeout bounds the parent page's ringing; then NO ANSWER
	// (default 45 s).
	RingTimeout time.Duration
	// SetupTimeout bounds the time from the parent's answer to media
	// flowing both ways; then FAILED (default 20 s).
	SetupTimeout time.Duration
	// ReconnectWindow is how long a page may go unheard (websocket gone
	// or no rtc.ping) before it is lost and its call ends with peer_lost
	// (default 10 s).
	ReconnectWindow time.Duration
	// Heartbeat is the period of the pages' rtc.ping (default 2 s).
	Heartbeat time.Duration
	// LinkCheck is how often the links of open parent pages are looked up
	// again, so that a revoked or expired link stops taking calls (it is
	// also checked before each ring). Default 5 s.
	LinkCheck time.Duration
	// ICE consent timeouts of the daemon's ICE agents (pion defaults are
	// 5 s, 25 s and 2 s; ours 3 s, 8 s and 1 s so that a vanished page is
	// found within ReconnectWindow).
	ICEDisconnectedTimeout, ICEFailedTimeout, ICEKeepalive time.Duration
	// AllowLoopback gathers loopback host candidates: for tests and a
	// demo with both browsers on the daemon's machine. Default false.
	AllowLoopback bool
	// IPv6 gathers IPv6 candidates too; default IPv4 only (UDP), which
	// halves the daemon's sockets and goroutines per call.
	IPv6 bool
	// UDPPortMin and UDPPortMax bound the daemon's ICE UDP ports
	// (inclusive); 0 = any. Unused when UDPPort is set.
	UDPPortMin, UDPPortMax uint16
	// UDPPort, when not 0, makes every PeerConnection share one UDP
	// socket per local address on this port (ICE UDP mux, RFC 8445
	// section 5.1.1.1 host candidates): one port to open in a firewall
	// for all calls. Default 0: each PeerConnection binds its own
	// ephemeral port (within UDPPortMin..UDPPortMax). New fails if the
	// port is taken.
	UDPPort int
	// Interfaces, when not empty, are the only network interfaces (by
	// name, e.g. "eth0", "lo") on which the daemon gathers host
	// candidates; each interface costs a socket and a receive goroutine
	// per PeerConnection. Default: all interfaces that are up (loopback
	// only with AllowLoopback).
	Interfaces []string
	// ReportInterval is the period of the daemon's RTCP sender and
	// receiver reports (default DefaultReportInterval, 1 s); the RTT in
	// the call's quality needs one report and its answer.
	ReportInterval time.Duration
	// PublicIPs are the daemon's public addresses behind a 1:1 NAT,
	// advertised as host candidates. Default none.
	PublicIPs []string
}

func (c *Config) defaults() {
	if c.RingTimeout <= 0 {
		c.RingTimeout = DefaultRingTimeout
	}
	if c.LinkCheck <= 0 {
		c.LinkCheck = 5 * time.Second
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = DefaultSetupTimeout
	}
	if c.ReconnectWindow <= 0 {
		c.ReconnectWindow = DefaultReconnectWindow
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.ICEDisconnectedTimeout <= 0 {
		c.ICEDisconnectedTimeout = DefaultICEDisconnectedTimeout
	}
	if c.ICEFailedTimeout <= 0 {
		c.ICEFailedTimeout = DefaultICEFailedTimeout
	}
	if c.ICEKeepalive <= 0 {
		c.ICEKeepalive = DefaultICEKeepalive
	}
	if c.ReportInterval <= 0 {
		c.ReportInterval = DefaultReportInterval
	}
	if c.TURNUser == "" {
		c.TURNUser = "kiosk"
	}
	if c.TURNTTL <= 0 {
		c.TURNTTL = DefaultTURNTTL
	}
}

// Opts are the Bridge's optional dependencies; the zero value of each
// field means its default.
type Opts struct {
	// Logger receives the bridge's logs (no names or tokens at info
	// level). Default: discard.
	Logger *slog.Logger
	// Now is the clock (time.Now); durations use its monotonic reading.
	Now func() time.Time
	// OnPresence is called, outside the bridge's locks, when a contact's
	// presence or "available until" may have changed, so that the
	// station can refresh the child's tiles. It must not block. Default
	// none.
	OnPresence func(kiosk.ContactID)
	// NewID returns a fresh session id (random 128-bit hex by default).
	NewID func() string
}

// TURNCredentials returns time-limited TURN credentials as in
// draft-uberti-behave-turn-rest-00 section 2.2 (coturn's use-auth-secret):
// username is "<expiry unix seconds>:<user>" and credential is
// base64(HMAC-SHA1(secret, username)).
func TURNCredentials(secret, user string, expires time.Time) (username, credential string) {
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + user
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// iceServers returns the configured servers with time-limited credentials
// filled in for TURN servers that have none, valid from now for TURNTTL.
func (c *Config) iceServers(now time.Time) []ICEServer {
	out := make([]ICEServer, 0, len(c.ICEServers))
	for _, s := range c.ICEServers {
		s.URLs = append([]string(nil), s.URLs...)
		if c.TURNSecret != "" && s.Username == "" && s.Credential == "" && isTURN(s.URLs) {
			s.Username, s.Credential = TURNCredentials(c.TURNSecret, c.TURNUser, now.Add(c.TURNTTL))
		}
		out = append(out, s)
	}
	return out
}

func isTURN(urls []string) bool {
	for _, u := range urls {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			return true
		}
	}
	return false
}
