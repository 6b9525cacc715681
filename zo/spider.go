package zo

import (
	"context"
	"math"
	"math/rand/v2"
)

// SPIDER is zeroth-order SPIDER with negative-curvature finding: the
// recursive estimator of "SPIDER: Near-Optimal Non-Convex Optimization via
// Stochastic Path Integrated Differential Estimator" (Fang, Li, Lin &
// Zhang, NeurIPS 2018) with coordinate-wise estimates, ZO-SPIDER-Coord of
// "Improved Zeroth-Order Variance Reduced Algorithms and Analysis for
// Nonconvex Optimization" (Ji, Wang, Zhou & Liang, ICML 2019), and the
// finder called at refresh points (ZO-SPIDER-NCF, Zhang, Xiong & Gu,
// NeurIPS 2022):
//
//	for each epoch of q steps:
//	    S₁ ← B samples; v ← CoordGE_{S₁}(x)                             refresh
//	    if ‖v‖ ≤ ε: u ← Finder(x); none ⇒ stop, certified; else x ← P(x ± s·u); next epoch
//	    x ← P(x − t·v/‖v‖), t from the Armijo search on f_{S₁};  Δ ← t;  L̂ ← ‖v‖/(κt)
//	    for k = 2…q:
//	        S₂ ← b samples; draw Est's directions
//	        v ← Est_{S₂}(xₖ) − Est_{S₂}(xₖ₋₁) + v                        (same samples, same directions)
//	        L̂ ← max(L̂, ‖Est_{S₂}(xₖ) − Est_{S₂}(xₖ₋₁)‖/‖xₖ − xₖ₋₁‖)
//	        if ‖v‖ ≤ ε: break
//	        x ← P(x − ηₖ·v/‖v‖),  ηₖ = min(Δ, ‖v‖/L̂)
//
// The normalised step is SPIDER-SFO's ηₖ = min(ε/(Ln₀‖vₖ‖), 1/(2Ln₀))
// with the unknown ε/(Ln₀) replaced by the line-searched length Δ of the
// refresh step and 1/L by 1/L̂, the largest curvature seen along the
// epoch's path. As in SCSG, an epoch that ends above where its first step
// did is undone and κ halves. With one sample, q = 1 and the method is
// ZO-GD without L-BFGS.
type SPIDER struct {
	Settings Settings
	Finder   Finder     // nil: stop at first-order stationarity (curvature "none")
	Rand     *rand.Rand // required
}

var _ Method = (*SPIDER)(nil)

// Minimize runs ZO-SPIDER from p.X0. The returned error is non-nil only
// for invalid input; every other ending is an Outcome.Status.
func (m *SPIDER) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "zo-spider")
	if err != nil {
		return nil, err
	}
	if r.s.EstimateNoise && !r.noiseAt(r.x) {
		return r.out, nil
	}
	s := r.s
	e := r.newEpochs()
	for {
		v, prev, t, fl := r.openEpoch(e, m.Finder)
		switch fl {
		case stop:
			return r.out, nil
		case again:
			continue
		}
		radius := t
		lhat := r.out.GradNorm / (e.kappa * t)
		e.keepFirst(r.x, r.inner)
		for k := 2; k <= r.inner; k++ {
			gx, gp, _, fl := r.innerStep(prev, nil, nil)
			if fl == stop {
				return r.out, nil
			}
			if fl == again {
				break // a void pair ends the epoch
			}
			dv := sub(gx, gp)
			for i := range v {
				v[i] += dv[i]
			}
			if dx := norm(sub(r.x, prev)); dx > 0 {
				lhat = math.Max(lhat, norm(dv)/dx)
			}
			nv := norm(v)
			if nv <= s.Epsilon {
				break
			}
			eta := math.Min(radius, nv/lhat)
			prev = append(prev[:0], r.x...)
			r.move(step(p.Box, r.x, v, -eta/nv))
			r.report("step", math.NaN())
		}
	}
}
