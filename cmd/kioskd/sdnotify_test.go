package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listenNotify is a fake systemd notify socket; it returns the datagrams
// received.
func listenNotify(t *testing.T, name string) <-chan string {
	t.Helper()
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := ln.ReadFromUnix(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no notify datagram within 5 s")
	}
	return ""
}

func TestSdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	ch := listenNotify(t, sock)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // 100 ms: a ping every 50 ms
	t.Setenv("WATCHDOG_PID", "")

	m := startDemo(t, time.Minute)
	assert.Equal(t, "READY=1\nSTATUS=serving", next(t, ch), "READY=1 once started")
	assert.Equal(t, "WATCHDOG=1", next(t, ch))
	assert.Equal(t, "WATCHDOG=1", next(t, ch), "pings keep coming while healthy")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, m.Close(ctx))
	for s := range ch {
		if s != "WATCHDOG=1" {
			assert.Equal(t, "STOPPING=1", s, "STOPPING=1 at Close")
			return
		}
	}
	t.Fatal("no STOPPING=1")
}

func TestSdNotifyWithheldWhenStoreDown(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	ch := listenNotify(t, sock)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000")

	m := startDemo(t, time.Minute)
	require.Equal(t, "READY=1\nSTATUS=serving", next(t, ch))
	require.NoError(t, m.db.Close()) // the store stops answering
	// Drain what was already sent; then no ping may come.
	deadline := time.After(400 * time.Millisecond)
	quiet := time.Now()
	for {
		select {
		case s := <-ch:
			assert.Equal(t, "WATCHDOG=1", s)
			quiet = time.Now()
		case <-deadline:
			assert.Greater(t, time.Since(quiet), 250*time.Millisecond, "pings stop while the store is down")
			return
		}
	}
}

func TestSdNotifyAbstractAndAbsent(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n, err := newNotifier()
	require.NoError(t, err)
	assert.Nil(t, n, "not under systemd: no notifier")
	assert.NoError(t, n.notify("READY=1"), "a nil notifier does nothing")

	name := "@kioskd-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	ch := listenNotify(t, "\x00"+name[1:])
	t.Setenv("NOTIFY_SOCKET", name)
	n, err = newNotifier()
	require.NoError(t, err)
	defer n.close()
	require.NoError(t, n.notify("READY=1"))
	assert.Equal(t, "READY=1", next(t, ch), "an @name is an abstract socket")

	t.Setenv("WATCHDOG_USEC", "3000000")
	t.Setenv("WATCHDOG_PID", "1")
	assert.Zero(t, watchdogPeriod(), "a watchdog meant for another process is ignored")
	t.Setenv("WATCHDOG_PID", "")
	assert.Equal(t, 3*time.Second, watchdogPeriod())
}
