package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// Retention ([privacy] retention): kioskd erases the personal data of the
// children who left longer ago than the period (sqlite.DB.EraseChild), at
// start and then once a day.

// retentionActor is who erasure entries name as having erased.
const retentionActor = "kioskd"

const (
	// retentionEvery is the time between two sweeps.
	retentionEvery = 24 * time.Hour
	// retentionRetry is the wait while the wall clock is not synced.
	retentionRetry = time.Hour
)

// retentionStore is what the sweep needs of the ledger.
type retentionStore interface {
	ErasuresDue(ctx context.Context, leftBefore time.Time) ([]sqlite.DueErasure, error)
	EraseChild(ctx context.Context, actor, reason string, id kiosk.ChildID) (sqlite.Erasure, error)
}

var _ retentionStore = (*sqlite.DB)(nil)

// sweepRetention erases every child who left before r.Cutoff(now) and
// returns how many it erased. A child that fails is logged and skipped
// (erased by a manager meanwhile, say); the errors are returned joined.
// Nothing is due when r is Never.
func sweepRetention(ctx context.Context, store retentionStore, r config.Retention, now time.Time, log *slog.Logger) (int, error) {
	if r.Never() {
		return 0, nil
	}
	due, err := store.ErasuresDue(ctx, r.Cutoff(now))
	if err != nil {
		return 0, err
	}
	var (
		n    int
		errs []error
	)
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		if _, err := store.EraseChild(ctx, retentionActor, sqlite.EraseRetention, d.Child.ID); err != nil {
			if kiosk.ErrorCode(err) != kiosk.EGONE && kiosk.ErrorCode(err) != kiosk.ECONFLICT {
				log.Error("erasure failed", "child", int64(d.Child.ID), "err", err)
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// retentionLoop sweeps at start and then every retentionEvery. It never
// erases on an unsynced wall clock (a Raspberry Pi without a real-time
// clock may believe it is any year): it waits retentionRetry and looks
// again.
type retentionLoop struct {
	store  retentionStore
	period config.Retention
	now    func() time.Time
	synced func() bool
	log    *slog.Logger
	// after is time.After; tests drive the loop with it.
	after func(time.Duration) <-chan time.Time
}

// run sweeps until ctx is done.
func (l *retentionLoop) run(ctx context.Context) {
	for {
		wait := retentionEvery
		if l.synced() {
			n, err := sweepRetention(ctx, l.store, l.period, l.now(), l.log)
			if err != nil && ctx.Err() == nil {
				l.log.Error("retention sweep", "erased", n, "err", err)
			} else if n > 0 {
				l.log.Info("erased the personal data of children who left", "count", n, "retention", l.period.String())
			}
		} else {
			l.log.Warn("retention sweep postponed: wall clock not synced")
			wait = retentionRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-l.after(wait):
		}
	}
}

// startRetention starts the retention loop in m.wg, unless the retention
// is "0" (never).
func (m *Main) startRetention(ctx context.Context) {
	r := m.Config.Privacy.Retention
	log := m.Logger.With("component", "retention")
	if r.Never() {
		log.Info("automatic erasure off", "retention", r.String())
		return
	}
	now := m.now
	if now == nil {
		now = time.Now
	}
	l := &retentionLoop{store: m.db, period: r, now: now, synced: clockSynced, log: log, after: time.After}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		l.run(ctx)
	}()
}
