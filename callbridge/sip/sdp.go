package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SDP errors. Both map to 488 Not Acceptable Here.
var (
	// ErrBadSDP is returned for a body that is not a usable RFC 4566 session
	// description (no audio stream, no connection address, bad port).
	ErrBadSDP = errors.New("sip: malformed sdp")
	// ErrNoCommonCodec is returned when the offer has no codec we relay.
	ErrNoCommonCodec = errors.New("sip: no common codec")
)

// Payload types we relay (RFC 3551 static types, and the dynamic type we
// offer for telephone-event, RFC 4733).
const (
	PTPCMU           uint8 = 0
	PTPCMA           uint8 = 8
	PTTelephoneEvent uint8 = 101
)

// Media is the audio stream of a session description, as far as the relay
// needs it.
type Media struct {
	// RTP is the connection address (media-level c= or else session-level)
	// and the m=audio port. A port of 0 means the stream was refused.
	RTP netip.AddrPort
	// Payloads lists the m= line's formats in the sender's order of
	// preference.
	Payloads []uint8
	// RTPMap maps a payload type to its "encoding/clock" (upper-cased),
	// including the static ones without an a=rtpmap (0 -> "PCMU/8000").
	RTPMap map[uint8]string
	// TelephoneEvent is the telephone-event payload type, or -1 if absent.
	TelephoneEvent int
	// Direction is sendrecv (default), sendonly, recvonly or inactive.
	Direction string
}

// ParseSDP reads the first audio stream of an SDP body (RFC 4566). It
// returns ErrBadSDP (wrapped with the offending line) when the body has no
// v= line, no m=audio line, no connection address or an unparsable port,
// address or payload type.
func ParseSDP(body []byte) (Media, error) {
	m := Media{TelephoneEvent: -1, Direction: "sendrecv", RTPMap: map[uint8]string{}}
	var sessAddr, mediaAddr netip.Addr
	var port int
	inAudio, seenAudio, seenV := false, false, false
	for _, raw := range strings.Split(string(body), "\n") {
		line := strings.TrimRight(raw, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' {
			return Media{}, fmt.Errorf("%w: line %q", ErrBadSDP, line)
		}
		key, val := line[0], line[2:]
		switch key {
		case 'v':
			if val != "0" {
				return Media{}, fmt.Errorf("%w: version %q", ErrBadSDP, val)
			}
			seenV = true
		case 'm':
			inAudio = false
			f := strings.Fields(val)
			if len(f) < 4 {
				return Media{}, fmt.Errorf("%w: m line %q", ErrBadSDP, line)
			}
			if f[0] != "audio" || seenAudio {
				continue
			}
			if !strings.HasPrefix(f[2], "RTP/") {
				return Media{}, fmt.Errorf("%w: transport %q", ErrBadSDP, f[2])
			}
			p, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || p < 0 || p > 65535 {
				return Media{}, fmt.Errorf("%w: port %q", ErrBadSDP, f[1])
			}
			port = p
			for _, s := range f[3:] {
				pt, err := strconv.ParseUint(s, 10, 7)
				if err != nil {
					return Media{}, fmt.Errorf("%w: payload type %q", ErrBadSDP, s)
				}
				m.Payloads = append(m.Payloads, uint8(pt))
			}
			inAudio, seenAudio = true, true
		case 'c':
			f := strings.Fields(val)
			if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
				return Media{}, fmt.Errorf("%w: connection %q", ErrBadSDP, line)
			}
			a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
			if err != nil {
				return Media{}, fmt.Errorf("%w: connection address %q", ErrBadSDP, f[2])
			}
			if inAudio {
				mediaAddr = a
			} else if !seenAudio {
				sessAddr = a
			}
		case 'a':
			if !inAudio && seenAudio {
				continue
			}
			name, arg, _ := strings.Cut(val, ":")
			switch name {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				m.Direction = name
			case "rtpmap":
				ptS, enc, ok := strings.Cut(arg, " ")
				pt, err := strconv.ParseUint(ptS, 10, 7)
				if !ok || err != nil || enc == "" {
					return Media{}, fmt.Errorf("%w: rtpmap %q", ErrBadSDP, line)
				}
				enc = strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(enc)), "/1")
				m.RTPMap[uint8(pt)] = enc
				if strings.HasPrefix(enc, "TELEPHONE-EVENT/") && inAudio {
					m.TelephoneEvent = int(pt)
				}
			}
		}
	}
	if !seenV || !seenAudio {
		return Media{}, fmt.Errorf("%w: no audio stream", ErrBadSDP)
	}
	addr := mediaAddr
	if !addr.IsValid() {
		addr = sessAddr
	}
	if !addr.IsValid() {
		return Media{}, fmt.Errorf("%w: no connection address", ErrBadSDP)
	}
	for _, pt := range m.Payloads {
		if _, ok := m.RTPMap[pt]; ok {
			continue
		}
		switch pt {
		case PTPCMU:
			m.RTPMap[pt] = "PCMU/8000"
		case PTPCMA:
			m.RTPMap[pt] = "PCMA/8000"
		}
	}
	m.RTP = netip.AddrPortFrom(addr, uint16(port))
	return m, nil
}

