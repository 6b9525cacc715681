package transport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/wire"
)

// Queue is durable dispatch for one study: tasks go into the objective's
// JetStream work queue, evaluators pull them when they have a free slot,
// and results come back through the journal stream. Nothing is lost when
// tunerd dies: pending tasks stay queued, results keep being stored, and a
// restarted Queue picks both up.
//
// A result answers a task only when it is of the task's journal generation
// (Task.Epoch) and asked for the same evaluation (SameTask): a record an
// evaluator of an earlier generation stores after `tunerd run --fresh` is
// ignored. Of several records of a trial, the first one stored counts, both
// live and on resume.
type Queue struct {
	js        jetstream.JetStream
	tasks     jetstream.Stream
	journal   jetstream.Stream
	objective string
	study     string
	log       zerolog.Logger
	cc        jetstream.ConsumeContext

	// Trials that had a stored result when the queue opened: only those
	// need a journal lookup. Read-only once the queue is open.
	stored map[string]bool
	// frontier is one past the highest trial number stored or queued when
	// the queue opened. Read-only once the queue is open.
	frontier int

	mu       sync.Mutex
	replayed int // results found in the journal by Send
	// Trials with a task queued when the queue opened; nil until the queue
	// has taken stock. A result of such a trial may arrive before Send asks
	// for it, so it is kept in early until then.
	queued  map[string]bool
	early   map[string][]arrival // trial → results that arrived before Send asked for it
	waiters map[string]*waiter   // trial → the task Send waits for
}

// arrival is a result seen by the watcher: a record, or why it could not be
// read.
type arrival struct {
	rec *Record
	err error
}

// waiter is a task Send waits for; done is closed once rep or err is set.
type waiter struct {
	t    *wire.Task
	done chan struct{}
	rep  *wire.Reply
	err  error
}

// OpenQueue ensures the streams and starts watching the study's results.
// Close it when the study ends.
func OpenQueue(ctx context.Context, js jetstream.JetStream, objective, study string, o DurableOptions, log zerolog.Logger) (*Queue, error) {
	journal, err := EnsureJournal(ctx, js, o)
	if err != nil {
		return nil, err
	}
	tasks, err := EnsureTasks(ctx, js, objective, o)
	if err != nil {
		return nil, err
	}
	q := &Queue{
		js: js, tasks: tasks, journal: journal, objective: objective, study: study,
		log:   log.With().Str("component", "queue").Str("study", study).Logger(),
		early: map[string][]arrival{}, waiters: map[string]*waiter{},
	}
	// Watch new results before any lookup, so that none falls between a
	// lookup and the subscription. "New" is fixed now, as a stream
	// sequence: the ordered consumer is recreated after a reconnect or a
	// server restart, and one recreated with "deliver new" would skip the
	// results stored while it was gone.
	info, err := journal.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("transport: watching results of %s: %w", study, err)
	}
	cons, err := journal.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{wire.ResultSubject(study, "*")},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    info.State.LastSeq + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("transport: watching results of %s: %w", study, err)
	}
	q.cc, err = cons.Consume(func(m jetstream.Msg) {
		subj := m.Subject()
		rec, err := DecodeRecord(m.Data())
		if err != nil {
			err = fmt.Errorf("transport: result %s: %w", subj, err)
			q.log.Error().Err(err).Msg("unreadable journal record")
		}
		q.deliver(subj[strings.LastIndexByte(subj, '.')+1:], arrival{rec, err})
	})
	if err != nil {
		return nil, fmt.Errorf("transport: watching results of %s: %w", study, err)
	}
	// Then take stock, tasks before results: a task acked before the first
	// look had its result stored before it, so it shows in the second.
	queued, err := trialsIn(ctx, tasks, wire.TaskSubject(objective, study, "*"))
	if err != nil {
		q.Close()
		return nil, err
	}
	if q.stored, err = trialsIn(ctx, journal, wire.ResultSubject(study, "*")); err != nil {
		q.Close()
		return nil, err
	}
	q.frontier = frontierOf(queued, q.stored)
	q.mu.Lock()
	q.queued = queued
	q.mu.Unlock()
	if len(queued)+len(q.stored) > 0 {
		q.log.Info().Int("stored", len(q.stored)).Int("queued", len(queued)).Msg("resuming: results and queued tasks from an earlier run")
	}
	return q, nil
}

