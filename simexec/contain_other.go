//go:build !linux

package simexec

import (
	"os"
	"syscall"

	"github.com/rs/zerolog"
)

// containment is how a Runner keeps whatever a simulator starts from
// outliving it. Here that is the simulator's process group only (on
// systems without process groups, the simulator itself): a descendant
// that leaves the group, by setsid say, is not found. Linux does better
// (see contain_linux.go).
type containment struct{}

func newContainment(bool, zerolog.Logger) *containment { return &containment{} }

// String says which containment is in use.
func (*containment) String() string {
	return "process group: each simulator runs in a process group of its own, killed when the simulator exits; a descendant that leaves the group survives"
}

func (*containment) close() {}

// jail contains one simulator process, as far as its process group.
type jail struct {
	token string
	pid   int
}

func (*containment) newJail() (*jail, error) { return &jail{token: newToken()}, nil }

func (*jail) prepare(*syscall.SysProcAttr) {}

func (j *jail) started(p *os.Process) {
	if p != nil {
		j.pid = p.Pid
	}
}

// kill kills the simulator's process group now.
func (j *jail) kill(pid int) error { return killGroup(pid) }

// release kills what the simulator left in its group once it has exited.
func (j *jail) release() {
	if j.pid > 0 {
		_ = killGroup(j.pid)
	}
}
