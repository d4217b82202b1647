//go:build !linux

package main

// clockSynced cannot ask the kernel outside Linux; it trusts the clock.
func clockSynced() bool { return true }
