package zo

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// Estimator is a zeroth-order gradient estimator. Draw fixes the random
// choices of one estimate (directions, coordinates) with rng and returns
// them as a Stencil; a deterministic estimator ignores rng, which may then
// be nil, and returns itself.
//
// Every estimator keeps every query inside its Box, shifting a stencil
// inward (or shortening μ) near a bound, and uses the same sample on both
// sides of every difference (common random numbers).
type Estimator interface {
	Draw(d int, rng *rand.Rand) Stencil
}

// Stencil is one gradient estimate with its random choices fixed. The same
// Stencil queried at two points with the same samples gives a
// common-random-numbers pair of estimates (same directions, same seeds):
// their difference is what variance-reduced methods (SCSG, SPIDER) need.
type Stencil interface {
	// Queries returns the batch that estimates the gradient at x,
	// averaged over samples.
	Queries(x []float64, samples []int) []Query
	// Gradient turns the answers to Queries(x, samples) into the
	// estimate, written into g. failed counts the coordinates of g the
	// answers said nothing about although the stencil meant to estimate
	// them; failed == len(x) means the estimate carries no information.
	Gradient(x []float64, samples []int, res []Result, g []float64) (failed int)
}

// Estimator names accepted by NewEstimator and Settings.Estimator.
const (
	EstCoord        = "coord"         // CoordGE, central: 2d queries
	EstCoordForward = "coord-forward" // ForwardGE: d+1 queries
	EstRand         = "rand"          // RandGE, sphere directions: 2q queries
	EstGauss        = "gauss"         // GaussGE, Gaussian directions: q+1 queries
	EstRandomK      = "randomk"       // RandomK, k random coordinates: 2k queries
)

// Estimators lists the estimator names, in the order of the table in the
// design notes.
var Estimators = []string{EstCoord, EstCoordForward, EstRand, EstGauss, EstRandomK}

// NewEstimator returns the estimator called name with finite-difference
// step mu on box b. n is the number of directions q (rand, gauss) or of
// coordinates k (randomk); 0 means the default ⌈d/4⌉, and it is ignored by
// the coordinate estimators. The empty name means "coord".
func NewEstimator(name string, mu float64, b Box, n int) (Estimator, error) {
	if !(mu > 0) {
		return nil, fmt.Errorf("zo: estimator step mu must be positive, got %g", mu)
	}
	if n < 0 {
		return nil, fmt.Errorf("zo: estimator %q: number of directions must not be negative, got %d", name, n)
	}
	switch name {
	case EstCoord, "":
		return CoordGE{Mu: mu, Box: b}, nil
	case EstCoordForward:
		return ForwardGE{Mu: mu, Box: b}, nil
	case EstRand:
		return RandGE{Mu: mu, Box: b, Directions: n}, nil
	case EstGauss:
		return GaussGE{Mu: mu, Box: b, Directions: n}, nil
	case EstRandomK:
		return RandomK{Mu: mu, Box: b, K: n}, nil
	}
	return nil, fmt.Errorf("zo: unknown estimator %q (want one of %v)", name, Estimators)
}

// directions is the number of random directions or coordinates of an
// estimate in dimension d: n, or when n ≤ 0 the default ⌈d/4⌉, a quarter
// of the coordinate estimator's cost.
func directions(n, d int) int {
	if n > 0 {
		return n
	}
	return max(1, (d+3)/4)
}

// quotient sums the difference quotients (f(a) − f(b))/h over n samples,
// sample k's answers at a and b being res[k·stride+ia] and
// res[k·stride+ib], leaving out the samples where either failed; used
// counts the others.
func quotient(res []Result, n, stride, ia, ib int, h float64) (sum float64, used int) {
	for k := 0; k < n; k++ {
		ra, rb := res[k*stride+ia], res[k*stride+ib]
		if ra.Err != nil || rb.Err != nil {
			continue
		}
		sum += (ra.Value - rb.Value) / h
		used++
	}
	return sum, used
}

// combine sets g to Σⱼ cⱼ·dirs[j] over the directions j that have a mean
// difference quotient cⱼ, quot(j) giving its sum over the samples and
// their number (see quotient; 0 when no sample answered), and returns how
// many directions had one.
func combine(g []float64, dirs [][]float64, quot func(j int) (sum float64, n int)) (used int) {
	clear(g)
	for j, u := range dirs {
		sum, n := quot(j)
		if n == 0 {
			continue
		}
		used++
		c := sum / float64(n)
		for i := range g {
			g[i] += c * u[i]
		}
	}
	return used
}

// EstimateWith sends the queries of one stencil as one batch and returns
// the gradient estimate at x.
func EstimateWith(ctx context.Context, o Oracle, st Stencil, x []float64, samples []int) (g []float64, failed int, err error) {
	res, err := o.Evaluate(ctx, st.Queries(x, samples))
	if err != nil {
		return nil, 0, err
	}
	g = make([]float64, len(x))
	return g, st.Gradient(x, samples, res, g), nil
}

var (
	_ Estimator = CoordGE{}
	_ Estimator = ForwardGE{}
	_ Estimator = RandGE{}
	_ Estimator = GaussGE{}
	_ Estimator = RandomK{}
	_ Stencil   = CoordGE{}
	_ Stencil   = ForwardGE{}
)
