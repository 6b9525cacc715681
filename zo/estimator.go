package zo

import (
	"context"
	"math"
)

// CoordGE is the central coordinate-wise gradient estimator
//
//	ĝ(x) = Σᵢ [f(x+μeᵢ) − f(x−μeᵢ)]/(2μ) eᵢ
//
// averaged over the given samples, with the same sample on both sides of
// every difference (common random numbers). It costs 2·d·len(samples)
// queries, sent as one batch. Its truncation error is O(ρμ²) per
// coordinate and its round-off O(ε_mach·|f|/μ).
//
// Near a bound the stencil is shifted inward (the pair straddles a centre
// moved at most μ from x) so that no query leaves the box.
type CoordGE struct {
	Mu  float64 // finite-difference step; must be > 0
	Box Box
}

// Queries returns the batch that estimates the gradient at x.
func (e CoordGE) Queries(x []float64, samples []int) []Query {
	d := len(x)
	batch := make([]Query, 0, 2*d*len(samples))
	for _, s := range samples {
		for i := 0; i < d; i++ {
			lo, hi := e.stencil(x, i)
			batch = append(batch, Query{X: with(x, i, hi), Sample: s}, Query{X: with(x, i, lo), Sample: s})
		}
	}
	return batch
}

// stencil returns the two abscissae of coordinate i, inside the box.
func (e CoordGE) stencil(x []float64, i int) (lo, hi float64) {
	mu := e.Mu
	bl, bh := e.Box.lo(i), e.Box.hi(i)
	if bh-bl < 2*mu {
		mu = (bh - bl) / 2
	}
	c := math.Min(math.Max(x[i], bl+mu), bh-mu)
	return c - mu, c + mu
}

// Gradient turns the answers to Queries(x, samples) into the estimate,
// written into g. A coordinate whose pair failed in every sample gets 0
// and is counted in failed.
func (e CoordGE) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	d := len(x)
	for i := 0; i < d; i++ {
		lo, hi := e.stencil(x, i)
		sum, n := 0.0, 0
		for k := range samples {
			rp, rm := res[2*(k*d+i)], res[2*(k*d+i)+1]
			if rp.Err != nil || rm.Err != nil {
				continue
			}
			sum += (rp.Value - rm.Value) / (hi - lo)
			n++
		}
		if n == 0 {
			g[i] = 0
			failed++
			continue
		}
		g[i] = sum / float64(n)
	}
	return failed
}

// Estimate evaluates the batch and returns the gradient estimate at x.
func (e CoordGE) Estimate(ctx context.Context, o Oracle, x []float64, samples []int) (g []float64, failed int, err error) {
	res, err := o.Evaluate(ctx, e.Queries(x, samples))
	if err != nil {
		return nil, 0, err
	}
	g = make([]float64, len(x))
	return g, e.Gradient(x, samples, res, g), nil
}

// with returns a copy of x with coordinate i set to v.
func with(x []float64, i int, v float64) []float64 {
	y := append([]float64(nil), x...)
	y[i] = v
	return y
}

// Values evaluates f, averaged over samples, at each point in one batch.
// A point with any failed sample gets +Inf and is counted in failed.
func Values(ctx context.Context, o Oracle, points [][]float64, samples []int) (vals []float64, failed int, err error) {
	res, err := o.Evaluate(ctx, valueQueries(points, samples))
	if err != nil {
		return nil, 0, err
	}
	vals, failed = meanValues(res, len(points), len(samples))
	return vals, failed, nil
}
