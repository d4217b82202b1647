//go:build !linux

package evdev

import "errors"

// OpenNode fails: evdev exists on Linux only.
func OpenNode(path string) (Node, error) {
	return nil, errors.New("evdev: input devices need Linux")
}
