package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/wire"
)

// DispatchOptions configures a Dispatcher.
type DispatchOptions struct {
	Study     string // study name, for its logs; required
	Objective string // objective the tasks go to; required
	// Slots bounds the tasks outstanding at once, shared with other
	// studies; nil: MaxInFlight of the study's own.
	Slots Slots
	// MaxInFlight bounds the tasks outstanding at once when Slots is nil;
	// default 1. Set it to the total number of evaluator slots: a queue
	// group picks a member at random and ignores its load, so sending more
	// than the fleet can run only queues work inside busy evaluators.
	MaxInFlight int
	// Timeout is the deadline of one delivery attempt, simulation included;
	// default 10m. Set it above the evaluators' own timeout, so that a slow
	// simulation is reported by its evaluator rather than retried here.
	Timeout time.Duration
	// Retries is how many times a delivery that got no reply before
	// Timeout, or a malformed one, is tried again before the evaluation fails
	// with ReasonDelivery; default 3.
	Retries int
	// WaitEvaluators is how long a task waits for an evaluator of its
	// objective to appear when none is listening (evaluators still starting
	// or restarting); default 2m. Past it the evaluation fails with
	// ReasonDelivery.
	WaitEvaluators time.Duration
	// RetryWait is the pause before the first retry, doubled each time;
	// default 100ms.
	RetryWait time.Duration
	// Record, when set, is called once per finished evaluation (success or
	// failure) as it completes, possibly from several goroutines at once.
	Record func(t *wire.Task, r *wire.Reply)
	Logger zerolog.Logger
}

// Dispatcher is direct dispatch: it sends each task to the objective's
// evaluators over NATS request/reply and waits for the reply that names
// it, retrying a delivery that got none.
type Dispatcher struct {
	nc   *nats.Conn
	opts DispatchOptions
	log  zerolog.Logger
	in   *inbox // where replies arrive
}

// NewDispatcher returns a Dispatcher sending on nc.
func NewDispatcher(nc *nats.Conn, o DispatchOptions) (*Dispatcher, error) {
	if o.Study == "" || o.Objective == "" {
		return nil, errors.New("transport: dispatcher needs a study and an objective")
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1
	}
	if o.Slots == nil {
		o.Slots = make(semaphore, o.MaxInFlight)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 3
	}
	if o.WaitEvaluators <= 0 {
		o.WaitEvaluators = 2 * time.Minute
	}
	if o.RetryWait <= 0 {
		o.RetryWait = 100 * time.Millisecond
	}
	log := o.Logger.With().Str("component", "dispatch").Str("study", o.Study).Logger()
	return &Dispatcher{nc: nc, opts: o, log: log, in: newInbox(nc, log)}, nil
}

// Width is the number of tasks the dispatcher has out at once, 0 when
// unbounded or unknown.
func (d *Dispatcher) Width() int { return width(d.opts.Slots) }

// Close stops receiving replies. Send must not be called after.
func (d *Dispatcher) Close() { d.in.close() }

// Send delivers tasks built by the caller, as slots allow, and returns
// their replies in order. Record is called for each as it completes.
func (d *Dispatcher) Send(ctx context.Context, tasks []*wire.Task) ([]*wire.Reply, error) {
	out := make([]*wire.Reply, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		if err := d.opts.Slots.Acquire(ctx); err != nil {
			wg.Wait()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.opts.Slots.Release()
			rep := d.deliver(ctx, t)
			if rep == nil {
				return // cancelled
			}
			if d.opts.Record != nil {
				d.opts.Record(t, rep)
			}
			out[i] = rep
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// deliver sends one task until it gets a reply, retrying deliveries that got
// no answer. It returns nil only when ctx is cancelled.
func (d *Dispatcher) deliver(ctx context.Context, t *wire.Task) *wire.Reply {
	data, err := t.Encode()
	if err != nil {
		return d.failed(t, wire.ReasonInput, fmt.Sprintf("encoding task: %v", err))
	}
	wait := d.opts.RetryWait
	var last error
	var noResponders time.Time // when we first found nobody listening
	bounces := 0               // busy answers in a row
	for attempt := 0; attempt <= d.opts.Retries; {
		if last != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, 2*time.Second)
		}
		actx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		rep, err := d.in.request(actx, wire.EvalSubject(d.opts.Objective), t.ID, data)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, wire.ErrBusy) {
			// The evaluator it reached had no free slot: send it again at
			// once (the queue group picks at random), then, if the whole
			// fleet seems busy, after a growing pause. Someone listened:
			// an earlier failure's backoff and outage no longer apply.
			last, wait, noResponders = nil, d.opts.RetryWait, time.Time{}
			bounces++
			if !d.pause(ctx, bounces) {
				return nil
			}
			continue
		}
		bounces = 0
		if errors.Is(err, nats.ErrNoResponders) {
			// Nobody listening: evaluators may still be starting. Wait for
			// them without spending a retry, up to WaitEvaluators.
			if noResponders.IsZero() {
				noResponders = time.Now()
				d.log.Warn().Str("task", t.ID).Str("objective", d.opts.Objective).Msg("no evaluator is serving this objective yet; waiting")
			}
			last = fmt.Errorf("no evaluator is serving objective %q (waited %s)", d.opts.Objective, d.opts.WaitEvaluators)
			if time.Since(noResponders) > d.opts.WaitEvaluators {
				break
			}
			continue
		}
		noResponders = time.Time{} // someone listened: a later outage waits afresh
		attempt++
		if err != nil {
			last = err
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				last = fmt.Errorf("no reply within %s (%v)", d.opts.Timeout, err)
			}
			d.log.Warn().Str("task", t.ID).Int("attempt", attempt).Err(last).Msg("delivery failed")
			continue
		}
		return rep
	}
	return d.failed(t, wire.ReasonDelivery, fmt.Sprintf("gave up: %v", last))
}

// pause waits before sending a task again after its bounces-th busy
// answer in a row: not at all for the first few (another evaluator of the
// queue group likely has a free slot), then 1 ms, doubling up to 32 ms
// (the dispatcher's slots exceed the fleet's). It reports false when ctx
// ended.
func (d *Dispatcher) pause(ctx context.Context, bounces int) bool {
	if bounces <= 4 {
		return true
	}
	wait := time.Millisecond << min(bounces-5, 5)
	select {
	case <-ctx.Done():
		return false
	case <-time.After(wait):
		return true
	}
}

func (d *Dispatcher) failed(t *wire.Task, reason wire.Reason, msg string) *wire.Reply {
	return &wire.Reply{V: wire.Version, ID: t.ID, Error: msg, Reason: reason, Evaluator: "", Started: time.Now().UTC()}
}
