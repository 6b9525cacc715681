package simexec

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// canCountUnread says whether unreadBytes works here.
const canCountUnread = true

// unreadBytes returns how many bytes written to the pipe whose write end is
// w are still unread. On Linux FIONREAD answers for either end of a pipe:
// both share the pipe's buffer.
func unreadBytes(w *os.File) (int, error) {
	rc, err := w.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("stdin pipe: %w", err)
	}
	var n int32
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if err != nil {
		return 0, fmt.Errorf("stdin pipe: %w", err)
	}
	if errno != 0 {
		return 0, fmt.Errorf("stdin pipe: FIONREAD: %w", errno)
	}
	return int(n), nil
}
