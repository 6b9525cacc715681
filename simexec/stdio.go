package simexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/zotune/zotune/transport"
)

// errClosed is returned for work asked of a closed Runner.
var errClosed = errors.New("simulator runner is closed")

// proc is one long-lived stdio simulator process.
type proc struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	out      *lineWriter
	stderr   *tailBuffer
	workdir  string
	done     chan struct{} // closed once the process has exited and its output is drained
	stopOnce sync.Once
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

// handleStdio sends t to a stdio process and reads its answer.
func (r *Runner) handleStdio(ctx context.Context, t *transport.Task) transport.Reply {
	if err := ctx.Err(); err != nil {
		return failure(transport.ReasonTimeout, fmt.Sprintf("evaluation abandoned before it started: %v", context.Cause(ctx)), "")
	}
	req, _, err := encodeRequest(t)
	if err != nil {
		return failure(transport.ReasonInput, err.Error(), "")
	}
	p, err := r.acquire()
	if err != nil {
		return failure(transport.ReasonStart, err.Error(), "")
	}
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	wrote := make(chan error, 1)
	go func() {
		_, err := p.stdin.Write(req)
		wrote <- err
	}()
	for {
		select {
		case a := <-p.out.out:
			rep := r.stdioAnswer(a, p)
			r.release(p)
			return rep
		case <-p.done:
			// An answer written just before exiting still counts.
			select {
			case a := <-p.out.out:
				rep := r.stdioAnswer(a, p)
				r.stop(p, 0)
				return rep
			default:
			}
			r.stop(p, 0)
			return failure(transport.ReasonCrash, "stdio simulator "+p.how()+" during the request", p.stderr.String())
		case err := <-wrote:
			if err == nil {
				continue
			}
			r.stop(p, 0)
			return failure(transport.ReasonCrash, fmt.Sprintf("cannot send the request to the stdio simulator (%v); it %s", err, p.how()), p.stderr.String())
		case <-timer.C:
			r.stop(p, 0)
			return failure(transport.ReasonTimeout, fmt.Sprintf("stdio simulator timed out: process group killed after %s", seconds(r.timeout)), p.stderr.String())
		case <-ctx.Done():
			r.stop(p, 0)
			return failure(transport.ReasonTimeout, fmt.Sprintf("evaluation abandoned: %v; stdio simulator killed", context.Cause(ctx)), p.stderr.String())
		}
	}
}

func (r *Runner) stdioAnswer(a answer, p *proc) transport.Reply {
	if a.overlong {
		return failure(transport.ReasonParse, fmt.Sprintf("stdio answer line is longer than %d KiB: %s", lineMax>>10, quote(a.text)), p.stderr.String())
	}
	res, reason, err := parseLine(a.text)
	if err != nil {
		return failure(reason, "stdio answer: "+err.Error(), p.stderr.String())
	}
	return success(res)
}

// acquire returns an idle healthy process, or starts one.
func (r *Runner) acquire() (*proc, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errClosed
		}
		n := len(r.idle)
		if n == 0 {
			r.mu.Unlock()
			break
		}
		p := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		switch {
		case p.exited():
			r.log.Warn().Int("pid", p.cmd.Process.Pid).Str("how", p.how()).Str("stderr", p.stderr.String()).Msg("stdio simulator exited while idle; starting a fresh one")
		case p.out.stray():
			r.log.Warn().Int("pid", p.cmd.Process.Pid).Msg("stdio simulator wrote lines nobody asked for; replacing it")
		default:
			return p, nil
		}
		r.stop(p, 0)
	}
	p, err := r.startProc()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.stop(p, 0)
		return nil, errClosed
	}
	r.live[p] = struct{}{}
	r.mu.Unlock()
	return p, nil
}

// release returns p to the idle pool after a request it answered.
func (r *Runner) release(p *proc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return // Close is stopping every live process
	}
	r.idle = append(r.idle, p)
}

// startProc starts a stdio simulator in a working directory of its own.
func (r *Runner) startProc() (*proc, error) {
	workdir, err := os.MkdirTemp(r.dir, "zotune-stdio-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a working directory: %w", err)
	}
	path, args, err := r.expand(&vars{workdir: workdir})
	if err != nil {
		r.removeWorkdir(workdir)
		return nil, err
	}
	p := &proc{
		out:     newLineWriter(),
		stderr:  newTailBuffer(stderrKeep),
		workdir: workdir,
		done:    make(chan struct{}),
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = workdir
	cmd.Env = r.environ("ZOTUNE_WORKDIR=" + workdir)
	cmd.Stdout = p.out
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = waitDelay
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.removeWorkdir(workdir)
		return nil, fmt.Errorf("cannot start simulator: %w", err)
	}
	if err := cmd.Start(); err != nil {
		r.removeWorkdir(workdir)
		return nil, fmt.Errorf("cannot start simulator: %w", err)
	}
	p.cmd, p.stdin = cmd, stdin
	go func() {
		_ = cmd.Wait() // judged from ProcessState
		p.out.flush()
		close(p.done)
	}()
	r.log.Debug().Int("pid", cmd.Process.Pid).Str("workdir", workdir).Msg("started stdio simulator")
	return p, nil
}

// stop ends p: closes its stdin, gives it grace to exit on its own, kills
// its process group, waits for it and removes its working directory. It is
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
		_ = killGroup(p.cmd.Process)
		<-p.done
		r.removeWorkdir(p.workdir)
	})
	<-p.done
}