// trialsIn lists the trials (last subject token) with messages on filter.
func trialsIn(ctx context.Context, s jetstream.Stream, filter string) (map[string]bool, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("transport: listing %s: %w", filter, err)
	}
	out := make(map[string]bool, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		out[subj[strings.LastIndexByte(subj, '.')+1:]] = true
	}
	return out, nil
}

// frontierOf returns one past the highest trial number in the sets.
func frontierOf(sets ...map[string]bool) int {
	frontier := 0
	for _, set := range sets {
		for trial := range set {
			if n, err := strconv.Atoi(trial); err == nil {
				frontier = max(frontier, n+1)
			}
		}
	}
	return frontier
}

// Frontier is one past the highest trial number that had a stored result
// or a queued task when the queue opened: trials from it on were never
// sent before.
func (q *Queue) Frontier() int { return q.frontier }

// Close stops watching results.
func (q *Queue) Close() {
	if q.cc != nil {
		q.cc.Stop()
	}
}

// deliver hands a result from the watcher to the task waiting for it. A
// result nobody waits for is kept only if Send may still ask for it (its
// task was queued by an earlier run, or the queue is still taking stock);
// anything else is a late duplicate, or a result of another generation,
// and is dropped.
func (q *Queue) deliver(trial string, a arrival) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w, ok := q.waiters[trial]; ok {
		q.settle(w, a)
		return
	}
	if q.queued == nil || q.queued[trial] {
		q.early[trial] = append(q.early[trial], a)
	}
}

// settle answers w with a if a is a result of w's task, and reports whether
// it did. q.mu is held.
func (q *Queue) settle(w *waiter, a arrival) bool {
	if w.rep != nil || w.err != nil {
		return true // at-least-once delivery: the first result counts
	}
	switch err := answers(a, w.t); {
	case errors.Is(err, errOtherEpoch):
		q.log.Debug().Str("task", w.t.ID).Str("epoch", a.rec.Task.Epoch).Msg("ignoring a result of another generation of the study")
		return false
	case err != nil:
		w.err = err
	default:
		w.rep = &a.rec.Reply
	}
	close(w.done)
	return true
}

// errOtherEpoch marks a record of another journal generation.
var errOtherEpoch = errors.New("transport: record of another generation")

// answers reports whether a stored result is the answer to t: nil if it is,
// errOtherEpoch if it belongs to another generation of the study (not an
// answer, but no error either), or why it cannot be used (ErrBadRecord,
// ErrMismatch). A refusal (reason input) of the task sent for this trial
// answers it even when the evaluator could not read back what was asked.
func answers(a arrival, t *wire.Task) error {
	if a.err != nil {
		return a.err
	}
	if a.rec.Task.Epoch != t.Epoch {
		return errOtherEpoch
	}
	if err := SameTask(&a.rec.Task, t); err != nil {
		if a.rec.Reply.Error != "" && a.rec.Reply.Reason == wire.ReasonInput {
			return nil
		}
		return err
	}
	return nil
}

// Lookup returns the first record stored for a trial, of any generation,
// or nil if the journal has none. A record that cannot be read is an error
// wrapping ErrBadRecord.
func Lookup(ctx context.Context, journal jetstream.Stream, study, trial string) (*Record, error) {
	return lookup(ctx, journal, study, trial, func(*Record) bool { return true })
}

// LookupEpoch returns the first record stored for a trial by the study's
// generation epoch (see Task.Epoch), or nil if the journal has none.
// Records of other generations are skipped; a record that cannot be read
// is an error wrapping ErrBadRecord.
func LookupEpoch(ctx context.Context, journal jetstream.Stream, study, trial, epoch string) (*Record, error) {
	return lookup(ctx, journal, study, trial, func(r *Record) bool { return r.Task.Epoch == epoch })
}

