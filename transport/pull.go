package transport

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// pull serves tasks from the objective's durable work queue until take
// ends; the tasks it started run under ctx, which Serve waits for. It waits for the queue to exist (tunerd creates it when a
// durable study of this objective starts), then, whenever a slot is free,
// fetches one task from the shared consumer. The slot is taken when the
// task arrives, not while the fetch waits, so direct requests are not held
// up by an idle fetch. While a simulation runs it sends in-progress
// heartbeats, so a long simulation is never redelivered while its evaluator
// lives. The result goes to the journal before the task is acked: a crash
// between the two only costs a redelivery, which finds the stored result
// and is acked without running again.
func pull(take, ctx context.Context, nc *nats.Conn, opts ServeOptions, h Handler, slots chan struct{}, wg *sync.WaitGroup, log zerolog.Logger) {
	js, err := jetstream.New(nc)
	if err != nil {
		log.Error().Err(err).Msg("jetstream unavailable; serving direct requests only")
		return
	}
	d := &durable{js: js, opts: opts, h: h, log: log, stopping: take.Done(), changed: make(chan struct{})}
	cons := d.waitConsumer(take)
	if cons == nil {
		return
	}
	d.update(cons.CachedInfo())
	set, _ := d.settings()
	log.Info().Str("stream", wire.TaskStream(opts.Objective)).Dur("heartbeat", set.heartbeat).
		Int("max_redeliveries", set.maxRedeliveries).Msg("pulling durable tasks")
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.refresh(take)
	}()

	for {
		// Wait for a free slot, but leave it free while the fetch waits: a
		// direct request may still take it.
		select {
		case <-take.Done():
			return
		case slots <- struct{}{}:
			<-slots
		}
		msgs, err := fetch(cons, cap(slots)-len(slots))
		if err != nil {
			if take.Err() != nil {
				return
			}
			if errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, nats.ErrTimeout) {
				continue
			}
			log.Warn().Err(err).Msg("fetching a task")
			select {
			case <-take.Done():
				return
			case <-time.After(time.Second):
			}
			if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrConsumerDeleted) {
				// The queue is gone (deleted, or its server lost its store):
				// wait for it to be created again.
				if cons = d.waitConsumer(take); cons == nil {
					return
				}
			}
			continue
		}
		for i, msg := range msgs {
			// The fetch does not end with take: a task that arrives once
			// stopping (the one just handed back, say) goes back at once.
			if !d.takeSlot(take, msg, slots) {
				for _, m := range msgs[i:] {
					_ = m.Nak()
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.run(ctx, msg, sync.OnceFunc(func() { <-slots }))
			}()
		}
	}
}

// fetch takes tasks for free slots from the queue: as many as there are
// waiting, up to free, in one request when more than one slot is free,
// else (none waiting, or one slot) the next one, waiting for it up to a
// second.
func fetch(cons jetstream.Consumer, free int) ([]jetstream.Msg, error) {
	if free > 1 {
		batch, err := cons.FetchNoWait(free)
		if err != nil {
			return nil, err
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) > 0 {
			return msgs, nil
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return nil, err
	}
	return []jetstream.Msg{msg}, nil
}

// storeRetry bounds the retries of storing one result; shutdownStore
// bounds them once the evaluator is stopping (draining or abandoning), so
// that an evaluator whose server is gone (its tunerd was killed with the
// embedded server) exits promptly instead of outliving it by storeRetry.
const (
	storeRetry    = time.Minute
	shutdownStore = 3 * time.Second
)

// durable is an evaluator's side of durable dispatch.
type durable struct {
	js   jetstream.JetStream
	opts ServeOptions
	h    Handler
	log  zerolog.Logger
	// stopping is closed once no more tasks are taken: results are then
	// stored with shutdownStore's bound.
	stopping <-chan struct{}

	mu      sync.Mutex
	set     consumerSettings
	changed chan struct{}    // closed, and replaced, when set changes
	journal jetstream.Stream // nil until first needed
}

// consumerSettings are what tunerd tells evaluators through the shared
// consumer's config.
type consumerSettings struct {
	heartbeat       time.Duration
	maxRedeliveries int
}

func settingsOf(info *jetstream.ConsumerInfo) consumerSettings {
	s := consumerSettings{heartbeat: info.Config.AckWait / 3, maxRedeliveries: DefaultMaxRedeliveries}
	if hb, err := time.ParseDuration(info.Config.Metadata[metaHeartbeat]); err == nil && hb > 0 {
		s.heartbeat = hb
	}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeat
	}
	if n, err := strconv.Atoi(info.Config.Metadata[metaRedelivered]); err == nil && n > 0 {
		s.maxRedeliveries = n
	}
	return s
}

