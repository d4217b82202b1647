package callbridge

import (
	"errors"
	"fmt"
	"math/bits"
)

// SampleRate is the G.711 sampling rate in Hz; one payload byte is one sample.
const SampleRate = 8000

// Static RTP payload types for G.711 (RFC 3551, table 4).
const (
	PayloadTypePCMU uint8 = 0 // μ-law
	PayloadTypePCMA uint8 = 8 // A-law
)

// ErrPayloadType is returned for a payload type that is neither PCMU (0) nor PCMA (8).
var ErrPayloadType = errors.New("callbridge: payload type is not G.711")

const (
	mulawBias = 0x84  // added before finding the segment, so every segment starts at a power of two
	mulawClip = 32635 // 0x7FFF minus the bias, so the biased magnitude fits in 15 bits
)

var (
	mulawDecodeTable [256]int16
	alawDecodeTable  [256]int16
)

func init() {
	for i := range 256 {
		mulawDecodeTable[i] = mulawDecode(byte(i))
		alawDecodeTable[i] = alawDecode(byte(i))
	}
}

// MulawEncode compresses one 16-bit linear sample to a G.711 μ-law byte
// (ITU-T G.711 table 2, with the 16-bit scaling of the usual reference
// implementations: full scale is ±32124). Samples beyond ±32635 clip.
func MulawEncode(s int16) byte {
	v := int32(s)
	var sign byte
	if v < 0 {
		sign = 0x80
		v = -v
	}
	if v > mulawClip {
		v = mulawClip
	}
	v += mulawBias
	// v is in [0x84, 0x7FFF]: its top set bit is bit 7..14, giving segments 0..7.
	seg := bits.Len32(uint32(v)) - 8
	mant := byte(v>>(seg+3)) & 0x0F
	return ^(sign | byte(seg)<<4 | mant)
}

// MulawDecode expands one G.711 μ-law byte to a 16-bit linear sample in
// [-32124, 32124]. Both 0xFF and 0x7F decode to 0.
func MulawDecode(b byte) int16 { return mulawDecodeTable[b] }

func mulawDecode(b byte) int16 {
	b = ^b
	seg := (b >> 4) & 0x07
	mant := int32(b & 0x0F)
	v := ((mant << 3) + mulawBias) << seg
	v -= mulawBias
	if b&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// AlawEncode compresses one 16-bit linear sample to a G.711 A-law byte
// (ITU-T G.711 table 1; even bits inverted, i.e. XOR 0x55 on the wire).
// The 3 low bits of the sample are below A-law resolution and ignored.
func AlawEncode(s int16) byte {
	v := int32(s) >> 3 // 13-bit linear
	mask := byte(0xD5)
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	// Segment 0 and 1 share a step of 2 (13-bit units); from segment 2 on the step doubles.
	var seg int
	if v >= 32 {
		seg = bits.Len32(uint32(v)) - 5
	}
	if seg >= 8 {
		return 0x7F ^ mask
	}
	var mant byte
	if seg < 2 {
		mant = byte(v>>1) & 0x0F
	} else {
		mant = byte(v>>seg) & 0x0F
	}
	return (byte(seg)<<4 | mant) ^ mask
}

// AlawDecode expands one G.711 A-law byte to a 16-bit linear sample in
// [-32256, 32256]; the smallest magnitudes are ±8 (A-law has no zero code).
func AlawDecode(b byte) int16 { return alawDecodeTable[b] }

func alawDecode(b byte) int16 {
	b ^= 0x55
	t := int32(b&0x0F) << 4
	seg := (b & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if b&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// Encode compresses pcm into dst (len(dst) must be >= len(pcm)) with the
// G.711 law of payload type pt (0 = PCMU, 8 = PCMA). It returns the number of
// bytes written, or an error wrapping ErrPayloadType.
func Encode(pt uint8, dst []byte, pcm []int16) (int, error) {
	if len(dst) < len(pcm) {
		return 0, fmt.Errorf("encode %d samples into %d bytes: short buffer", len(pcm), len(dst))
	}
	switch pt {
	case PayloadTypePCMU:
		for i, s := range pcm {
			dst[i] = MulawEncode(s)
		}
	case PayloadTypePCMA:
		for i, s := range pcm {
			dst[i] = AlawEncode(s)
		}
	default:
		return 0, fmt.Errorf("encode pt %d: %w", pt, ErrPayloadType)
	}
	return len(pcm), nil
}

// Decode expands a G.711 payload of type pt (0 = PCMU, 8 = PCMA) into dst
// (len(dst) must be >= len(payload)). It returns the number of samples
// written, or an error wrapping ErrPayloadType.
func Decode(pt uint8, dst []int16, payload []byte) (int, error) {
	if len(dst) < len(payload) {
		return 0, fmt.Errorf("decode %d bytes into %d samples: short buffer", len(payload), len(dst))
	}
	var table *[256]int16
	switch pt {
	case PayloadTypePCMU:
		table = &mulawDecodeTable
	case PayloadTypePCMA:
		table = &alawDecodeTable
	default:
		return 0, fmt.Errorf("decode pt %d: %w", pt, ErrPayloadType)
	}
	for i, b := range payload {
		dst[i] = table[b]
	}
	return len(payload), nil
}

// silenceByte is the G.711 code closest to zero for pt (PCMU 0xFF, PCMA 0xD5).
func silenceByte(pt uint8) byte {
	if pt == PayloadTypePCMA {
		return 0xD5
	}
	return 0xFF
}
