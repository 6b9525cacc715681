package transport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Queue is durable dispatch for one study: tasks go into the objective's
// JetStream work queue, evaluators pull them when they have a free slot,
// and results come back through the journal stream. Nothing is lost when
// tunerd dies: pending tasks stay queued, results keep being stored, and a
// restarted Queue picks both up.
type Queue struct {
	js        jetstream.JetStream
	tasks     jetstream.Stream
	journal   jetstream.Stream
	objective string
	study     string
	log       zerolog.Logger
	cc        jetstream.ConsumeContext

	// Trials that had a stored result, or a queued task, when the queue
	// opened: only those need a journal lookup or a wait. Every other
	// trial was never sent before, so it is published without a round trip.
	stored, queued map[string]bool

	mu       sync.Mutex
	replayed int                      // results found in the journal by Send
	results  map[string]*Reply        // trial → first reply seen since the queue opened
	waiters  map[string]chan struct{} // trial → closed when its reply arrives
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
		log:     log.With().Str("component", "queue").Str("study", study).Logger(),
		results: map[string]*Reply{}, waiters: map[string]chan struct{}{},
	}
	// Watch new results before any lookup, so that none falls between a
	// lookup and the subscription.
	cons, err := journal.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{ResultSubject(study, "*")},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("transport: watching results of %s: %w", study, err)
	}
	q.cc, err = cons.Consume(func(m jetstream.Msg) {
		rec, err := DecodeRecord(m.Data())
		if err != nil {
			q.log.Error().Err(err).Str("subject", m.Subject()).Msg("ignoring bad journal record")
			return
		}
		q.deliver(rec.Task.Trial, &rec.Reply)
	})
	if err != nil {
		return nil, fmt.Errorf("transport: watching results of %s: %w", study, err)
	}
	// Then take stock, tasks before results: a task acked before the first
	// look had its result stored before it, so it shows in the second.
	if q.queued, err = trialsIn(ctx, tasks, TaskSubject(objective, study, "*")); err != nil {
		q.Close()
		return nil, err
	}
	if q.stored, err = trialsIn(ctx, journal, ResultSubject(study, "*")); err != nil {
		q.Close()
		return nil, err
	}
	if len(q.queued)+len(q.stored) > 0 {
		q.log.Info().Int("stored", len(q.stored)).Int("queued", len(q.queued)).Msg("resuming: results and queued tasks from an earlier run")
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

// Close stops watching results.
func (q *Queue) Close() {
	if q.cc != nil {
		q.cc.Stop()
	}
}

func (q *Queue) deliver(trial string, r *Reply) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.results[trial]; dup {
		return // at-least-once delivery: the first result counts
	}
	q.results[trial] = r
	if ch, ok := q.waiters[trial]; ok {
		close(ch)
		delete(q.waiters, trial)
	}
}

// Lookup returns the stored result of a trial, if the journal has one.
func Lookup(ctx context.Context, journal jetstream.Stream, study, trial string) (*Record, error) {
	m, err := journal.GetLastMsgForSubject(ctx, ResultSubject(study, trial))
	if errNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transport: journal lookup %s/%s: %w", study, trial, err)
	}
	return DecodeRecord(m.Data)
}

// Send makes sure every task gets evaluated exactly once as far as the
// study can tell, and returns the replies in order. For each task: a
// result already stored is returned as is (no simulator runs again); a task
// still queued from an earlier run is waited for, not sent again; anything
// else is published (all of a batch at once, then their acks awaited).
// Then it waits for all results.
func (q *Queue) Send(ctx context.Context, tasks []*Task) ([]*Reply, error) {
	out := make([]*Reply, len(tasks))
	chans := make([]chan struct{}, len(tasks))
	var pending []outgoing
	for i, t := range tasks {
		ch, done := q.wait(t.Trial)
		if done {
			continue
		}
		chans[i] = ch
		if q.queued[t.Trial] {
			q.log.Debug().Str("task", t.ID).Msg("task still queued from an earlier run; waiting for it")
			continue
		}
		if q.stored[t.Trial] {
			var rec *Record
			err := q.retry(ctx, "journal lookup", func() (err error) {
				rec, err = Lookup(ctx, q.journal, t.Study, t.Trial)
				return err
			})
			if err != nil {
				return nil, err
			}
			if rec != nil {
				if err := SameTask(&rec.Task, t); err != nil {
					return nil, err
				}
				q.deliver(t.Trial, &rec.Reply)
				q.mu.Lock()
				q.replayed++
				q.mu.Unlock()
				continue
			}
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
			ack, err := q.js.PublishAsync(TaskSubject(q.objective, o.t.Study, o.t.Trial), o.data, jetstream.WithMsgID("task:"+o.t.ID+":"+o.t.Epoch))
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
		for chans[i] != nil {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-chans[i]:
				chans[i] = nil
			case <-tick.C:
				q.log.Warn().Str("task", t.ID).Msg("still waiting for a result: is an evaluator of this objective running?")
			}
		}
		q.mu.Lock()
		out[i] = q.results[t.Trial]
		q.mu.Unlock()
		if out[i] == nil {
			return nil, errors.New("transport: internal: result signalled but missing")
		}
	}
	// The journal keeps them; the study asks for each trial once.
	q.mu.Lock()
	for _, t := range tasks {
		delete(q.results, t.Trial)
	}
	q.mu.Unlock()
	return out, nil
}

// Replayed is the number of tasks Send answered from the journal, without
// sending them.
func (q *Queue) Replayed() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.replayed
}

// wait returns a channel closed when trial's result arrives, or done=true
// if it already has.
func (q *Queue) wait(trial string) (ch chan struct{}, done bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.results[trial]; ok {
		return nil, true
	}
	ch, ok := q.waiters[trial]
	if !ok {
		ch = make(chan struct{})
		q.waiters[trial] = ch
	}
	return ch, false
}

// outgoing is a task waiting to be published.
type outgoing struct {
	t    *Task
	data []byte
}

// unsent returns the entries of all that are not in sent.
func unsent(all, sent []outgoing) []outgoing {
	in := make(map[*Task]bool, len(sent))
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
// restart or a network partition before the study fails.
const outage = 10 * time.Minute

// retry runs f until it succeeds, ctx ends, or failures have lasted longer
// than outage, backing off up to 5s between tries.
func (q *Queue) retry(ctx context.Context, what string, f func() error) error {
	start := time.Now()
	wait := 100 * time.Millisecond
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if errors.Is(err, ErrMismatch) || time.Since(start) > outage {
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
