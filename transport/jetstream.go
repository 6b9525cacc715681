package transport

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// Metadata keys of the evaluators' shared consumer: the heartbeat and the
// redelivery limit tunerd tells its evaluators.
const (
	metaHeartbeat   = "zotune_heartbeat"
	metaRedelivered = "zotune_max_redeliveries"
)

// DurableOptions sets up the streams of durable dispatch.
type DurableOptions struct {
	// Replicas of every stream: 1 on a single server, 3 on a cluster.
	Replicas int
	// Heartbeat is how often an evaluator tells JetStream a task is still
	// in progress; a task whose evaluator misses three heartbeats is
	// redelivered to another. Default DefaultHeartbeat.
	Heartbeat time.Duration
	// MaxRedeliveries is how often a task is redelivered before it fails
	// with ReasonStale; default DefaultMaxRedeliveries.
	MaxRedeliveries int
}

// Defaults of DurableOptions.
const (
	DefaultHeartbeat       = 5 * time.Second
	DefaultMaxRedeliveries = 3
)

func (o *DurableOptions) defaults() {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.MaxRedeliveries <= 0 {
		o.MaxRedeliveries = DefaultMaxRedeliveries
	}
}

// EnsureTasks creates or updates an objective's work-queue stream and the
// evaluators' shared consumer. The consumer's ack wait is three heartbeats;
// its metadata carries the heartbeat and redelivery limit to evaluators.
func EnsureTasks(ctx context.Context, js jetstream.JetStream, objective string, o DurableOptions) (jetstream.Stream, error) {
	o.defaults()
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        wire.TaskStream(objective),
		Description: "zotune: evaluations waiting for an evaluator of " + objective,
		Subjects:    []string{wire.SubjectTask + objective + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("transport: task stream for %s: %w", objective, journal.ReplicasError(err, o.Replicas))
	}
	_, err = s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       wire.TaskConsumer,
		Description:   "zotune evaluators of " + objective,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       3 * o.Heartbeat,
		MaxDeliver:    -1,
		MaxAckPending: -1,
		Replicas:      o.Replicas,
		Metadata: map[string]string{
			metaHeartbeat:   o.Heartbeat.String(),
			metaRedelivered: strconv.Itoa(o.MaxRedeliveries),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("transport: task consumer for %s: %w", objective, journal.ReplicasError(err, o.Replicas))
	}
	return s, nil
}

// ErrStoreFull is wrapped by errors of a JetStream store that has no room
// left: the server or the account has used all the storage it may, and
// refuses writes as "insufficient resources".
var ErrStoreFull = errors.New("transport: the JetStream store is full")

// codeInsufficientResources is the JetStream API error code of a write
// refused for lack of storage.
const codeInsufficientResources jetstream.ErrorCode = 10023

// storeFull reports whether err is a JetStream write refused for lack of
// storage.
func storeFull(err error) bool {
	var ae *jetstream.APIError
	return errors.Is(err, ErrStoreFull) || errors.As(err, &ae) && ae.ErrorCode == codeInsufficientResources
}

// errNotFound reports whether err is JetStream's "no such message/stream".
func errNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, jetstream.ErrConsumerNotFound)
}