// update takes the settings from the consumer's current config.
func (d *durable) update(info *jetstream.ConsumerInfo) {
	s := settingsOf(info)
	d.mu.Lock()
	defer d.mu.Unlock()
	if s == d.set {
		return
	}
	if d.set != (consumerSettings{}) {
		d.log.Info().Dur("heartbeat", s.heartbeat).Int("max_redeliveries", s.maxRedeliveries).Msg("task queue settings changed")
	}
	d.set = s
	close(d.changed)
	d.changed = make(chan struct{})
}

// settings returns the current settings and a channel closed when they
// change.
func (d *durable) settings() (consumerSettings, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set, d.changed
}

// refresh rereads the consumer's settings every heartbeat (at most once a
// second, at least every 5 s) until ctx ends: a tunerd restarted with
// another heartbeat or redelivery limit updates the consumer, and running
// evaluators follow.
func (d *durable) refresh(ctx context.Context) {
	for {
		s, _ := d.settings()
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(max(s.heartbeat, time.Second), 5*time.Second)):
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cons, err := d.js.Consumer(rctx, wire.TaskStream(d.opts.Objective), wire.TaskConsumer)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Debug().Err(err).Msg("rereading the task queue's settings")
			}
			continue
		}
		d.update(cons.CachedInfo())
	}
}

