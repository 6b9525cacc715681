package api

import "github.com/zotune/zotune/wire"

// The evaluators' status service, whose contract is package wire's: it
// is served by the evaluator, which links no more than wire.
const (
	EvaluatorService  = wire.EvaluatorService
	SubjectEvaluators = wire.SubjectEvaluators
)

// Evaluator is one evaluator process as it reports itself.
type Evaluator = wire.EvaluatorStatus

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
