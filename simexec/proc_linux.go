package simexec

import "syscall"

// sysProcAttr puts the simulator in a process group of its own, so that a
// timeout kills all of it, and has the kernel kill it should the evaluator
// die without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
