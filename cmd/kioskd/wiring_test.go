package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui/console"
)

// The adapters do not import each other; kioskd wires them. These checks
// keep each adapter satisfying the interface it is wired into.
var _ console.Store = (*sqlite.DB)(nil)

func TestWiringSQLiteIsConsoleStore(t *testing.T) {
	var db any = (*sqlite.DB)(nil)
	_, ok := db.(console.Store)
	assert.True(t, ok, "*sqlite.DB implements console.Store")
}