// ChooseCodec returns the first payload type of the offer, in the
// offerer's order (RFC 3264 section 6.1), whose encoding is one of codecs
// ("PCMU", "PCMA"; nil means both, PCMU first for our own offers). It
// returns ErrNoCommonCodec if none matches.
func (m Media) ChooseCodec(codecs []string) (uint8, error) {
	if len(codecs) == 0 {
		codecs = []string{"PCMU", "PCMA"}
	}
	for _, pt := range m.Payloads {
		for _, c := range codecs {
			if m.RTPMap[pt] == strings.ToUpper(c)+"/8000" {
				return pt, nil
			}
		}
	}
	return 0, ErrNoCommonCodec
}

// codecPT maps a codec name to its static payload type; ok is false for
// codecs we do not relay.
func codecPT(name string) (uint8, bool) {
	switch strings.ToUpper(name) {
	case "PCMU":
		return PTPCMU, true
	case "PCMA":
		return PTPCMA, true
	}
	return 0, false
}

// SDPParams describes the offer or answer we send.
type SDPParams struct {
	// RTP is the relay's address and port for this leg.
	RTP netip.AddrPort
	// Payloads are the audio payload types, in our order of preference
	// (PTPCMU and/or PTPCMA); an answer carries just the chosen one.
	Payloads []uint8
	// TelephoneEvent is the telephone-event payload type to offer, or -1
	// for none.
	TelephoneEvent int
	// SessionID is the o= session id and version (any stable number).
	SessionID uint64
}

// BuildSDP returns an RFC 4566 session description with one sendrecv
// audio stream at p.RTP, CRLF line endings.
func BuildSDP(p SDPParams) []byte {
	ipv := "IP4"
	if p.RTP.Addr().Is6() && !p.RTP.Addr().Is4In6() {
		ipv = "IP6"
	}
	addr := p.RTP.Addr().Unmap().String()
	var b strings.Builder
	fmts := make([]string, 0, len(p.Payloads)+1)
	for _, pt := range p.Payloads {
		fmts = append(fmts, strconv.Itoa(int(pt)))
	}
	if p.TelephoneEvent >= 0 {
		fmts = append(fmts, strconv.Itoa(p.TelephoneEvent))
	}
	fmt.Fprintf(&b, "v=0\r\no=- %d %d IN %s %s\r\ns=qinqing\r\nc=IN %s %s\r\nt=0 0\r\n",
		p.SessionID, p.SessionID, ipv, addr, ipv, addr)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP %s\r\n", p.RTP.Port(), strings.Join(fmts, " "))
	for _, pt := range p.Payloads {
		switch pt {
		case PTPCMU:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case PTPCMA:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		}
	}
	if p.TelephoneEvent >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", p.TelephoneEvent, p.TelephoneEvent)
	}
	b.WriteString("a=ptime:20\r\na=sendrecv\r\n")
	return []byte(b.String())
}

// OfferParams is our offer for a leg: the given codecs (default PCMU then
// PCMA) plus telephone-event 101.
func OfferParams(rtp netip.AddrPort, codecs []string, sessionID uint64) SDPParams {
	p := SDPParams{RTP: rtp, TelephoneEvent: int(PTTelephoneEvent), SessionID: sessionID}
	if len(codecs) == 0 {
		codecs = []string{"PCMU", "PCMA"}
	}
	for _, c := range codecs {
		if pt, ok := codecPT(c); ok {
			p.Payloads = append(p.Payloads, pt)
		}
	}
	return p
}

// AnswerParams builds our answer to offer: the first common codec in the
// offer's order (restricted to codecs), and telephone-event with the
// offer's payload type if it offered one. It returns ErrNoCommonCodec if
// nothing matches.
func AnswerParams(offer Media, rtp netip.AddrPort, codecs []string, sessionID uint64) (SDPParams, error) {
	pt, err := offer.ChooseCodec(codecs)
	if err != nil {
		return SDPParams{}, err
	}
	return SDPParams{RTP: rtp, Payloads: []uint8{pt}, TelephoneEvent: offer.TelephoneEvent, SessionID: sessionID}, nil
}
