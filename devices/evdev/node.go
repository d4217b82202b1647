package evdev

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// InputID is struct input_id (EVIOCGID).
type InputID struct {
	Bustype, Vendor, Product, Version uint16
}

// Info is what the ioctls tell about an input node.
type Info struct {
	Name   string  // EVIOCGNAME, e.g. "Sycreader RFID Technology Co., Ltd SYC ID&IC USB Reader"
	ID     InputID // EVIOCGID
	Events uint32  // EVIOCGBIT(0): bit n set if the node sends event type n (EvKey, EvRel, ...)
	// Keys is EVIOCGBIT(EV_KEY): bit n set if the node has key code n.
	Keys [KeyMax/8 + 1]byte
}

// HasEvent reports whether the node sends event type t.
func (i *Info) HasEvent(t uint16) bool { return t < 32 && i.Events&(1<<t) != 0 }

// HasKey reports whether the node has key code c.
func (i *Info) HasKey(c uint16) bool {
	return int(c/8) < len(i.Keys) && i.Keys[c/8]&(1<<(c%8)) != 0
}

// SetKey marks key code c present (fakes use it).
func (i *Info) SetKey(c uint16) {
	i.Events |= 1 << EvKey
	i.Keys[c/8] |= 1 << (c % 8)
}

// IsKeyboard reports whether the node can type a card number: it sends
// key events and has the digit keys 1..0 of the top row and Enter. The
// mouse, consumer-control and system-control nodes that USB readers also
// expose lack these.
func (i *Info) IsKeyboard() bool {
	if !i.HasEvent(EvKey) || !i.HasKey(KeyEnter) {
		return false
	}
	for c := uint16(Key1); c <= Key0; c++ {
		if !i.HasKey(c) {
			return false
		}
	}
	return true
}

// Node is an open evdev node: Read returns whole struct input_event
// records in NativeLayout (fakes may split them; the reader reassembles).
// A node whose device was unplugged returns an error wrapping
// syscall.ENODEV from Read.
type Node interface {
	io.ReadCloser
	// Info runs EVIOCGNAME, EVIOCGID and EVIOCGBIT.
	Info() (Info, error)
	// Grab takes the device for this reader alone (EVIOCGRAB 1), so its
	// key presses reach no other program; Close releases it.
	Grab() error
}

// Opener opens the input node at path (an absolute path under the
// configured root).
type Opener func(path string) (Node, error)

var (
	// ErrNotFound reports that no input node matches the configuration.
	ErrNotFound = errors.New("evdev: no matching input device")
	// ErrNotKeyboard reports that the matching nodes cannot type digits
	// and Enter (a mouse or a consumer-control node).
	ErrNotKeyboard = errors.New("evdev: matching input device is not a keyboard")
)

// ParseID parses a USB vendor:product id as lsusb prints it ("ffff:0035",
// hex). Returns an error naming the expected form.
func ParseID(s string) (vendor, product uint16, err error) {
	v, p, ok := strings.Cut(strings.TrimSpace(s), ":")
	if ok {
		var vv, pp uint64
		vv, err = strconv.ParseUint(v, 16, 16)
		if err == nil {
			pp, err = strconv.ParseUint(p, 16, 16)
		}
		if err == nil {
			return uint16(vv), uint16(pp), nil
		}
	}
	return 0, 0, fmt.Errorf("evdev: device id %q: want vendor:product in hex, as lsusb prints it (ffff:0035)", s)
}
