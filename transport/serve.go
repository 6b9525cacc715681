package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/wire"
)

// Handler runs one task and returns its reply. It must honour ctx: when ctx
// is cancelled the simulation is abandoned. Serve fills in V, ID,
// Evaluator, Started and Seconds when the handler leaves them zero.
type Handler interface {
	Handle(ctx context.Context, t *wire.Task) wire.Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, t *wire.Task) wire.Reply

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, t *wire.Task) wire.Reply { return f(ctx, t) }

// ServeOptions configures Serve.
type ServeOptions struct {
	Objective string         // objective served; required
	Slots     int            // simulations run at once; default 1
	Name      string         // evaluator instance name in replies; default "evaluator"
	Logger    zerolog.Logger // default: disabled
	// Ready, if set, is called once the subscription is known to the
	// server: from then on tasks published to the objective reach us.
	Ready func()
	// NoDurable turns off pulling from the objective's JetStream work queue
	// (durable dispatch); direct requests are always served.
	NoDurable bool
	// Drain, if set, ends serving gracefully when it is closed: Serve takes
	// no task from then on, lets those in flight run to their end (each
	// bounded by its handler's own timeout), delivers their results (a
	// direct request's reply; a durable task's result stored in the
	// journal, then the task acked) and returns nil. Cancelling ctx
	// meanwhile abandons what is left, as without Drain.
	Drain <-chan struct{}
}

// Serve answers tasks for one objective on nc until ctx is cancelled, running
// up to Slots of them at once. It joins the objective's queue group, so any
// number of evaluators can serve the same objective.
//
// Serve answers both dispatch modes: direct requests on the objective's
// subject, and, once the objective's JetStream work queue exists, tasks
// pulled from it (see pull). A message is started only when a slot is free.
// On cancellation Serve stops taking new tasks, abandons the ones in flight
// (their handlers see ctx cancelled; direct requests get no reply, so the
// dispatcher retries them elsewhere; durable tasks are handed back to the
// queue) and returns ctx.Err(). Closing opts.Drain instead finishes the
// tasks in flight first.
func Serve(ctx context.Context, nc *nats.Conn, opts ServeOptions, h Handler) error {
	if opts.Objective == "" {
		return errors.New("transport: serve: objective is required")
	}
	if opts.Slots <= 0 {
		opts.Slots = 1
	}
	if opts.Name == "" {
		opts.Name = "evaluator"
	}
	log := opts.Logger.With().Str("component", "serve").Str("objective", opts.Objective).Logger()

	// A channel subscription drops messages (slow consumer) once its channel
	// is full, and a queue group may well send an evaluator more tasks than
	// it has slots. Size the channel like nats.go sizes a sync
	// subscription's, so that waiting tasks queue here instead of being lost.
	msgs := make(chan *nats.Msg, nats.DefaultMaxChanLen)
	sub, err := nc.ChanQueueSubscribe(wire.EvalSubject(opts.Objective), wire.QueueGroup+opts.Objective, msgs)
	if err != nil {
		return fmt.Errorf("transport: subscribe to %s: %w", wire.EvalSubject(opts.Objective), err)
	}
	// Make the subscription known to the server before reporting ready, so
	// that a dispatcher started after us never sees "no responders".
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("transport: subscribe to %s: %w", wire.EvalSubject(opts.Objective), err)
	}
	log.Info().Int("slots", opts.Slots).Str("subject", wire.EvalSubject(opts.Objective)).Msg("serving")
	if opts.Ready != nil {
		opts.Ready()
	}

	// take ends when no more tasks are taken: when ctx ends (those in
	// flight are abandoned: their handlers see ctx cancelled) or Drain is
	// closed (they run to their end under ctx).
	take, stopTaking := untilDrain(ctx, opts.Drain)
	defer stopTaking()

	// One set of slots for both kinds of work: direct requests and tasks
	// pulled from the objective's durable work queue.
	slots := make(chan struct{}, opts.Slots)
	var wg sync.WaitGroup
	if !opts.NoDurable {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pull(take, ctx, nc, opts, h, slots, &wg, log)
		}()
	}
	for {
		var msg *nats.Msg
		select {
		case <-take.Done():
			return stopServing(ctx, sub, &wg, log)
		case msg = <-msgs:
		}
		if !takeSlot(take, msg, slots, log) {
			if take.Err() != nil {
				// msg is dropped: its dispatcher retries it after its deadline.
				return stopServing(ctx, sub, &wg, log)
			}
			continue // bounced: its dispatcher sends it again, elsewhere
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveOne(ctx, msg, opts, h, log, sync.OnceFunc(func() { <-slots }))
		}()
	}
}

