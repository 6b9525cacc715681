package zo

import (
	"context"
	"math"
	"math/rand/v2"
)

// SGD is ZO-SGD with negative-curvature finding (ZO-SGD-NCF of
// "Zeroth-Order Negative Curvature Finding: Escaping Saddle Points without
// Gradients", Zhang, Xiong & Gu, NeurIPS 2022). A step estimates the
// gradient on a mini-batch S of b samples (Settings.Estimator, same
// samples on both sides of every difference) and moves by a batched
// Armijo line search on the values of the same mini-batch (the stochastic
// line search of "Painless Stochastic Gradient: Interpolation,
// Line-Search, and Convergence Rates", Vaswani et al., NeurIPS 2019), so no
// L is needed. A big-batch check decides when to call the finder:
//
//	for k = 1, 2, …:
//	    if the last ‖ĝ‖ ≤ ε, or K−1 steps since the last check:   big-batch check
//	        S ← B samples; ĝ ← CoordGE_S(x)
//	        if ‖ĝ‖ ≤ ε: v ← Finder(x); none ⇒ stop, certified; else x ← P(x ± s·v); continue
//	        if f_S(x) ≥ f_S(x at the last check): b ← min(2b, B)
//	    else:
//	        S ← b samples; ĝ ← Est_S(x)
//	    x ← P(x − t·ĝ/‖ĝ‖), t from the Armijo search on f_S
//
// K is the number of mini-batch steps that cost as many queries as one
// check (⌈B/b⌉ with CoordGE): one step in K is a check, and with b = B and
// CoordGE every step is. Doubling b when a stretch of mini-batch
// steps made no progress on the big batch (an adaptive sample size, as in
// Byrd et al., "Sample size selection in optimization methods for machine
// learning", 2012) lets the run converge on a finite sum; with b = B =
// Samples it is ZO-GD without L-BFGS. Settings.SAMRadius applies.
type SGD struct {
	Settings Settings
	Finder   Finder     // nil: stop at first-order stationarity (curvature "none")
	Rand     *rand.Rand // required: mini-batches, random directions, finder
}

var _ Method = (*SGD)(nil)

// Minimize runs ZO-SGD-NCF from p.X0. The returned error is non-nil only
// for invalid input; every other ending is an Outcome.Status.
func (m *SGD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "zo-sgd")
	if err != nil {
		return nil, err
	}
	s := r.s
	b := r.miniB
	every := func() int {
		return max(1, (2*r.d*r.bigB+estCost(s.Estimator, r.d, s.Directions)*b-1)/(estCost(s.Estimator, r.d, s.Directions)*b))
	}
	trial := s.Step * r.scale // trial step length
	check := true
	since := 0
	var lastX []float64 // point of the last check, and its value over all samples
	lastF := math.NaN()
	for {
		if !r.iterate() {
			return r.out, nil
		}
		var (
			S  []int
			st Stencil
			g  []float64
			fS = math.NaN()
		)
		if check || since+1 >= every() {
			S, st = r.batch(r.bigB), r.coord
			pts := [][]float64{r.x}
			cmp := lastX != nil && len(S) < len(r.all)
			if cmp {
				pts = append(pts, lastX)
			}
			gb, failed, vals, err := r.probe(st, r.x, S, pts)
			if err != nil {
				return r.end(err)
			}
			if failed == r.d || math.IsInf(vals[0], 1) {
				if r.void() {
					return r.out, nil
				}
				continue
			}
			r.fails = 0
			fS, g = vals[0], gb
			prev := lastF
			if cmp {
				prev = vals[1]
			}
			if lastX != nil && fS >= prev && b < r.bigB {
				// The mini-batch steps since the last check did not
				// lower f on the big batch: noise dominates.
				b = min(2*b, r.bigB)
			}
			lastX, lastF = append(lastX[:0], r.x...), fS
			check, since = false, 0
			free := r.freeAt(r.x, g)
			r.at(g, fS)
			if r.out.GradNorm <= s.Epsilon {
				if r.stationary(m.Finder, g, free, S) == stop {
					return r.out, nil
				}
				lastX, lastF = nil, math.NaN()
				continue
			}
		} else {
			S, st = r.batch(b), r.est.Draw(r.d, r.rng)
			gb, failed, err := EstimateWith(ctx, o, st, r.x, S)
			if err != nil {
				return r.end(err)
			}
			if failed == r.d {
				if r.void() {
					return r.out, nil
				}
				continue
			}
			r.fails = 0
			g = gb
			r.freeAt(r.x, g)
			since++
			if norm(g) <= s.Epsilon {
				check = true
				continue
			}
			if len(S) == len(r.all) && !r.stale {
				fS = r.out.F
			}
		}

		sg := g
		if s.SAMRadius > 0 {
			sg, err = samGradient(ctx, o, st, p.Box, r.x, g, s.SAMRadius*r.scale, S)
			if err != nil {
				return r.end(err)
			}
		}
		t, nx, nf, err := lineSearch(ctx, o, p.Box, r.x, fS, g, sg, trial, s.Candidates, S)
		if err != nil {
			return r.end(err)
		}
		if nx == nil {
			if _, central := st.(CoordGE); central && len(S) == len(r.all) {
				r.noDecrease(norm(g))
				return r.out, nil
			}
			// No decrease on the mini-batch, or along an unlucky random
			// estimate: check on the big batch, and average more.
			check = true
			b = min(2*b, r.bigB)
			continue
		}
		trial = t
		if len(S) == len(r.all) {
			r.set(nx, nf)
		} else {
			r.move(nx)
		}
		r.report("step", math.NaN())
	}
}

// estCost is the number of queries per sample of one estimate by the
// named estimator in dimension d with n directions or coordinates.
func estCost(name string, d, n int) int {
	if n <= 0 {
		n = defaultDirections(d)
	}
	switch name {
	case EstCoordForward:
		return d + 1
	case EstRand:
		return 2 * n
	case EstGauss:
		return n + 1
	case EstRandomK:
		return 2 * min(n, d)
	}
	return 2 * d
}
