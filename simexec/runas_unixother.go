//go:build unix && !linux

package simexec

import "os"

// canSwitchUser reports whether the evaluator may start processes as
// another user: here, whether it runs as root.
func canSwitchUser() bool { return os.Geteuid() == 0 }
