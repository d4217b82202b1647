// Package devices holds the hardware drivers of the station, one package
// per device kind (card readers, lights, buttons, relays, scanners), and
// devices/sim, the simulated twins used by -demo and tests.
//
// Drivers program against periph.io/x/conn/v3 interfaces and report into
// the contracts of package kiosk (kiosk.Light, kiosk.Health). Only
// cmd/kioskd calls host.Init.
package devices
