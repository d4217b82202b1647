//go:build linux

package evdev

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl request numbers from linux/input.h, built as _IOC(dir, 'E', nr,
// size) with the generic encoding used by x86, arm and arm64.
const (
	iocRead  = 2
	iocWrite = 1
)

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'E'<<8 | nr }

func eviocgname(n uintptr) uintptr    { return ioc(iocRead, 0x06, n) }
func eviocgbit(ev, n uintptr) uintptr { return ioc(iocRead, 0x20+ev, n) }

var (
	eviocgid  = ioc(iocRead, 0x02, unsafe.Sizeof(InputID{}))
	eviocgrab = ioc(iocWrite, 0x90, unsafe.Sizeof(int32(0)))
)

// OpenNode opens an evdev node read-only. The file stays non-blocking in
// Go's poller, so Close unblocks a Read in progress.
func OpenNode(path string) (Node, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("evdev: open %s: %w", path, err)
	}
	return &fileNode{f: f}, nil
}

type fileNode struct{ f *os.File }

func (n *fileNode) Read(p []byte) (int, error) { return n.f.Read(p) }
func (n *fileNode) Close() error               { return n.f.Close() }

// ioctl runs request req with argument arg on the node's descriptor
// without taking it out of the poller (File.Fd would).
func (n *fileNode) ioctl(req uintptr, arg unsafe.Pointer) error {
	rc, err := n.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func (n *fileNode) Info() (Info, error) {
	var info Info
	name := make([]byte, 256)
	if err := n.ioctl(eviocgname(uintptr(len(name))), unsafe.Pointer(&name[0])); err != nil {
		return info, fmt.Errorf("evdev: EVIOCGNAME: %w", err)
	}
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	info.Name = string(name)
	if err := n.ioctl(eviocgid, unsafe.Pointer(&info.ID)); err != nil {
		return info, fmt.Errorf("evdev: EVIOCGID: %w", err)
	}
	var ev [4]byte
	if err := n.ioctl(eviocgbit(0, uintptr(len(ev))), unsafe.Pointer(&ev[0])); err != nil {
		return info, fmt.Errorf("evdev: EVIOCGBIT(0): %w", err)
	}
	info.Events = uint32(ev[0]) | uint32(ev[1])<<8 | uint32(ev[2])<<16 | uint32(ev[3])<<24
	if err := n.ioctl(eviocgbit(EvKey, uintptr(len(info.Keys))), unsafe.Pointer(&info.Keys[0])); err != nil {
		return info, fmt.Errorf("evdev: EVIOCGBIT(EV_KEY): %w", err)
	}
	return info, nil
}

func (n *fileNode) Grab() error {
	rc, err := n.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("evdev: EVIOCGRAB: %w", err)
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		// EVIOCGRAB takes the int by value, not a pointer.
		ierr = unix.IoctlSetInt(int(fd), uint(eviocgrab), 1)
	}); err != nil {
		return fmt.Errorf("evdev: EVIOCGRAB: %w", err)
	}
	if ierr != nil {
		return fmt.Errorf("evdev: EVIOCGRAB: %w", ierr)
	}
	return nil
}
