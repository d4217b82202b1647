package callbridge

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMulawKnownValues(t *testing.T) {
	encode := []struct {
		name string
		in   int16
		want byte
	}{
		{"zero", 0, 0xFF},
		{"plus one", 1, 0xFF},
		{"minus one", -1, 0x7F},
		{"positive full scale", 32767, 0x80},
		{"negative full scale", -32768, 0x00},
		{"clip point", 32635, 0x80},
		{"first code of segment 1", 124, 0xEF}, // 124+132 = 256 is the start of segment 1
		{"small positive", 8, 0xFE},
		{"1000", 1000, 0xCE},
		{"-1000", -1000, 0x4E},
	}
	for _, tc := range encode {
		t.Run("encode "+tc.name, func(t *testing.T) {
			assert.Equalf(t, tc.want, MulawEncode(tc.in), "MulawEncode(%d)", tc.in)
		})
	}
	decode := []struct {
		in   byte
		want int16
	}{
		{0xFF, 0}, {0x7F, 0}, {0x80, 32124}, {0x00, -32124},
		{0xFE, 8}, {0x7E, -8}, {0xF0, 120}, {0xEF, 132}, {0xCE, 988},
	}
	for _, tc := range decode {
		t.Run("decode", func(t *testing.T) {
			assert.Equalf(t, tc.want, MulawDecode(tc.in), "MulawDecode(%#02x)", tc.in)
		})
	}
}

func TestAlawKnownValues(t *testing.T) {
	encode := []struct {
		name string
		in   int16
		want byte
	}{
		{"zero", 0, 0xD5},
		{"minus one", -1, 0x55},
		{"positive full scale", 32767, 0xAA},
		{"negative full scale", -32768, 0x2A},
		{"1000", 1000, 0xFA},
		{"-1000", -1000, 0x7A},
	}
	for _, tc := range encode {
		t.Run("encode "+tc.name, func(t *testing.T) {
			assert.Equalf(t, tc.want, AlawEncode(tc.in), "AlawEncode(%d)", tc.in)
		})
	}
	decode := []struct {
		in   byte
		want int16
	}{
		{0xD5, 8}, {0x55, -8}, {0xAA, 32256}, {0x2A, -32256}, {0xFA, 1008}, {0x7A, -1008},
	}
	for _, tc := range decode {
		t.Run("decode", func(t *testing.T) {
			assert.Equalf(t, tc.want, AlawDecode(tc.in), "AlawDecode(%#02x)", tc.in)
		})
	}
}

// Every code decodes to a value that encodes back to a code with the same value,
// and encoding is monotonic with a bounded quantisation error.
func TestG711Properties(t *testing.T) {
	laws := []struct {
		name   string
		enc    func(int16) byte
		dec    func(byte) int16
		maxErr float64 // relative to magnitude, above the small-signal floor
	}{
		{"mulaw", MulawEncode, MulawDecode, 1.0 / 16},
		{"alaw", AlawEncode, AlawDecode, 1.0 / 16},
	}
	for _, law := range laws {
		t.Run(law.name, func(t *testing.T) {
			for b := range 256 {
				v := law.dec(byte(b))
				require.Equalf(t, v, law.dec(law.enc(v)), "round trip of code %#02x (%d)", b, v)
			}
			prev := law.dec(law.enc(math.MinInt16))
			for s := math.MinInt16; s <= math.MaxInt16; s++ {
				got := law.dec(law.enc(int16(s)))
				require.GreaterOrEqualf(t, got, prev, "not monotonic at %d", s)
				prev = got
				if mag := math.Abs(float64(s)); mag > 256 && mag < 32000 {
					err := math.Abs(float64(got)-float64(s)) / mag
					require.LessOrEqualf(t, err, law.maxErr, "quantisation error at %d: got %d", s, got)
				}
			}
		})
	}
}

func TestEncodeDecodePayloadType(t *testing.T) {
	pcm := []int16{0, 1000, -1000, 32767}
	buf := make([]byte, len(pcm))
	out := make([]int16, len(pcm))
	for _, pt := range []uint8{PayloadTypePCMU, PayloadTypePCMA} {
		n, err := Encode(pt, buf, pcm)
		require.NoError(t, err)
		require.Equal(t, len(pcm), n)
		_, err = Decode(pt, out, buf)
		require.NoError(t, err)
		assert.InDelta(t, 1000, out[1], 64, "pt %d decodes 1000 near 1000", pt)
	}
	_, err := Encode(18, buf, pcm)
	assert.True(t, errors.Is(err, ErrPayloadType), "G.729 is refused: %v", err)
	_, err = Decode(101, out, buf)
	assert.True(t, errors.Is(err, ErrPayloadType), "telephone-event is refused: %v", err)
	_, err = Encode(0, buf[:1], pcm)
	assert.Error(t, err, "short buffer")
}
