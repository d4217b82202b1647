package config

// Console is the [console] section: the managers' console (/console).
type Console struct {
	// QuietDays: an active child with no answered call in this many days
	// is "not heard from" (每个孩子都有家人的声音) on Today, in the
	// children list and in the monthly report. 1 to 365. Default 14.
	QuietDays int `toml:"quiet_days"`
}

// DefaultQuietDays is [console] quiet_days when the file sets none.
const DefaultQuietDays = 14

// console checks [console]: quiet_days from 1 to 365.
func (v *validator) console() {
	if d := v.c.Console.QuietDays; d < 1 || d > 365 {
		v.add("console.quiet_days", "%d: want 1 to 365 days", d)
	}
}
