package zo

import (
	"context"
	"errors"
	"math"
)

// Status is how an optimization ended. The strings are part of the
// user-facing contract (summary.json).
type Status string

// Terminal statuses.
const (
	// Converged: an (ε, δ) second-order stationary point, certified by a
	// gradient estimate of norm ≤ ε and a finder's "none" with λ̂_min ≥ −δ
	// (a number: a NaN estimate never certifies).
	StatusConverged Status = "converged"
	StatusTarget    Status = "target"  // a value ≤ the study's target was seen
	StatusBudget    Status = "budget"  // the evaluation or time budget ran out
	StatusStopped   Status = "stopped" // cancelled, no further progress possible, or a small gradient the finder could not certify (see Outcome.Reason)
	StatusFailed    Status = "failed"  // the objective kept failing; see Outcome.Reason
)

// ErrTarget is returned by an Oracle (see study's tracker) once a value at
// or below the study's target has been seen.
var ErrTarget = errors.New("zo: target value reached")

// Escape records one negative-curvature step.
type Escape struct {
	Iteration int     `json:"iteration"`
	Lambda    float64 `json:"lambda"` // curvature estimate along the direction taken
	Step      float64 `json:"step"`   // length of the step taken
	From      float64 `json:"from"`   // value before
	To        float64 `json:"to"`     // value after
}

// Outcome is the result of a minimization.
type Outcome struct {
	Status Status
	Reason string // human-readable detail on the status

	X         []float64 // final iterate
	F         float64   // f(X), averaged over the samples used
	GradNorm  float64   // norm of the last gradient estimate at X (free coordinates)
	LambdaMin float64   // finder's curvature estimate at X; NaN if none was made there
	Epsilon   float64   // ε used
	Delta     float64   // δ used

	Iterations int
	Escapes    []Escape
}

// Progress is reported after every iteration, for logs and traces.
type Progress struct {
	Iteration int
	Event     string // "step", "escape", "certify", "done"
	F         float64
	GradNorm  float64
	Lambda    float64 // NaN unless Event is "escape" or "certify"
}

// statusOf maps an oracle error to a terminal status.
func statusOf(err error) (Status, string) {
	switch {
	case errors.Is(err, ErrTarget):
		return StatusTarget, "target value reached"
	case errors.Is(err, ErrBudget):
		return StatusBudget, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return StatusBudget, "time budget exhausted"
	case errors.Is(err, context.Canceled):
		return StatusStopped, "cancelled"
	default:
		return StatusFailed, err.Error()
	}
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
