package ui

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/qinqing/station/kiosk"
)

// BenchmarkScreenPush measures a station screen change to the websocket
// frame read by a screen client on loopback (the ui's share of "tap to
// screen"); it reports p50 and p99 in µs.
func BenchmarkScreenPush(b *testing.B) {
	st := newFakeStation("b1")
	srv, err := New(Opts{Station: st})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?booth=b1", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var m WSMessage
	if err := c.ReadJSON(&m); err != nil {
		b.Fatal(err)
	}
	sc := kiosk.Screen{Booth: "b1", Kind: kiosk.ScreenIdentified, Child: "王小明", QuotaMinutesLeft: ptr(20), QuotaCallsLeft: ptr(3),
		Tiles: []kiosk.Tile{{Slot: 1, Relation: "爸爸", Masked: "138****5678", Phone: true}, {Slot: 2, Relation: "妈妈", Masked: "139****1234", Phone: true}}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		st.push(sc)
		if err := c.ReadJSON(&m); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
