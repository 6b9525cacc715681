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
	st := newZPSGD(r, m.Finder)
	if !st.begin() {
		return r.out, nil
	}
	for r.iterate() {
		g, f, fl := r.gradient(st.gauss.drawOn(r.d, r.rng, st.face), r.all)
		if fl == goOn {
			fl = st.step(g, f)
		}
		if fl == stop {
			return r.out, nil
		}
	}
	return r.out, nil
}

// zpsgd is the state ZPSGD carries from step to step.
type zpsgd struct {
	r         *run
	finder    Finder
	gauss     GaussGE // the estimator, central, m directions
	inflation float64 // 1 + (d+1)/m, the variance inflation of the estimate
	rg        float64 // the noise radius
	cooldown  int     // steps a check waits after a failed one: K = ⌈d/m⌉
	lhat, eta float64
	pt        *perturbation // the test under way; nil when none is
	// face marks the coordinates the steps move: those the last check
	// (first, the start) found free, less those a step has since put on
	// a bound.
	face     []bool
	patience int     // multiplies t_thres; doubles when the finder refutes the test
	since    int     // steps since the last failed check
	ups      int     // consecutive rises of f
	prevF    float64 // the last value seen
	// riseTol is a tenth of the test's f_thres = ε²/δ: a rise of f counts
	// towards doubling L̂ only above it (the noise alone moves f far less).
	riseTol float64
}

func newZPSGD(r *run, f Finder) *zpsgd {
	s := r.s
	nd := directions(s.Directions, r.d)
	// A check waits cooldown steps after a failed one: checks then cost
	// at most about as much as the steps between them.
	cooldown := max(1, (r.d+nd-1)/nd)
	return &zpsgd{
		r: r, finder: f,
		gauss:     GaussGE{Mu: s.Mu, Box: r.box, Directions: nd, Central: true},
		inflation: 1 + float64(r.d+1)/float64(nd),
		rg:        perturbFactor(s, 0.5) * s.Epsilon,
		cooldown:  cooldown, patience: 1, since: cooldown,
		riseTol: s.Epsilon * s.Epsilon / s.Delta / 10,
	}
}

// begin estimates f, the gradient and L̂ at the start; it returns false,
// with the run ended, when that fails.
func (st *zpsgd) begin() bool {
	r := st.r
	g0, failed, vals, err := r.probe(r.coord, r.x, r.all, [][]float64{r.x})
	if err != nil {
		r.fail(err)
		return false
	}
	if failed == r.d || math.IsInf(vals[0], 1) {
		r.finish(StatusFailed, "the objective failed at the start point")
		return false
	}
	free := r.freeAt(r.x, g0)
	r.set(r.x, vals[0])
	r.out.GradNorm = norm(g0)
	if st.lhat, _, err = r.estimateL(r.x, g0, free, r.all); err != nil {
		r.fail(err)
		return false
	}
	st.eta = 1 / (st.lhat * st.inflation)
	st.face = append([]bool(nil), free...)
	st.prevF = r.out.F
	return true
}

// step is one step from x, whose value is f and noisy gradient estimate
// g: the test under way, or a check when it is due, then the noisy step.
func (st *zpsgd) step(g []float64, f float64) flow {
	r := st.r
	st.watchRise(f)
	r.at(g, f)
	if st.pt != nil {
		switch st.pt.test(r, st.finder, "ZPSGD's", r.out.F, &st.patience) {
		case ptEnded:
			return stop
		case ptEscaped:
			st.pt = nil
		case ptRefuted:
			st.pt = nil
			return again
		}
	}
	st.since++
	if st.pt == nil && st.since >= st.cooldown && (r.out.GradNorm <= r.s.Epsilon*math.Sqrt(st.inflation) || st.since >= 8*st.cooldown) {
		if st.check() == stop {
			return stop
		}
	}
	st.noisyStep(g)
	return goOn
}

// watchRise doubles L̂ (halving η) when f rose by more than riseTol five
// steps in a row.
func (st *zpsgd) watchRise(f float64) {
	if f > st.prevF+st.riseTol {
		st.ups++
	} else {
		st.ups = 0
	}
	st.prevF = f
	if st.ups >= 5 {
		st.lhat *= 2
		st.eta = 1 / (st.lhat * st.inflation)
		st.ups = 0
		if st.pt != nil {
			st.pt.setStep(st.eta, st.r.s.Delta, st.r.d)
		}
	}
}

// check is the central CoordGE check at x: it resets the face, and at a
// gradient ≤ ε starts the perturbation test (L̂ anew); otherwise the next
// check waits cooldown steps.
func (st *zpsgd) check() flow {
	r := st.r
	gc, failed, err := EstimateWith(r.ctx, r.o, r.coord, r.x, r.all)
	if err != nil {
		return r.fail(err)
	}
	if failed == r.d {
		return goOn
	}
	cfree := r.freeAt(r.x, gc)
	copy(st.face, cfree)
	if norm(gc) > r.s.Epsilon {
		st.since = 0
		return goOn
	}
	if st.lhat, _, err = r.estimateL(r.x, gc, cfree, r.all); err != nil {
		return r.fail(err)
	}
	st.eta = 1 / (st.lhat * st.inflation)
	r.out.GradNorm = norm(gc)
	st.pt = r.newPerturbation(gc, cfree, r.all, st.eta*st.rg, st.eta)
	return goOn
}

// noisyStep is x ← P(x − η(g + ξ)), ξ uniform in the ball of radius rg on
// the face. A step that takes a coordinate to a bound, with the gradient
// pushing on, puts it on a face: it leaves the face's directions until a
// check frees it.
func (st *zpsgd) noisyStep(g []float64) {
	r := st.r
	u := unitRandom(r.d, r.rng, st.face)
	a := st.rg * math.Pow(r.rng.Float64(), 1/float64(r.d))
	dir := make([]float64, r.d)
	for i := range dir {
		dir[i] = g[i] + a*u[i]
	}
	if st.pt != nil {
		st.pt.steps++
	}
	nx := step(r.box, r.x, dir, -st.eta)
	for i := range st.face {
		if st.face[i] && (nx[i] == r.box.lo(i) && g[i] > 0 || nx[i] == r.box.hi(i) && g[i] < 0) {
			st.face[i] = false
		}
	}
	r.move(nx)
	r.report("step", math.NaN())
}
