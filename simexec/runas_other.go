//go:build !unix

package simexec

import (
	"errors"
	"syscall"
)

// runAs would be the user simulators run as; this system has no way to
// start a process as another user.
type runAs struct{}

func newRunAs(spec string) (*runAs, error) {
	if spec == "" {
		return nil, nil
	}
	return nil, errors.New("simexec: running simulators as another user is not supported on this system")
}

func (*runAs) apply(*syscall.SysProcAttr) {}
func (*runAs) chown(string) error         { return nil }
func (*runAs) reach(string) error         { return nil }
