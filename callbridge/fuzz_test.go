package callbridge

import (
	"testing"

	"github.com/pion/rtp"
)

// FuzzParseRTP checks that any datagram is either refused or yields payload
// bounds inside the packet, and never panics.
func FuzzParseRTP(f *testing.F) {
	f.Add([]byte{0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4, 0xFF, 0xFF})
	f.Add([]byte{0xA0, 0x08, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4, 0xD5, 0x00, 0x02})
	f.Add([]byte{0x90, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0})
	f.Add([]byte("not rtp"))
	var h rtp.Header
	f.Fuzz(func(t *testing.T, b []byte) {
		start, end, ok := parseRTP(&h, b)
		if !ok {
			return
		}
		if start < 12 || start > end || end > len(b) {
			t.Fatalf("payload bounds %d..%d outside a %d-byte packet", start, end, len(b))
		}
		if h.Version != 2 {
			t.Fatalf("accepted version %d", h.Version)
		}
	})
}
