package zo

import (
	"context"
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
	e := r.newEpochs()
	patience := 1
	var (
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
	const what = "SSRGD's super epoch"
	for {
		if !r.iterate() {
			return r.out, nil
		}
		S1 := r.batch(r.bigB)
		var test []int // the super epoch's samples, when not S1
		if pt != nil && !slices.Equal(pt.samples, S1) {
			test = pt.samples
		}
		v, free, fTest, fl := r.refresh(e, S1, test)
		switch fl {
		case stop:
			return r.out, nil
		case again:
			continue
		}

		if pt != nil {
			switch pt.test(r, m.Finder, what, fTest, &patience) {
			case ptEnded:
				return r.out, nil
			case ptEscaped, ptRefuted:
				pt = nil
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
			r.report("step", math.NaN())
		} else {
			t, fl := r.firstStep(e, v, S1)
			switch fl {
			case stop:
				return r.out, nil
			case again:
				continue
			}
			eta = e.kappa * t / r.out.GradNorm
			if r.inner > 1 {
				e.x1 = append([]float64(nil), r.x...)
			}
		}

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
				vd := pt.test(r, m.Finder, what, tv[0], &patience)
				if vd == ptEnded {
					return r.out, nil
				}
				if vd != ptPending {
					pt = nil
					break // the super epoch is over
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
				if l*eta > e.kappa {
					eta = e.kappa / l
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
