package api

import "time"

// EvaluatorService is the micro service name every evaluator registers
// (`nats micro ls`, `nats micro info zotune-evaluator`; its metadata holds
// the evaluator's name, objective, mode and slots), and SubjectEvaluators
// the subject of its "status" endpoint, served by every evaluator (no
// queue group): one request gathers one Evaluator reply from each, as
// Client.Evaluators does. `nats micro stats zotune-evaluator` shows the
// same Evaluator as each instance's endpoint data.
const (
	EvaluatorService  = "zotune-evaluator"
	SubjectEvaluators = "zotune.evaluators.status"
)

// Evaluator is one evaluator process as it reports itself.
type Evaluator struct {
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

// Objective is what a daemon knows of one objective: the evaluators that
// serve it, and the tasks of its studies in flight or waiting for a slot
// (see docs/api.md for how slots are shared).
type Objective struct {
	Name       string `json:"name"`
	Evaluators int    `json:"evaluators"`
	Slots      int    `json:"slots"`
	Busy       int    `json:"busy"`
	InFlight   int    `json:"in_flight"`
	Waiting    int    `json:"waiting"`
}
