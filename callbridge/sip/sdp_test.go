package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Media
		codec   uint8
		wantErr error
	}{
		{
			name: "session level c, PCMA preferred, telephone-event",
			body: "v=0\no=- 1 1 IN IP4 10.0.0.5\ns=-\nc=IN IP4 10.0.0.5\nt=0 0\nm=audio 4000 RTP/AVP 8 0 101\na=rtpmap:8 PCMA/8000\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=sendrecv\n",
			want: Media{RTP: netip.MustParseAddrPort("10.0.0.5:4000"), Payloads: []uint8{8, 0, 101},
				RTPMap: map[uint8]string{8: "PCMA/8000", 0: "PCMU/8000", 101: "TELEPHONE-EVENT/8000"}, TelephoneEvent: 101, Direction: "sendrecv"},
			codec: 8,
		},
		{
			name: "media level c wins, static types without rtpmap, video skipped",
			body: "v=0\no=- 1 1 IN IP4 1.1.1.1\ns=-\nc=IN IP4 1.1.1.1\nt=0 0\nm=video 5000 RTP/AVP 96\nc=IN IP4 9.9.9.9\nm=audio 6000 RTP/AVP 18 0\nc=IN IP4 2.2.2.2\na=rtpmap:18 G729/8000\na=sendonly\n",
			want: Media{RTP: netip.MustParseAddrPort("2.2.2.2:6000"), Payloads: []uint8{18, 0},
				RTPMap: map[uint8]string{18: "G729/8000", 0: "PCMU/8000"}, TelephoneEvent: -1, Direction: "sendonly"},
			codec: 0,
		},
		{
			name:    "no common codec",
			body:    "v=0\nc=IN IP4 1.1.1.1\nm=audio 6000 RTP/AVP 18\na=rtpmap:18 G729/8000\n",
			want:    Media{RTP: netip.MustParseAddrPort("1.1.1.1:6000"), Payloads: []uint8{18}, RTPMap: map[uint8]string{18: "G729/8000"}, TelephoneEvent: -1, Direction: "sendrecv"},
			wantErr: ErrNoCommonCodec,
		},
		{name: "empty", body: "", wantErr: ErrBadSDP},
		{name: "garbage", body: "hello world", wantErr: ErrBadSDP},
		{name: "no audio", body: "v=0\nc=IN IP4 1.1.1.1\nm=video 5000 RTP/AVP 96\n", wantErr: ErrBadSDP},
		{name: "no connection", body: "v=0\nm=audio 5000 RTP/AVP 0\n", wantErr: ErrBadSDP},
		{name: "bad port", body: "v=0\nc=IN IP4 1.1.1.1\nm=audio 99999 RTP/AVP 0\n", wantErr: ErrBadSDP},
		{name: "bad address", body: "v=0\nc=IN IP4 host.example\nm=audio 5000 RTP/AVP 0\n", wantErr: ErrBadSDP},
		{name: "bad payload type", body: "v=0\nc=IN IP4 1.1.1.1\nm=audio 5000 RTP/AVP 0 x\n", wantErr: ErrBadSDP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseSDP(crlf(tc.body))
			if errors.Is(tc.wantErr, ErrBadSDP) {
				require.ErrorIs(t, err, ErrBadSDP)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m)
			pt, err := m.ChooseCodec(nil)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.codec, pt, "first common codec in the offer's order")
		})
	}
}

func TestChooseCodecRestricted(t *testing.T) {
	m, err := ParseSDP(crlf("v=0\nc=IN IP4 1.1.1.1\nm=audio 6000 RTP/AVP 0 8\n"))
	require.NoError(t, err)
	pt, err := m.ChooseCodec([]string{"PCMA"})
	require.NoError(t, err)
	assert.Equal(t, PTPCMA, pt, "only PCMA allowed by the trunk")
}

func TestBuildSDPRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    SDPParams
	}{
		{"offer ipv4", OfferParams(netip.MustParseAddrPort("127.0.0.1:20000"), nil, 42)},
		{"offer pcma only", OfferParams(netip.MustParseAddrPort("192.168.1.2:30000"), []string{"PCMA", "G729"}, 1)},
		{"ipv6 no events", SDPParams{RTP: netip.MustParseAddrPort("[::1]:4000"), Payloads: []uint8{0}, TelephoneEvent: -1, SessionID: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := BuildSDP(tc.p)
			m, err := ParseSDP(body)
			require.NoError(t, err, "our own SDP must parse: %s", body)
			assert.Equal(t, tc.p.RTP, m.RTP)
			want := append([]uint8{}, tc.p.Payloads...)
			if tc.p.TelephoneEvent >= 0 {
				want = append(want, uint8(tc.p.TelephoneEvent))
			}
			assert.Equal(t, want, m.Payloads)
			assert.Equal(t, tc.p.TelephoneEvent, m.TelephoneEvent)
		})
	}
}

func TestAnswerParams(t *testing.T) {
	offer, err := ParseSDP(crlf("v=0\nc=IN IP4 1.1.1.1\nm=audio 6000 RTP/AVP 8 0 96\na=rtpmap:96 telephone-event/8000\n"))
	require.NoError(t, err)
	p, err := AnswerParams(offer, netip.MustParseAddrPort("127.0.0.1:5000"), nil, 1)
	require.NoError(t, err)
	assert.Equal(t, []uint8{8}, p.Payloads, "answer carries the first common codec only")
	assert.Equal(t, 96, p.TelephoneEvent, "answer keeps the offer's telephone-event type")
	_, err = AnswerParams(offer, netip.MustParseAddrPort("127.0.0.1:5000"), []string{"G722"}, 1)
	assert.ErrorIs(t, err, ErrNoCommonCodec)
}
