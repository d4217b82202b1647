package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockDataDir takes an exclusive lock on DIR/kiosk.lock for the life of
// the daemon, so that a second kioskd on the same data refuses to start
// instead of closing the first one's live calls as crashed. The kernel
// drops the lock when the process dies, even by kill -9.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "kiosk.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if err == unix.EWOULDBLOCK {
			return nil, fmt.Errorf("data dir %s is in use by another kioskd (lock %s held)", dir, path)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return f, nil
}
