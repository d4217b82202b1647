package kiosk

// LightState is what a booth's indicator light shows.
type LightState string

const (
	LightOff        LightState = "off"
	LightIdle       LightState = "idle"       // green, solid
	LightIdentified LightState = "identified" // blue, solid
	LightRinging    LightState = "ringing"    // blue, blinking
	LightConnected  LightState = "connected"  // blue, solid
	LightWarning    LightState = "warning"    // yellow, blinking
	LightDenied     LightState = "denied"     // red, blinking
	LightFault      LightState = "fault"      // red, solid
)

// Light is a booth's indicator light (devices/sim, devices/gpioled).
type Light interface {
	// Set shows state s until the next Set. It returns an error if the
	// hardware could not be driven; the light keeps its last state.
	Set(s LightState) error
}

// Health is the state of a component for /healthz and kioskctl status.
type Health struct {
	Status string `json:"status"` // "ok", "degraded" or "fault"
	Reason string `json:"reason,omitempty"`
}

const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
	HealthFault    = "fault"
)
