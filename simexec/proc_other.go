//go:build !unix

package simexec

import (
	"fmt"
	"os"
	"syscall"
)

// Without process groups only the simulator process itself is killed.

func sysProcAttr() *syscall.SysProcAttr { return new(syscall.SysProcAttr) }

func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func exitMessage(ps *os.ProcessState) string {
	return fmt.Sprintf("exited with status %d", ps.ExitCode())
}