// waitConsumer waits for the objective's shared consumer to exist; nil
// when ctx ends first.
func (d *durable) waitConsumer(ctx context.Context) jetstream.Consumer {
	wait := 100 * time.Millisecond
	for {
		cons, err := d.js.Consumer(ctx, wire.TaskStream(d.opts.Objective), wire.TaskConsumer)
		if err == nil {
			return cons
		}
		if !errNotFound(err) && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) && ctx.Err() == nil {
			d.log.Debug().Err(err).Msg("looking up the task queue")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// takeSlot takes a slot for a fetched task. A direct request may have taken
// the slot that was free when the fetch started: then the task is kept
// alive with heartbeats until a slot frees. It returns false, holding no
// slot, if ctx has ended.
func (d *durable) takeSlot(ctx context.Context, msg jetstream.Msg, slots chan struct{}) bool {
	took := func() bool {
		if ctx.Err() != nil { // a slot and ctx's end were both ready
			<-slots
			return false
		}
		return true
	}
	select {
	case slots <- struct{}{}:
		return took()
	default:
	}
	for {
		s, _ := d.settings()
		tm := time.NewTimer(s.heartbeat)
		select {
		case slots <- struct{}{}:
			tm.Stop()
			return took()
		case <-ctx.Done():
			tm.Stop()
			return false
		case <-tm.C:
			if err := msg.InProgress(); err != nil {
				d.log.Warn().Err(err).Msg("heartbeat of a task waiting for a slot")
			}
		}
	}
}

// run evaluates one task from the queue, stores its result and acks it.
//
// release frees the task's slot; it is called once the simulation has
// ended, before the result is stored and the task acked, so that the next
// task is fetched meanwhile.
func (d *durable) run(ctx context.Context, msg jetstream.Msg, release func()) {
	defer release()
	start := time.Now()
	t, rep, refused, ok := d.evaluate(ctx, msg)
	release()
	if !ok {
		return
	}
	finishReply(&rep, t.ID, d.opts.Name, start, d.log)
	if !d.store(ctx, msg, t, &rep) {
		return
	}
	if refused {
		if err := msg.Term(); err != nil {
			d.log.Warn().Err(err).Str("task", t.ID).Msg("discarding refused task (its refusal is stored)")
		}
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackWait)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		d.log.Warn().Err(err).Str("task", t.ID).Msg("acknowledging task (its result is stored)")
	}
}

// ackWait bounds the wait for the server to confirm an ack; an ack that
// is lost costs a redelivery, which finds the stored result.
const ackWait = 10 * time.Second

// evaluate decides what a fetched task's result is: a refusal of a task
// that cannot be run (refused: it is discarded once its refusal is
// stored), a stale failure, or the handler's reply. ok is false when the
// message is dealt with already: handed back, discarded, or acked because
// its result was stored before.
func (d *durable) evaluate(ctx context.Context, msg jetstream.Msg) (t *wire.Task, rep wire.Reply, refused, ok bool) {
	t, err := wire.DecodeTask(msg.Data())
	switch {
	case err != nil:
		// Not a task we can ever run. Answer it with a failure if it names
		// a trial, so the study does not wait for it forever.
		if t = refusedTask(msg, d.opts.Objective); t == nil {
			d.log.Error().Err(err).Str("subject", msg.Subject()).Msg("discarding a malformed task that names no trial")
			_ = msg.Term()
			return nil, rep, false, false
		}
		d.log.Error().Err(err).Str("task", t.ID).Msg("refusing a malformed task")
		return t, wire.Reply{Error: err.Error(), Reason: wire.ReasonInput}, true, true
	case wrongObjective(t, d.opts.Objective) != nil:
		return t, *wrongObjective(t, d.opts.Objective), false, true
	case ctx.Err() != nil:
		// Shutting down: hand it back rather than decide anything about
		// it, stale or answered.
		_ = msg.Nak()
		return nil, rep, false, false
	}
	rep, ok = d.runTask(ctx, msg, t)
	return t, rep, false, ok
}

// runTask runs t with heartbeats, unless its result is stored already (it
// is then acked) or it was delivered too often (it is then stale).
func (d *durable) runTask(ctx context.Context, msg jetstream.Msg, t *wire.Task) (wire.Reply, bool) {
	delivered := uint64(1)
	if meta, err := msg.Metadata(); err == nil {
		delivered = meta.NumDelivered
	}
	set, _ := d.settings()
	stop := d.heartbeats(ctx, msg, t)
	defer stop()
	switch {
	case delivered > 1 && d.answered(ctx, t):
		// Its evaluator stored the result, then died before acking.
		d.log.Info().Str("task", t.ID).Uint64("deliveries", delivered).Msg("redelivered task already has a stored result; not running it again")
		if err := msg.DoubleAck(ctx); err != nil {
			d.log.Warn().Err(err).Str("task", t.ID).Msg("acknowledging task (its result is stored)")
		}
		return wire.Reply{}, false
	case int(delivered) > set.maxRedeliveries+1:
		d.log.Warn().Str("task", t.ID).Uint64("deliveries", delivered).Msg("task is stale")
		return wire.Reply{Error: "task was delivered " + strconv.FormatUint(delivered, 10) +
			" times without a result: its evaluators died or lost their connection", Reason: wire.ReasonStale}, true
	}
	rep := d.h.Handle(ctx, t)
	if ctx.Err() != nil {
		// Shutting down: hand the task back for another evaluator now,
		// rather than after the ack wait.
		_ = msg.Nak()
		return rep, false
	}
	return rep, true
}

// store stores the result, retrying through a server restart or network
// blip for up to storeRetry (keeping the task alive meanwhile), but for no
// longer than shutdownStore once the evaluator is stopping. It reports
// whether the result is stored: a result that is not is not acked, and
// the task runs again elsewhere.
func (d *durable) store(ctx context.Context, msg jetstream.Msg, t *wire.Task, rep *wire.Reply) bool {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeRetry)
	defer cancel()
	go func() {
		select {
		case <-d.stopping:
		case <-pctx.Done():
			return
		}
		select {
		case <-time.After(shutdownStore):
			cancel()
		case <-pctx.Done():
		}
	}()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := journal.Store(pctx, d.js, t, rep)
		switch {
		case err == nil:
			return true
		case pctx.Err() != nil || errors.Is(err, wire.ErrNotEncodable):
			d.log.Error().Err(err).Str("task", t.ID).Msg("could not store the result; the task will be redelivered")
			return false
		case storeFull(err):
			// No room for results: hand the task back for later rather
			// than run more simulations whose results cannot be kept.
			d.log.Error().Err(err).Str("task", t.ID).Msg("the JetStream store is full: the result cannot be stored; the task goes back to the queue")
			_ = msg.NakWithDelay(fullStore)
			return false
		}
		d.log.Warn().Err(err).Str("task", t.ID).Msg("storing result; retrying")
		_ = msg.InProgress()
		select {
		case <-pctx.Done():
		case <-time.After(wait):
		}
	}
}

