package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/books"
)

// scannerConfig has one booth b1 with a simulated reader and a USB
// barcode scanner (evdev) whose node is missing until the test plugs in
// the fake; [books] is on by default.
const scannerConfig = `
[hours]
windows = ["daily 00:00-24:00"]

[[sip.extension]]
user = "101"
password = "password-101"

[[sip.trunk]]
name = "t"
uri = "sip:127.0.0.1:5070"

[[booth]]
id = "b1"
reader = "r1"
extension = "101"
screen = true

[[devices.reader]]
name = "r1"
kind = "sim"

[[devices.scanner]]
name = "scan1"
booth = "b1"
kind = "evdev"
path = "/dev/input/by-id/usb-reader-event-kbd"
`

// scanRoster imports one child with card 04A1B2C3 and a catalogue of one
// title with two accession-numbered copies, 20001 and 20002.
func scanRoster(t *testing.T, m *Main) kiosk.ChildID {
	t.Helper()
	ctx := context.Background()
	_, err := m.db.ApplyRoster(ctx, []kiosk.RosterEntry{{Line: 2, Child: kiosk.Child{Name: "王小明", Class: "三年级1班"},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "李芳", Relation: "母亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}}},
		Cards:    []string{"04A1B2C3"}}}, false)
	require.NoError(t, err)
	cat, err := books.ParseCatalogue(strings.NewReader("ISBN,书名,作者,价格,条码\n9787020002207,红楼梦,曹雪芹,59.70,20001;20002\n"))
	require.NoError(t, err)
	_, err = m.db.ApplyCatalogue(ctx, cat, false)
	require.NoError(t, err)
	card, err := m.db.CardByUID(ctx, "04A1B2C3")
	require.NoError(t, err)
	return card.ChildID
}

// TestScannerLendsAndReturns: booth b1's USB scanner is a fault until
// plugged in (a peripheral: the daemon is degraded, not failed); then a
// barcode typed after a tap lends the copy, and the same barcode typed at
// the idle screen returns it. The equipment register has the scanner.
func TestScannerLendsAndReturns(t *testing.T) {
	m, in := startHardwareConfig(t, scannerConfig, nil)
	ctx := context.Background()
	child := scanRoster(t, m)

	require.Eventually(t, func() bool { return component(t, m, "scanner:scan1")["status"] == "fault" },
		5*time.Second, 20*time.Millisecond, "the unplugged scanner is a fault")
	resp, err := http.Get(m.HTTPURL() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a missing scanner degrades the daemon; it does not fail it")
	assert.Empty(t, screen(t, m, "b1").Reason, "a missing scanner does not take the booth out of service")

	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "scan1")
		return len(ev) == 1
	}, 5*time.Second, 20*time.Millisecond, "the missing scanner is journaled")

	in.plug(t)
	require.Eventually(t, func() bool { return component(t, m, "scanner:scan1")["status"] == "ok" },
		10*time.Second, 20*time.Millisecond, "the scanner is found when plugged in")
	require.Eventually(t, func() bool {
		ev, _ := equipmentOf(t, m, "scan1")
		return len(ev) == 2
	}, 5*time.Second, 20*time.Millisecond, "the plugged scanner is journaled")

	// Borrow: tap, then scan.
	require.NoError(t, m.station.Tap(ctx, "b1", "04A1B2C3"))
	require.Equal(t, kiosk.ScreenIdentified, screen(t, m, "b1").Kind)
	in.typeCard(t, "20001")
	require.Eventually(t, func() bool { return screen(t, m, "b1").Kind == kiosk.ScreenBookLent },
		5*time.Second, 20*time.Millisecond, "the scan lends the book")
	sc := screen(t, m, "b1")
	require.NotNil(t, sc.Book)
	assert.Equal(t, "20001", sc.Book.Barcode)
	assert.Equal(t, "红楼梦", sc.Book.Title)
	assert.NotEmpty(t, sc.Book.Due)
	loans, err := m.db.OpenLoans(ctx, child, m.Config.BookRulesByClass())
	require.NoError(t, err)
	require.Len(t, loans, 1)
	assert.Equal(t, "20001", loans[0].Copy.Barcode)

	// Return: back to idle (the screen's done button), then scan, no card.
	require.NoError(t, m.station.Hangup(ctx, "b1"))
	require.Equal(t, kiosk.ScreenIdle, screen(t, m, "b1").Kind)
	in.typeCard(t, "20001")
	require.Eventually(t, func() bool { return screen(t, m, "b1").Kind == kiosk.ScreenBookReturned },
		5*time.Second, 20*time.Millisecond, "a scan at the idle screen returns the book")
	assert.Equal(t, "红楼梦", screen(t, m, "b1").Book.Title)
	loans, err = m.db.OpenLoans(ctx, child, m.Config.BookRulesByClass())
	require.NoError(t, err)
	assert.Empty(t, loans, "the book is back")

	ev, det := equipmentOf(t, m, "scan1")
	require.Equal(t, []string{"fault", "recovered"}, ev)
	assert.Contains(t, det[1], "ffff:0035", "the unit's identity is journaled")
}

// TestScannerWithoutLibrary: with [books] off, scans are ignored: nothing
// is lent and the screen stays as it was.
func TestScannerWithoutLibrary(t *testing.T) {
	m, in := startHardwareConfig(t, scannerConfig+"\n[books]\nenabled = false\n", nil)
	ctx := context.Background()
	child := scanRoster(t, m)
	require.Nil(t, m.desk)
	in.plug(t)
	require.Eventually(t, func() bool { return component(t, m, "scanner:scan1")["status"] == "ok" },
		10*time.Second, 20*time.Millisecond)

	require.NoError(t, m.station.Tap(ctx, "b1", "04A1B2C3"))
	in.typeCard(t, "20001")
	in.typeCard(t, "20002") // the first line has been read once the second is written
	assert.Equal(t, kiosk.ScreenIdentified, screen(t, m, "b1").Kind, "the scan changes nothing")
	loans, err := m.db.OpenLoans(ctx, child, m.Config.BookRulesByClass())
	require.NoError(t, err)
	assert.Empty(t, loans)
}
