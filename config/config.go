// Package config is the configuration of kioskd: a TOML file
// (firmware-config/kiosk.example.toml documents every key) decoded strictly
// over Default(), then checked by Validate, which reports every problem at
// once as "file:line: message".
//
// The file format is TOML v1.0.0 (https://toml.io/en/v1.0.0), decoded with
// github.com/pelletier/go-toml/v2: unknown keys, wrong types and bad values
// are errors carrying the line of the offending key. Durations are Go
// duration strings ("45s", "5m"); dates are "YYYY-MM-DD"; times of day are
// 24-hour "HH:MM" in the station's time zone.
package config

import (
	"crypto/rand"
	"time"

	_ "time/tzdata" // time zones on a bare Raspberry Pi with no /usr/share/zoneinfo
)

// Config is the whole daemon configuration. The zero value is not useful:
// start from Default (or Demo) and decode over it, as Parse does.
type Config struct {
	Station Station `toml:"station"`
	Hours   Hours   `toml:"hours"`
	Limits  Limits  `toml:"limits"`
	Help    Help    `toml:"help"`
	SIP     SIP     `toml:"sip"`
	Booths  []Booth `toml:"booth"`
	Devices Devices `toml:"devices"`
	Storage Storage `toml:"storage"`
	HTTP    HTTP    `toml:"http"`
	Video   Video   `toml:"video"`
	TVs     []TV    `toml:"tv"`
	Books   Books   `toml:"books"`
	Privacy Privacy `toml:"privacy"`
	Console Console `toml:"console"`

	// file names the source in problems; lines maps key paths
	// ("booth[0].reader") to their 1-based line in it. Both are set by
	// Parse; lines is nil for Default and Demo.
	file  string
	lines map[string]int
}

// Station is the [station] section.
type Station struct {
	// Name is shown on the screens and in the registers. Default
	// "Qinqing Station".
	Name string `toml:"name"`
	// School is the school's name for the registers. Default "".
	School string `toml:"school"`
	// Timezone is an IANA zone name; opening hours, closures and the
	// quota week are in it. Default "Asia/Shanghai".
	Timezone string `toml:"timezone"`
	// CardFormat says how the card numbers in the roster map to reader
	// UIDs: "hex" (UID bytes in hex, as readers report them), "8h10d" (the
	// 10-digit decimal printed on many cards: the 4-byte UID as a
	// big-endian number) or "reversed" (hex with the byte order
	// reversed). Default "hex".
	CardFormat string `toml:"card_format"`
}

// Card number formats for Station.CardFormat.
const (
	CardHex      = "hex"
	Card8H10D    = "8h10d"
	CardReversed = "reversed"
)

// Hours is the [hours] section: weekly opening windows and closures, in
// the station's time zone. Help calls ignore them.
type Hours struct {
	// Windows are weekly opening windows in kiosk.ParseWindow's form,
	// "DAYS HH:MM-HH:MM[,HH:MM-HH:MM]": DAYS is a day (mon..sun), a range
	// ("mon-fri", "fri-mon"), a comma list ("mon,wed"), "daily",
	// "weekdays" or "weekends". An end before the start crosses midnight
	// ("fri 20:00-01:00" closes at 01:00 on Saturday); "24:00" is the end
	// of the day. Default ["mon-fri 16:30-18:00", "sat-sun 09:00-11:00"].
	Windows []string `toml:"windows"`
	// Closures are [[hours.closure]] tables. Default none.
	Closures []Closure `toml:"closure"`
}

// Closure is a [[hours.closure]]: closed from From to To, both dates
// included, whatever the windows say.
type Closure struct {
	From Date   `toml:"from"`
	To   Date   `toml:"to"`
	Note string `toml:"note"`
}

// Limits is the [limits] section.
type Limits struct {
	// Call is the per-call limit, counted from answer. Default 5m; at
	// most 1h.
	Call Duration `toml:"call"`
	// Warnings are the times before the limit at which the child hears a
	// tone and sees a banner; each must be shorter than Call. Default
	// ["120s", "60s"]. A per-child or per-contact limit shorter than a
	// warning skips that warning (it would fire at answer).
	Warnings []Duration `toml:"warnings"`
	// QuotaMinutes is the weekly quota of answered minutes per child,
	// week starting Monday 00:00 local; 0 means unlimited. Default 0.
	QuotaMinutes int `toml:"quota_minutes"`
	// QuotaCalls is the weekly quota of answered calls per child; 0 means
	// unlimited. Default 0.
	QuotaCalls int `toml:"quota_calls"`
}

