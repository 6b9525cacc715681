// Package wire is the language tunerd and evaluators speak: the task and
// reply messages, the failure reasons, the journal's subjects and stream
// names, trial ids and the name rule. It imports no NATS package, so that a
// program that only runs simulators links nothing of a server. See
// docs/protocol.md.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Version is the wire protocol version carried in every message. A peer
// refuses messages with a different major version (see docs/protocol.md).
const Version = 1

// VersionLabels is the version of a task that carries Labels (categorical
// parameters): an evaluator that predates them refuses it, rather than
// hand the simulator an index where it expects a string. Tasks without
// labels, and every reply, carry Version.
const VersionLabels = 2

// Task asks an evaluator to run the simulator once.
type Task struct {
	V         int    `json:"v"`
	ID        string `json:"id"`        // unique per evaluation: "<study>/<trial>"
	Study     string `json:"study"`     // study name
	Trial     string `json:"trial"`     // trial id within the study
	Objective string `json:"objective"` // objective name the task is for
	Seed      int64  `json:"seed"`      // simulator seed (component function)
	Params    Params `json:"params"`    // parameter values in user units
	// Names lists the parameter names in the study's order, so an
	// evaluator can present them in a stable order.
	Names []string `json:"names,omitempty"`
	// Labels are the values of the task's categorical parameters, whose
	// entries in Params are the values' indices; the simulator gets the
	// label. A task with labels has V = VersionLabels.
	Labels map[string]string `json:"labels,omitempty"`
	// Epoch identifies the study's journal generation (it changes when the
	// study is started over with --fresh); it makes JetStream message ids
	// unique across generations.
	Epoch string `json:"epoch,omitempty"`
}

// Reason classifies a failed evaluation.
type Reason string

// Failure reasons. They are stable strings, written to trials.jsonl.
const (
	ReasonExit      Reason = "exit"      // simulator exited non-zero
	ReasonParse     Reason = "parse"     // last line of stdout is not a number or {"value": ...}
	ReasonNonFinite Reason = "nonfinite" // value is NaN or ±Inf
	ReasonTimeout   Reason = "timeout"   // simulator ran past its timeout and was killed
	ReasonStart     Reason = "start"     // simulator could not be started
	ReasonCrash     Reason = "crash"     // a stdio simulator died mid-request
	ReasonInput     Reason = "input"     // the task itself was unusable (bad message)
	ReasonDelivery  Reason = "delivery"  // no evaluator answered in time (dispatcher side)
	// ReasonStale marks a durable task that was redelivered too often: its
	// evaluators kept dying (or losing their connection) before finishing
	// it.
	ReasonStale Reason = "stale"
	// ReasonBusy is no failure: it is the reply of an evaluator with no
	// free slot to a direct request of VersionVector or later, which its
	// dispatcher sends again (to another evaluator of the queue group). It
	// names no task (its id is empty) and never reaches a study.
	ReasonBusy Reason = "busy"
)

