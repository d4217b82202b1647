package ui

import (
	"net/http"
	"time"

	"github.com/qinqing/station/kiosk"
)

// HealthReport is what the daemon reports about itself; Opts.Health
// returns one per request.
type HealthReport struct {
	// Status is an overall status ("ok", "degraded", "fault"); the status
	// served is the worst of it and every component. "" counts as "ok".
	Status string
	// Version overrides Opts.Version when set.
	Version string
	// Started is when the daemon started; zero means when New ran.
	Started time.Time
	// ClockSynced is false until the wall clock is known to be right.
	ClockSynced bool
	// Components maps a component name ("sip", "ledger", "reader:b1") to
	// its health.
	Components map[string]kiosk.Health
	// Lights maps a booth ID to what its indicator light shows.
	Lights map[string]kiosk.LightState
	// Peripheral names components whose fault degrades the daemon
	// without making it faulty (a booth's card reader or light: the other
	// booths, and help calls, still work). Their own status is served as
	// reported.
	Peripheral map[string]bool
}

// Healthz is the JSON body of GET /healthz:
//
//	{"status":"ok","version":"v1","uptime_s":12,"clock_synced":true,
//	 "components":{"sip":{"status":"ok"}},"lights":{"b1":"idle"}}
//
// The HTTP status is 200 when status is "ok" or "degraded" (the kiosk
// still works, maybe without a part) and 503 when it is "fault", so a
// watchdog or load balancer restarts or avoids only a broken daemon.
type Healthz struct {
	Status      string                      `json:"status"`
	Version     string                      `json:"version"`
	UptimeS     int64                       `json:"uptime_s"`
	ClockSynced bool                        `json:"clock_synced"`
	Components  map[string]kiosk.Health     `json:"components"`
	Lights      map[string]kiosk.LightState `json:"lights"`
}

// healthRank orders statuses from best to worst; unknown strings count
// as a fault, so a typo never hides a problem.
func healthRank(status string) int {
	switch status {
	case kiosk.HealthOK, "":
		return 0
	case kiosk.HealthDegraded:
		return 1
	default:
		return 2
	}
}

var rankStatus = [...]string{kiosk.HealthOK, kiosk.HealthDegraded, kiosk.HealthFault}

// healthz builds the /healthz body from the daemon's report.
func (s *Server) healthz() Healthz {
	rep := s.health()
	worst := healthRank(rep.Status)
	for name, c := range rep.Components {
		rank := healthRank(c.Status)
		if rep.Peripheral[name] {
			rank = min(rank, healthRank(kiosk.HealthDegraded))
		}
		worst = max(worst, rank)
	}
	started := rep.Started
	if started.IsZero() {
		started = s.started
	}
	h := Healthz{
		Status:      rankStatus[worst],
		Version:     rep.Version,
		UptimeS:     int64(s.now().Sub(started) / time.Second),
		ClockSynced: rep.ClockSynced,
		Components:  rep.Components,
		Lights:      rep.Lights,
	}
	if h.Version == "" {
		h.Version = s.version
	}
	if h.Components == nil {
		h.Components = map[string]kiosk.Health{}
	}
	if h.Lights == nil {
		h.Lights = map[string]kiosk.LightState{}
	}
	return h
}

func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	h := s.healthz()
	status := http.StatusOK
	if h.Status == kiosk.HealthFault {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}
