package simexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/zotune/zotune/wire"
)

// errClosed is returned for work asked of a closed Runner.
var errClosed = errors.New("simulator runner is closed")

// A process's first settleRequests answers are each followed by a check
// that its stdout stays quiet for settleQuiet before it gets another
// request. A surplus line written after the next request was sent, but
// before the simulator read it, cannot be told from that request's answer
// by any count of lines. A simulator that writes more than one line per
// request (an answer printed twice, a progress line after the answer) does
// so from its first request on, and right after its answer: the check
// catches it there, before a surplus line can be mistaken for an answer.
// It costs at most settleQuiet per answer, only when the next request
// follows sooner, and only on a process's first requests.
const (
	settleRequests = 3
	settleQuiet    = 25 * time.Millisecond
)

// Plain-mode requests are sent in two writes: all but their last bytes,
// then, once the simulator has read those, the last bytes (see
// proc.finish). The request is a JSON object ending "}\n": without its
// last brace no reader, line-based or a streaming JSON decoder, has a
// whole request to answer.
const (
	heldBack = 2                     // bytes held back: "}\n"
	pollMin  = 50 * time.Microsecond // first wait for the simulator to read
	pollMax  = 10 * time.Millisecond // longest wait between checks
)

// proc is one long-lived stdio simulator process.
//
// Its stdout is read all the time by a goroutine that cuts it into lines.
// A line goes to the request in flight, if there is one; a line written
// while none is in flight breaks the process: it is stopped rather than
// given another request, whose answer could otherwise be taken from the
// wrong line. Before each request the pipe is also read without waiting,
// so that output already written is seen even if the goroutine has not
// got to it yet. And after each of its first answers, the process must
// stay quiet for a moment before its next request (see settleQuiet).
//
// In id mode each answer names its request, which settles which request
// it belongs to. In plain mode nothing can settle it; on Linux, split is
// set and the request's last bytes are held back until the simulator has
// read the rest (see finish), so that a line it wrote before it had its
// request is told apart, and a line arriving while any of the request is
// unread on its stdin is refused.
type proc struct {
	cmd      *exec.Cmd
	jail     *jail    // holds the process and all it starts
	stdin    *os.File // write end of the simulator's stdin
	out      *outPipe // stdout; its mutex is mu
	errOut   *outPipe
	stderr   *tailBuffer
	workdir  string
	split    bool          // plain mode with causality checks: see finish
	served   int           // requests answered; used by the caller holding p
	done     chan struct{} // closed once the process has exited and its output is taken
	stopOnce sync.Once

	mu       sync.Mutex
	lines    lineSplitter
	want     chan answer // the answer of the request in flight; nil when none is
	complete bool        // the request in flight was sent whole
	broken   string      // why p must not get another request; "" while it may
	outAt    time.Time   // when stdout last had output
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// how describes how the exited process ended.
func (p *proc) how() string {
	if ps := p.cmd.ProcessState; ps != nil {
		return exitMessage(ps)
	}
	return "exited"
}

// feed takes stdout output; mu held.
func (p *proc) feed(data []byte) {
	p.outAt = time.Now()
	p.lines.write(data, p.deliver)
}

// settle waits, after one of p's first answers, until its stdout has been
// quiet for settleQuiet, so that begin sees any line written after the
// answer. Called by the caller holding p, before begin.
func (p *proc) settle() {
	if p.served > settleRequests {
		return
	}
	for range 4 { // bounded: blank output keeps resetting the clock
		p.mu.Lock()
		p.out.pollLocked()
		wait := settleQuiet - time.Since(p.outAt)
		quit := p.broken != "" || p.out.closedLocked()
		p.mu.Unlock()
		if wait <= 0 || quit {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.done:
			t.Stop()
			return
		}
	}
}

// deliver hands a line to the request in flight, noting in plain mode
// what the simulator had read of the request, or marks p broken; mu held.
func (p *proc) deliver(a answer) {
	if p.want == nil {
		if p.broken == "" {
			p.broken = "wrote a line on stdout nobody asked for: " + quote(a.text)
		}
		return
	}
	if p.split {
		if !p.complete {
			a.early = true
		} else {
			a.unread, a.unreadErr = unreadBytes(p.stdin)
		}
	}
	p.want <- a // buffered for the one answer
	p.want = nil
	if a.overlong && p.broken == "" {
		p.broken = fmt.Sprintf("wrote an answer line longer than %d KiB", lineMax>>10)
	}
}

// finish sends last, the held-back end of the request in flight, once the
// simulator has read the rest of it; it returns false while some is unread.
// Output written before then cannot answer the request, which the
// simulator did not have whole: the first line, or the start of one, goes
// to the request marked early, and last is not sent.
func (p *proc) finish(last []byte) (bool, error) {
	n, err := unreadBytes(p.stdin)
	if err != nil || n > 0 {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.pollLocked()
	if s, ok := p.lines.partial(); ok && p.want != nil {
		p.deliver(answer{text: s, blank: s == ""})
	}
	if p.want == nil {
		return true, nil // answered early
	}
	// The pipe is empty, so the write cannot block; made with mu held, it
	// precedes any line the reading goroutine delivers as complete.
	p.complete = true
	_, err = p.stdin.Write(last)
	return true, err
}

// begin makes ans the channel for the next answer, after taking whatever
// stdout already holds. It returns why p cannot take a request instead:
// it broke the protocol, or its output ended.
func (p *proc) begin(ans chan answer) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.pollLocked()
	if s, ok := p.lines.partial(); ok && p.broken == "" {
		p.broken = "wrote output on stdout nobody asked for: " + quote(s)
	}
	switch {
	case p.broken != "":
		return p.broken
	case p.out.closedLocked() || p.exited():
		return "exited"
	}
	p.want = ans
	p.complete = !p.split
	return ""
}

// unusable returns why p cannot serve another request, or "".
func (p *proc) unusable() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.broken != "":
		return p.broken
	case p.out.closedLocked() || p.exited():
		return "exited"
	}
	return ""
}

