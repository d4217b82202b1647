package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// notifier speaks systemd's notify protocol (sd_notify(3)): newline
// separated VAR=VALUE datagrams to the unix datagram socket named by
// $NOTIFY_SOCKET ("/run/systemd/notify", or "@name" for an abstract
// socket). The unit is Type=notify with WatchdogSec (firmware-config/
// systemd/kioskd.service): READY=1 once started, WATCHDOG=1 every half
// watchdog period while the daemon is healthy, STOPPING=1 at shutdown.
// A nil *notifier (not started by systemd) does nothing.
type notifier struct {
	conn *net.UnixConn
}

// newNotifier connects to $NOTIFY_SOCKET; it returns nil, nil when the
// variable is unset.
func newNotifier() (*notifier, error) {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil, nil
	}
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("sd_notify: connect %s: %w", os.Getenv("NOTIFY_SOCKET"), err)
	}
	return &notifier{conn: c}, nil
}

// notify sends state, such as "READY=1".
func (n *notifier) notify(state string) error {
	if n == nil {
		return nil
	}
	if _, err := n.conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", state, err)
	}
	return nil
}

func (n *notifier) close() {
	if n != nil {
		n.conn.Close()
	}
}

// watchdogPeriod returns the watchdog timeout systemd asks for
// ($WATCHDOG_USEC, microseconds) when it is meant for this process
// ($WATCHDOG_PID unset or ours); 0 when there is none.
func watchdogPeriod() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond
}

// startNotify tells systemd the daemon is ready and, under a watchdog,
// pings it every half period as long as alive says the station and the
// store answer. The goroutine belongs to m (m.wg).
func (m *Main) startNotify(ctx context.Context) {
	n, err := newNotifier()
	if err != nil {
		m.Logger.Warn("systemd notify socket unusable", "err", err)
		return
	}
	if n == nil {
		return
	}
	m.sd = n
	if err := n.notify("READY=1\nSTATUS=serving"); err != nil {
		m.Logger.Warn("systemd notify", "err", err)
	}
	period := watchdogPeriod()
	if period == 0 {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(period / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := m.alive(ctx, period/2); err != nil {
					m.Logger.Error("watchdog ping withheld", "err", err)
					continue
				}
				if err := n.notify("WATCHDOG=1"); err != nil {
					m.Logger.Warn("systemd notify", "err", err)
				}
			}
		}
	}()
}

// alive checks within timeout that the store answers a ping and the
// station answers for its first booth (its lock is not stuck).
func (m *Main) alive(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		if err := m.db.Ping(ctx); err != nil {
			done <- fmt.Errorf("store: %w", err)
			return
		}
		if bs := m.station.Booths(); len(bs) > 0 {
			if _, err := m.station.Screen(bs[0].ID); err != nil {
				done <- fmt.Errorf("station: %w", err)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %v", timeout)
	}
}

// notifyStopping tells systemd the daemon is stopping.
func (m *Main) notifyStopping() {
	if m.sd != nil {
		_ = m.sd.notify("STOPPING=1")
	}
}
