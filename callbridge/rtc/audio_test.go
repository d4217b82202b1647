package rtc_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/callbridge"
	"github.com/qinqing/station/callbridge/rtc"
	"github.com/qinqing/station/callbridge/rtc/rtctest"
	"github.com/qinqing/station/kiosk"
)

// noLinks is a kiosk.Links without links: headset legs need none.
type noLinks struct{}

func (noLinks) CreateLink(context.Context, kiosk.ContactID, time.Time) (string, kiosk.ParentLink, error) {
	return "", kiosk.ParentLink{}, kiosk.Errorf(kiosk.EINTERNAL, "no links")
}
func (noLinks) ResolveLink(context.Context, string) (kiosk.ParentLink, kiosk.Contact, kiosk.Child, error) {
	return kiosk.ParentLink{}, kiosk.Contact{}, kiosk.Child{}, kiosk.Errorf(kiosk.ENOTFOUND, "no links")
}
func (noLinks) RevokeLink(context.Context, int64) error                            { return nil }
func (noLinks) Links(context.Context, kiosk.ContactID) ([]kiosk.ParentLink, error) { return nil, nil }
func (noLinks) SetAvailableUntil(context.Context, kiosk.ContactID, time.Time) error {
	return nil
}

func newAudioBridge(t *testing.T) *rtc.Bridge {
	t.Helper()
	b, err := rtc.New(rtc.Config{
		AllowLoopback:          true,
		ReconnectWindow:        time.Second,
		Heartbeat:              100 * time.Millisecond,
		ICEDisconnectedTimeout: 500 * time.Millisecond,
		ICEFailedTimeout:       time.Second,
		ICEKeepalive:           100 * time.Millisecond,
	}, noLinks{}, rtc.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// attachHeadset connects a headset page as booth's kiosk screen. The
// daemon's messages reach it on a goroutine of their own, as through a
// websocket; drop closes its channel.
func attachHeadset(t *testing.T, b *rtc.Bridge, booth string, opts rtctest.HeadsetOpts) (h *rtctest.Headset, drop func()) {
	t.Helper()
	inbox := make(chan json.RawMessage, 256)
	var recv func(json.RawMessage)
	ready := make(chan struct{})
	h = rtctest.NewHeadset(opts, func(m json.RawMessage) {
		<-ready
		recv(m)
	})
	recv, detach := b.Screen(booth, func(m json.RawMessage) {
		select {
		case inbox <- m:
		default:
		}
	})
	close(ready)
	stop := make(chan struct{})
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		for {
			select {
			case m := <-inbox:
				h.Deliver(m)
			case <-stop:
				return
			}
		}
	}()
	var once bool
	drop = func() {
		if !once {
			once = true
			detach()
			close(stop)
			<-pumped
		}
	}
	t.Cleanup(func() { drop(); h.Close() })
	h.Hello()
	require.Eventually(t, func() bool { return h.Session() != "" }, 2*time.Second, 10*time.Millisecond, "the screen gets a session")
	return h, drop
}

func openAudio(t *testing.T, b *rtc.Bridge, booth, callID string) kiosk.MediaLeg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leg, err := b.OpenAudio(ctx, booth, callID)
	require.NoError(t, err, "open the headset leg")
	t.Cleanup(func() { _ = leg.Close() })
	return leg
}

func TestOpenAudioMediaBothWays(t *testing.T) {
	for _, tc := range []struct {
		name string
		pcma bool
		pt   uint8
	}{
		{"PCMU", false, callbridge.PayloadTypePCMU},
		{"PCMA", true, callbridge.PayloadTypePCMA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newAudioBridge(t)
			h, _ := attachHeadset(t, b, "b1", rtctest.HeadsetOpts{PCMA: tc.pcma})
			leg := openAudio(t, b, "b1", "call-1")

			offers := h.Offers()
			require.Len(t, offers, 1)
			assert.Equal(t, rtc.KindAudio, offers[0].Kind, "the page is asked for a headset leg")
			assert.Equal(t, "call-1", offers[0].Call)
			sdp := offers[0].SDP
			assert.Contains(t, sdp, "PCMU/8000")
			assert.Contains(t, sdp, "PCMA/8000")
			assert.NotContains(t, strings.ToLower(sdp), "opus", "no codec that would need transcoding")
			assert.NotContains(t, sdp, "m=video", "audio only")
			assert.Equal(t, tc.pt, leg.PayloadType(), "the browser's codec")
			assert.True(t, leg.RTPAddr().Addr().IsLoopback(), "plain RTP on loopback")

			// The relay's side of the leg.
			ep, err := callbridge.NewEndpoint(leg.RTPAddr().Addr())
			require.NoError(t, err)
			defer ep.Close()
			pts := make(chan uint8, 1)
			ep.SetHandler(func(hd *rtp.Header, _ []byte, _ time.Time) {
				select {
				case pts <- hd.PayloadType:
				default:
				}
			})
			leg.SetRemote(ep.LocalAddr())
			ep.SetRemote(leg.RTPAddr())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = ep.SendTone(ctx, callbridge.DemoTone, tc.pt) }()
			// telephone-event is not played to the child.
			require.NoError(t, ep.Send(101, []byte{1, 0, 0, 160}, true))

			require.Eventually(t, func() bool { return h.Received() > 20 }, 5*time.Second, 20*time.Millisecond,
				"the relay's RTP reaches the browser")
			assert.Equal(t, int(tc.pt), h.LastPayloadType(), "played with the negotiated payload type")
			require.Eventually(t, func() bool { n, _ := ep.Received(); return n > 20 }, 5*time.Second, 20*time.Millisecond,
				"the child's audio reaches the relay")
			assert.Equal(t, tc.pt, <-pts, "the child's audio keeps its G.711 payload type")

			require.NoError(t, leg.Close())
			select {
			case <-leg.Done():
			default:
				t.Fatal("Done is closed once Close returns")
			}
			require.Eventually(t, func() bool { return len(h.Ends()) == 1 }, 2*time.Second, 10*time.Millisecond,
				"the page is told the leg ended")
			assert.Equal(t, "call-1", h.Ends()[0].Call)
			require.Eventually(t, func() bool {
				s := h.PCState()
				return s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateDisconnected
			}, 5*time.Second, 20*time.Millisecond, "closing the leg closes the PeerConnection")
			require.NoError(t, leg.Close(), "Close is idempotent")
		})
	}
}

