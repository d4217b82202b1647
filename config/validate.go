package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// MaxCallLimit is the longest per-call limit Validate accepts.
const MaxCallLimit = time.Hour

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// validator collects problems against the configuration's line map.
type validator struct {
	c     *Config
	probs Problems
}

// add records a problem with key. When key is not in the file the line is
// that of the nearest enclosing section (or 0) and the message says the
// key is not set there.
func (v *validator) add(key, format string, args ...any) {
	line, found := v.c.line(key)
	msg := key + ": " + fmt.Sprintf(format, args...)
	if !found {
		if v.c.lines != nil {
			msg += " (key not in the file: default or missing)"
		} else if line == 0 {
			msg += " (no file line: built-in value)"
		}
	}
	v.probs = append(v.probs, Problem{File: v.c.file, Line: line, Message: msg})
}

// Validate checks the configuration and returns nil, or a *Problems with
// every problem found, each on the line of the offending key when the
// configuration came from Parse (else line 0). It checks: the time zone
// loads; card_format is known; windows parse, do not overlap (also across
// lines: kiosk.CheckOverlap) and closures end on or after
// they start; the call limit is in (0, 1h] and each warning is positive,
// unique and shorter than it; quotas are not negative; the help code is
// 1..6 of 0-9*# and no speed-dial digit, the help limit is in (0, 2h],
// and at least one help number
// exists, each a short service number or a phone the roster import would
// accept (kiosk.ParseHelpNumber); SIP listen addresses are udp:/tcp:HOST:PORT,
// media_ip is an IP, timeouts are positive, extensions are unique with
// passwords of 8+ characters, trunks have unique names, sip: URIs, valid
// dial patterns and codecs; at least one booth, each with a unique id, an
// existing reader used by no other booth, an existing light, an existing
// extension used by no other booth (or a screen); devices are checked as
// described on Devices; data_dir is set; HTTP listen is HOST:PORT
// and admin, if set, is on loopback; tls_cert and tls_key are both set or
// neither, readable and a matching PEM pair (tls.go); console.quiet_days
// is 1..365.
func (c *Config) Validate() error {
	if c.file == "" {
		c.file = "config"
	}
	v := &validator{c: c}
	v.station()
	v.hours()
	v.limits()
	v.help()
	v.sip()
	v.devices()
	v.booths()
	v.storage()
	v.http()
	v.video()
	v.tvs()
	v.books()
	v.privacy()
	v.tls()     // tls.go
	v.console() // console.go
	if len(v.probs) == 0 {
		return nil
	}
	return ptr(v.probs.sorted())
}

func (v *validator) station() {
	s := v.c.Station
	if s.Timezone == "" {
		v.add("station.timezone", "empty; want an IANA zone such as %q", DefaultTimezone)
	} else if _, err := time.LoadLocation(s.Timezone); err != nil {
		v.add("station.timezone", "unknown time zone %q; want an IANA zone such as %q", s.Timezone, DefaultTimezone)
	}
	switch s.CardFormat {
	case CardHex, Card8H10D, CardReversed:
	default:
		v.add("station.card_format", "unknown card format %q; want %q, %q or %q", s.CardFormat, CardHex, Card8H10D, CardReversed)
	}
}

func (v *validator) hours() {
	h := v.c.Hours
	if len(h.Windows) == 0 {
		v.add("hours.windows", "no opening windows: calls would never be allowed (help calls still are)")
	}
	var prior []kiosk.Window // the lines so far that parse and overlap nothing
	for i, w := range h.Windows {
		ws, err := kiosk.ParseWindow(w)
		if err == nil {
			err = kiosk.CheckOverlap(append(slices.Clip(prior), ws...))
		}
		if err != nil {
			v.add(fmt.Sprintf("hours.windows[%d]", i), "%s", windowMessage(err))
			continue
		}
		prior = append(prior, ws...)
	}
	for i, cl := range h.Closures {
		k := fmt.Sprintf("hours.closure[%d]", i)
		switch {
		case cl.From.IsZero():
			v.add(k+".from", "missing; want the first closed day, \"YYYY-MM-DD\"")
		case cl.To.IsZero():
			v.add(k+".to", "missing; want the last closed day, \"YYYY-MM-DD\"")
		case cl.To.Before(cl.From):
			v.add(k+".to", "%s is before from %s", cl.To, cl.From)
		}
	}
}

// windowMessage is a kiosk.ParseWindow or CheckOverlap error in the
// config's words: without the "kiosk: " that kiosk.ErrWindow starts with,
// a Go package name that means nothing to whoever edits the file.
func windowMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "kiosk: ")
}