// lookup walks the records of a trial in the order they were stored and
// returns the first that keep accepts.
func lookup(ctx context.Context, journal jetstream.Stream, study, trial string, keep func(*Record) bool) (*Record, error) {
	subj := wire.ResultSubject(study, trial)
	for seq := uint64(1); ; {
		m, err := journal.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("transport: journal lookup %s/%s: %w", study, trial, err)
		}
		rec, err := DecodeRecord(m.Data)
		if err != nil {
			return nil, fmt.Errorf("transport: result %s (stream sequence %d): %w", subj, m.Sequence, err)
		}
		if keep(rec) {
			return rec, nil
		}
		seq = m.Sequence + 1
	}
}

// Send makes sure every task gets evaluated exactly once as far as the
// study can tell, and returns the replies in order. For each task: a
// result already stored is returned as is (no simulator runs again); a task
// still queued from an earlier run is waited for, not sent again; anything
// else is published (all of a batch at once, then their acks awaited).
// Then it waits for all results.
func (q *Queue) Send(ctx context.Context, tasks []*wire.Task) ([]*wire.Reply, error) {
	out := make([]*wire.Reply, len(tasks))
	ws := make([]*waiter, len(tasks))
	defer q.forget(tasks)
	var pending []outgoing
	for i, t := range tasks {
		if q.stored[t.Trial] {
			// Looked up first, even when the task is queued too: a result
			// stored before the queue opened never reaches the watcher, and
			// a rerun's result would be dropped as a duplicate.
			var rec *Record
			err := q.retry(ctx, "journal lookup", func() (err error) {
				rec, err = LookupEpoch(ctx, q.journal, t.Study, t.Trial, t.Epoch)
				return err
			})
			if err != nil {
				return nil, err
			}
			if rec != nil {
				if err := answers(arrival{rec: rec}, t); err != nil {
					return nil, err
				}
				out[i] = &rec.Reply
				q.mu.Lock()
				q.replayed++
				q.mu.Unlock()
				continue
			}
		}
		w, queued := q.wait(t)
		ws[i] = w
		if queued {
			q.log.Debug().Str("task", t.ID).Msg("task still queued from an earlier run; waiting for it")
			continue
		}
		data, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("transport: encoding task: %w", err)
		}
		pending = append(pending, outgoing{t, data})
	}
	// Publish the batch at once, then collect the acks; what failed (a
	// server restart, a network blip) is published again: the message id
	// makes a repeat harmless.
	published := len(pending)
	err := q.retry(ctx, "queueing tasks", func() error {
		var acks []jetstream.PubAckFuture
		var sent []outgoing
		var first error
		for _, o := range pending {
			ack, err := q.js.PublishAsync(wire.TaskSubject(q.objective, o.t.Study, o.t.Trial), o.data, jetstream.WithMsgID("task:"+o.t.ID+":"+o.t.Epoch))
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
	if err != nil {
		return nil, err
	}
	if published > 0 {
		q.log.Debug().Int("published", published).Int("batch", len(tasks)).Msg("tasks queued")
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for i, t := range tasks {
		w := ws[i]
		if w == nil {
			continue // answered from the journal
		}
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
		out[i], err = w.rep, w.err
		q.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("transport: result of %s: %w", t.ID, err)
		}
	}
	return out, nil
}

// Replayed is the number of tasks Send answered from the journal, without
// sending them.
func (q *Queue) Replayed() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.replayed
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
	return w, q.queued[t.Trial]
}

// forget drops what the queue holds for tasks Send is done with: the study
// asks for each trial once, and a late duplicate of its result is of no use.
func (q *Queue) forget(tasks []*wire.Task) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, t := range tasks {
		delete(q.waiters, t.Trial)
		delete(q.queued, t.Trial)
		delete(q.early, t.Trial)
	}
}

// outgoing is a task waiting to be published.
type outgoing struct {
	t    *wire.Task
	data []byte
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
		if errors.Is(err, ErrMismatch) || errors.Is(err, ErrBadRecord) || time.Since(start) > outage {
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
