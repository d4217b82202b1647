package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/devices/cec"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/kiosk/tv"
	"github.com/qinqing/station/ui"
)

// tvOpts are the TV wiring's knobs; the zero value means the defaults.
type tvOpts struct {
	// Now is the TV service's wall clock. Default time.Now.
	Now func() time.Time
	// Every is how often curfews are checked. Default 15 s.
	Every time.Duration
	// CECTimeout bounds each cec-client run (detection and switches).
	// Default 10 s.
	CECTimeout time.Duration
}

// tvWiring runs the [[tv]] TVs: it closes sessions a crash left open,
// picks each TV's power control (HDMI-CEC, its relay, or none), and runs
// the tv.Service's curfew loop until close.
type tvWiring struct {
	svc    *tv.Service
	log    *slog.Logger
	power  map[string]string // TV -> how it is switched, for people ("cec RPI", "relay tv1 GPIO5")
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newTVs wires the TVs of cfg; nil (and no error) when none is
// configured. It must run after devs.start (the relays exist then, and
// devs.station, whose staff screen gets the TV panel) and before anything
// can start a session. loc is the station's time zone
// (curfews are local times).
func newTVs(ctx context.Context, cfg *config.Config, db *sqlite.DB, devs *hwDevices, loc *time.Location, log *slog.Logger, opts tvOpts) (*tvWiring, error) {
	if len(cfg.TVs) == 0 {
		return nil, nil
	}
	log = log.With("component", "tv")
	if opts.CECTimeout <= 0 {
		opts.CECTimeout = 10 * time.Second
	}
	// The relays start off (their safe state): a session a crash left
	// open has already ended, close it in the register.
	if n, err := db.RecoverTV(ctx); err != nil {
		return nil, fmt.Errorf("recover interrupted tv sessions: %w", err)
	} else if n > 0 {
		log.Warn("closed tv sessions interrupted by a crash", "count", n)
	}
	w := &tvWiring{log: log, power: map[string]string{}}
	var (
		cecDev     *cec.Dev
		cecErr     error
		cecProbed  bool
		tvs        []tv.TV
		cecClaimed string
	)
	for _, tc := range cfg.TVs {
		t := tv.TV{Name: tc.Name, Room: tc.Place(), Curfew: tc.CurfewTime(), PowerKind: tv.PowerNone}
		mode := tc.CECMode()
		if mode != config.CECOff {
			if !cecProbed {
				cecDev, cecErr = cec.Detect(ctx, &cec.Opts{Timeout: opts.CECTimeout, Logger: log, Name: "cec"})
				cecProbed = true
				if cecErr != nil {
					log.Info("hdmi-cec not available", "reason", cecErr)
				}
			}
			switch {
			case cecDev != nil && cecClaimed == "":
				// One adapter drives the TV on its HDMI port: the first TV
				// that wants CEC gets it.
				t.Power, t.PowerKind = cecDev, tv.PowerCEC
				cecClaimed = tc.Name
				w.power[tc.Name] = "cec " + cecDev.Adapter().Port
			case mode == config.CECOn && cecDev == nil:
				log.Warn("tv wants hdmi-cec but it is not available", "tv", tc.Name, "err", cecErr)
			case mode == config.CECOn:
				log.Warn("tv wants hdmi-cec but the adapter already switches another tv", "tv", tc.Name, "other", cecClaimed)
			}
		}
		if t.Power == nil && tc.Relay != "" {
			if rl := devs.relay(tc.Relay); rl != nil {
				t.Power, t.PowerKind = rl, tv.PowerRelay
				w.power[tc.Name] = "relay " + tc.Relay
			} else {
				log.Warn("tv relay missing: the tv is not switched, sessions are still registered", "tv", tc.Name, "relay", tc.Relay)
			}
		}
		if t.Power == nil {
			w.power[tc.Name] = tv.PowerNone
		}
		log.Info("tv power control", "tv", tc.Name, "power", w.power[tc.Name])
		tvs = append(tvs, t)
	}
	svc, err := tv.New(tvs, db, tv.Opts{Now: opts.Now, Location: loc, ClockSynced: clockSynced, Every: opts.Every, Logger: log})
	if err != nil {
		return nil, err
	}
	w.svc = svc
	if devs.station != nil {
		// The staff screen's TV panel (tv_staff.go): a teacher's card at a
		// booth starts and stops the sessions there.
		devs.station.AttachTV(newTVControl(svc, cfg.TVs), kiosk.TVPanelOpts{Categories: tv.Categories, Classes: db.Classes})
	}
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		svc.Run(ctx)
	}()
	return w, nil
}

// relay returns the working relay named name, nil when it is missing.
func (d *hwDevices) relay(name string) tv.Power {
	for _, dev := range d.devs {
		if dev.typ == typeRelay && dev.name == name && dev.relay != nil {
			return dev.relay
		}
	}
	return nil
}

// health adds "tv:NAME" components: degraded while a TV's last switch
// failed (the register is still kept), ok otherwise.
func (w *tvWiring) health(comps map[string]kiosk.Health) {
	if w == nil {
		return
	}
	for _, st := range w.svc.Status() {
		h := kiosk.Health{Status: kiosk.HealthOK, Reason: "power " + w.power[st.Name]}
		if st.PowerError != "" {
			h = kiosk.Health{Status: kiosk.HealthDegraded, Reason: "power " + w.power[st.Name] + ": " + st.PowerError}
		}
		comps["tv:"+st.Name] = h
	}
}

// close stops the curfew loop and ends the open sessions (cause
// shutdown, TVs off). Call it before the devices are halted and the
// ledger closed.
func (w *tvWiring) close(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.cancel()
	w.wg.Wait()
	if err := w.svc.Close(ctx); err != nil {
		return fmt.Errorf("tv close: %w", err)
	}
	return nil
}

// admin returns the service for ui.Opts.TV; nil (an untyped nil, so the
// API answers 404) when no TV is configured.
func (w *tvWiring) admin() ui.TVAdmin {
	if w == nil {
		return nil
	}
	return w.svc
}
