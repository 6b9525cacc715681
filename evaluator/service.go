package evaluator

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// The monitor counts the tasks both dispatch modes run.
var _ transport.Handler = (*monitor)(nil)

// monitor runs the evaluator's tasks with its simulator runner, counting
// them, and reports the counts through the evaluator's micro service:
// wire.EvaluatorService, whose "status" endpoint on wire.SubjectEvaluators
// every evaluator answers (no queue group) with a wire.EvaluatorStatus, the same
// data `nats micro stats zotune-evaluator` shows.
type monitor struct {
	h    transport.Handler
	self wire.EvaluatorStatus // what does not change: name, objective, mode, slots, started; the id once registered

	busy        atomic.Int64
	evaluations atomic.Int64
	failures    atomic.Int64
	draining    atomic.Bool
	// ended gets a value, when it has room, each time a simulation ends.
	ended chan struct{}

	svc micro.Service // nil until registered, or when registering failed
}

func newMonitor(c *config, h transport.Handler) *monitor {
	return &monitor{
		h:     h,
		self:  wire.EvaluatorStatus{Name: c.name, Objective: c.objective, Mode: c.mode, Slots: c.slots, Started: time.Now().UTC()},
		ended: make(chan struct{}, 1),
	}
}

// Handle runs t. A simulation abandoned on shutdown (ctx ended) counts
// neither as an evaluation nor as a failure: it has no result.
func (m *monitor) Handle(ctx context.Context, t *wire.Task) wire.Reply {
	m.busy.Add(1)
	rep := m.h.Handle(ctx, t)
	switch {
	case ctx.Err() != nil:
	case rep.Error == "":
		m.evaluations.Add(1)
	default:
		m.failures.Add(1)
	}
	m.busy.Add(-1)
	select {
	case m.ended <- struct{}{}:
	default:
	}
	return rep
}

// status is the evaluator as it reports itself now.
func (m *monitor) status() wire.EvaluatorStatus {
	s := m.self
	s.Busy = int(m.busy.Load())
	s.Evaluations = m.evaluations.Load()
	s.Failures = m.failures.Load()
	s.Draining = m.draining.Load()
	return s
}

// register adds the evaluator's micro service on nc. The connection's
// closed and error handlers must be set before: the service chains them.
func (m *monitor) register(nc *nats.Conn) error {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        wire.EvaluatorService,
		Version:     wire.EvaluatorServiceVersion,
		Description: "zotune evaluator: runs the simulator of one objective",
		Metadata: map[string]string{
			"name": m.self.Name, "objective": m.self.Objective, "mode": m.self.Mode, "slots": strconv.Itoa(m.self.Slots),
		},
		StatsHandler: func(*micro.Endpoint) any { return m.status() },
	})
	if err != nil {
		return fmt.Errorf("evaluator: registering the %s service: %w", wire.EvaluatorService, err)
	}
	// Set before the endpoint exists, so every reply carries it.
	m.self.ID = svc.Info().ID
	err = svc.AddEndpoint("status", micro.HandlerFunc(func(req micro.Request) { _ = req.RespondJSON(m.status()) }),
		micro.WithEndpointSubject(wire.SubjectEvaluators), micro.WithEndpointQueueGroupDisabled())
	if err != nil {
		_ = svc.Stop()
		return fmt.Errorf("evaluator: adding the status endpoint on %s: %w", wire.SubjectEvaluators, err)
	}
	m.svc = svc
	return nil
}

// stop stops the service, if registered; it restores the connection's
// handlers it chained.
func (m *monitor) stop(log zerolog.Logger) {
	if m.svc == nil {
		return
	}
	if err := m.svc.Stop(); err != nil {
		log.Warn().Err(err).Msg("stopping the evaluator service")
	}
}
