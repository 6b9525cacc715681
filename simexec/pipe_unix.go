//go:build unix

package simexec

import (
	"errors"
	"syscall"
	"time"
)

// pollBound caps the bytes one poll takes, so that a simulator writing
// without pause cannot keep its caller reading forever.
const pollBound = 64

// run reads the pipe until every writer has closed it or finish stops it.
// The read itself happens with mu held, so that poll, which reads the same
// pipe from another goroutine, never sees output out of order.
func (o *outPipe) run() {
	rc, err := o.f.SyscallConn()
	if err != nil {
		return
	}
	for {
		var stop bool
		err := rc.Read(func(fd uintptr) bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			if o.eof {
				stop = true
				return true
			}
			if o.readLocked(int(fd)) {
				return false // nothing to read yet: wait for the poller
			}
			stop = o.eof
			return true
		})
		if err != nil || stop {
			return // stopped by finish's deadline, or end of output
		}
	}
}

// readLocked reads once from fd, a non-blocking pipe, and reports whether
// it would have blocked. End of output and errors set eof. mu held.
func (o *outPipe) readLocked(fd int) (wouldBlock bool) {
	for {
		n, err := syscall.Read(fd, o.buf)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return true
		case n > 0:
			o.sink(o.buf[:n])
		default: // end of output, or an error: nothing more can be read
			o.eof = true
		}
		return false
	}
}

// pollLocked takes whatever the pipe holds right now, without waiting for
// more. mu held.
func (o *outPipe) pollLocked() {
	if o.closedLocked() {
		return
	}
	rc, err := o.f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		for range pollBound {
			if o.readLocked(int(fd)) || o.eof {
				return
			}
		}
	})
}

// finish stops the reading goroutine, takes what the pipe still holds and
// closes it. Call it once the simulator has exited and what it started
// was killed: everything the simulator wrote is in the pipe by then.
func (o *outPipe) finish() {
	if err := o.f.SetReadDeadline(time.Now()); err != nil {
		_ = o.f.Close() // not pollable: closing is the only way to stop the read
	}
	<-o.ended
	o.mu.Lock()
	o.pollLocked()
	o.done = true
	o.mu.Unlock()
	_ = o.f.Close()
}
