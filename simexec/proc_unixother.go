//go:build unix && !linux

package simexec

import "syscall"

// sysProcAttr puts the simulator in a process group of its own, so that a
// timeout kills all of it.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
