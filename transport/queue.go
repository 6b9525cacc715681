package transport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// Queue is durable dispatch for one study: tasks go into the objective's
// JetStream work queue, evaluators pull them when they have a free slot,
// and results come back through the journal. Nothing is lost when tunerd
// dies: pending tasks stay queued, results keep being stored, and a
// restarted Queue picks both up.
//
// A result answers a task only when it is of the task's journal generation
// (Task.Epoch) and asked for the same evaluation (journal.Answers): a
// record an evaluator of an earlier generation stores after `tunerd run
// --fresh` is ignored. Of several records of a trial, the first one stored
// counts, both live and on resume. Results stored before the journal was
// opened are the journal's to replay: Send is asked only for the others.
type Queue struct {
	js        jetstream.JetStream
	j         *journal.Journal
	objective string
	study     string
	slots     Slots // nil: none, every task of a batch is queued at once
	log       zerolog.Logger
	watch     *journal.Watch

	mu      sync.Mutex
	asked   map[string]bool              // trials Send has been asked for
	early   map[string][]journal.Arrival // trial → results that arrived before Send asked for it
	waiters map[string]*waiter           // trial → the task Send waits for
}

// waiter is a task Send waits for; done is closed once rep or err is set.
type waiter struct {
	t    *wire.Task
	done chan struct{}
	rep  *wire.Reply
	err  error
	slot bool // the task holds one of Slots until it is answered
}

// QueueOptions say which study a Queue serves and how.
type QueueOptions struct {
	Objective, Study string // required
	Durable          DurableOptions
	// Slots, if set, bounds the study's tasks in the work queue or
	// running: a task is queued once it has a slot, and frees it when its
	// result is in. nil: every task of a batch is queued at once.
	Slots  Slots
	Logger zerolog.Logger
}

// OpenQueue ensures the objective's work queue and starts watching the
// study's results in j. Close it when the study ends.
func OpenQueue(ctx context.Context, js jetstream.JetStream, j *journal.Journal, o QueueOptions) (*Queue, error) {
	if _, err := EnsureTasks(ctx, js, o.Objective, o.Durable); err != nil {
		return nil, err
	}
	q := &Queue{
		js: js, j: j, objective: o.Objective, study: o.Study, slots: o.Slots,
		log:   o.Logger.With().Str("component", "queue").Str("study", o.Study).Logger(),
		asked: map[string]bool{}, early: map[string][]journal.Arrival{}, waiters: map[string]*waiter{},
	}
	w, err := j.Watch(ctx, q.deliver)
	if err != nil {
		return nil, err
	}
	q.watch = w
	if stored, queued := j.Resumed(); stored+queued > 0 {
		q.log.Info().Int("stored", stored).Int("queued", queued).Msg("resuming: results and queued tasks from an earlier run")
	}
	return q, nil
}

// Width is the number of tasks the queue has out at once, 0 when
// unbounded or unknown.
func (q *Queue) Width() int {
	if q.slots == nil {
		return 0
	}
	return width(q.slots)
}

// Close stops watching results.
func (q *Queue) Close() { q.watch.Stop() }

// deliver hands a result from the watch to the task waiting for it. A
// result nobody waits for is kept only if Send may still ask for it (its
// task was queued by an earlier run); anything else is a late duplicate,
// or a result of another generation, and is dropped.
func (q *Queue) deliver(a journal.Arrival) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w, ok := q.waiters[a.Trial]; ok {
		q.settle(w, a)
		return
	}
	if q.j.Queued(a.Trial) && !q.asked[a.Trial] {
		q.early[a.Trial] = append(q.early[a.Trial], a)
	}
}

// settle answers w with a if a is a result of w's task, and reports whether
// it did. q.mu is held.
func (q *Queue) settle(w *waiter, a journal.Arrival) bool {
	if w.rep != nil || w.err != nil {
		return true // at-least-once delivery: the first result counts
	}
	err := a.Err
	if err == nil {
		err = journal.Answers(a.Record, w.t)
	}
	switch {
	case errors.Is(err, journal.ErrOtherEpoch):
		q.log.Debug().Str("task", w.t.ID).Str("epoch", a.Record.Task.Epoch).Msg("ignoring a result of another generation of the study")
		return false
	case err != nil:
		w.err = err
	default:
		w.rep = &a.Record.Reply
	}
	q.free(w)
	close(w.done)
	return true
}

// Send makes sure every task gets evaluated once as far as the study can
// tell, and returns the replies in order: a task still queued from an
// earlier run is waited for, not sent again; the others are published, all
// of the batch at once or each as it gets a slot; then it waits for every
// result.
func (q *Queue) Send(ctx context.Context, tasks []*wire.Task) ([]*wire.Reply, error) {
	ws := make([]*waiter, len(tasks))
	defer q.forget(tasks)
	var pending []outgoing
	for i, t := range tasks {
		w, queued := q.wait(t)
		ws[i] = w
		if queued {
			q.log.Debug().Str("task", t.ID).Msg("task still queued from an earlier run; waiting for it")
			continue
		}
		data, err := t.Encode()
		if err != nil {
			return nil, fmt.Errorf("transport: encoding task: %w", err)
		}
		pending = append(pending, outgoing{t, data, w})
	}
	if err := q.queue(ctx, pending); err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		q.log.Debug().Int("published", len(pending)).Int("batch", len(tasks)).Msg("tasks queued")
	}
	return q.collect(ctx, tasks, ws)
}

