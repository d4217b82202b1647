package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/sqlite"
)

func TestWithDB(t *testing.T) {
	errFn := errors.New("the command failed")
	tests := []struct {
		name  string
		fnErr error
		panic bool
	}{
		{name: "command succeeds"},
		{name: "command fails", fnErr: errFn},
		{name: "command panics", panic: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := &globals{data: newData(t)}
			var got *sqlite.DB
			call := func() error {
				return withDB(ctx, g, func(db *sqlite.DB) error {
					got = db
					require.NoError(t, db.Ping(ctx), "fn gets an open database")
					if tc.panic {
						panic("boom")
					}
					return tc.fnErr
				})
			}
			if tc.panic {
				assert.PanicsWithValue(t, "boom", func() { _ = call() })
			} else {
				// Returned as it is, not wrapped: the commands' messages
				// stay what they were.
				assert.Equal(t, tc.fnErr, call(), "fn's error, unwrapped")
			}
			require.NotNil(t, got, "fn was called")
			assert.Error(t, got.Ping(ctx), "the database is closed once withDB returns")
		})
	}
}

func TestWithDBNoDatabase(t *testing.T) {
	data := t.TempDir()
	called := false
	err := withDB(context.Background(), &globals{data: data}, func(*sqlite.DB) error {
		called = true
		return nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no station database at "+filepath.Join(data, "kiosk.db"), "openDB's message, as it is")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.False(t, called, "fn is not called without a database")
	_, statErr := os.Stat(filepath.Join(data, "kiosk.db"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "a wrong --data creates no database")
}
