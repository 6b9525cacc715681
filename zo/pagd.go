package zo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// PAGD is perturbed approximate gradient descent, the baseline of
// "Efficiently avoiding saddle points with zero order methods: No
// gradients required" (Vlatakis-Gkaragkounis, Flokas & Piliouras, NeurIPS
// 2019): the perturbed gradient descent of "How to Escape Saddle Points
// Efficiently" (Jin, Ge, Netrapalli, Kakade & Jordan, ICML 2017) on
// coordinate-wise gradient estimates. It escapes saddles by random
// perturbation, not by a finder:
//
//	loop:
//	    g ← CoordGE(x)
//	    if ‖g‖ > ε: x ← P(x − t·g/‖g‖), t from the Armijo search; continue
//	    x̃ ← x; L̂ ← power iteration at x̃; η ← 1/L̂; r ← ε/L̂        perturbation test
//	    x ← P(x̃ + ξ), ξ uniform in the ball of radius r
//	    up to t_thres times:
//	        g ← CoordGE(x); L̂ ← max(L̂, ‖Δg‖/‖Δx‖); x ← P(x − η·g)
//	        if f(x̃) − f(x) ≥ f_thres: escaped; continue the outer loop
//	    stop: x̃ is second-order stationary by the test
//
// PGD's constants are set with ρ = δ²/ε (from δ = √(ρε)) and the proof's
// factors 1 (tune): f_thres = √(ε³/ρ) = ε²/δ, and t_thres =
// ⌈ln(z*·10√d/r) / ln(1 + ηδ)⌉ with z* = √(2·f_thres/δ): the steps after
// which a component along curvature −δ, started at r/(10√d) (a tenth of
// the typical share of the perturbation along one direction), has grown
// to where it lowers f by f_thres. r is scaled by Settings.Perturb. The certificate is the test, not a curvature
// estimate: the outcome has LambdaMin NaN. A Finder, if given, is only
// asked at the end to confirm the test (its estimate is then LambdaMin);
// if it finds negative curvature the test runs again with twice the
// patience. Every value and gradient averages over all Samples, as
// ZO-GD's. Settings.Estimator may be "coord" (default) or
// "coord-forward"; the small-gradient test always uses central CoordGE.
type PAGD struct {
	Settings Settings
	Finder   Finder     // nil: the perturbation test alone certifies
	Rand     *rand.Rand // required
}

var _ Method = (*PAGD)(nil)

// Minimize runs PAGD from p.X0. The returned error is non-nil only for
// invalid input; every other ending is an Outcome.Status.
func (m *PAGD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	if e := m.Settings.Estimator; e != "" && e != EstCoord && e != EstCoordForward {
		return nil, fmt.Errorf("zo: pagd needs a coordinate estimator, not %q", e)
	}
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "pagd")
	if err != nil {
		return nil, err
	}
	s := r.s
	S := r.all
	st := r.est.Draw(r.d, nil)
	_, central := st.(CoordGE)
	trial := s.Step * r.scale
	patience := 1
	var (
		pt           *perturbation
		lhat, eta    float64
		prevX, prevG []float64 // last iterate and gradient of the test, for secants
	)
	for {
		if !r.iterate() {
			return r.out, nil
		}
		g, f, fl := r.gradient(st, S)
		switch fl {
		case stop:
			return r.out, nil
		case again:
			continue
		}
		free := r.freeAt(r.x, g)
		r.at(g, f)

		if pt != nil {
			// Perturbation test under way.
			switch pt.test(r, m.Finder, "PAGD's", r.out.F, &patience) {
			case ptEnded:
				return r.out, nil
			case ptEscaped, ptRefuted:
				pt = nil
				continue
			}
			if l := r.secant(r.x, prevX, g, prevG); l > lhat {
				lhat, eta = l, 1/l
				pt.setStep(eta, s.Delta, r.d)
			}
			prevX, prevG = append(prevX[:0], r.x...), g
			pt.steps++
			r.move(step(p.Box, r.x, g, -eta))
			r.report("step", math.NaN())
			continue
		}

		if r.out.GradNorm <= s.Epsilon && !central {
			// Confirm a small forward-difference gradient with central
			// differences before testing.
			var failed int
			g, failed, err = EstimateWith(ctx, o, r.coord, r.x, S)
			if err != nil {
				return r.end(err)
			}
			if failed == r.d {
				continue
			}
			free = r.freeAt(r.x, g)
			r.out.GradNorm = norm(g)
		}
		if r.out.GradNorm <= s.Epsilon {
			lhat, _, err = r.estimateL(r.x, g, free, S)
			if err != nil {
				return r.end(err)
			}
			eta = 1 / lhat
			pt = r.newPerturbation(g, free, S, perturbFactor(s, 1)*s.Epsilon/lhat, eta)
			prevX, prevG = append(prevX[:0], r.x...), g
			r.move(step(p.Box, r.x, pt.ball(r.rng), 1))
			r.report("step", math.NaN())
			continue
		}

		t, nx, nf, err := lineSearch(ctx, o, p.Box, r.x, r.out.F, g, g, trial, s.Candidates, S)
		if err != nil {
			return r.end(err)
		}
		if nx == nil {
			r.noDecrease(r.out.GradNorm)
			return r.out, nil
		}
		trial = t
		r.set(nx, nf)
		r.report("step", math.NaN())
	}
}
