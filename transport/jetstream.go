package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/zotune/zotune/wire"
)

// Metadata keys of the evaluators' shared consumer: the heartbeat and the
// redelivery limit tunerd tells its evaluators.
const (
	metaHeartbeat   = "zotune_heartbeat"
	metaRedelivered = "zotune_max_redeliveries"
)

// Record is one finished evaluation as stored in the journal: the task and
// its reply.
type Record struct {
	V     int        `json:"v"`
	Task  wire.Task  `json:"task"`
	Reply wire.Reply `json:"reply"`
}

// ErrBadRecord is wrapped by errors about a journal record that cannot be
// read (not JSON, another protocol version, inconsistent ids). It is
// permanent: reading the record again gives the same answer.
var ErrBadRecord = errors.New("transport: bad journal record")

// DecodeRecord parses and validates a journal record. Its errors wrap
// ErrBadRecord (and ErrVersion for another protocol version).
func DecodeRecord(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if r.V != wire.Version {
		return nil, fmt.Errorf("%w: %w: record has v=%d, want %d", ErrBadRecord, wire.ErrVersion, r.V, wire.Version)
	}
	if r.Task.ID == "" || r.Reply.ID != r.Task.ID {
		return nil, fmt.Errorf("%w: task %q, reply %q", ErrBadRecord, r.Task.ID, r.Reply.ID)
	}
	return &r, nil
}

// PublishRecord stores a finished evaluation in the journal and waits for
// the server's acknowledgement. The message id is the task id and epoch, so
// a duplicate (an at-least-once redelivery that ran twice) within the
// stream's duplicate window is dropped by the server; readers keep the
// first record of a trial anyway. A record that cannot be encoded (a
// non-finite value or metric) is an error wrapping ErrNotEncodable.
func PublishRecord(ctx context.Context, js jetstream.JetStream, t *wire.Task, r *wire.Reply) error {
	data, err := json.Marshal(Record{V: wire.Version, Task: *t, Reply: *r})
	if err != nil {
		return fmt.Errorf("%w: record of %s: %w", wire.ErrNotEncodable, t.ID, err)
	}
	if _, err := js.Publish(ctx, wire.ResultSubject(t.Study, t.Trial), data, jetstream.WithMsgID("result:"+t.ID+":"+t.Epoch)); err != nil {
		return fmt.Errorf("transport: storing result of %s: %w", t.ID, err)
	}
	return nil
}

// DurableOptions sets up the streams of durable dispatch.
type DurableOptions struct {
	// Replicas of every stream: 1 on a single server, 3 on a cluster.
	Replicas int
	// Heartbeat is how often an evaluator tells JetStream a task is still
	// in progress; a task whose evaluator misses three heartbeats is
	// redelivered to another. Default 5s.
	Heartbeat time.Duration
	// MaxRedeliveries is how often a task is redelivered before it fails
	// with ReasonStale; default 3.
	MaxRedeliveries int
}

func (o *DurableOptions) defaults() {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.MaxRedeliveries <= 0 {
		o.MaxRedeliveries = 3
	}
}

// EnsureJournal creates or updates the journal stream.
func EnsureJournal(ctx context.Context, js jetstream.JetStream, o DurableOptions) (jetstream.Stream, error) {
	o.defaults()
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        wire.JournalStream,
		Description: "zotune: every finished evaluation, by study and trial",
		Subjects:    []string{wire.SubjectResult + ">", wire.SubjectStudy + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("transport: journal stream: %w", err)
	}
	return s, nil
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
		return nil, fmt.Errorf("transport: task stream for %s: %w", objective, err)
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
		return nil, fmt.Errorf("transport: task consumer for %s: %w", objective, err)
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

// ErrMismatch is returned when a stored record does not answer the task
// asked now (another point or seed under the same trial id): the study
// that wrote it was defined differently.
var ErrMismatch = errors.New("transport: journal record does not match the task")

// SameTask checks that a stored task asked for the same evaluation as t:
// same seed, same parameter values, exactly.
func SameTask(stored, t *wire.Task) error {
	if stored.Seed != t.Seed || len(stored.Params) != len(t.Params) {
		return fmt.Errorf("%w: trial %s was seed %d %v, now seed %d %v", ErrMismatch, t.ID, stored.Seed, stored.Params, t.Seed, t.Params)
	}
	for k, v := range t.Params {
		if sv, ok := stored.Params[k]; !ok || sv != v {
			return fmt.Errorf("%w: trial %s had %s = %v, now %v", ErrMismatch, t.ID, k, stored.Params[k], v)
		}
	}
	return nil
}
