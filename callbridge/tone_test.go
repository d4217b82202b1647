package callbridge

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zeroCrossings counts sign changes, ignoring exact zeros.
func zeroCrossings(pcm []int16) int {
	n, prev := 0, 0
	for _, s := range pcm {
		sign := 0
		if s > 0 {
			sign = 1
		} else if s < 0 {
			sign = -1
		}
		if sign != 0 {
			if prev != 0 && sign != prev {
				n++
			}
			prev = sign
		}
	}
	return n
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// levelDBm0 converts the RMS of a sine back to dBm0.
func levelDBm0(r float64) float64 {
	return 20*math.Log10(r*math.Sqrt2/32767) + FullScaleDBm0
}

func TestToneFrequencyAndLevel(t *testing.T) {
	cases := []struct {
		name  string
		freq  float64
		level float64
	}{
		{"china 450 Hz at -10 dBm0", 450, -10},
		{"1 kHz at 0 dBm0", 1000, 0},
		{"425 Hz at -20 dBm0", 425, -20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tone := Tone{Freq: tc.freq, LevelDBm0: tc.level, Total: time.Second}
			pcm := make([]int16, SampleRate+100)
			n := NewToneGen(tone).Read(pcm)
			require.Equal(t, SampleRate, n, "1 s of tone is 8000 samples")
			pcm = pcm[:n]
			assert.InDelta(t, 2*tc.freq, zeroCrossings(pcm), 2, "two zero crossings per cycle")
			// Skip the fades at both ends for the level.
			assert.InDelta(t, tc.level, levelDBm0(rms(pcm[100:n-100])), 0.05, "linear level in dBm0")

			for _, pt := range []uint8{PayloadTypePCMU, PayloadTypePCMA} {
				payload := make([]byte, SampleRate)
				used, err := NewToneGen(tone).Payload(pt, payload)
				require.NoError(t, err)
				require.Equal(t, SampleRate, used)
				dec := make([]int16, len(payload))
				_, err = Decode(pt, dec, payload)
				require.NoError(t, err)
				assert.InDelta(t, 2*tc.freq, zeroCrossings(dec), 4, "pt %d: zero crossings after G.711", pt)
				assert.InDelta(t, tc.level, levelDBm0(rms(dec[100:len(dec)-100])), 0.3, "pt %d: level after G.711", pt)
			}
		})
	}
}

func TestToneCadence(t *testing.T) {
	g := NewToneGen(WarningTone)
	pcm := make([]int16, 2*SampleRate)
	n := g.Read(pcm)
	require.Equal(t, SampleRate, n, "the warning tone lasts 1 s")
	assert.True(t, g.Done())
	assert.Zero(t, g.Read(pcm), "nothing after the end")

	// 20 ms blocks: beeps in [0,200), [400,600), [800,1000) ms, silence between.
	beeps := 0
	wasOn := false
	for blk := range 50 {
		block := pcm[blk*160 : (blk+1)*160]
		ms := blk * 20
		on := (ms/200)%2 == 0
		if on {
			assert.Greaterf(t, rms(block), 3000.0, "block at %d ms carries the tone", ms)
		} else {
			assert.Zerof(t, rms(block), "block at %d ms is silent", ms)
		}
		if on && !wasOn {
			beeps++
		}
		wasOn = on
	}
	assert.Equal(t, 3, beeps, "three beeps")
	assert.Zero(t, pcm[0], "a burst starts from zero (fade in)")
}

func TestToneEndless(t *testing.T) {
	g := NewToneGen(DemoTone)
	assert.Equal(t, int64(-1), DemoTone.Samples())
	pcm := make([]int16, 160)
	for range 1000 { // 20 s
		require.Equal(t, 160, g.Read(pcm))
	}
	assert.False(t, g.Done())
}

func TestToneMix(t *testing.T) {
	tone := Tone{Freq: 450, LevelDBm0: -10, Total: 30 * time.Millisecond} // 240 samples
	g := NewToneGen(tone)
	first := make([]byte, 160)
	for i := range first {
		first[i] = silenceByte(PayloadTypePCMU)
	}
	second := append([]byte(nil), first...)

	used, err := g.Mix(PayloadTypePCMU, first)
	require.NoError(t, err)
	assert.Equal(t, 160, used)
	dec := make([]int16, 160)
	_, _ = Decode(PayloadTypePCMU, dec, first)
	assert.Greater(t, rms(dec), 3000.0, "silence plus tone is the tone")

	used, err = g.Mix(PayloadTypePCMU, second)
	require.NoError(t, err)
	assert.Equal(t, 80, used, "the tone ends half way through the second packet")
	for i := 80; i < 160; i++ {
		require.Equalf(t, silenceByte(PayloadTypePCMU), second[i], "byte %d after the tone is untouched", i)
	}

	loud := make([]byte, 160)
	for i := range loud {
		loud[i] = 0x80 // μ-law positive full scale, 32124
	}
	_, err = NewToneGen(Tone{Freq: 450, LevelDBm0: 0, Total: time.Second}).Mix(PayloadTypePCMU, loud)
	require.NoError(t, err)
	_, _ = Decode(PayloadTypePCMU, dec, loud)
	for i, s := range dec {
		require.Positivef(t, s, "sample %d saturates instead of wrapping negative", i)
	}

	_, err = g.Mix(101, first)
	assert.ErrorIs(t, err, ErrPayloadType)
}
