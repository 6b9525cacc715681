package zo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// SSRGD is the zeroth-order form of "SSRGD: Simple Stochastic Recursive
// Gradient Descent for Escaping Saddle Points" (Li, NeurIPS 2019): the
// SPIDER-type recursive estimator, with a uniform perturbation and
// "super epochs" instead of a finder:
//
//	for each epoch of q steps:
//	    S₁ ← B samples; v ← CoordGE_{S₁}(x)                               refresh
//	    if not in a super epoch and ‖v‖ ≤ ε:
//	        x̃ ← x; L̂ ← power iteration at x̃; η ← 1/L̂; x ← P(x̃ + ξ), ξ uniform in the ball of radius ε/L̂
//	        start a super epoch; next epoch
//	    for k = 1…q:
//	        if k > 1: S₂ ← b samples; v ← Est_{S₂}(xₖ) − Est_{S₂}(xₖ₋₁) + v  (same samples, same directions)
//	        in a super epoch:
//	            if f(x̃) − f(xₖ) ≥ f_thres: escaped, the super epoch ends
//	            if t_thres steps since x̃: stop, x̃ is second-order stationary
//	            x ← P(x − η·v)
//	        else:
//	            if ‖v‖ ≤ ε: break
//	            x ← P(x − η·v)   (k = 1: η from the Armijo search on f_{S₁}; after: η ≤ 1/L̂ₖ by secants)
//
// Outside super epochs the step sizes are SPIDER's (see SPIDER, without
// the normalisation, as in Li's algorithm); inside, η = 1/L̂ is fixed as
// in the analysis, L̂ being raised only when a secant between two
// estimates on the same samples shows more curvature. The
// values a super epoch compares are averaged over the batch drawn at x̃.
// f_thres, t_thres and the radius (Settings.Perturb × ε/L̂) are those of
// PAGD. As there, the certificate is the test (LambdaMin NaN), and a
// Finder, if given, only confirms it.
type SSRGD struct {
	Settings Settings
	Finder   Finder     // nil: the super-epoch test alone certifies
	Rand     *rand.Rand // required
}

var _ Method = (*SSRGD)(nil)

