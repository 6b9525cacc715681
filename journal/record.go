package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/wire"
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
var ErrBadRecord = errors.New("journal: bad record")

// ErrMismatch is returned when a stored record does not answer the task
// asked now (another point or seed under the same trial id): the study
// that wrote it was defined differently.
var ErrMismatch = errors.New("journal: record does not match the task")

// ErrOtherEpoch marks a record of another generation of the study (one
// stored for its trial before a fresh start): not an answer, and not an
// error either.
var ErrOtherEpoch = errors.New("journal: record of another generation")

// RecordVector is the version of a record whose task is a
// wire.VersionVector task: a tunerd that predates it refuses the record
// as of another version, rather than misread it. A record of an older
// task is written as before (wire.Version), so an evaluator of this
// version stores results an older tunerd reads.
const RecordVector = 2

// recordVersion is the version of the record of t.
func recordVersion(t *wire.Task) int {
	if t.V == wire.VersionVector {
		return RecordVector
	}
	return wire.Version
}

// DecodeRecord parses and validates a journal record. Its errors wrap
// ErrBadRecord (and wire.ErrVersion for another protocol version).
func DecodeRecord(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if r.V != wire.Version && r.V != RecordVector {
		return nil, fmt.Errorf("%w: %w: record has v=%d, want %d or %d", ErrBadRecord, wire.ErrVersion, r.V, wire.Version, RecordVector)
	}
	if r.Task.ID == "" || r.Reply.ID != r.Task.ID {
		return nil, fmt.Errorf("%w: task %q, reply %q", ErrBadRecord, r.Task.ID, r.Reply.ID)
	}
	return &r, nil
}

// Store stores a finished evaluation in the journal and waits for the
// server's acknowledgement. The message id is the task id and epoch, so a
// duplicate (an at-least-once redelivery that ran twice) within the
// stream's duplicate window is dropped by the server; readers keep the
// first record of a trial anyway. A record that cannot be encoded (a
// non-finite value or metric) is an error wrapping wire.ErrNotEncodable.
func Store(ctx context.Context, js jetstream.JetStream, t *wire.Task, r *wire.Reply) error {
	data, err := encodeRecord(t, r)
	if err != nil {
		return err
	}
	if _, err := js.Publish(ctx, wire.ResultSubject(t.Study, t.Trial), data, jetstream.WithMsgID(msgID(t))); err != nil {
		return fmt.Errorf("journal: storing result of %s: %w", t.ID, err)
	}
	return nil
}

// encodeRecord is the journal record of t answered by r.
func encodeRecord(t *wire.Task, r *wire.Reply) ([]byte, error) {
	task, err := t.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: record of %s: %w", wire.ErrNotEncodable, t.ID, err)
	}
	reply, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%w: record of %s: %w", wire.ErrNotEncodable, t.ID, err)
	}
	// Record's JSON, without encoding/json's check of the task's.
	data := make([]byte, 0, len(task)+len(reply)+32)
	data = append(data, `{"v":`...)
	data = strconv.AppendInt(data, int64(recordVersion(t)), 10)
	data = append(data, `,"task":`...)
	data = append(data, task...)
	data = append(data, `,"reply":`...)
	data = append(data, reply...)
	return append(data, '}'), nil
}

// msgID is the JetStream message id of t's result: the server drops a
// second record of one task of one generation within its duplicate window.
func msgID(t *wire.Task) string { return "result:" + t.ID + ":" + t.Epoch }

// Answers reports whether rec, a stored record, is the answer to t: nil if
// it is, ErrOtherEpoch if it belongs to another generation of the study,
// or ErrMismatch if it asked for another evaluation. A refusal (reason
// input) of the task sent for this trial answers it even when the
// evaluator could not read back what was asked.
func Answers(rec *Record, t *wire.Task) error {
	if rec.Task.Epoch != t.Epoch {
		return ErrOtherEpoch
	}
	if err := SameTask(&rec.Task, t); err != nil {
		if rec.Reply.Error != "" && rec.Reply.Reason == wire.ReasonInput {
			return nil
		}
		return err
	}
	return nil
}

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
