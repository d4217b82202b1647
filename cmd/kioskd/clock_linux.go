package main

import "golang.org/x/sys/unix"

// clockSynced reports whether the kernel considers the wall clock
// synchronised (adjtimex(2): the state is not TIME_ERROR, i.e. an NTP
// daemon has disciplined it). A Raspberry Pi has no real-time clock, so
// until then every ledger entry is marked clock_synced=false.
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false
	}
	return state != unix.TIME_ERROR
}