// takeSlot takes a slot for a direct request. A request that may be
// bounced (see bounceable) and finds every slot taken is answered at once
// with a busy reply instead of waiting here: its dispatcher sends it
// again, and the queue group picks another evaluator, which may have a
// free slot. So no task waits in a busy evaluator while another idles.
// It reports false when no slot was taken: bounced, or take ended.
func takeSlot(take context.Context, msg *nats.Msg, slots chan struct{}, log zerolog.Logger) bool {
	select {
	case slots <- struct{}{}:
		if take.Err() != nil { // both were ready, and the slot won
			<-slots
			return false
		}
		return true
	default:
	}
	if bounceable(msg.Data) && msg.Reply != "" {
		if err := msg.Respond(busyReply); err != nil {
			log.Debug().Err(err).Msg("answering busy")
		}
		return false
	}
	select {
	case <-take.Done():
		return false
	case slots <- struct{}{}:
	}
	if take.Err() != nil {
		<-slots
		return false
	}
	return true
}

// busyReply is the answer of an evaluator with no free slot to a request
// that may be bounced (wire.ReasonBusy). Its id is empty: it answers no
// task.
var busyReply = []byte(`{"v":1,"id":"","reason":"busy","evaluator":"","started":"0001-01-01T00:00:00Z","seconds":0}`)

// bounceable reports whether a request's dispatcher takes a busy reply: a
// VersionVector task comes from one that does (wire.Task.Encode writes
// its version first).
func bounceable(data []byte) bool {
	return bytes.HasPrefix(data, []byte(`{"v":3,`))
}

// untilDrain returns a context that ends with ctx or when drain (which
// may be nil) is closed.
func untilDrain(ctx context.Context, drain <-chan struct{}) (context.Context, context.CancelFunc) {
	take, stop := context.WithCancel(ctx)
	if drain != nil {
		go func() {
			select {
			case <-drain:
				stop()
			case <-take.Done():
			}
		}()
	}
	return take, stop
}

// stopServing ends Serve once it takes no more tasks: it leaves the queue
// group, so that direct requests go to other evaluators, waits for the
// tasks in flight to end, finished or abandoned, and returns ctx's error
// (nil after a drain that ran to its end).
func stopServing(ctx context.Context, sub *nats.Subscription, wg *sync.WaitGroup, log zerolog.Logger) error {
	_ = sub.Unsubscribe()
	if ctx.Err() == nil {
		log.Debug().Msg("taking no more tasks; finishing those in flight")
	}
	wg.Wait()
	return ctx.Err()
}

// serveOne answers one direct request, and calls release, which frees
// its slot, as soon as the simulation has ended: before the reply goes, so
// that the next task its dispatcher sends in return finds the slot free.
func serveOne(ctx context.Context, msg *nats.Msg, opts ServeOptions, h Handler, log zerolog.Logger, release func()) {
	defer release()
	start := time.Now()
	var rep wire.Reply
	id := ""
	t, err := wire.DecodeTask(msg.Data)
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("refusing task")
		rep = wire.Reply{Error: err.Error(), Reason: wire.ReasonInput}
		// Keep the id if the message had one, so the dispatcher can match it.
		var partial struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(msg.Data, &partial) == nil {
			id = partial.ID
		}
	case wrongObjective(t, opts.Objective) != nil:
		rep, id = *wrongObjective(t, opts.Objective), t.ID
	default:
		rep, id = h.Handle(ctx, t), t.ID
		if ctx.Err() != nil {
			// Abandoned: let the dispatcher's deadline and retry handle it.
			return
		}
	}
	release()
	data := finishReply(&rep, id, opts.Name, start, log)
	if data == nil {
		return
	}
	if msg.Reply == "" {
		log.Warn().Str("task", rep.ID).Msg("task has no reply subject; result dropped")
		return
	}
	if err := msg.Respond(data); err != nil {
		log.Warn().Err(err).Str("task", rep.ID).Msg("sending reply")
	}
}

// wrongObjective is the refusal of a task for another objective than the
// one served, or nil.
func wrongObjective(t *wire.Task, objective string) *wire.Reply {
	if t.Objective == "" || t.Objective == objective {
		return nil
	}
	return &wire.Reply{Error: fmt.Sprintf("task is for objective %q, this evaluator serves %q", t.Objective, objective), Reason: wire.ReasonInput}
}

// finishReply fills in what a handler leaves out of a reply: the version,
// the task's id, the evaluator's name and the timing. A reply JSON cannot
// carry (a non-finite value or metric) becomes a nonfinite failure, rather
// than leave the dispatcher to time out or the result unstored. It
// returns the reply's message; nil only if even the failure does not
// encode.
func finishReply(rep *wire.Reply, id, name string, start time.Time, log zerolog.Logger) []byte {
	rep.V, rep.ID = wire.Version, id
	if rep.Evaluator == "" {
		rep.Evaluator = name
	}
	if rep.Started.IsZero() {
		rep.Started = start.UTC()
	}
	if rep.Seconds == 0 {
		rep.Seconds = time.Since(start).Seconds()
	}
	data, err := json.Marshal(rep)
	if err == nil {
		return data
	}
	log.Error().Err(err).Str("task", id).Msg("encoding reply")
	*rep = wire.NotEncodable(rep, err)
	if data, err = json.Marshal(rep); err != nil {
		log.Error().Err(err).Str("task", id).Msg("encoding reply")
		return nil
	}
	return data
}
