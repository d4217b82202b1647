package callbridge

import (
	"fmt"
	"math"
	"time"
)

// FullScaleDBm0 is the level, in dBm0, of a sine wave whose peak is 16-bit
// full scale (32767). ITU-T G.711 puts the A-law overload point at +3.14 dBm0
// (μ-law: +3.17 dBm0); the A-law figure is used for both laws.
const FullScaleDBm0 = 3.14

// rampSamples is the length of the linear fade at both ends of a tone burst
// (2 ms at 8 kHz), so bursts start and stop without an audible click.
const rampSamples = 16

// Tone describes a single-frequency call-progress tone with a cadence.
//
// Freq is in Hz. LevelDBm0 is the level of the sine in dBm0 (0 dBm0 has a
// peak of about 22 790 in 16-bit linear PCM; see FullScaleDBm0). On and Off
// are the cadence: a burst of On followed by Off of silence, repeated; Off <= 0
// means continuous. Total is the duration of the whole tone, cadence included;
// Total <= 0 means endless (until the caller stops it).
type Tone struct {
	Freq      float64
	LevelDBm0 float64
	On, Off   time.Duration
	Total     time.Duration
}

// Tones used in China (YD/T 1475 style signalling tones: 450 Hz at -10 dBm0).
var (
	// RingbackTone is the Chinese ringback: 1 s on, 4 s off, endless.
	RingbackTone = Tone{Freq: 450, LevelDBm0: -10, On: time.Second, Off: 4 * time.Second}
	// WarningTone is three short 450 Hz beeps (200 ms on, 200 ms off) lasting 1 s,
	// played into the child's ear before the call limit.
	WarningTone = Tone{Freq: 450, LevelDBm0: -10, On: 200 * time.Millisecond, Off: 200 * time.Millisecond, Total: time.Second}
	// DemoTone is what the demo trunk sends: 450 Hz, 1 s on and 250 ms off, endless.
	DemoTone = Tone{Freq: 450, LevelDBm0: -10, On: time.Second, Off: 250 * time.Millisecond}
)

// Peak returns the peak amplitude of the tone's sine in 16-bit linear PCM.
func (t Tone) Peak() float64 {
	return 32767 * math.Pow(10, (t.LevelDBm0-FullScaleDBm0)/20)
}

// Samples returns the number of 8 kHz samples in the whole tone, or -1 if
// the tone is endless (Total <= 0).
func (t Tone) Samples() int64 {
	if t.Total <= 0 {
		return -1
	}
	return durationSamples(t.Total)
}

func durationSamples(d time.Duration) int64 {
	return int64(d) * SampleRate / int64(time.Second)
}

// ToneGen produces the samples of a Tone, in order, at 8 kHz. It is not safe
// for concurrent use.
type ToneGen struct {
	n      int64 // samples produced so far
	total  int64 // samples in the whole tone; math.MaxInt64 when endless
	on     int64 // samples per burst; math.MaxInt64 when continuous
	period int64 // samples per burst plus pause
	peak   float64
	step   float64 // phase increment per sample, in radians
}

// NewToneGen returns a generator positioned at the start of t. Frequencies
// must be in (0, 4000) Hz, otherwise the generator produces silence.
func NewToneGen(t Tone) *ToneGen {
	g := &ToneGen{
		total:  math.MaxInt64,
		on:     math.MaxInt64,
		period: math.MaxInt64,
		peak:   t.Peak(),
		step:   2 * math.Pi * t.Freq / SampleRate,
	}
	if t.Freq <= 0 || t.Freq >= SampleRate/2 {
		g.peak = 0
	}
	if t.Total > 0 {
		g.total = durationSamples(t.Total)
	}
	if t.Off > 0 && t.On > 0 {
		g.on = durationSamples(t.On)
		g.period = g.on + durationSamples(t.Off)
	}
	return g
}

// Done reports whether every sample of a finite tone has been produced.
func (g *ToneGen) Done() bool { return g.n >= g.total }

// next returns the next sample, or false once the tone is over.
func (g *ToneGen) next() (int16, bool) {
	if g.n >= g.total {
		return 0, false
	}
	n := g.n
	g.n++
	pos := n % g.period
	if pos >= g.on {
		return 0, true
	}
	// Fade in at the burst start, fade out before the burst end or the tone end.
	left := min(g.on-pos, g.total-n)
	env := 1.0
	if pos < rampSamples {
		env = float64(pos) / rampSamples
	}
	if left < rampSamples {
		env = min(env, float64(left)/rampSamples)
	}
	// The phase restarts with each burst, so every burst begins at a zero crossing.
	return int16(math.Round(g.peak * env * math.Sin(g.step*float64(pos)))), true
}

// Read fills pcm with the next samples and returns how many were written;
// it is less than len(pcm) only at the end of a finite tone, and 0 after it.
func (g *ToneGen) Read(pcm []int16) int {
	for i := range pcm {
		s, ok := g.next()
		if !ok {
			return i
		}
		pcm[i] = s
	}
	return len(pcm)
}

// Payload writes the next len(dst) samples as a G.711 payload of type pt
// (0 = PCMU, 8 = PCMA). After the end of a finite tone the rest of dst is
// filled with silence. It returns the number of tone samples used, or an error
// wrapping ErrPayloadType (nothing is consumed then).
func (g *ToneGen) Payload(pt uint8, dst []byte) (int, error) {
	if pt != PayloadTypePCMU && pt != PayloadTypePCMA {
		return 0, fmt.Errorf("tone payload pt %d: %w", pt, ErrPayloadType)
	}
	used := 0
	for i := range dst {
		s, ok := g.next()
		if !ok {
			dst[i] = silenceByte(pt)
			continue
		}
		used++
		if pt == PayloadTypePCMU {
			dst[i] = MulawEncode(s)
		} else {
			dst[i] = AlawEncode(s)
		}
	}
	return used, nil
}

// Mix adds the next len(payload) tone samples to a G.711 payload of type pt
// in place: each byte is decoded, the tone sample added with saturation, and
// the sum re-encoded. Bytes past the end of a finite tone are left as they
// were. It returns the number of tone samples used, or an error wrapping
// ErrPayloadType (the payload is then untouched).
func (g *ToneGen) Mix(pt uint8, payload []byte) (int, error) {
	var table *[256]int16
	var enc func(int16) byte
	switch pt {
	case PayloadTypePCMU:
		table, enc = &mulawDecodeTable, MulawEncode
	case PayloadTypePCMA:
		table, enc = &alawDecodeTable, AlawEncode
	default:
		return 0, fmt.Errorf("tone mix pt %d: %w", pt, ErrPayloadType)
	}
	for i, b := range payload {
		s, ok := g.next()
		if !ok {
			return i, nil
		}
		sum := int32(table[b]) + int32(s)
		payload[i] = enc(int16(max(math.MinInt16, min(math.MaxInt16, sum))))
	}
	return len(payload), nil
}