// Reply is an evaluator's answer to a Task. Exactly one of Value or Error
// is meaningful: Error == "" means success.
type Reply struct {
	V         int                `json:"v"`
	ID        string             `json:"id"`
	Value     float64            `json:"value"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Error     string             `json:"error,omitempty"`
	Reason    Reason             `json:"reason,omitempty"`
	Stderr    string             `json:"stderr,omitempty"` // tail of the simulator's stderr on failure
	Evaluator string             `json:"evaluator"`        // evaluator instance name
	Started   time.Time          `json:"started"`
	Seconds   float64            `json:"seconds"`
}

// Err returns the reply's failure as an error, or nil on success.
func (r *Reply) Err() error {
	if r.Error == "" {
		return nil
	}
	return &EvalError{ID: r.ID, Reason: r.Reason, Msg: r.Error, Stderr: r.Stderr}
}

// EvalError is a failed evaluation.
type EvalError struct {
	ID     string // the task's id, "<study>/<trial>"; "" when unknown
	Reason Reason
	Msg    string
	Stderr string
}

func (e *EvalError) Error() string {
	s := fmt.Sprintf("evaluation failed (%s): %s", e.Reason, e.Msg)
	if e.ID != "" {
		s = fmt.Sprintf("evaluation %s failed (%s): %s", e.ID, e.Reason, e.Msg)
	}
	if e.Stderr != "" {
		s += "; stderr: " + e.Stderr
	}
	return s
}

// ErrVersion is returned when a message carries an unsupported protocol version.
var ErrVersion = errors.New("wire: unsupported protocol version")

// MaxPayload is the largest message a peer sends or decodes: a task, a
// reply or a journal record; the embedded NATS server is set to carry it.
const MaxPayload = 8 << 20

// Limits on a task a peer accepts, beyond MaxPayload bytes in all. They
// are far above what a study asks for (zeroth-order methods need a few
// evaluations per parameter) and bound what a malformed or hostile message
// costs to decode and pass on to a simulator.
const (
	MaxParams     = 100_000 // parameters in one task
	MaxNameBytes  = 256     // bytes of one parameter name
	MaxLabelBytes = 1024    // bytes of one categorical value
)

// DecodeTask parses and validates a task message.
func DecodeTask(data []byte) (*Task, error) {
	if len(data) > MaxPayload {
		return nil, fmt.Errorf("wire: bad task message: %d bytes, more than the %d accepted", len(data), MaxPayload)
	}
	var t Task
	if err := t.UnmarshalJSON(data); err != nil { // without json.Unmarshal's scan of data first
		return nil, fmt.Errorf("wire: bad task message: %w", err)
	}
	if t.V != Version && t.V != VersionLabels && t.V != VersionVector {
		return nil, fmt.Errorf("%w: task has v=%d, want %d, %d or %d", ErrVersion, t.V, Version, VersionLabels, VersionVector)
	}
	if err := t.checkLabels(); err != nil {
		return nil, err
	}
	if t.ID == "" {
		return nil, errors.New("wire: bad task message: missing id")
	}
	if n := max(len(t.Params), len(t.Names)); n > MaxParams {
		return nil, fmt.Errorf("wire: bad task message: %d parameters, more than the %d accepted", n, MaxParams)
	}
	for _, k := range t.Names {
		if len(k) > MaxNameBytes {
			return nil, fmt.Errorf("wire: bad task message: a parameter name of %d bytes, more than the %d accepted", len(k), MaxNameBytes)
		}
	}
	for k, v := range t.Params {
		if k == "" {
			return nil, errors.New("wire: bad task message: empty parameter name")
		}
		if len(k) > MaxNameBytes {
			return nil, fmt.Errorf("wire: bad task message: a parameter name of %d bytes, more than the %d accepted", len(k), MaxNameBytes)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("wire: bad task message: parameter %q is not finite", k)
		}
	}
	return &t, nil
}

// checkLabels checks a task's Labels against its version and its Params.
func (t *Task) checkLabels() error {
	if t.V == Version && len(t.Labels) > 0 {
		return fmt.Errorf("wire: bad task message: labels in a v=%d task (labels need v=%d)", Version, VersionLabels)
	}
	for k, v := range t.Labels {
		if _, ok := t.Params[k]; !ok {
			return fmt.Errorf("wire: bad task message: label for %q, which is not a parameter", k)
		}
		if len(v) > MaxLabelBytes {
			return fmt.Errorf("wire: bad task message: label of %q is %d bytes, more than the %d accepted", k, len(v), MaxLabelBytes)
		}
	}
	return nil
}

// DecodeReply parses and validates a reply message of at most MaxPayload
// bytes.
func DecodeReply(data []byte) (*Reply, error) {
	if len(data) > MaxPayload {
		return nil, fmt.Errorf("wire: bad reply message: %d bytes, more than the %d accepted", len(data), MaxPayload)
	}
	var r Reply
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("wire: bad reply message: %w", err)
	}
	if r.V != Version {
		return nil, fmt.Errorf("%w: reply has v=%d, want %d", ErrVersion, r.V, Version)
	}
	if r.ID == "" {
		if r.Reason == ReasonBusy {
			return nil, ErrBusy
		}
		return nil, errors.New("wire: bad reply message: missing id")
	}
	if r.Error == "" && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
		return nil, errors.New("wire: bad reply message: success with a non-finite value")
	}
	return &r, nil
}

// ErrBusy is DecodeReply's answer to a busy reply (ReasonBusy): no reply
// to a task, but word that the evaluator reached had no free slot.
var ErrBusy = errors.New("wire: the evaluator had no free slot")

// ErrNotEncodable is wrapped by errors about a message JSON cannot carry
// (a non-finite value or metric).
var ErrNotEncodable = errors.New("wire: message not encodable as JSON")

// NotEncodable is the failure that replaces a reply JSON cannot carry: a
// handler returned a non-finite value or metric.
func NotEncodable(r *Reply, err error) Reply {
	return Reply{V: Version, ID: r.ID, Error: "reply not encodable: " + err.Error(), Reason: ReasonNonFinite,
		Evaluator: r.Evaluator, Started: r.Started, Seconds: r.Seconds}
}