func (v *validator) limits() {
	l := v.c.Limits
	call := l.Call.Duration
	switch {
	case call <= 0:
		v.add("limits.call", "must be positive, such as \"5m\"")
	case call > MaxCallLimit:
		v.add("limits.call", "%v is longer than the maximum %v", call, MaxCallLimit)
	}
	seen := map[time.Duration]bool{}
	for i, w := range l.Warnings {
		k := fmt.Sprintf("limits.warnings[%d]", i)
		switch {
		case w.Duration <= 0:
			v.add(k, "must be positive")
		case seen[w.Duration]:
			v.add(k, "%v is listed twice", w.Duration)
		case call > 0 && w.Duration >= call:
			v.add(k, "warning %v before the end is not shorter than the call limit %v: it would play at answer", w.Duration, call)
		}
		seen[w.Duration] = true
	}
	if l.QuotaMinutes < 0 {
		v.add("limits.quota_minutes", "must not be negative (0 means unlimited)")
	}
	if l.QuotaCalls < 0 {
		v.add("limits.quota_calls", "must not be negative (0 means unlimited)")
	}
}

func (v *validator) help() {
	h := v.c.Help
	switch {
	case h.Code == "":
		v.add("help.code", "empty; want a short code such as %q", DefaultHelpCode)
	case len(h.Code) > 6 || strings.Trim(h.Code, "0123456789*#") != "":
		v.add("help.code", "%q: want 1 to 6 of 0-9, * and #", h.Code)
	case len(h.Code) == 1 && h.Code >= "1" && h.Code <= "5":
		v.add("help.code", "%q is a speed-dial digit (1..5 call the child's contacts)", h.Code)
	}
	switch l := h.Limit.Duration; {
	case l <= 0:
		v.add("help.limit", "must be positive, such as \"30m\"")
	case l > 2*time.Hour:
		v.add("help.limit", "%v is longer than the maximum 2h0m0s", l)
	}
	if h.DutyTeacher != "" {
		if err := checkHelpNumber(h.DutyTeacher); err != nil {
			v.add("help.duty_teacher", "%v", err)
		}
	}
	if h.DutyTeacher == "" && len(h.Numbers) == 0 {
		v.add("help.numbers", "no help number and no duty_teacher: the help code would reach nobody")
	}
	for i, n := range h.Numbers {
		if err := checkHelpNumber(n); err != nil {
			v.add(fmt.Sprintf("help.numbers[%d]", i), "%v", err)
		}
	}
}

// ParseListen splits a SIP listen address "udp:HOST:PORT" or
// "tcp:HOST:PORT" into its transport and HOST:PORT.
func ParseListen(s string) (transport, addr string, err error) {
	tr, rest, ok := strings.Cut(s, ":")
	if !ok || (tr != "udp" && tr != "tcp") {
		return "", "", fmt.Errorf("%q: want \"udp:HOST:PORT\" or \"tcp:HOST:PORT\"", s)
	}
	if err := checkHostPort(rest); err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return tr, rest, nil
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q: want 0..65535", port)
	}
	if host == "" {
		return nil // all interfaces
	}
	if _, err := netip.ParseAddr(host); err != nil && !hostnameRE.MatchString(host) {
		return fmt.Errorf("host %q: want an IP address or a host name", host)
	}
	return nil
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)

var codecs = []string{"PCMU", "PCMA", "telephone-event"}

