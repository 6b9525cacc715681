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
	st := &ssrgd{r: r, finder: m.Finder, e: r.newEpochs(), pgd: pgd{patience: 1}}
	for r.iterate() {
		if st.epoch() == stop {
			return r.out, nil
		}
	}
	return r.out, nil
}

// ssrgdTest names SSRGD's perturbation test in its certificate.
const ssrgdTest = "SSRGD's super epoch"

// ssrgd is the state SSRGD carries from epoch to epoch.
type ssrgd struct {
	r      *run
	finder Finder
	e      *epochs
	// pgd is the super epoch's test (pt nil outside a super epoch); its η
	// is also the step outside.
	pgd
	sgBatch []int // the refresh batch of sg; nil when sg is a recursive estimate
}

// epoch is one epoch of q steps: the refresh; at a small gradient outside
// a super epoch, the perturbation that starts one; else the first step
// and the recursive steps. It returns stop when the run has ended.
func (st *ssrgd) epoch() flow {
	r := st.r
	S1 := r.batch(r.bigB)
	var test []int // the super epoch's samples, when not S1
	if st.pt != nil && !slices.Equal(st.pt.samples, S1) {
		test = st.pt.samples
	}
	v, free, fTest, fl := r.refresh(st.e, S1, test)
	if fl != goOn {
		return fl
	}
	if st.pt != nil {
		switch st.pt.test(r, st.finder, ssrgdTest, fTest, &st.patience) {
		case ptEnded:
			return stop
		case ptEscaped, ptRefuted:
			st.pt = nil
		}
	}
	if st.pt == nil && r.out.GradNorm <= r.s.Epsilon {
		// A super epoch starts.
		st.sgBatch = S1
		return st.perturb(r, v, free, S1)
	}
	prev := append([]float64(nil), r.x...)
	if st.pt != nil {
		st.superStep(v, S1)
	} else if fl := st.firstStep(v, S1); fl != goOn {
		return fl
	}
	return st.steps(v, prev)
}

// superStep is the first step of an epoch in a super epoch: x ← P(x − η·v)
// with the refreshed v, η lowered by a secant between this refresh and
// the last estimate when both are on the same samples (across batches a
// secant would measure their sampling difference).
func (st *ssrgd) superStep(v []float64, S1 []int) {
	r := st.r
	if slices.Equal(st.sgBatch, S1) {
		st.raise(r, r.secant(r.x, st.sx, v, st.sg))
	}
	st.sx, st.sg, st.sgBatch = append(st.sx[:0], r.x...), append(st.sg[:0], v...), S1
	st.pt.steps++
	r.move(step(r.box, r.x, v, -st.eta))
	r.report("step", math.NaN())
}

// firstStep is the first step of an epoch outside a super epoch: the
// line search, whose length sets η.
func (st *ssrgd) firstStep(v []float64, S1 []int) flow {
	r := st.r
	t, fl := r.firstStep(st.e, v, S1)
	if fl != goOn {
		return fl
	}
	st.eta = st.e.kappa * t / r.out.GradNorm
	st.e.keepFirst(r.x, r.inner)
	return goOn
}

// steps are the epoch's recursive steps k = 2…q, from prev, the point of
// the first step, with v its estimate: in a super epoch each tests the
// escape (on the super epoch's samples, in the same batch) and η can only
// fall; outside, η ≤ κ/L̂ₖ by secants and the epoch ends at ‖v‖ ≤ ε.
func (st *ssrgd) steps(v, prev []float64) flow {
	r := st.r
	for k := 2; k <= r.inner; k++ {
		var tp [][]float64
		var ts []int
		if st.pt != nil {
			tp, ts = [][]float64{r.x}, st.pt.samples
		}
		gx, gp, tv, fl := r.innerStep(prev, tp, ts)
		if fl == stop {
			return stop
		}
		if fl == again {
			break
		}
		if st.pt != nil {
			vd := st.pt.test(r, st.finder, ssrgdTest, tv[0], &st.patience)
			if vd == ptEnded {
				return stop
			}
			if vd != ptPending {
				st.pt = nil
				break // the super epoch is over
			}
		}
		dv := sub(gx, gp)
		for i := range v {
			v[i] += dv[i]
		}
		l := r.secant(r.x, prev, gx, gp)
		if st.pt != nil {
			st.raise(r, l)
			st.sx, st.sg, st.sgBatch = append(st.sx[:0], r.x...), append(st.sg[:0], v...), nil
		} else {
			if l*st.eta > st.e.kappa {
				st.eta = st.e.kappa / l
			}
			if norm(v) <= r.s.Epsilon {
				break
			}
		}
		prev = append(prev[:0], r.x...)
		if st.pt != nil {
			st.pt.steps++
		}
		r.move(step(r.box, r.x, v, -st.eta))
		r.report("step", math.NaN())
	}
	return again
}
