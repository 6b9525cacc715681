package zo

import (
	"context"
	"math"
	"math/rand/v2"
)

// SCSG is zeroth-order SCSG with negative-curvature finding: the
// stochastically controlled stochastic gradient of "Non-convex Finite-Sum
// Optimization Via SCSG Methods" (Lei, Ju, Chen & Jordan, NeurIPS 2017)
// in the zeroth-order form of "Zeroth-Order Stochastic Variance Reduction
// for Nonconvex Optimization" (Liu et al., NeurIPS 2018), with the finder
// called at snapshots (ZO-SCSG-NCF, Zhang, Xiong & Gu, NeurIPS 2022):
//
//	for each epoch:
//	    I ← B samples; g̃ ← CoordGE_I(x̃)                        snapshot
//	    if ‖g̃‖ ≤ ε: v ← Finder(x̃); none ⇒ stop, certified; else x̃ ← P(x̃ ± s·v); next epoch
//	    x ← P(x̃ − t·g̃/‖g̃‖), t from the Armijo search on f_I;  η ← κ·t/‖g̃‖
//	    N ~ 1 + Geometric, E N = InnerSteps (default B/b)
//	    for k = 2…N:
//	        S ← b samples; draw Est's directions
//	        v ← Est_S(x) − Est_S(x̃) + g̃                          (same samples, same directions)
//	        if ‖v‖ ≤ ε: break
//	        η ← min(η, κ/L̂ₖ), L̂ₖ = ‖Est_S(x) − Est_S(x̃)‖/‖x − x̃‖
//	        x ← P(x − η·v)
//	    x̃ ← x
//
// No L is needed: the first step of an epoch, where v = g̃ exactly, is a
// line search, and its step sets the epoch's η = 1/L̂, which the secant
// estimates L̂ₖ along the epoch can only lower. The epoch is checked on
// the next snapshot's batch: if it ended above where its first step did,
// the iterate goes back there and κ halves (it doubles back, up to 1,
// after each good epoch). Any Settings.Estimator may be used inside the
// epoch (the paper's RandGE included); with one sample, N = 1 and the
// method is ZO-GD without L-BFGS.
type SCSG struct {
	Settings Settings
	Finder   Finder     // nil: stop at first-order stationarity (curvature "none")
	Rand     *rand.Rand // required
}

var _ Method = (*SCSG)(nil)

// Minimize runs ZO-SCSG from p.X0. The returned error is non-nil only for
// invalid input; every other ending is an Outcome.Status.
func (m *SCSG) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "zo-scsg")
	if err != nil {
		return nil, err
	}
	if r.s.EstimateNoise && !r.noiseAt(r.x) {
		return r.out, nil
	}
	s := r.s
	e := r.newEpochs()
	// E N = 1/(1−γ) for P(N = k) = (1−γ)γ^(k−1), k ≥ 1.
	gamma := 1 - 1/float64(r.inner)
	for {
		gt, snap, t, fl := r.openEpoch(e, m.Finder)
		switch fl {
		case stop:
			return r.out, nil
		case again:
			continue // a new epoch
		}
		eta := e.kappa * t / r.out.GradNorm

		n := 1
		for n < 1<<20 && r.rng.Float64() < gamma {
			n++
		}
		e.keepFirst(r.x, n)
		for k := 2; k <= n; k++ {
			gx, gs, _, fl := r.innerStep(snap, nil, nil)
			if fl == stop {
				return r.out, nil
			}
			if fl == again {
				break // a void pair ends the epoch
			}
			dg := sub(gx, gs)
			v := make([]float64, r.d)
			for i := range v {
				v[i] = dg[i] + gt[i]
			}
			if norm(v) <= s.Epsilon {
				break
			}
			if dx := norm(sub(r.x, snap)); dx > 0 {
				if l := norm(dg) / dx; l*eta > e.kappa {
					eta = e.kappa / l
				}
			}
			r.move(step(p.Box, r.x, v, -eta))
			r.report("step", math.NaN())
		}
	}
}