func (v *validator) sip() {
	s := v.c.SIP
	if len(s.Listen) == 0 {
		v.add("sip.listen", "no listen address; want e.g. [\"udp:127.0.0.1:5060\"]")
	}
	for i, l := range s.Listen {
		if _, _, err := ParseListen(l); err != nil {
			v.add(fmt.Sprintf("sip.listen[%d]", i), "%v", err)
		}
	}
	if s.MediaIP != "" {
		if _, err := netip.ParseAddr(s.MediaIP); err != nil {
			v.add("sip.media_ip", "%q is not an IP address", s.MediaIP)
		}
	}
	if r := s.RTPPorts; r.Min < 1024 || r.Max > 65535 || r.Min >= r.Max {
		v.add("sip.rtp_ports", "%s: want 1024 <= LOW < HIGH <= 65535", r)
	}
	if s.RingTimeout.Duration <= 0 {
		v.add("sip.ring_timeout", "must be positive, such as \"45s\"")
	}
	if s.RTPTimeout.Duration <= 0 {
		v.add("sip.rtp_timeout", "must be positive, such as \"30s\"")
	}
	if d := s.TrunkTimeout.Duration; d < time.Second || d > 32*time.Second {
		v.add("sip.trunk_timeout", "%s: want 1s to 32s (RFC 3261 Timer B), such as \"8s\"", d)
	}
	users := map[string]bool{}
	for i, e := range s.Extensions {
		k := fmt.Sprintf("sip.extension[%d]", i)
		switch {
		case e.User == "":
			v.add(k+".user", "missing; want the phone's SIP user, such as \"101\"")
		case !idRE.MatchString(e.User):
			v.add(k+".user", "%q: want 1 to 32 letters, digits, - or _", e.User)
		case users[e.User]:
			v.add(k+".user", "%q is defined twice", e.User)
		case len(e.User) == 1 && e.User >= "1" && e.User <= "5":
			v.add(k+".user", "%q is a speed-dial digit", e.User)
		case e.User == v.c.Help.Code:
			v.add(k+".user", "%q is the help code", e.User)
		}
		users[e.User] = true
		if len(e.Password) < 8 {
			v.add(k+".password", "too short: at least 8 characters")
		}
	}
	if len(s.Trunks) == 0 {
		v.add("sip.trunk", "no [[sip.trunk]]: calls could not be placed")
	}
	names := map[string]bool{}
	for i, t := range s.Trunks {
		k := fmt.Sprintf("sip.trunk[%d]", i)
		switch {
		case t.Name == "":
			v.add(k+".name", "missing")
		case names[t.Name]:
			v.add(k+".name", "%q is defined twice", t.Name)
		}
		names[t.Name] = true
		if err := checkSIPURI(t.URI); err != nil {
			v.add(k+".uri", "%v", err)
		}
		if t.Password != "" && t.User == "" {
			v.add(k+".user", "missing: a password is set but no user")
		}
		if err := checkDialPattern(t.DialPattern); err != nil {
			v.add(k+".dial_pattern", "%v", err)
		}
		audio := false
		for j, cd := range t.Codecs {
			ck := fmt.Sprintf("%s.codecs[%d]", k, j)
			switch {
			case !slices.Contains(codecs, cd):
				v.add(ck, "unknown codec %q; want PCMU, PCMA or telephone-event (exact spelling)", cd)
			case slices.Index(t.Codecs, cd) != j:
				v.add(ck, "%q is listed twice", cd)
			}
			audio = audio || cd == "PCMU" || cd == "PCMA"
		}
		if !audio {
			v.add(k+".codecs", "no audio codec: want PCMU or PCMA")
		}
		if t.Channels < 0 {
			v.add(k+".channels", "must not be negative (0 means unlimited)")
		}
	}
}

// checkSIPURI accepts "sip:" or "sips:", optional "user@", a host and an
// optional port and parameters (RFC 3261 section 19.1, loosely).
func checkSIPURI(u string) error {
	rest, ok := strings.CutPrefix(u, "sip:")
	if !ok {
		rest, ok = strings.CutPrefix(u, "sips:")
	}
	if !ok {
		return fmt.Errorf("%q: want a SIP URI, such as \"sip:gateway.example.net:5060\"", u)
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	hostport, _, _ := strings.Cut(rest, ";")
	if hostport == "" {
		return fmt.Errorf("%q: no host", u)
	}
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return checkHostPort(hostport)
	}
	if err := checkHostPort(hostport + ":5060"); err != nil {
		if ip, err := netip.ParseAddr(strings.Trim(hostport, "[]")); err == nil && ip.Is6() {
			return nil
		}
		return fmt.Errorf("%q: %w", u, err)
	}
	return nil
}

