package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// natsBackend gives studies their journal (JetStream) and dispatch (the
// durable work queue or direct request/reply) over one connection.
type natsBackend struct {
	nc      *nats.Conn
	js      jetstream.JetStream // nil: the server has no JetStream
	durable transport.DurableOptions
	pools   *pools // the slots of each objective, shared by its studies
	// timeout is, per objective, the longest timeout of the evaluators the
	// daemon starts.
	timeout map[string]time.Duration
	log     zerolog.Logger
}

var _ study.Backend = (*natsBackend)(nil)

// OpenJournal implements study.Backend: the study's view of the JetStream
// journal, or none without JetStream.
func (b *natsBackend) OpenJournal(ctx context.Context, spec *study.Spec, fingerprint string, fresh bool) (study.Journal, error) {
	if b.js == nil {
		return nil, nil
	}
	j, err := journal.Open(ctx, b.js, spec.Name, fingerprint, journal.Options{Replicas: b.durable.Replicas, Fresh: fresh, Objective: spec.Objective})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// errNoJetStream is the error of a durable study on a server without
// JetStream.
var errNoJetStream = errors.New("durable dispatch needs JetStream, which the NATS server does not offer")

// OpenSender implements study.Backend.
func (b *natsBackend) OpenSender(ctx context.Context, spec *study.Spec, j study.Journal, record func(*wire.Task, *wire.Reply)) (study.Sender, error) {
	if spec.Dispatch == "direct" {
		o := transport.DispatchOptions{
			Study: spec.Name, Objective: spec.Objective, Slots: b.pools.share(spec.Objective, spec.Name),
			Record: record, Logger: b.log,
		}
		if t := b.timeout[spec.Objective]; t > 0 {
			// Above the evaluator's own timeout, so that it reports a slow
			// simulation itself rather than the dispatcher retrying it.
			o.Timeout = t + t/2 + 10*time.Second
		}
		d, err := transport.NewDispatcher(b.nc, o)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	jj, ok := j.(*journal.Journal)
	if !ok || jj == nil {
		return nil, errNoJetStream
	}
	q, err := transport.OpenQueue(ctx, b.js, jj, transport.QueueOptions{
		Objective: spec.Objective, Study: spec.Name, Durable: b.durable,
		Slots: b.pools.share(spec.Objective, spec.Name), Logger: b.log,
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}
