package rdm6300

import (
	"errors"
	"fmt"

	"github.com/qinqing/station/devices/cardreader"
)

// Frame bytes: STX, 10 hex digits of data (version byte + 4 data bytes),
// 2 hex digits of checksum, ETX. Hex digits are ASCII, either case.
const (
	stx       = 0x02
	etx       = 0x03
	hexDigits = 12 // 10 data + 2 checksum
	// FrameLen is the length of a frame on the wire, STX to ETX.
	FrameLen = hexDigits + 2
)

var (
	// ErrFrame reports bytes that are not a frame (wrong length, missing
	// STX or ETX, a non-hex digit).
	ErrFrame = errors.New("rdm6300: malformed frame")
	// ErrChecksum reports a frame whose checksum is not the XOR of its five
	// data bytes.
	ErrChecksum = errors.New("rdm6300: bad checksum")
)

// ParseFrame decodes one complete frame of FrameLen bytes: STX, 12 ASCII
// hex digits, ETX. The checksum (the last 2 digits) must equal the XOR of
// the 5 data bytes, the version byte included. Returns an error wrapping
// ErrFrame or ErrChecksum; errors never quote the card number.
func ParseFrame(frame []byte) (cardreader.EM4100, error) {
	if len(frame) != FrameLen {
		return cardreader.EM4100{}, fmt.Errorf("%w: %d bytes, want %d", ErrFrame, len(frame), FrameLen)
	}
	if frame[0] != stx || frame[FrameLen-1] != etx {
		return cardreader.EM4100{}, fmt.Errorf("%w: missing STX or ETX", ErrFrame)
	}
	return decodeDigits(frame[1 : FrameLen-1])
}

// decodeDigits decodes the 12 hex digits between STX and ETX.
func decodeDigits(d []byte) (cardreader.EM4100, error) {
	var id cardreader.EM4100
	var sum byte
	for i := 0; i < 6; i++ {
		hi, ok1 := unhex(d[2*i])
		lo, ok2 := unhex(d[2*i+1])
		if !ok1 || !ok2 {
			return cardreader.EM4100{}, fmt.Errorf("%w: non-hex digit", ErrFrame)
		}
		b := hi<<4 | lo
		if i < 5 {
			id[i] = b
			sum ^= b
		} else if b != sum {
			return cardreader.EM4100{}, ErrChecksum
		}
	}
	return id, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func isHex(c byte) bool { _, ok := unhex(c); return ok }

// DecoderStats counts what a Decoder saw.
type DecoderStats struct {
	Frames      uint64 // frames with a good checksum
	BadChecksum uint64 // complete frames whose checksum failed
	BadFrames   uint64 // frames cut short by a stray STX, a non-hex digit or a missing ETX
	Skipped     uint64 // bytes outside any frame (line noise, power-up garbage)
}

// Decoder assembles frames from a UART byte stream: a frame may arrive
// split across any number of writes, bytes before an STX are skipped, and
// a frame broken by a stray STX, a non-hex digit or a missing ETX is
// dropped and decoding resynchronises on the next STX. The zero value is
// ready to use; a Decoder is not safe for concurrent use.
type Decoder struct {
	digits [hexDigits]byte
	n      int  // digits collected
	in     bool // an STX was seen
	stats  DecoderStats
	// last is true when the last complete frame had a bad checksum.
	lastBad bool
}

// Write decodes p and calls fn for each frame with a good checksum, in
// order. It never fails: bad input is counted in Stats.
func (d *Decoder) Write(p []byte, fn func(cardreader.EM4100)) {
	for _, c := range p {
		if !d.in {
			if c == stx {
				d.in, d.n = true, 0
			} else {
				d.stats.Skipped++
			}
			continue
		}
		switch {
		case c == stx:
			// A frame cut short: start again at this STX.
			d.stats.BadFrames++
			d.n = 0
		case d.n < hexDigits && isHex(c):
			d.digits[d.n] = c
			d.n++
		case d.n == hexDigits && c == etx:
			d.in = false
			id, err := decodeDigits(d.digits[:])
			if err != nil {
				d.stats.BadChecksum++
				d.lastBad = true
				continue
			}
			d.stats.Frames++
			d.lastBad = false
			fn(id)
		default:
			d.stats.BadFrames++
			d.in = false
		}
	}
}

// Stats returns the counters since the Decoder was made.
func (d *Decoder) Stats() DecoderStats { return d.stats }
