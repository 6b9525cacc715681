package zo

import (
	"context"
	"math/rand/v2"
)

// Curvature is a negative-curvature finder's answer at a point.
type Curvature struct {
	// Direction is a unit vector along which the Hessian has curvature
	// vᵀ∇²f(x)v ≤ −δ/2, or nil for "none": no direction was found. A none
	// certifies, with high probability, that λ_min(∇²f(x)) ≥ −δ on the
	// free coordinates only when Lambda is a number ≥ −δ. A none with
	// Lambda NaN (the finder could not measure the curvature, e.g. its
	// probes kept failing) or below −δ certifies nothing: the optimizers
	// call the finder again, and stop uncertified if it still cannot
	// certify (see GD).
	Direction []float64
	// Lambda is the finder's estimate of the smallest Hessian eigenvalue at
	// x (the curvature along Direction when one was found); NaN when it
	// could not be measured.
	Lambda float64
	// Queries is the number of function evaluations the call spent.
	Queries int
}

// FindRequest is what a Finder gets: the point, what the optimizer already
// knows there, and the oracle to ask for more.
type FindRequest struct {
	Oracle     Oracle
	X          []float64 // the point; not modified
	F          float64   // f(X), averaged over Samples
	G          []float64 // gradient estimate at X by Estimator over Samples
	Estimator  CoordGE   // the optimizer's gradient estimator (step, box)
	Samples    []int     // samples to average over; a stochastic finder may draw others
	NumSamples int       // total number of samples (component functions) available
	Delta      float64   // curvature tolerance δ > 0
	// Free marks the coordinates the search may move; nil means all. At a
	// bound of the box the search is restricted to the face x lies on.
	Free []bool
	Rand *rand.Rand // source of every random choice
}

// Finder looks for a direction of negative curvature from function values
// alone. Implementations live in package negcurv.
type Finder interface {
	Find(ctx context.Context, req FindRequest) (Curvature, error)
}
