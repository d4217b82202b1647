package mfrc522

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Run reads cards every Opts.PollPeriod until ctx is done (it then returns
// nil) or Halt is called (ErrHalted), calling found with each UID read (4,
// 7 or 10 bytes, owned by the callee) from Run's goroutine. Read errors
// do not stop it: card errors are logged at debug level; bus errors,
// ErrChipTimeout and Opts.ProbeAfterErrors consecutive failed reads make it
// probe VersionReg at once, as it does every Opts.ProbePeriod anyway. A
// probe reading 0x00, 0xFF or any unknown value, or failing on the bus,
// marks Health "fault" and Run re-initialises the chip (RST pulse) at
// once, then with backoff from Opts.RecoverBackoff doubling to
// Opts.MaxRecoverBackoff, until it answers.
func (d *Dev) Run(ctx context.Context, found func(uid []byte)) error {
	log := d.opts.Logger
	var (
		lastProbe = d.opts.Now()
		failures  int // consecutive failed reads other than ErrNoCard
		backoff   time.Duration
		nextInit  time.Time
	)
	for ctx.Err() == nil {
		start := d.opts.Now()
		d.mu.Lock()
		halted, ready := d.halted, d.ready
		d.mu.Unlock()
		if halted {
			return ErrHalted
		}
		if !ready {
			if !start.Before(nextInit) {
				if err := d.Init(); err != nil {
					backoff = min(max(2*backoff, d.opts.RecoverBackoff), d.opts.MaxRecoverBackoff)
					nextInit = d.opts.Now().Add(backoff)
					log.Warn("reader re-init failed", "err", err, "retry_in", backoff)
				} else {
					log.Info("reader recovered")
					backoff, failures, lastProbe = 0, 0, d.opts.Now()
				}
			}
			d.sleepUntil(ctx, start.Add(d.opts.PollPeriod))
			continue
		}
		if start.Sub(lastProbe) >= d.opts.ProbePeriod || failures >= d.opts.ProbeAfterErrors {
			lastProbe = start
			if err := d.probe(); err != nil {
				log.Warn("reader dead, re-initialising", "err", err)
				failures, nextInit = 0, start
				continue
			}
			failures = 0
		}
		uid, err := d.ReadUID(ctx)
		switch {
		case err == nil:
			failures = 0
			found(uid)
		case errors.Is(err, ErrNoCard):
			failures = 0
		case errors.Is(err, ErrHalted):
			return ErrHalted
		case errors.Is(err, ErrNotReady), ctx.Err() != nil:
		case isCardError(err):
			failures++
			log.Debug("card read failed", "err", err)
		default:
			// Bus error or a chip that stopped completing commands.
			failures = d.opts.ProbeAfterErrors
			log.Debug("reader error", "err", err)
		}
		d.sleepUntil(ctx, start.Add(d.opts.PollPeriod))
	}
	return nil
}

// probe reads VersionReg; a bad value or bus error marks the Dev not ready
// and Health "fault".
func (d *Dev) probe() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.readReg(regVersion)
	if err == nil {
		if err = checkVersion(v); err == nil {
			d.setVersion(v)
		}
	} else {
		err = fmt.Errorf("read version: %w", err)
	}
	if err != nil {
		d.ready = false
		err = fmt.Errorf("mfrc522: probe: %w", err)
		d.setHealth(kiosk.HealthFault, "reader not responding: "+err.Error())
	}
	return err
}

func isCardError(err error) bool {
	for _, s := range []error{ErrTimeout, ErrCollision, ErrParity, ErrProtocol, ErrCRC, ErrBCC,
		ErrBufferOverflow, ErrTemperature, ErrFrame} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// sleepUntil sleeps with Opts.Sleep until t, in steps of at most 10 ms so
// a cancelled ctx is noticed promptly.
func (d *Dev) sleepUntil(ctx context.Context, t time.Time) {
	for ctx.Err() == nil {
		left := t.Sub(d.opts.Now())
		if left <= 0 {
			return
		}
		d.opts.Sleep(min(left, 10*time.Millisecond))
	}
}