// Help is the [help] section. Help calls skip hours, quotas and the queue.
type Help struct {
	// Code is what a booth phone dials to reach help; it must not be a
	// speed-dial digit 1..5. Default "0".
	Code string `toml:"code"`
	// DutyTeacher is the duty teacher's number, dialled first for Code.
	// Default "" (none).
	DutyTeacher string `toml:"duty_teacher"`
	// Numbers are the other help and emergency numbers a child may always
	// call (e.g. 12355, the youth hotline), "+E.164" or a short or
	// national number. With no DutyTeacher the first is dialled for Code.
	// Default ["12355"].
	Numbers []string `toml:"numbers"`
	// Limit is the per-call limit of help calls, which no child or
	// contact override changes. Default 30m; at most 2h.
	Limit Duration `toml:"limit"`
}

// SIP is the [sip] section.
type SIP struct {
	// Listen are the SIP listen addresses, "udp:HOST:PORT" or
	// "tcp:HOST:PORT". Default ["udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"].
	Listen []string `toml:"listen"`
	// MediaIP is the IP address put into our SDP and RTP sockets. Default
	// "": the host of the first listen address.
	MediaIP string `toml:"media_ip"`
	// RTPPorts is the UDP port range for relayed RTP/RTCP. Default
	// "10000-10999".
	RTPPorts PortRange `toml:"rtp_ports"`
	// RingTimeout ends an unanswered call (NO ANSWER). Default 45s.
	RingTimeout Duration `toml:"ring_timeout"`
	// TrunkTimeout fails a call whose trunk sent no response at all to the
	// INVITE, not even 100 Trying (FAILED, SIP code 408), instead of RFC
	// 3261's Timer B (32 s). Default 8s; a slow GSM gateway may need more.
	TrunkTimeout Duration `toml:"trunk_timeout"`
	// RTPTimeout hangs up an answered call that received no RTP for this
	// long (cause rtp_timeout). Default 30s.
	RTPTimeout Duration `toml:"rtp_timeout"`
	// Extensions are the booth phones' accounts ([[sip.extension]]).
	Extensions []Extension `toml:"extension"`
	// Trunks are the outgoing SIP trunks ([[sip.trunk]]); calls use the
	// first with a free channel.
	Trunks []Trunk `toml:"trunk"`
}

// Extension is a [[sip.extension]]: a booth phone account registering to
// our registrar with digest authentication.
type Extension struct {
	// User is the SIP user (e.g. "101"); not a speed-dial digit 1..5
	// and not the help code.
	User string `toml:"user"`
	// Password is the digest password, at least 8 characters.
	Password string `toml:"password"`
}

// Trunk is a [[sip.trunk]]: a carrier account or a GSM/4G SIP gateway.
type Trunk struct {
	// Name identifies the trunk in logs and the ledger.
	Name string `toml:"name"`
	// URI is where INVITEs go: "sip:HOST[:PORT][;transport=tcp]" (or
	// sips:).
	URI string `toml:"uri"`
	// User and Password answer the trunk's digest challenges (401/407);
	// User is also the From user. Default "" (no authentication).
	User     string `toml:"user"`
	Password string `toml:"password"`
	// DialPattern turns a contact number into the request-URI user: a
	// template with exactly one of {e164} (+8613812345678), {e164digits}
	// (8613812345678) or {national} (13812345678; numbers outside +86
	// become 00 + digits), plus digits, "+", "*" or "#". Short numbers
	// such as 12355 are sent as they are. Default "{national}".
	DialPattern string `toml:"dial_pattern"`
	// Codecs offered to the trunk, a subset of PCMU, PCMA and
	// telephone-event with at least one of PCMU/PCMA. Default
	// ["PCMU", "PCMA", "telephone-event"].
	Codecs []string `toml:"codecs"`
	// Channels is the most concurrent calls on this trunk; 0 means
	// unlimited. Default 0.
	Channels int `toml:"channels"`
}

// Booth is a [[booth]]: one calling place.
type Booth struct {
	// ID is the booth's id in URLs, the ledger and kioskctl --booth:
	// letters, digits, "-" and "_".
	ID string `toml:"id"`
	// Name is shown to people ("Booth 1"). Default: the ID.
	Name string `toml:"name"`
	// Reader names a [[devices.reader]]; taps on it identify the child at
	// this booth. Required.
	Reader string `toml:"reader"`
	// Light names a [[devices.light]]. Default "" (no light).
	Light string `toml:"light"`
	// Extension is the SIP user of the booth phone, one of
	// [[sip.extension]]. Default "" (screen only; then Screen is needed).
	Extension string `toml:"extension"`
	// Screen is true (the booth has a kiosk screen at /?booth=<id>),
	// false, or a string: the screen id used in the URL instead of the
	// booth id. Default false. Read it with HasScreen and ScreenID.
	Screen any `toml:"screen"`
}

