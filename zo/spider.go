package zo

import (
	"context"
	"fmt"
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
	s := r.s
	trial := s.Step * r.scale
	kappa := 1.0
	var x1 []float64 // the point after the first step of the last epoch, when the epoch went on
	for {
		if !r.iterate() {
			return r.out, nil
		}
		S1 := r.batch(r.bigB)
		pts := [][]float64{r.x}
		if x1 != nil {
			pts = append(pts, x1)
		}
		v, failed, vals, err := r.probe(r.coord, r.x, S1, pts)
		if err != nil {
			return r.end(err)
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
		if r.out.GradNorm <= s.Epsilon {
			done, err := r.secondOrder(m.Finder, v, free, S1)
			if err != nil {
				return r.end(err)
			}
			if done {
				return r.out, nil
			}
			continue
		}

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
		prev := append([]float64(nil), r.x...)
		r.set(nx, nf)
		r.report("step", math.NaN())
		radius := t
		lhat := r.out.GradNorm / (kappa * t)
		if r.inner > 1 {
			x1 = append([]float64(nil), r.x...)
		}
		for k := 2; k <= r.inner; k++ {
			if !r.iterate() {
				return r.out, nil
			}
			S2 := r.batch(r.miniB)
			st := r.est.Draw(r.d, r.rng)
			gx, gp, void, _, err := r.pair(st, r.x, prev, S2, nil, nil)
			if err != nil {
				return r.end(err)
			}
			if void {
				break
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
