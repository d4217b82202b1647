package evdev

import (
	"encoding/binary"
	"time"
	"unsafe"
)

// Event types and key codes from linux/input-event-codes.h.
const (
	EvSyn = 0x00
	EvKey = 0x01
	EvRel = 0x02
	EvAbs = 0x03
	EvMsc = 0x04

	KeyEsc        = 1
	Key1          = 2 // KEY_1..KEY_9 are 2..10, KEY_0 is 11
	Key0          = 11
	KeyEnter      = 28
	KeyLeftShift  = 42
	KeyRightShift = 54
	KeyKPEnter    = 96
	BtnLeft       = 0x110
	// KeyMax is the highest key code (KEY_MAX).
	KeyMax = 0x2ff
)

// Key values in an EV_KEY event.
const (
	KeyReleased = 0
	KeyPressed  = 1
	KeyRepeat   = 2
)

// InputEvent is one struct input_event from an evdev node.
type InputEvent struct {
	Time  time.Time // the kernel's timestamp (CLOCK_REALTIME unless changed)
	Type  uint16    // EvKey, EvSyn, ...
	Code  uint16    // key code for EvKey
	Value int32     // KeyReleased, KeyPressed or KeyRepeat for EvKey
}

// Layout is the size in bytes of struct input_event as the kernel hands it
// to this process: a struct timeval of two C longs, then __u16 type,
// __u16 code, __s32 value. A long is 8 bytes on 64-bit processes (24-byte
// events) and 4 bytes on 32-bit ones (16-byte events; 32-bit userspace
// built for 64-bit time_t keeps this layout, and a 64-bit kernel converts
// for 32-bit processes). Byte order is the machine's.
type Layout int

const (
	Layout32 Layout = 16
	Layout64 Layout = 24
)

// NativeLayout is the Layout of this process, from the size of a C long
// (Go's uint on Linux).
const NativeLayout = Layout(2*unsafe.Sizeof(uint(0)) + 8)

// Size returns the event size in bytes.
func (l Layout) Size() int { return int(l) }

// long returns the size of the timeval fields.
func (l Layout) long() int { return (int(l) - 8) / 2 }

// Decode decodes one event from b, which holds at least l.Size() bytes.
func (l Layout) Decode(b []byte) InputEvent {
	ne := binary.NativeEndian
	var sec, usec int64
	w := l.long()
	if w == 8 {
		sec, usec = int64(ne.Uint64(b)), int64(ne.Uint64(b[8:]))
	} else {
		sec, usec = int64(int32(ne.Uint32(b))), int64(int32(ne.Uint32(b[4:])))
	}
	o := 2 * w
	return InputEvent{
		Time:  time.Unix(sec, usec*1000),
		Type:  ne.Uint16(b[o:]),
		Code:  ne.Uint16(b[o+2:]),
		Value: int32(ne.Uint32(b[o+4:])),
	}
}

// Append appends e encoded in layout l to b; fakes use it to build event
// streams.
func (l Layout) Append(b []byte, e InputEvent) []byte {
	ne := binary.NativeEndian
	sec, usec := e.Time.Unix(), int64(e.Time.Nanosecond()/1000)
	if l.long() == 8 {
		b = ne.AppendUint64(b, uint64(sec))
		b = ne.AppendUint64(b, uint64(usec))
	} else {
		b = ne.AppendUint32(b, uint32(sec))
		b = ne.AppendUint32(b, uint32(usec))
	}
	b = ne.AppendUint16(b, e.Type)
	b = ne.AppendUint16(b, e.Code)
	return ne.AppendUint32(b, uint32(e.Value))
}

// keyChars maps key codes (US layout) to the character typed without and
// with shift; 0 means the key types nothing a reader or scanner sends.
var keyChars = func() [128][2]byte {
	var m [128][2]byte
	set := func(code int, plain, shifted byte) { m[code] = [2]byte{plain, shifted} }
	for i, c := range "1234567890" {
		set(Key1+i, byte(c), "!@#$%^&*()"[i])
	}
	set(12, '-', '_')
	set(13, '=', '+')
	for _, row := range []struct {
		first int
		keys  string
	}{{16, "qwertyuiop"}, {30, "asdfghjkl"}, {44, "zxcvbnm"}} {
		for i, c := range row.keys {
			set(row.first+i, byte(c), byte(c)-'a'+'A')
		}
	}
	set(51, ',', '<')
	set(52, '.', '>')
	set(53, '/', '?')
	set(39, ';', ':')
	set(57, ' ', ' ')
	// Keypad: the same with or without shift (num lock assumed on, as
	// wedge readers expect).
	for code, c := range map[int]byte{71: '7', 72: '8', 73: '9', 74: '-', 75: '4', 76: '5', 77: '6', 78: '+', 79: '1', 80: '2', 81: '3', 82: '0', 83: '.', 55: '*', 98: '/'} {
		set(code, c, c)
	}
	return m
}()

// DefaultKeyTimeout is the longest pause between two key presses of one
// code; a reader types a whole code in well under 100 ms.
const DefaultKeyTimeout = 500 * time.Millisecond

// maxLine bounds a typed code; longer input is dropped up to the next
// Enter.
const maxLine = 64

// KeyDecoder assembles the characters a keyboard-wedge device types into
// lines ended by Enter (main or keypad). Only key presses count: repeats
// (value 2) and releases are ignored, except that shift is tracked for
// upper case. Characters typed more than Timeout after the previous press
// (by event time) start a new line, so a half-typed code is never glued to
// the next one. The zero value uses DefaultKeyTimeout. Not safe for
// concurrent use.
type KeyDecoder struct {
	Timeout time.Duration

	buf      [maxLine]byte
	n        int
	overflow bool
	shift    [2]bool // left, right
	last     time.Time
}

// Event feeds one input event and returns the line typed when it is the
// Enter press that ends a non-empty line.
func (k *KeyDecoder) Event(e InputEvent) (string, bool) {
	if e.Type != EvKey {
		return "", false
	}
	switch e.Code {
	case KeyLeftShift, KeyRightShift:
		if e.Value != KeyRepeat {
			k.shift[b2i(e.Code == KeyRightShift)] = e.Value == KeyPressed
		}
		return "", false
	}
	if e.Value != KeyPressed {
		return "", false
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultKeyTimeout
	}
	if k.n > 0 || k.overflow {
		if e.Time.Sub(k.last) > timeout {
			k.n, k.overflow = 0, false
		}
	}
	k.last = e.Time
	if e.Code == KeyEnter || e.Code == KeyKPEnter {
		line, ok := string(k.buf[:k.n]), k.n > 0 && !k.overflow
		k.n, k.overflow = 0, false
		return line, ok
	}
	if int(e.Code) >= len(keyChars) {
		return "", false
	}
	c := keyChars[e.Code][b2i(k.shift[0] || k.shift[1])]
	if c == 0 {
		return "", false
	}
	if k.n == maxLine {
		k.overflow = true
		return "", false
	}
	k.buf[k.n] = c
	k.n++
	return "", false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