// queue publishes the tasks: all at once without Slots, else each once it
// has a slot. A task is published without waiting for the server's
// acknowledgement of the one before: each is awaited on the side, and a
// task whose publication failed is published again at once (see publish).
// When that fails too (the store is full, the server gone for longer than
// publish retries), the task's slot is freed and no more tasks are taken:
// queue returns that first error rather than wait for a slot that only a
// result could free.
func (q *Queue) queue(ctx context.Context, pending []outgoing) error {
	if q.slots == nil {
		return q.publish(ctx, pending)
	}
	actx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	for _, o := range pending {
		if err := q.slots.Acquire(actx); err != nil {
			break
		}
		q.mu.Lock()
		o.w.slot = true
		q.mu.Unlock()
		ack, err := q.publishAsync(o)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err == nil {
				select {
				case <-ack.Ok():
					return
				case <-ack.Err():
				case <-actx.Done():
					return
				}
			}
			if err := q.publish(actx, []outgoing{o}); err != nil {
				q.mu.Lock()
				q.free(o.w)
				q.mu.Unlock()
				stop(err)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if actx.Err() != nil {
		return context.Cause(actx) // a task that could not be queued
	}
	return nil
}

// publishAsync publishes one task without waiting for its acknowledgement.
func (q *Queue) publishAsync(o outgoing) (jetstream.PubAckFuture, error) {
	return q.js.PublishAsync(wire.TaskSubject(q.objective, o.t.Study, o.t.Trial), o.data, jetstream.WithMsgID("task:"+o.t.ID+":"+o.t.Epoch))
}

// free gives back the slot w holds, if any. q.mu is held.
func (q *Queue) free(w *waiter) {
	if w.slot {
		w.slot = false
		q.slots.Release()
	}
}

// publish queues the tasks, all at once, then collects the acks; what
// failed (a server restart, a network blip) is published again: the
// message id makes a repeat harmless.
func (q *Queue) publish(ctx context.Context, pending []outgoing) error {
	return q.retry(ctx, "queueing tasks", func() error {
		var acks []jetstream.PubAckFuture
		var sent []outgoing
		var first error
		for _, o := range pending {
			ack, err := q.publishAsync(o)
			if err != nil {
				first = cmp.Or(first, err)
				continue
			}
			acks = append(acks, ack)
			sent = append(sent, o)
		}
		var failed []outgoing
		for k, a := range acks {
			select {
			case <-a.Ok():
			case err := <-a.Err():
				first = cmp.Or(first, err)
				failed = append(failed, sent[k])
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if first != nil {
			pending = append(failed, unsent(pending, sent)...)
		}
		return first
	})
}

// collect waits for the result of every task, warning once a minute about
// one that takes long.
func (q *Queue) collect(ctx context.Context, tasks []*wire.Task, ws []*waiter) ([]*wire.Reply, error) {
	out := make([]*wire.Reply, len(tasks))
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for i, t := range tasks {
		w := ws[i]
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-w.done:
				waiting = false
			case <-tick.C:
				q.log.Warn().Str("task", t.ID).Msg("still waiting for a result: is an evaluator of this objective running?")
			}
		}
		q.mu.Lock()
		rep, err := w.rep, w.err
		q.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("transport: result of %s: %w", t.ID, err)
		}
		out[i] = rep
	}
	return out, nil
}

// wait registers t as waited for, answering it at once with a result that
// arrived before (see deliver), and reports whether its task is still queued
// from an earlier run (and so must not be sent again).
func (q *Queue) wait(t *wire.Task) (w *waiter, queued bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w = &waiter{t: t, done: make(chan struct{})}
	q.waiters[t.Trial] = w
	for _, a := range q.early[t.Trial] {
		if q.settle(w, a) {
			break
		}
	}
	delete(q.early, t.Trial)
	queued = q.j.Queued(t.Trial) && !q.asked[t.Trial]
	q.asked[t.Trial] = true
	return w, queued
}

// forget drops what the queue holds for tasks Send is done with: the study
// asks for each trial once, and a late duplicate of its result is of no use.
func (q *Queue) forget(tasks []*wire.Task) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range tasks {
		if w, ok := q.waiters[t.Trial]; ok && w.t == t {
			q.free(w)
		}
		delete(q.waiters, t.Trial)
		delete(q.early, t.Trial)
	}
}

// outgoing is a task waiting to be published.
type outgoing struct {
	t    *wire.Task
	data []byte
	w    *waiter
}

// unsent returns the entries of all that are not in sent.
func unsent(all, sent []outgoing) []outgoing {
	in := make(map[*wire.Task]bool, len(sent))
	for _, o := range sent {
		in[o.t] = true
	}
	var out []outgoing
	for _, o := range all {
		if !in[o.t] {
			out = append(out, o)
		}
	}
	return out
}

// outage is how long Send keeps retrying JetStream through a server
// restart or a network partition before the study fails; fullStore is how
// long it retries a store that refuses writes for lack of storage (space
// may be freed meanwhile) before the study fails.
const (
	outage    = 10 * time.Minute
	fullStore = 10 * time.Second
)

// retry runs f until it succeeds, ctx ends, or failures have lasted longer
// than outage (fullStore for a full store), backing off up to 5s between
// tries.
func (q *Queue) retry(ctx context.Context, what string, f func() error) error {
	start := time.Now()
	wait := 100 * time.Millisecond
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if storeFull(err) && time.Since(start) > fullStore {
			return fmt.Errorf("transport: %s for %s: %w (%v): free space on the server's store or raise its storage limit, then run again to resume", what, q.study, ErrStoreFull, err)
		}
		if errors.Is(err, journal.ErrMismatch) || errors.Is(err, journal.ErrBadRecord) || time.Since(start) > outage {
			return fmt.Errorf("transport: %s for %s: %w", what, q.study, err)
		}
		q.log.Warn().Err(err).Str("op", what).Dur("retry_in", wait).Msg("JetStream unavailable; retrying")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