func TestOpenAudioNoScreen(t *testing.T) {
	b := newAudioBridge(t)
	attachHeadset(t, b, "other-booth", rtctest.HeadsetOpts{})
	_, err := b.OpenAudio(context.Background(), "b1", "call-1")
	require.Error(t, err)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "no screen at that booth")
}

func TestOpenAudioScreenNeverAnswers(t *testing.T) {
	b := newAudioBridge(t)
	h, _ := attachHeadset(t, b, "b1", rtctest.HeadsetOpts{NoAnswer: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := b.OpenAudio(ctx, "b1", "call-1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, h.Offers(), 1, "the page was offered a leg")
	require.Eventually(t, func() bool { return len(h.Ends()) == 1 }, 2*time.Second, 10*time.Millisecond,
		"the page is told to give up")
	// The screen is free again.
	_, err = b.OpenAudio(ctx, "b1", "call-2")
	require.ErrorIs(t, err, context.DeadlineExceeded, "a second attempt is offered, not refused as busy")
}

func TestOpenAudioPageRefuses(t *testing.T) {
	b := newAudioBridge(t)
	h, _ := attachHeadset(t, b, "b1", rtctest.HeadsetOpts{NoAnswer: true})
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := b.OpenAudio(ctx, "b1", "call-1")
		errc <- err
	}()
	require.Eventually(t, func() bool { return len(h.Offers()) == 1 }, 2*time.Second, 10*time.Millisecond)
	// No microphone: the page hangs up the offer.
	h.HangUp()
	select {
	case err := <-errc:
		require.Error(t, err)
		assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err))
	case <-time.After(5 * time.Second):
		t.Fatal("OpenAudio did not return after the page hung up")
	}
}

func TestHeadsetLegScreenVanishes(t *testing.T) {
	b := newAudioBridge(t)
	h, drop := attachHeadset(t, b, "b1", rtctest.HeadsetOpts{})
	leg := openAudio(t, b, "b1", "call-1")
	// The tab closes: websocket gone, PeerConnection gone.
	drop()
	h.ClosePC()
	select {
	case <-leg.Done():
	case <-time.After(8 * time.Second):
		t.Fatal("the leg did not end after the screen vanished")
	}
}

// TestHeadsetLegQuality checks that a headset leg measures its quality
// from RTCP as a video leg does (issue 3: RTT, jitter, packets lost of a
// headset phone call in the ledger), and keeps the figures after it ends.
func TestHeadsetLegQuality(t *testing.T) {
	b, err := rtc.New(rtc.Config{AllowLoopback: true, ReportInterval: 100 * time.Millisecond}, noLinks{}, rtc.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	h, _ := attachHeadset(t, b, "b1", rtctest.HeadsetOpts{LoseEvery: 10})
	leg := openAudio(t, b, "b1", "call-1")
	q, ok := leg.(interface{ Quality() kiosk.LegQuality })
	require.True(t, ok, "a headset leg reports its quality")

	// The trunk's side plays a tone into the headset: our sender reports
	// about it get the page's receiver reports back (the RTT).
	ep, err := callbridge.NewEndpoint(leg.RTPAddr().Addr())
	require.NoError(t, err)
	defer ep.Close()
	leg.SetRemote(ep.LocalAddr())
	ep.SetRemote(leg.RTPAddr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = ep.SendTone(ctx, callbridge.DemoTone, leg.PayloadType()) }()

	require.Eventually(t, func() bool { return q.Quality().RTTMs > 0 && q.Quality().PacketsLost > 0 }, 5*time.Second,
		20*time.Millisecond, "RTT from the page's receiver reports, loss from the microphone's sequence numbers")
	require.NoError(t, leg.Close())
	end := q.Quality()
	lost := h.Lost()
	assert.Greater(t, end.RTTMs, 0.0, "RTT kept after the leg ended")
	assert.Less(t, end.RTTMs, 1000.0, "RTT on loopback is well under a second")
	assert.Positive(t, end.PacketsLost, "the microphone's lost packets are counted")
	assert.LessOrEqual(t, end.PacketsLost, int64(lost), "no more lost than the page skipped")
	assert.GreaterOrEqual(t, end.JitterMs, 0.0)
	assert.Equal(t, end, q.Quality(), "the figures at the end stay")
}
