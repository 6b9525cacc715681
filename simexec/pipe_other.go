//go:build !unix

package simexec

import "time"

// run reads the pipe until every writer has closed it or finish closes it.
func (o *outPipe) run() {
	buf := make([]byte, len(o.buf))
	for {
		n, err := o.f.Read(buf)
		o.mu.Lock()
		if n > 0 {
			o.sink(buf[:n])
		}
		if err != nil {
			o.eof = true
		}
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// pollLocked cannot read without blocking here; the reading goroutine
// delivers output as it comes.
func (o *outPipe) pollLocked() {}

// finish waits a little for the pipe to close, then closes it.
func (o *outPipe) finish() {
	t := time.NewTimer(time.Second)
	select {
	case <-o.ended:
	case <-t.C:
	}
	t.Stop()
	_ = o.f.Close()
	<-o.ended
	o.mu.Lock()
	o.done = true
	o.mu.Unlock()
}