// HasScreen reports whether the booth has a kiosk screen.
func (b Booth) HasScreen() bool {
	switch s := b.Screen.(type) {
	case bool:
		return s
	case string:
		return s != ""
	}
	return false
}

// ScreenID returns the id the booth's screen page is opened with
// (/?booth=ID): the screen string if one is set, else the booth id; ""
// when the booth has no screen.
func (b Booth) ScreenID() string {
	if !b.HasScreen() {
		return ""
	}
	if s, ok := b.Screen.(string); ok {
		return s
	}
	return b.ID
}

// Storage is the [storage] section.
type Storage struct {
	// DataDir holds the SQLite ledger and the admin token. Default
	// "./kiosk-data".
	DataDir string `toml:"data_dir"`
}

// HTTP is the [http] section.
type HTTP struct {
	// Listen is the address of the kiosk screen and console, HOST:PORT.
	// Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// Admin is the address of the admin API used by kioskctl; it must be
	// a loopback address. When set, kioskd serves there, in plain HTTP,
	// everything Listen serves (for kioskctl and the kiosk's own screen
	// when Listen is HTTPS). Default "": the admin API is served on
	// Listen and answered only to loopback clients.
	Admin string `toml:"admin"`
	// TLSCert and TLSKey are PEM files (certificate chain, leaf first;
	// private key): both set, Listen serves HTTPS (TLS 1.2 or later) and
	// the files are read again when they change; neither set, plain HTTP.
	// Parents' phones open the video page only over HTTPS (a browser's
	// camera needs a secure context), so a station serving parents
	// without a reverse proxy needs them. Default "" (see tls.go).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
}

// Defaults.
const (
	DefaultTimezone    = "Asia/Shanghai"
	DefaultCallLimit   = 5 * time.Minute
	DefaultRingTimeout = 45 * time.Second
	// DefaultTrunkTimeout is [sip] trunk_timeout.
	DefaultTrunkTimeout = 8 * time.Second
	DefaultRTPTimeout   = 30 * time.Second
	DefaultPeerTimeout  = 10 * time.Second
	DefaultTURNTTL      = 12 * time.Hour
	DefaultDataDir      = "./kiosk-data"
	DefaultHTTPListen   = "127.0.0.1:8080"
	DefaultHelpCode     = "0"
	DefaultHelpLimit    = 30 * time.Minute
	DefaultDialPattern  = "{national}"
)

// Default returns the configuration with every default filled in. It has
// no booths, extensions, trunks or devices, so it does not validate on its
// own: a file must add them.
func Default() Config {
	return Config{
		Station: Station{
			Name:       "Qinqing Station",
			Timezone:   DefaultTimezone,
			CardFormat: CardHex,
		},
		Hours: Hours{
			Windows: []string{"mon-fri 16:30-18:00", "sat-sun 09:00-11:00"},
		},
		Limits: Limits{
			Call:     D(DefaultCallLimit),
			Warnings: []Duration{D(120 * time.Second), D(60 * time.Second)},
		},
		Help: Help{
			Code:    DefaultHelpCode,
			Numbers: []string{"12355"},
			Limit:   D(DefaultHelpLimit),
		},
		SIP: SIP{
			Listen:       []string{"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"},
			RTPPorts:     PortRange{10000, 10999},
			RingTimeout:  D(DefaultRingTimeout),
			TrunkTimeout: D(DefaultTrunkTimeout),
			RTPTimeout:   D(DefaultRTPTimeout),
		},
		Storage: Storage{DataDir: DefaultDataDir},
		HTTP:    HTTP{Listen: DefaultHTTPListen},
		Video:   Video{Enabled: true, RingTimeout: D(DefaultRingTimeout), PeerTimeout: D(DefaultPeerTimeout)},
		Books:   DefaultBooks(),
		Privacy: Privacy{Retention: DefaultRetention},
		Console: Console{QuietDays: DefaultQuietDays},
		file:    "default",
	}
}

