package transport

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// pull serves tasks from the objective's durable work queue until ctx is
// cancelled. It waits for the queue to exist (tunerd creates it when a
// durable study of this objective starts), then, whenever a slot is free,
// fetches one task from the shared consumer. While a simulation runs it
// sends in-progress heartbeats, so a long simulation is never redelivered
// while its evaluator lives. The result goes to the journal before the task
// is acked: a crash between the two only costs a redelivery whose duplicate
// result readers ignore.
func pull(ctx context.Context, nc *nats.Conn, opts ServeOptions, h Handler, slots chan struct{}, wg *sync.WaitGroup, log zerolog.Logger) {
	js, err := jetstream.New(nc)
	if err != nil {
		log.Error().Err(err).Msg("jetstream unavailable; serving direct requests only")
		return
	}
	var cons jetstream.Consumer
	wait := 100 * time.Millisecond
	for {
		cons, err = js.Consumer(ctx, TaskStream(opts.Objective), TaskConsumer)
		if err == nil {
			break
		}
		if !errNotFound(err) && !errors.Is(err, jetstream.ErrJetStreamNotEnabled) && ctx.Err() == nil {
			log.Debug().Err(err).Msg("looking up the task queue")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
	info := cons.CachedInfo()
	heartbeat, err := time.ParseDuration(info.Config.Metadata[metaHeartbeat])
	if err != nil || heartbeat <= 0 {
		heartbeat = info.Config.AckWait / 3
	}
	maxRedeliveries, err := strconv.Atoi(info.Config.Metadata[metaRedelivered])
	if err != nil || maxRedeliveries <= 0 {
		maxRedeliveries = 3
	}
	log.Info().Str("stream", TaskStream(opts.Objective)).Dur("heartbeat", heartbeat).
		Int("max_redeliveries", maxRedeliveries).Msg("pulling durable tasks")

	for {
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
				log.Warn().Err(err).Msg("fetching a task")
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			runDurable(ctx, js, msg, opts, h, heartbeat, maxRedeliveries, log)
		}()
	}
}

func runDurable(ctx context.Context, js jetstream.JetStream, msg jetstream.Msg, opts ServeOptions, h Handler, heartbeat time.Duration, maxRedeliveries int, log zerolog.Logger) {
	start := time.Now()
	t, err := DecodeTask(msg.Data())
	if err != nil {
		// Not a task we can ever run: drop it from the queue.
		log.Error().Err(err).Str("subject", msg.Subject()).Msg("discarding malformed task")
		_ = msg.Term()
		return
	}
	var rep Reply
	meta, _ := msg.Metadata()
	if meta != nil && int(meta.NumDelivered) > maxRedeliveries+1 {
		rep = Reply{Error: "task was delivered " + strconv.FormatUint(meta.NumDelivered, 10) +
			" times without a result: its evaluators died or lost their connection", Reason: ReasonStale}
		log.Warn().Str("task", t.ID).Uint64("deliveries", meta.NumDelivered).Msg("task is stale")
	} else {
		hctx, stop := context.WithCancel(ctx)
		go func() {
			tick := time.NewTicker(heartbeat)
			defer tick.Stop()
			for {
				select {
				case <-hctx.Done():
					return
				case <-tick.C:
					if err := msg.InProgress(); err != nil {
						log.Warn().Err(err).Str("task", t.ID).Msg("heartbeat")
					}
				}
			}
		}()
		rep = h.Handle(ctx, t)
		stop()
		if ctx.Err() != nil {
			// Shutting down: hand the task back for another evaluator now,
			// rather than after the ack wait.
			_ = msg.Nak()
			return
		}
	}
	rep.V, rep.ID = Version, t.ID
	if rep.Evaluator == "" {
		rep.Evaluator = opts.Name
	}
	if rep.Started.IsZero() {
		rep.Started = start.UTC()
	}
	if rep.Seconds == 0 {
		rep.Seconds = time.Since(start).Seconds()
	}
	// Store the result, retrying through a server restart or network blip
	// for up to a minute (keeping the task alive meanwhile): a result that
	// cannot be stored is not acked, and the task runs again elsewhere.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		err := PublishRecord(pctx, js, t, &rep)
		if err == nil {
			break
		}
		if pctx.Err() != nil {
			log.Error().Err(err).Str("task", t.ID).Msg("could not store the result; the task will be redelivered")
			return
		}
		log.Warn().Err(err).Str("task", t.ID).Msg("storing result; retrying")
		_ = msg.InProgress()
		select {
		case <-pctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	if err := msg.DoubleAck(pctx); err != nil {
		log.Warn().Err(err).Str("task", t.ID).Msg("acknowledging task (its result is stored)")
	}
}
