// Package gpiopin finds the GPIO pin that a configured name stands for: the
// one rule shared by the lights (devices/gpioled), the help buttons
// (devices/button) and the relays (devices/relay), and the errors it gives.
//
// A pin is named as periph's registry (periph.io/x/conn/v3/gpio/gpioreg)
// knows it: the SoC line name ("GPIO17"), or an alias a host driver
// registers, such as a Raspberry Pi header position ("P1_11"). A bare
// number ("17") is refused without a lookup: the Raspberry Pi 5 moved the
// GPIO chip numbers, so a number would drive a different line on another
// board (DESIGN.md "Devices"). config.Validate refuses numbers too; this is
// the drivers' own guard, for callers that skip the config.
package gpiopin

import (
	"errors"
	"fmt"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
)

// Errors returned (wrapped, naming the pin) by Find; test with errors.Is.
var (
	ErrNoName   = errors.New("gpiopin: no pin name")
	ErrByNumber = errors.New("gpiopin: pin given by number")
	ErrNotFound = errors.New("gpiopin: pin not found")
)

// Find returns the pin called name, looked up with lookup, which returns
// nil for a name it does not know; a nil lookup means gpioreg.ByName (pin
// names, then aliases). The pin is returned as lookup gave it: through
// gpioreg an alias comes back as an alias pin whose Name is the alias.
//
// Errors, each naming the pin and what was tried:
//
//   - ErrNoName for "" (nothing is looked up);
//   - ErrByNumber for a name made only of the digits 0-9 (not looked up;
//     the message suggests "GPIO<n>");
//   - ErrNotFound when lookup knows no pin or alias of that name.
//
// Names are passed to lookup unchanged: no trimming and no case folding
// ("gpio17" is not "GPIO17").
func Find(lookup func(name string) gpio.PinIO, name string) (gpio.PinIO, error) {
	if name == "" {
		return nil, fmt.Errorf("pin %q: %w: want a name such as \"GPIO17\"", name, ErrNoName)
	}
	if strings.Trim(name, "0123456789") == "" {
		return nil, fmt.Errorf("pin %q: %w: not looked up, use its name, such as \"GPIO%s\"", name, ErrByNumber, name)
	}
	if lookup == nil {
		lookup = gpioreg.ByName
	}
	p := lookup(name)
	if p == nil {
		return nil, fmt.Errorf("pin %q: %w: looked up by name, no pin or alias has it", name, ErrNotFound)
	}
	return p, nil
}
