//go:build !linux

package simexec

import (
	"errors"
	"os"
)

// canCountUnread says whether unreadBytes works here: it needs FIONREAD on
// the write end of a pipe, which only Linux is known to answer.
const canCountUnread = false

func unreadBytes(*os.File) (int, error) {
	return 0, errors.New("cannot count the unread bytes of a pipe on this system")
}
