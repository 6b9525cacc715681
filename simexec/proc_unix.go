//go:build unix

package simexec

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// killGroup kills the process group led by pid: the simulator and whatever
// it started that stayed in its group. A group already gone is
// os.ErrProcessDone, which exec.Cmd.Cancel treats as success.
func killGroup(pid int) error {
	if pid <= 0 {
		return os.ErrProcessDone // never the evaluator's own group
	}
	err := syscall.Kill(-pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// exitMessage describes how a failed process ended.
func exitMessage(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with status %d", ps.ExitCode())
}
