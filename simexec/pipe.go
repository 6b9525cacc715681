package simexec

import (
	"os"
	"sync"
)

// outPipe collects what a simulator writes to one of its output pipes: a
// goroutine reads the pipe's read end and hands each chunk to sink, in
// order, with mu held. Once the simulator has exited (and what it started
// was killed), finish takes what is still in the pipe and closes it, without
// waiting for writers that escaped: output that arrives later is never
// read.
type outPipe struct {
	f     *os.File
	mu    *sync.Mutex
	sink  func([]byte) // called with mu held
	buf   []byte       // guarded by mu
	eof   bool         // guarded by mu: every writer closed the pipe
	done  bool         // guarded by mu: finish has run; f is closed
	ended chan struct{}
}

// newOutPipe starts reading f, the read end of a pipe created with os.Pipe
// whose write end was handed to the simulator.
func newOutPipe(f *os.File, mu *sync.Mutex, sink func([]byte)) *outPipe {
	o := &outPipe{f: f, mu: mu, sink: sink, buf: make([]byte, 32<<10), ended: make(chan struct{})}
	go func() {
		defer close(o.ended)
		o.run()
	}()
	return o
}

// closedLocked reports whether nothing more will come from the pipe; mu held.
func (o *outPipe) closedLocked() bool { return o.eof || o.done }

// pipes are a simulator's stdin, stdout and stderr: the child's ends go to
// exec.Cmd as *os.File, so that the process gets them directly and Wait
// returns when it exits, not when the last holder of its output lets go.
type pipes struct {
	stdinR, stdinW   *os.File
	stdoutR, stdoutW *os.File
	stderrR, stderrW *os.File
}

func newPipes() (*pipes, error) {
	var pp pipes
	var err error
	if pp.stdinR, pp.stdinW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if pp.stdoutR, pp.stdoutW, err = os.Pipe(); err != nil {
		_ = pp.stdinR.Close()
		_ = pp.stdinW.Close()
		return nil, err
	}
	if pp.stderrR, pp.stderrW, err = os.Pipe(); err != nil {
		pp.closeChildEnds()
		_ = pp.stdinW.Close()
		_ = pp.stdoutR.Close()
		return nil, err
	}
	return &pp, nil
}

// closeChildEnds closes the parent's copies of the child's ends; call it
// after Start, whether or not it succeeded.
func (pp *pipes) closeChildEnds() {
	for _, f := range []*os.File{pp.stdinR, pp.stdoutW, pp.stderrW} {
		if f != nil {
			_ = f.Close()
		}
	}
}

// closeParentEnds closes the parent's ends, when the child did not start.
func (pp *pipes) closeParentEnds() {
	_ = pp.stdinW.Close()
	_ = pp.stdoutR.Close()
	_ = pp.stderrR.Close()
}
