//go:build !linux

package main

// reexecTuned does nothing off Linux: the daemon runs with the Go
// runtime's defaults there (development machines).
func reexecTuned() error { return nil }