// acquire readies an idle healthy process for a request answered on ans,
// or starts one (always, when fresh is set). It fails with the reply to
// give when no process can take the request.
func (r *Runner) acquire(ans chan answer, fresh bool) (*proc, *wire.Reply) {
	for !fresh {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, failRep(wire.ReasonStart, errClosed.Error(), "")
		}
		n := len(r.idle)
		if n == 0 {
			r.mu.Unlock()
			break
		}
		p := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		p.settle()
		why := p.begin(ans)
		if why == "" {
			return p, nil
		}
		r.replacing(p, why)
		r.stop(p, 0)
	}
	p, err := r.startProc()
	if err != nil {
		return nil, failRep(wire.ReasonStart, err.Error(), "")
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.stop(p, 0)
		return nil, failRep(wire.ReasonStart, errClosed.Error(), "")
	}
	r.live[p] = struct{}{}
	r.mu.Unlock()
	if why := p.begin(ans); why != "" {
		r.stop(p, 0)
		if why == "exited" {
			return nil, failRep(wire.ReasonCrash, "stdio simulator "+p.how()+" before its first request", p.stderr.String())
		}
		return nil, failRep(wire.ReasonParse, "stdio simulator "+why+" before its first request"+r.hint(), p.stderr.String())
	}
	return p, nil
}

func failRep(reason wire.Reason, msg, stderr string) *wire.Reply {
	rep := failure(reason, msg, stderr)
	return &rep
}

// replacing logs why p is stopped instead of getting a request.
func (r *Runner) replacing(p *proc, why string) {
	ev := r.log.Warn().Int("pid", p.cmd.Process.Pid)
	if why == "exited" {
		if p.exited() {
			why = p.how()
		}
		ev.Str("how", why).Str("stderr", p.stderr.String()).Msg("stdio simulator exited between requests; starting a fresh one")
		return
	}
	ev.Str("problem", why).Msg("stdio simulator broke the one-line-per-request protocol; replacing it")
}

// release returns p to the idle pool after a request it answered, or stops
// it if it cannot take another.
func (r *Runner) release(p *proc) {
	if why := p.unusable(); why != "" {
		r.replacing(p, why)
		r.stop(p, 0)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return // Close is stopping every live process
	}
	r.idle = append(r.idle, p)
}

// startProc starts a stdio simulator in a working directory of its own.
func (r *Runner) startProc() (p *proc, err error) {
	workdir, err := r.makeWorkdir("zotune-stdio-")
	if err != nil {
		return nil, err
	}
	path, args, err := r.expand(&vars{workdir: workdir})
	if err != nil {
		r.removeWorkdir(workdir)
		return nil, err
	}
	pp, err := newPipes()
	if err != nil {
		r.removeWorkdir(workdir)
		return nil, fmt.Errorf("cannot start simulator: %w", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = workdir
	cmd.Env = r.environ("ZOTUNE_WORKDIR=" + workdir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pp.stdinR, pp.stdoutW, pp.stderrW
	j, err := r.launch(cmd)
	pp.closeChildEnds()
	if err != nil {
		pp.closeParentEnds()
		r.removeWorkdir(workdir)
		return nil, fmt.Errorf("cannot start simulator: %w", err)
	}
	p = &proc{
		cmd:     cmd,
		jail:    j,
		stdin:   pp.stdinW,
		stderr:  newTailBuffer(stderrKeep),
		workdir: workdir,
		split:   r.split,
		done:    make(chan struct{}),
	}
	p.out = newOutPipe(pp.stdoutR, &p.mu, p.feed)
	p.errOut = newOutPipe(pp.stderrR, new(sync.Mutex), func(b []byte) { _, _ = p.stderr.Write(b) })
	go func() {
		_ = cmd.Wait() // judged from ProcessState
		// Whatever the simulator left running goes with it.
		j.release()
		p.errOut.finish()
		p.out.finish()
		p.mu.Lock()
		p.lines.flush(p.deliver) // a last answer needs no newline
		p.mu.Unlock()
		close(p.done)
	}()
	r.log.Debug().Int("pid", cmd.Process.Pid).Str("workdir", workdir).Msg("started stdio simulator")
	return p, nil
}

// stop ends p: closes its stdin, gives it grace to exit on its own, kills
// it and all it started, waits for it and removes its working directory. It is
// safe to call more than once and from several goroutines; every call
// returns once p has exited.
func (r *Runner) stop(p *proc, grace time.Duration) {
	p.stopOnce.Do(func() {
		r.mu.Lock()
		delete(r.live, p)
		r.mu.Unlock()
		_ = p.stdin.Close()
		if grace > 0 {
			t := time.NewTimer(grace)
			select {
			case <-p.done:
			case <-t.C:
			}
			t.Stop()
		}
		if !p.exited() {
			_ = p.jail.kill(p.cmd.Process.Pid)
		}
		<-p.done
		r.removeWorkdir(p.workdir)
	})
	<-p.done
}
