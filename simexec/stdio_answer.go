package simexec

import (
	"context"
	"fmt"
	"time"

	"github.com/zotune/zotune/wire"
)

// Hints ending the errors of a stdio simulator that broke the protocol,
// after which its process is replaced.
const (
	idHint    = "; a stdio simulator must write exactly one line per request on stdout, a JSON object echoing the request's id, and nothing else (logs go to stderr); one that cannot echo ids needs answers = \"plain\" (evaluator --answers plain); the process was replaced"
	plainHint = "; a stdio simulator must write exactly one line per request on stdout, after reading the request, and nothing else (logs go to stderr); the process was replaced"
)

// handleStdio sends t to a stdio process and reads its answer. A process
// that had answered earlier requests and ends without answering this one
// most likely exited between requests: the request is tried once more on a
// fresh process, and a crash reported only if that one dies too.
func (r *Runner) handleStdio(ctx context.Context, t *wire.Task) wire.Reply {
	if err := ctx.Err(); err != nil {
		return failure(wire.ReasonTimeout, fmt.Sprintf("evaluation abandoned before it started: %v", context.Cause(ctx)), "")
	}
	req, _, err := encodeRequest(t)
	if err != nil {
		return failure(wire.ReasonInput, err.Error(), "")
	}
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	fresh := false
	for {
		ans := make(chan answer, 1)
		p, fail := r.acquire(ans, fresh)
		if fail != nil {
			return *fail
		}
		rep, retry := r.ask(ctx, timer.C, p, ans, req, t.ID)
		if !retry || fresh {
			return rep
		}
		r.log.Warn().Int("pid", p.cmd.Process.Pid).Str("task", t.ID).Str("error", rep.Error).Str("stderr", rep.Stderr).
			Msg("stdio simulator ended without answering after serving earlier requests; retrying on a fresh process")
		fresh = true
	}
}

// ask sends req, the request with id, to p, which begin has readied for
// ans, and waits for the answer. retry is true when p, a process that had
// answered before, ended without answering.
func (r *Runner) ask(ctx context.Context, expired <-chan time.Time, p *proc, ans chan answer, req []byte, id string) (rep wire.Reply, retry bool) {
	reused := p.served > 0
	body, last := req, []byte(nil)
	if p.split {
		body, last = req[:len(req)-heldBack], req[len(req)-heldBack:]
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := p.stdin.Write(body)
		wrote <- err
	}()
	poll := newBackoff(pollMin, pollMax)
	defer poll.stop()
	sendFailed := func(err error) (wire.Reply, bool) {
		r.stop(p, 0)
		return failure(wire.ReasonCrash, fmt.Sprintf("cannot send the request to the stdio simulator (%v); it %s", err, p.how()), p.stderr.String()), reused
	}
	for {
		select {
		case a := <-ans:
			return r.stdioAnswer(a, p, id), false
		case <-p.done:
			// Every line written before the exit has been delivered by now.
			select {
			case a := <-ans:
				return r.stdioAnswer(a, p, id), false
			default:
			}
			r.stop(p, 0)
			return failure(wire.ReasonCrash, "stdio simulator "+p.how()+" during the request", p.stderr.String()), reused
		case err := <-wrote:
			wrote = nil
			if err != nil {
				return sendFailed(err)
			}
			if last != nil {
				poll.start()
			}
		case <-poll.c:
			sent, err := p.finish(last)
			switch {
			case err != nil:
				return sendFailed(err)
			case sent:
				last, poll.c = nil, nil
			default:
				poll.next()
			}
		case <-expired:
			r.stop(p, 0)
			return failure(wire.ReasonTimeout, fmt.Sprintf("stdio simulator timed out: it and all it started were killed after %s", seconds(r.timeout)), p.stderr.String()), false
		case <-ctx.Done():
			r.stop(p, 0)
			return failure(wire.ReasonTimeout, fmt.Sprintf("evaluation abandoned: %v; stdio simulator killed", context.Cause(ctx)), p.stderr.String()), false
		}
	}
}

// stdioAnswer turns a, the line answering the request with id, into a
// reply and keeps p for the next request or stops it. A line that is not
// this request's answer means the process may be out of step with its
// requests: it is replaced. A well-formed non-finite value keeps it.
func (r *Runner) stdioAnswer(a answer, p *proc, id string) wire.Reply {
	res, reason, err := r.judge(a, id)
	if err != nil && reason == wire.ReasonParse {
		r.stop(p, 0)
		return failure(reason, "stdio answer: "+err.Error()+r.hint(), p.stderr.String())
	}
	p.served++
	r.release(p)
	if err != nil {
		return failure(reason, "stdio answer: "+err.Error(), p.stderr.String())
	}
	return success(res)
}

// judge parses a, the line answering the request with id, after checking
// that it can be that request's answer. A failure with ReasonParse means
// the line is not the request's answer.
func (r *Runner) judge(a answer, id string) (result, wire.Reason, error) {
	var err error
	switch {
	case a.early:
		err = fmt.Errorf("the simulator wrote %s on stdout before it had read its request", quote(a.text))
	case a.unreadErr != nil:
		err = fmt.Errorf("cannot tell whether the simulator had read its request before writing %s: %v", quote(a.text), a.unreadErr)
	case a.unread > 0:
		err = fmt.Errorf("the simulator wrote %s while %d bytes of its request were still unread on its stdin; an answer comes after the request is read", quote(a.text), a.unread)
	case a.blank:
		err = fmt.Errorf("a blank line; expected %s", r.expected(id))
	case a.overlong:
		err = fmt.Errorf("line is longer than %d KiB: %s", lineMax>>10, quote(a.text))
	}
	if err != nil {
		return result{}, wire.ReasonParse, err
	}
	res, reason, err := parseLine(a.text)
	if idErr := checkID(res, a.text, id, r.answers != AnswersPlain); idErr != nil {
		return result{}, wire.ReasonParse, idErr
	}
	return res, reason, err
}

// expected describes a good answer to the request with id.
func (r *Runner) expected(id string) string {
	if r.answers == AnswersPlain {
		return `a number or a JSON object with a numeric "value"`
	}
	return answerExample(id)
}

// hint ends the error of a process replaced for breaking the protocol.
func (r *Runner) hint() string {
	if r.answers == AnswersPlain {
		return plainHint
	}
	return idHint
}

// backoff is a timer whose waits double from min up to max; c is nil until
// start.
type backoff struct {
	c        <-chan time.Time
	t        *time.Timer
	wait     time.Duration
	min, max time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max} }

// start fires c at once.
func (b *backoff) start() {
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	b.c, b.wait = ch, b.min
}

// next fires c after the next wait.
func (b *backoff) next() {
	if b.t == nil {
		b.t = time.NewTimer(b.wait)
	} else {
		b.t.Reset(b.wait)
	}
	b.c = b.t.C
	b.wait = min(2*b.wait, b.max)
}

func (b *backoff) stop() {
	if b.t != nil {
		b.t.Stop()
	}
}
