package api

import "time"

// EvaluatorService is the micro service name every evaluator registers,
// and SubjectEvaluators the subject of its status endpoint, served by
// every evaluator (no queue group): a request gathers one Evaluator reply
// from each.
const (
	EvaluatorService  = "zotune-evaluator"
	SubjectEvaluators = "zotune.evaluators.status"
)

// Evaluator is one evaluator process as it reports itself.
type Evaluator struct {
	ID        string `json:"id"`   // its micro service instance id
	Name      string `json:"name"` // its name in logs and trial records (host:pid unless set)
	Objective string `json:"objective"`
	Mode      string `json:"mode"`  // exec or stdio
	Slots     int    `json:"slots"` // simulations at once
	Busy      int    `json:"busy"`  // simulations running now
	// Evaluations and Failures count the simulations it ran to an answer
	// and to a failure since it started.
	Evaluations int64     `json:"evaluations"`
	Failures    int64     `json:"failures"`
	Started     time.Time `json:"started"`
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
