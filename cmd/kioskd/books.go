package main

import (
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/ui"
)

// newBookDesk attaches the library to the station when [books] is
// enabled, lending by the config's rules of each child's class ([books]
// and its [[books.rules]] tables, days in the station's time zone); nil
// otherwise. It must run right after the station is created.
func (m *Main) newBookDesk() *kiosk.BookDesk {
	if !m.Config.Books.Enabled {
		return nil
	}
	return m.station.AttachLibrary(m.db.Library(m.Config.BookRulesByClass()))
}

// bookDesk returns the desk for ui.Opts.Books: a nil interface, not a
// nil pointer, when the library is off.
func (m *Main) bookDesk() ui.BookDesk {
	if m.desk == nil {
		return nil
	}
	return m.desk
}