func (v *validator) booths() {
	c := v.c
	if len(c.Booths) == 0 {
		v.add("booth", "no [[booth]]: nowhere to call from")
	}
	hasReader := func(name string) bool {
		return slices.ContainsFunc(c.Devices.Readers, func(d ReaderDevice) bool { return d.Name == name })
	}
	hasLight := func(name string) bool {
		return slices.ContainsFunc(c.Devices.Lights, func(d LightDevice) bool { return d.Name == name })
	}
	ids := map[string]bool{}
	readers := map[string]string{}
	lights := map[string]string{}
	exts := map[string]string{}
	for i, b := range c.Booths {
		k := fmt.Sprintf("booth[%d]", i)
		switch {
		case b.ID == "":
			v.add(k+".id", "missing")
		case !idRE.MatchString(b.ID):
			v.add(k+".id", "%q: want 1 to 32 letters, digits, - or _", b.ID)
		case ids[b.ID]:
			v.add(k+".id", "%q is defined twice", b.ID)
		}
		ids[b.ID] = true
		switch {
		case b.Reader == "":
			v.add(k+".reader", "missing; want the name of a [[devices.reader]]")
		case !hasReader(b.Reader):
			v.add(k+".reader", "no [[devices.reader]] named %q", b.Reader)
		case readers[b.Reader] != "":
			v.add(k+".reader", "reader %q is already used by booth %q", b.Reader, readers[b.Reader])
		default:
			readers[b.Reader] = b.ID
		}
		switch {
		case b.Light == "":
		case !hasLight(b.Light):
			v.add(k+".light", "no [[devices.light]] named %q", b.Light)
		case lights[b.Light] != "":
			v.add(k+".light", "light %q is already used by booth %q", b.Light, lights[b.Light])
		default:
			lights[b.Light] = b.ID
		}
		switch {
		case b.Extension == "" && !b.HasScreen():
			v.add(k+".extension", "missing: a booth needs a phone extension or a screen")
		case b.Extension == "":
		case !slices.ContainsFunc(c.SIP.Extensions, func(e Extension) bool { return e.User == b.Extension }):
			v.add(k+".extension", "no [[sip.extension]] with user %q", b.Extension)
		case exts[b.Extension] != "":
			v.add(k+".extension", "extension %q is already used by booth %q", b.Extension, exts[b.Extension])
		default:
			exts[b.Extension] = b.ID
		}
		switch s := b.Screen.(type) {
		case nil, bool:
		case string:
			if s != "" && !idRE.MatchString(s) {
				v.add(k+".screen", "%q: want 1 to 32 letters, digits, - or _", s)
			}
		default:
			v.add(k+".screen", "want true, false or a screen id string")
		}
	}
}

func (v *validator) storage() {
	if strings.TrimSpace(v.c.Storage.DataDir) == "" {
		v.add("storage.data_dir", "empty; want a directory such as %q", DefaultDataDir)
	}
}

func (v *validator) http() {
	h := v.c.HTTP
	if err := checkHostPort(h.Listen); err != nil {
		v.add("http.listen", "%q: %v", h.Listen, err)
	}
	if h.Admin == "" {
		return
	}
	if err := checkHostPort(h.Admin); err != nil {
		v.add("http.admin", "%q: %v", h.Admin, err)
		return
	}
	host, _, _ := net.SplitHostPort(h.Admin)
	ip, err := netip.ParseAddr(host)
	if host != "localhost" && (err != nil || !ip.IsLoopback()) {
		v.add("http.admin", "%q: the admin API must listen on loopback (127.0.0.1, ::1 or localhost)", h.Admin)
	}
}

func (v *validator) video() {
	vc := v.c.Video
	if vc.PublicURL != "" {
		u, err := url.Parse(vc.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("video.public_url", "%q: want an http:// or https:// URL that parents' phones can reach", vc.PublicURL)
		}
	}
	if d := vc.RingTimeout.Duration; d < 5*time.Second || d > 5*time.Minute {
		v.add("video.ring_timeout", "%s: want 5s to 5m", d)
	}
	if d := vc.PeerTimeout.Duration; d < time.Second || d > time.Minute {
		v.add("video.peer_timeout", "%s: want 1s to 1m", d)
	}
	if vc.UDPPort < 0 || vc.UDPPort > 65535 {
		v.add("video.udp_port", "%d: want 0 (ephemeral ports) or a UDP port 1 to 65535", vc.UDPPort)
	}
	for i, s := range vc.ICEServers {
		k := fmt.Sprintf("video.ice_server[%d]", i)
		if len(s.URLs) == 0 {
			v.add(k+".urls", "missing; want at least one stun: or turn: URL")
		}
		turn := false
		for j, u := range s.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch scheme {
			case "stun", "stuns":
			case "turn", "turns":
				turn = true
			default:
				v.add(fmt.Sprintf("%s.urls[%d]", k, j), "%q: want a stun:, stuns:, turn: or turns: URL", u)
			}
		}
		switch {
		case s.Secret != "" && (s.Username != "" || s.Credential != ""):
			v.add(k+".secret", "set either secret (time-limited credentials) or username/credential, not both")
		case turn && s.Secret == "" && (s.Username == "" || s.Credential == ""):
			v.add(k, "a TURN server needs username and credential, or secret")
		case s.TTL.Duration < 0:
			v.add(k+".ttl", "negative")
		}
	}
}
