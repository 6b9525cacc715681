package zo

import (
	"context"
	"math"
	"math/rand/v2"
)

// ZPSGD is zeroth-order perturbed stochastic gradient descent, Algorithm
// ZPSGD of "On the Local Minima of the Empirical Risk" (Jin, Liu, Ge &
// Jordan, NeurIPS 2018): a Gaussian-smoothing gradient averaged over m
// directions plus isotropic noise, at every step:
//
//	loop:
//	    z₁…z_m ~ N(0, I);  ĝ ← (1/(2mμ)) Σⱼ [f(x+μzⱼ) − f(x−μzⱼ)] zⱼ     (GaussGE, central)
//	    ξ uniform in the ball of radius r
//	    x ← P(x − η(ĝ + ξ))
//
// The estimate is the symmetric form of the paper's one-sided
// [f(x+μzⱼ) − f(x)]/μ·zⱼ (2m queries instead of m+1): the one-sided
// form's second-order term, of spread about (μ/2)·tr ∇²f·√(d/m), kept ‖ĝ‖
// between 3ε and 7ε at a minimum of the rotated quartic in 50 dimensions
// (default μ, ε = 10⁻³), so that the method could never stop.
//
// The paper fixes η from the smoothness ℓ; here η = 1/(L̂(1 + (d+1)/m)),
// with L̂ from a power iteration at the start (and at every stopping test)
// and the factor the variance inflation E‖ĝ‖² = (1 + (d+1)/m)‖∇f‖² of the
// Gaussian estimator. L̂ doubles when f rose by more than f_thres/10 five
// steps in a row. The noise radius is r = ε/2 (Settings.Perturb × ε,
// default ½): at a minimum it keeps the gradient near r/√2 < ε.
//
// The paper runs a fixed number of steps. To stop with a certificate the
// method uses PAGD's perturbation test, its noise being the perturbation.
// A central CoordGE check runs when ‖ĝ‖ ≤ ε√(1 + (d+1)/m), and in any
// case every 8K steps, at most once every K = ⌈d/m⌉ steps (K steps cost
// about as much as a check). If the check is ≤ ε, x̃ is kept and, if f has
// not dropped by f_thres within t_thres noisy steps, x̃ is second-order
// stationary by the test (LambdaMin NaN; a Finder, if given, only
// confirms). Every value averages over all Samples.
//
// On a face of the box, the directions and the noise are drawn on the
// coordinates the last check found free, less those a projected step has
// since put on a bound with the gradient pushing on: else the noise keeps
// taking the iterate off the face and the large gradient across the face
// swamps the estimate along it.
type ZPSGD struct {
	Settings Settings
	Finder   Finder     // nil: the perturbation test alone certifies
	Rand     *rand.Rand // required
}

var _ Method = (*ZPSGD)(nil)

// Minimize runs ZPSGD from p.X0. The returned error is non-nil only for
// invalid input; every other ending is an Outcome.Status.
func (m *ZPSGD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "zpsgd")
	if err != nil {
		return nil, err
	}
	s := r.s
	S := r.all
	nd := s.Directions
	if nd == 0 {
		nd = defaultDirections(r.d)
	}
	gauss := GaussGE{Mu: s.Mu, Box: p.Box, Directions: nd, Central: true}
	inflation := 1 + float64(r.d+1)/float64(nd)
	rg := perturbFactor(s, 0.5) * s.Epsilon
	// A check waits this many steps after a failed one: checks then cost
	// at most about as much as the steps between them.
	cooldown := max(1, (r.d+nd-1)/nd)

	// L̂ at the start.
	g0, failed, vals, err := r.probe(r.coord, r.x, S, [][]float64{r.x})
	if err != nil {
		return r.end(err)
	}
	if failed == r.d || math.IsInf(vals[0], 1) {
		r.finish(StatusFailed, "the objective failed at the start point")
		return r.out, nil
	}
	free := r.freeAt(r.x, g0)
	r.set(r.x, vals[0])
	r.out.GradNorm = norm(g0)
	lhat, _, err := r.estimateL(r.x, g0, free, S)
	if err != nil {
		return r.end(err)
	}
	eta := 1 / (lhat * inflation)

	var pt *perturbation
	// face marks the coordinates the steps move: those the last check
	// (here, the start) found free, less those a step has since put on a
	// bound.
	face := append([]bool(nil), free...)
	patience := 1
	since := cooldown // steps since the last failed check
	ups := 0          // consecutive rises of f
	prevF := r.out.F
	// A rise of f counts towards doubling L̂ only above a tenth of the
	// test's f_thres = ε²/δ: the noise alone moves f far less.
	riseTol := s.Epsilon * s.Epsilon / s.Delta / 10
	for {
		if !r.iterate() {
			return r.out, nil
		}
		st := gauss.drawOn(r.d, r.rng, face)
		g, f, fl := r.gradient(st, S)
		switch fl {
		case stop:
			return r.out, nil
		case again:
			continue
		}
		if f > prevF+riseTol {
			ups++
		} else {
			ups = 0
		}
		prevF = f
		if ups >= 5 {
			lhat *= 2
			eta = 1 / (lhat * inflation)
			ups = 0
			if pt != nil {
				pt.setStep(eta, s.Delta, r.d)
			}
		}
		r.at(g, f)

		if pt != nil {
			switch pt.test(r, m.Finder, "ZPSGD's", r.out.F, &patience) {
			case ptEnded:
				return r.out, nil
			case ptEscaped:
				pt = nil
			case ptRefuted:
				pt = nil
				continue
			}
		}
		since++
		if pt == nil && since >= cooldown && (r.out.GradNorm <= s.Epsilon*math.Sqrt(inflation) || since >= 8*cooldown) {
			gc, failed, err := EstimateWith(ctx, o, r.coord, r.x, S)
			if err != nil {
				return r.end(err)
			}
			if failed < r.d {
				cfree := r.freeAt(r.x, gc)
				copy(face, cfree)
				if norm(gc) <= s.Epsilon {
					lhat, _, err = r.estimateL(r.x, gc, cfree, S)
					if err != nil {
						return r.end(err)
					}
					eta = 1 / (lhat * inflation)
					r.out.GradNorm = norm(gc)
					pt = r.newPerturbation(gc, cfree, S, eta*rg, eta)
				} else {
					since = 0
				}
			}
		}

		u := unitRandom(r.d, r.rng, face)
		a := rg * math.Pow(r.rng.Float64(), 1/float64(r.d))
		dir := make([]float64, r.d)
		for i := range dir {
			dir[i] = g[i] + a*u[i]
		}
		if pt != nil {
			pt.steps++
		}
		nx := step(p.Box, r.x, dir, -eta)
		for i := range face {
			// A step that took a coordinate to a bound, with the gradient
			// pushing on, puts it on a face: it leaves the face's
			// directions until a check frees it.
			if face[i] && (nx[i] == p.Box.lo(i) && g[i] > 0 || nx[i] == p.Box.hi(i) && g[i] < 0) {
				face[i] = false
			}
		}
		r.move(nx)
		r.report("step", math.NaN())
	}
}