// heartbeats tells JetStream every heartbeat that msg is still in
// progress, until the returned stop is called. When tunerd changes the
// heartbeat, the next one goes out at once and the new interval applies.
func (d *durable) heartbeats(ctx context.Context, msg jetstream.Msg, t *wire.Task) (stop func()) {
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			s, changed := d.settings()
			tm := time.NewTimer(s.heartbeat)
			select {
			case <-hctx.Done():
				tm.Stop()
				return
			case <-changed:
				tm.Stop()
			case <-tm.C:
			}
			if err := msg.InProgress(); err != nil {
				d.log.Warn().Err(err).Str("task", t.ID).Msg("heartbeat")
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// answered reports whether the journal already holds the result of t. It
// is asked only for redelivered tasks, with their heartbeats running; any
// doubt (no answer within 5 s, no permission to read the journal) means
// no.
func (d *durable) answered(ctx context.Context, t *wire.Task) bool {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	j, err := d.journalStream(lctx)
	if err == nil {
		var rec *journal.Record
		if rec, err = journal.Find(lctx, j, t.Study, t.Trial, t.Epoch); err == nil {
			return rec != nil && journal.Answers(rec, t) == nil
		}
	}
	d.log.Debug().Err(err).Str("task", t.ID).Msg("looking up the result of a redelivered task")
	return false
}

func (d *durable) journalStream(ctx context.Context) (jetstream.Stream, error) {
	d.mu.Lock()
	j := d.journal
	d.mu.Unlock()
	if j != nil {
		return j, nil
	}
	j, err := d.js.Stream(ctx, wire.JournalStream)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.journal = j
	d.mu.Unlock()
	return j, nil
}

// refusedTask is what can be read of a task message that does not decode:
// its study and trial (from the subject, else the message), the epoch
// (from the message, else its id, which tunerd sets to
// task:<study>/<trial>:<epoch>) and whatever fields parse. It is nil when
// the message names no trial.
func refusedTask(msg jetstream.Msg, objective string) *wire.Task {
	var t wire.Task
	_ = json.Unmarshal(msg.Data(), &t) // keeps what parses
	if rest, ok := strings.CutPrefix(msg.Subject(), wire.SubjectTask+objective+"."); ok {
		if study, trial, ok := strings.Cut(rest, "."); ok {
			t.Study, t.Trial = study, trial
		}
	}
	if t.Study == "" || t.Trial == "" || strings.ContainsAny(t.Study+t.Trial, ".*> \t\r\n") {
		return nil
	}
	t.ID, t.Objective = t.Study+"/"+t.Trial, objective
	if t.Epoch == "" {
		if epoch, ok := strings.CutPrefix(msg.Headers().Get(jetstream.MsgIDHeader), "task:"+t.ID+":"); ok {
			t.Epoch = epoch
		}
	}
	return &t
}