// Minimize runs ZO-SSRGD from p.X0. The returned error is non-nil only
// for invalid input; every other ending is an Outcome.Status.
func (m *SSRGD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "zo-ssrgd")
	if err != nil {
		return nil, err
	}
	s := r.s
	trial := s.Step * r.scale
	kappa := 1.0
	patience := 1
	var (
		x1        []float64 // the point after the first step of the last normal epoch, when it went on
		pt        *perturbation
		lhat, eta float64
		sx, sg    []float64 // in a super epoch: the last iterate and its estimate v, for secants
		sgBatch   []int     // the refresh batch of sg; nil when sg is a recursive estimate
	)
	raise := func(l float64) {
		if l > lhat {
			lhat, eta = l, 1/l
			pt.setStep(eta, s.Delta, r.d)
		}
	}
	// test runs the super epoch's checks at the current iterate, whose
	// value over pt.samples is f: ended reports that the run is over,
	// escaped that the super epoch is.
	test := func(f float64) (ended, escaped bool, err error) {
		if pt.escaped(f) {
			pt.record(r, r.x, f)
			pt = nil
			return false, true, nil
		}
		if pt.steps < pt.tThres*patience {
			return false, false, nil
		}
		ok, err := pt.certify(r, m.Finder, "SSRGD's super epoch")
		if err != nil || ok {
			return ok, false, err
		}
		patience *= 2
		pt = nil
		return false, true, nil
	}
	for {
		if !r.iterate() {
			return r.out, nil
		}
		S1 := r.batch(r.bigB)
		pts := [][]float64{r.x}
		if x1 != nil {
			pts = append(pts, x1)
		}
		lists := [][]Query{r.coord.Queries(r.x, S1), valueQueries(pts, S1)}
		if pt != nil && !slices.Equal(pt.samples, S1) {
			lists = append(lists, valueQueries([][]float64{r.x}, pt.samples))
		}
		res, err := r.send(lists...)
		if err != nil {
			return r.end(err)
		}
		v := make([]float64, r.d)
		failed := r.coord.Gradient(r.x, S1, res[0], v)
		vals, _ := meanValues(res[1], len(pts), len(S1))
		fTest := vals[0]
		if len(res) > 2 {
			tv, _ := meanValues(res[2], 1, len(pt.samples))
			fTest = tv[0]
		}
		if x1 != nil {
			if vals[1] < vals[0] {
				r.set(x1, vals[1])
				x1 = nil
				kappa /= 2
				continue
			}
			kappa = math.Min(1, 2*kappa)
		}
		if failed == r.d || math.IsInf(vals[0], 1) {
			if r.void() {
				return r.out, nil
			}
			continue
		}
		r.fails = 0
		x1 = nil
		free := r.freeAt(r.x, v)
		r.set(r.x, vals[0])
		r.out.GradNorm, r.out.LambdaMin = norm(v), math.NaN()

		if pt != nil {
			ended, _, err := test(fTest)
			if err != nil {
				return r.end(err)
			}
			if ended {
				return r.out, nil
			}
		}
		if pt == nil && r.out.GradNorm <= s.Epsilon {
			lhat, _, err = r.estimateL(r.x, v, free, S1)
			if err != nil {
				return r.end(err)
			}
			eta = 1 / lhat
			pt = r.newPerturbation(v, free, S1, perturbFactor(s, 1)*s.Epsilon/lhat, eta)
			sx, sg, sgBatch = append(sx[:0], r.x...), append(sg[:0], v...), S1
			r.move(step(p.Box, r.x, pt.ball(r.rng), 1))
			r.report("step", math.NaN())
			continue
		}

		// The first step of the epoch, along v = the refreshed gradient.
		prev := append([]float64(nil), r.x...)
		if pt != nil {
			// A secant only between estimates on the same samples: across
			// batches it would measure their sampling difference.
			if slices.Equal(sgBatch, S1) {
				raise(r.secant(r.x, sx, v, sg))
			}
			sx, sg, sgBatch = append(sx[:0], r.x...), append(sg[:0], v...), S1
			pt.steps++
			r.move(step(p.Box, r.x, v, -eta))
		} else {
			t, nx, nf, err := lineSearch(ctx, o, p.Box, r.x, r.out.F, v, v, trial, s.Candidates, S1)
			if err != nil {
				return r.end(err)
			}
			if nx == nil {
				if len(S1) == len(r.all) {
					r.finish(StatusStopped, fmt.Sprintf("line search found no decrease along the estimated gradient (norm %.3g > ε = %.3g): the estimate is below the objective's noise or round-off", r.out.GradNorm, s.Epsilon))
					return r.out, nil
				}
				continue
			}
			trial = t
			r.set(nx, nf)
			eta = kappa * t / r.out.GradNorm
			if r.inner > 1 {
				x1 = append([]float64(nil), r.x...)
			}
		}
		r.report("step", math.NaN())

		for k := 2; k <= r.inner; k++ {
			if !r.iterate() {
				return r.out, nil
			}
			S2 := r.batch(r.miniB)
			st := r.est.Draw(r.d, r.rng)
			var tp [][]float64
			var ts []int
			if pt != nil {
				tp, ts = [][]float64{r.x}, pt.samples
			}
			gx, gp, void, tv, err := r.pair(st, r.x, prev, S2, tp, ts)
			if err != nil {
				return r.end(err)
			}
			if void {
				break
			}
			if pt != nil {
				ended, escaped, err := test(tv[0])
				if err != nil {
					return r.end(err)
				}
				if ended {
					return r.out, nil
				}
				if escaped {
					break
				}
			}
			dv := sub(gx, gp)
			for i := range v {
				v[i] += dv[i]
			}
			l := r.secant(r.x, prev, gx, gp)
			if pt != nil {
				raise(l)
				sx, sg, sgBatch = append(sx[:0], r.x...), append(sg[:0], v...), nil
			} else {
				if l*eta > kappa {
					eta = kappa / l
				}
				if norm(v) <= s.Epsilon {
					break
				}
			}
			prev = append(prev[:0], r.x...)
			if pt != nil {
				pt.steps++
			}
			r.move(step(p.Box, r.x, v, -eta))
			r.report("step", math.NaN())
		}
	}
}
