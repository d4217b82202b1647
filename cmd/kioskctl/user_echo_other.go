//go:build !linux

package main

import (
	"errors"
	"os"
)

// echoOff is only implemented on Linux; elsewhere the password is read
// with echo on, as from a pipe.
func echoOff(f *os.File) (func(), error) {
	return nil, errors.New("echo control not supported")
}
