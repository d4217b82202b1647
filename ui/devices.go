package ui

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/qinqing/station/kiosk"
)

// Device admin API, for technicians (kioskctl devices). Same rules as the
// rest of the admin API (loopback, bearer token, JSON bodies of at most
// 4 KiB with no unknown fields; an empty booth means the first booth).
// Without Opts.Devices every endpoint answers 404.
//
//	GET  /api/devices                                -> DevicesResponse
//	POST /api/devices/test/lights {"booth"}          -> LightsTestResponse (takes ~8 s)
//	POST /api/devices/test/reader {"booth","timeout"} -> ReaderTestResponse
//	POST /api/devices/test/button {"booth","timeout"} -> ButtonTestResponse

// DeviceAdmin is what the daemon offers technicians about its devices.
type DeviceAdmin interface {
	// Devices lists every configured device and its state.
	Devices() []DeviceInfo
	// TestLights shows every light state in turn on booth's light (about
	// 1 s each) and returns the states shown, in order.
	TestLights(ctx context.Context, booth string) ([]kiosk.LightState, error)
	// TestReader waits until ctx ends for the next card read at booth's
	// reader and returns its normalised UID; that read taps nothing.
	TestReader(ctx context.Context, booth string) (string, error)
	// TestButton waits until ctx ends for the next press of a help button
	// of booth and returns the button's name; no help call is placed.
	TestButton(ctx context.Context, booth string) (string, error)
}

// DeviceInfo is one configured device.
type DeviceInfo struct {
	Name string `json:"name"`
	// Type is "reader", "light", "button" or "relay".
	Type string `json:"type"`
	// Kind is the driver: "mfrc522", "rdm6300", "evdev", "gpio", "sim".
	Kind string `json:"kind"`
	// Booth is the booth it serves, "" for a relay.
	Booth string `json:"booth,omitempty"`
	// Where says the bus, port and pins ("SPI0.0 rst GPIO25").
	Where string `json:"where,omitempty"`
	// Simulated is true when a simulated device stands in for it (or it is
	// one).
	Simulated bool         `json:"simulated,omitempty"`
	Health    kiosk.Health `json:"health"`
}

// DevicesResponse is the body of GET /api/devices.
type DevicesResponse struct {
	Devices []DeviceInfo `json:"devices"`
}

// DeviceTestRequest is the body of the device tests. Timeout is a Go
// duration ("30s") bounding the wait for a card or a press; default 30 s,
// at most 5 min. The lights test ignores it.
type DeviceTestRequest struct {
	Booth   string `json:"booth"`
	Timeout string `json:"timeout,omitempty"`
}

// LightsTestResponse lists the states shown, in order.
type LightsTestResponse struct {
	Booth  string             `json:"booth"`
	States []kiosk.LightState `json:"states"`
}

// ReaderTestResponse is the card read, in every card-number format
// (kiosk.FormatCardNumber; "" when a format cannot hold the UID, such as
// 8h10d for a 7-byte UID).
type ReaderTestResponse struct {
	Booth    string `json:"booth"`
	UID      string `json:"uid"`
	Hex      string `json:"hex"`
	Dec8H10D string `json:"8h10d"`
	Reversed string `json:"reversed"`
}

// ButtonTestResponse names the button pressed.
type ButtonTestResponse struct {
	Booth  string `json:"booth"`
	Button string `json:"button"`
}

const (
	defaultDeviceTestTimeout = 30 * time.Second
	maxDeviceTestTimeout     = 5 * time.Minute
)

// deviceRoutes registers the device admin API on mux.
func (s *Server) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/devices", func(w http.ResponseWriter, r *http.Request) {
		if s.devices == nil {
			s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no device admin"))
			return
		}
		devs := s.devices.Devices()
		if devs == nil {
			devs = []DeviceInfo{}
		}
		writeJSON(w, http.StatusOK, DevicesResponse{Devices: devs})
	})
	mux.HandleFunc("POST /api/devices/test/{what}", func(w http.ResponseWriter, r *http.Request) {
		if s.devices == nil {
			s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no device admin"))
			return
		}
		var req DeviceTestRequest
		if err := decodeJSON(r, &req); err != nil {
			s.httpError(w, r, err)
			return
		}
		b, err := s.booth(req.Booth)
		if err != nil {
			s.httpError(w, r, err)
			return
		}
		timeout := defaultDeviceTestTimeout
		if strings.TrimSpace(req.Timeout) != "" {
			timeout, err = time.ParseDuration(req.Timeout)
			if err != nil || timeout <= 0 || timeout > maxDeviceTestTimeout {
				s.httpError(w, r, kiosk.Errorf(kiosk.EINVALID, "timeout %q: want a duration from 1s to 5m, such as \"30s\"", req.Timeout))
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		s.log.Info("device test", "test", r.PathValue("what"), "booth", b.ID)
		switch r.PathValue("what") {
		case "lights":
			states, err := s.devices.TestLights(r.Context(), b.ID)
			if err != nil {
				s.httpError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, LightsTestResponse{Booth: b.ID, States: states})
		case "reader":
			uid, err := s.devices.TestReader(ctx, b.ID)
			if err != nil {
				s.httpError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, ReaderTestResponse{Booth: b.ID, UID: uid,
				Hex:      kiosk.FormatCardNumber(uid, kiosk.CardHex),
				Dec8H10D: kiosk.FormatCardNumber(uid, kiosk.Card8H10D),
				Reversed: kiosk.FormatCardNumber(uid, kiosk.CardReversed)})
		case "button":
			name, err := s.devices.TestButton(ctx, b.ID)
			if err != nil {
				s.httpError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, ButtonTestResponse{Booth: b.ID, Button: name})
		default:
			s.httpError(w, r, kiosk.Errorf(kiosk.ENOTFOUND, "no device test %q: want lights, reader or button", r.PathValue("what")))
		}
	})
}
