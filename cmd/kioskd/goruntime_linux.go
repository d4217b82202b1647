package main

import (
	"os"
	"syscall"
)

// reexecTuned replaces the process with itself, same arguments, with the
// runtime settings of goruntime.go added to its environment; it returns
// nil without doing anything when they are there already. The process
// keeps its PID (systemd's notify socket and watchdog still apply). It
// must run before the daemon opens anything. An error means the process
// goes on with the runtime's defaults.
func reexecTuned() error {
	env, changed := tunedEnv(os.Environ())
	if !changed {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, env)
}