// Video configures video calls between the kiosk screen and the parents'
// pages (WebRTC).
type Video struct {
	// Enabled turns video calls on. Default true.
	Enabled bool `toml:"enabled"`
	// PublicURL is the base of the parents' links, as their phones reach
	// the daemon ("https://kiosk.school.example"); kioskctl prints links
	// under it. Default "" (http://127.0.0.1:8080, only for the demo).
	PublicURL string `toml:"public_url"`
	// RingTimeout is how long the parent's page rings. Default 45 s.
	RingTimeout Duration `toml:"ring_timeout"`
	// PeerTimeout is how long a page may vanish (ICE down, no signaling
	// heartbeat) before the call ends as peer_lost; a page that comes back
	// within it resumes. Default 10 s.
	PeerTimeout Duration `toml:"peer_timeout"`
	// UDPPort, when not 0, is the one UDP port on which kioskd takes the
	// media of every video call (ICE UDP mux): the only port to open in a
	// firewall, e.g. 10100. Default 0: each call binds ephemeral ports.
	UDPPort int `toml:"udp_port"`
	// ICEServers are the STUN and TURN servers given to both legs. TURN
	// must be reachable from the internet: it cannot run usefully on the
	// kiosk behind the school's NAT (see firmware-config/turn/).
	ICEServers []ICEServer `toml:"ice_server"`
}

// ICEServer is one STUN or TURN server (W3C RTCIceServer).
type ICEServer struct {
	// URLs such as "stun:stun.example.org:3478" or
	// "turn:turn.example.org:3478?transport=udp".
	URLs []string `toml:"urls"`
	// Username and Credential are static TURN credentials.
	Username   string `toml:"username"`
	Credential string `toml:"credential"`
	// Secret is a TURN REST shared secret (coturn use-auth-secret): the
	// daemon then makes time-limited credentials valid for TTL, instead
	// of Username/Credential. Default TTL 12 h.
	Secret string   `toml:"secret"`
	TTL    Duration `toml:"ttl"`
}

// DefaultTrunk returns a [[sip.trunk]] with its defaults filled in
// (dial pattern "{national}", all three codecs). Parse starts every
// [[sip.trunk]] from it.
func DefaultTrunk() Trunk {
	return Trunk{
		DialPattern: DefaultDialPattern,
		Codecs:      []string{"PCMU", "PCMA", "telephone-event"},
	}
}

// Demo names used by Demo.
const (
	DemoBooth       = "booth1"
	DemoExtension   = "101"
	DemoTrunk       = "demo"
	DemoReader      = "reader1"
	DemoLight       = "light1"
	DemoTrunkURI    = "sip:127.0.0.1:5070" // placeholder: kioskd replaces it with its demo trunk's address
	DemoCallLimit   = 60 * time.Second
	DemoWarning     = 30 * time.Second
	DemoDutyTeacher = "+8613800000000" // fictional
)

// Demo returns the -demo configuration: booth "booth1" with sim reader
// "reader1", sim light "light1", phone extension "101" (with a random
// 26-character password, read it from SIP.Extensions[0]) and a screen; one trunk "demo" whose
// URI the caller replaces with the loopback address of its built-in demo
// trunk (DemoTrunkURI is a placeholder); open 24/7 so the demo works at any
// hour; per-call limit 60 s with a single warning 30 s before the end (the
// default 60 s warning would fire at answer); help code "0" reaching a
// fictional duty teacher or 12355. It validates.
func Demo() Config {
	c := Default()
	c.file = "demo"
	c.Station.Name = "Qinqing Station (demo)"
	c.Hours.Windows = []string{"daily 00:00-24:00"}
	c.Limits.Call = D(DemoCallLimit)
	c.Limits.Warnings = []Duration{D(DemoWarning)}
	c.Help.DutyTeacher = DemoDutyTeacher
	c.Help.Numbers = []string{"12355"}
	c.SIP.Extensions = []Extension{{User: DemoExtension, Password: rand.Text()}}
	t := DefaultTrunk()
	t.Name, t.URI, t.DialPattern = DemoTrunk, DemoTrunkURI, "{e164}"
	c.SIP.Trunks = []Trunk{t}
	c.Devices.Readers = []ReaderDevice{{Name: DemoReader, Kind: KindSim}}
	c.Devices.Lights = []LightDevice{{Name: DemoLight, Kind: KindSim}}
	c.Booths = []Booth{{
		ID: DemoBooth, Name: "Booth 1", Reader: DemoReader, Light: DemoLight,
		Extension: DemoExtension, Screen: true,
	}}
	return c
}

// File returns the name problems are reported against: the name given to
// Parse, or "default" / "demo".
func (c *Config) File() string { return c.file }
