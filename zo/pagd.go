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
	st := &pagd{r: r, finder: m.Finder, stc: r.est.Draw(r.d, nil), trial: r.s.Step * r.scale, pgd: pgd{patience: 1}}
	_, central := st.stc.(CoordGE)
	for r.iterate() {
		g, f, fl := r.gradient(st.stc, r.all)
		if fl == goOn {
			free := r.freeAt(r.x, g)
			r.at(g, f)
			switch {
			case st.pt != nil:
				fl = st.testStep(g)
			case r.out.GradNorm <= r.s.Epsilon && !central:
				fl = st.confirm()
			default:
				fl = st.step(g, free)
			}
		}
		if fl == stop {
			return r.out, nil
		}
	}
	return r.out, nil
}

// pagd is the state PAGD carries from step to step.
type pagd struct {
	r      *run
	finder Finder
	stc    Stencil // the descent's estimator
	trial  float64 // trial length of the line search
	pgd            // the perturbation test
}

// step is the step at x, whose gradient estimate g has norm ‖g‖: a
// line search above ε, the start of the perturbation test at or below.
func (st *pagd) step(g []float64, free []bool) flow {
	r := st.r
	if r.out.GradNorm <= r.s.Epsilon {
		return st.perturb(r, g, free, r.all)
	}
	t, fl := r.descend(g, st.trial, r.all)
	if fl == goOn {
		st.trial = t
	}
	return fl
}

// confirm re-estimates a small forward-difference gradient with central
// differences before testing, and steps by it (see step); a void central
// estimate leaves x for the next iteration.
func (st *pagd) confirm() flow {
	r := st.r
	g, failed, err := EstimateWith(r.ctx, r.o, r.coord, r.x, r.all)
	if err != nil {
		return r.fail(err)
	}
	if failed == r.d {
		return again
	}
	free := r.freeAt(r.x, g)
	r.out.GradNorm = norm(g)
	return st.step(g, free)
}

// testStep is a step of the perturbation test at x, whose gradient
// estimate is g: the test (escaped, refuted, certified), else
// x ← P(x − η·g), with L̂ raised by the secant from the last step.
func (st *pagd) testStep(g []float64) flow {
	r := st.r
	switch st.pt.test(r, st.finder, "PAGD's", r.out.F, &st.patience) {
	case ptEnded:
		return stop
	case ptEscaped, ptRefuted:
		st.pt = nil
		return again
	}
	st.raise(r, r.secant(r.x, st.sx, g, st.sg))
	st.sx, st.sg = append(st.sx[:0], r.x...), append(st.sg[:0], g...)
	st.pt.steps++
	r.move(step(r.box, r.x, g, -st.eta))
	r.report("step", math.NaN())
	return again
}
