package wire

import "time"

// EvaluatorService is the micro service name every evaluator registers
// (`nats micro ls`, `nats micro info zotune-evaluator`; its metadata holds
// the evaluator's name, objective, mode and slots), and SubjectEvaluators
// the subject of its "status" endpoint, served by every evaluator (no
// queue group): one request gathers one EvaluatorStatus reply from
// each, as api.Client.Evaluators does. `nats micro stats
// zotune-evaluator` shows the same as each instance's endpoint data.
const (
	EvaluatorService  = "zotune-evaluator"
	SubjectEvaluators = "zotune.evaluators.status"
	// EvaluatorServiceVersion is the version of the service's contract.
	EvaluatorServiceVersion = "1.0.0"
)

// EvaluatorStatus is one evaluator process as it reports itself.
type EvaluatorStatus struct {
	ID        string `json:"id"`   // its micro service instance id
	Name      string `json:"name"` // its name in logs and trial records (host-pid unless set)
	Objective string `json:"objective"`
	Mode      string `json:"mode"`  // exec or stdio
	Slots     int    `json:"slots"` // simulations at once
	Busy      int    `json:"busy"`  // simulations running now
	// Evaluations and Failures count the simulations it ran to a value and
	// to a failure (any reason) since it started. A simulation abandoned
	// when the evaluator stops counts as neither.
	Evaluations int64 `json:"evaluations"`
	Failures    int64 `json:"failures"`
	// Draining is set once the evaluator was told to stop: it takes no
	// more tasks and finishes the Busy ones before it exits.
	Draining bool      `json:"draining"`
	Started  time.Time `json:"started"`
}
