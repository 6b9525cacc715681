package zo

import (
	"context"
	"math"
	"math/rand/v2"
)

// SGD is ZO-SGD with negative-curvature finding (ZO-SGD-NCF of
// "Zeroth-Order Negative Curvature Finding: Escaping Saddle Points without
// Gradients", Zhang, Xiong & Gu, NeurIPS 2022). A step estimates the
// gradient on a mini-batch S of b samples (Settings.Estimator, same
// samples on both sides of every difference) and moves by a batched
// Armijo line search on the values of the same mini-batch (the stochastic
// line search of "Painless Stochastic Gradient: Interpolation,
// Line-Search, and Convergence Rates", Vaswani et al., NeurIPS 2019), so no
// L is needed. A big-batch check decides when to call the finder:
//
//	for k = 1, 2, …:
//	    if the last ‖ĝ‖ ≤ ε, or K−1 steps since the last check:   big-batch check
//	        S ← B samples; ĝ ← CoordGE_S(x)
//	        if ‖ĝ‖ ≤ ε: v ← Finder(x); none ⇒ stop, certified; else x ← P(x ± s·v); continue
//	        if f_S(x) ≥ f_S(x at the last check): b ← min(2b, B)
//	    else:
//	        S ← b samples; ĝ ← Est_S(x)
//	    x ← P(x − t·ĝ/‖ĝ‖), t from the Armijo search on f_S
//
// K is the number of mini-batch steps that cost as many queries as one
// check (⌈B/b⌉ with CoordGE): one step in K is a check, and with b = B and
// CoordGE every step is. Doubling b when a stretch of mini-batch
// steps made no progress on the big batch (an adaptive sample size, as in
// Byrd et al., "Sample size selection in optimization methods for machine
// learning", 2012) lets the run converge on a finite sum; with b = B =
// Samples it is ZO-GD without L-BFGS. Settings.SAMRadius applies.
type SGD struct {
	Settings Settings
	Finder   Finder     // nil: stop at first-order stationarity (curvature "none")
	Rand     *rand.Rand // required: mini-batches, random directions, finder
}

var _ Method = (*SGD)(nil)

// Minimize runs ZO-SGD-NCF from p.X0. The returned error is non-nil only
// for invalid input; every other ending is an Outcome.Status.
func (m *SGD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "zo-sgd")
	if err != nil {
		return nil, err
	}
	if r.s.EstimateNoise && !r.noiseAt(r.x) {
		return r.out, nil
	}
	st := &sgd{r: r, finder: m.Finder, b: r.miniB, trial: r.s.Step * r.scale, check: true, lastF: math.NaN()}
	for r.iterate() {
		var (
			e  sgdEstimate
			fl flow
		)
		if st.check || st.since+1 >= st.every() {
			e, fl = st.bigBatch()
		} else {
			e, fl = st.miniBatch()
		}
		if fl == goOn {
			fl = st.step(e)
		}
		if fl == stop {
			return r.out, nil
		}
	}
	return r.out, nil
}

// sgd is the state ZO-SGD carries from step to step.
type sgd struct {
	r      *run
	finder Finder
	b      int     // mini-batch size
	trial  float64 // trial step length
	check  bool    // the next step is a big-batch check
	since  int     // mini-batch steps since the last check
	lastX  []float64
	lastF  float64 // the point of the last check, and its value over the check's batch
}

// sgdEstimate is the gradient estimate g a step follows: over the
// samples S by the stencil st, with fS the value at x over S when it is
// known (NaN otherwise).
type sgdEstimate struct {
	S  []int
	st Stencil
	g  []float64
	fS float64
}

// every is K, the number of mini-batch steps that cost as many queries
// as one check: one step in K is a check.
func (st *sgd) every() int {
	r := st.r
	c := estCost(r.s.Estimator, r.d, r.s.Directions) * st.b
	return max(1, (2*r.d*r.bigB+c-1)/c)
}

// bigBatch is the check: central CoordGE and the value at x over B
// samples (and, when they are not all of them, the value at the last
// check's point over the same samples, to compare). At a gradient ≤ ε
// the finder is called (again, or stop when the run has ended); a
// stretch of mini-batch steps that did not lower f on the big batch
// doubles b.
func (st *sgd) bigBatch() (sgdEstimate, flow) {
	r := st.r
	S, stc := r.batch(r.bigB), r.coord
	pts := [][]float64{r.x}
	cmp := st.lastX != nil && len(S) < len(r.all)
	if cmp {
		pts = append(pts, st.lastX)
	}
	g, failed, vals, err := r.probe(stc, r.x, S, pts)
	if err != nil {
		return sgdEstimate{}, r.fail(err)
	}
	if failed == r.d || math.IsInf(vals[0], 1) {
		if r.void() {
			return sgdEstimate{}, stop
		}
		return sgdEstimate{}, again
	}
	r.fails = 0
	fS := vals[0]
	prev := st.lastF
	if cmp {
		prev = vals[1]
	}
	if st.lastX != nil && fS >= prev && st.b < r.bigB {
		// The mini-batch steps since the last check did not lower f on
		// the big batch: noise dominates.
		st.b = min(2*st.b, r.bigB)
	}
	st.lastX, st.lastF = append(st.lastX[:0], r.x...), fS
	st.check, st.since = false, 0
	free := r.freeAt(r.x, g)
	r.at(g, fS)
	if r.out.GradNorm <= r.s.Epsilon {
		if r.stationary(st.finder, g, free, S) == stop {
			return sgdEstimate{}, stop
		}
		st.lastX, st.lastF = nil, math.NaN()
		return sgdEstimate{}, again
	}
	return sgdEstimate{S: S, st: stc, g: g, fS: fS}, goOn
}

// miniBatch is the estimate by Settings.Estimator over b samples; a small
// one asks for a check (again).
func (st *sgd) miniBatch() (sgdEstimate, flow) {
	r := st.r
	S, stc := r.batch(st.b), r.est.Draw(r.d, r.rng)
	g, failed, err := EstimateWith(r.ctx, r.o, stc, r.x, S)
	if err != nil {
		return sgdEstimate{}, r.fail(err)
	}
	if failed == r.d {
		if r.void() {
			return sgdEstimate{}, stop
		}
		return sgdEstimate{}, again
	}
	r.fails = 0
	r.freeAt(r.x, g)
	st.since++
	if norm(g) <= r.s.Epsilon {
		st.check = true
		return sgdEstimate{}, again
	}
	fS := math.NaN()
	if len(S) == len(r.all) && !r.stale {
		fS = r.out.F
	}
	return sgdEstimate{S: S, st: stc, g: g, fS: fS}, goOn
}

// step is the Armijo line search on f_S along the estimate (with SAM,
// along the estimate at the SAM point). Without decrease the run stops
// where the estimate is central CoordGE over every sample; otherwise the
// next step is a check, with b doubled.
func (st *sgd) step(e sgdEstimate) flow {
	r := st.r
	sg := e.g
	if r.s.SAMRadius > 0 {
		var err error
		sg, err = samGradient(r.ctx, r.o, e.st, r.box, r.x, e.g, r.s.SAMRadius*r.scale, e.S)
		if err != nil {
			return r.fail(err)
		}
	}
	t, nx, nf, err := r.lineSearch(r.x, e.fS, e.g, sg, st.trial, e.S)
	if err != nil {
		return r.fail(err)
	}
	if nx == nil {
		if _, central := e.st.(CoordGE); central && len(e.S) == len(r.all) {
			return st.stalled(e)
		}
		// No decrease on the mini-batch, or along an unlucky random
		// estimate: check on the big batch, and average more.
		st.check = true
		st.b = min(2*st.b, r.bigB)
		return again
	}
	st.trial = t
	if len(e.S) == len(r.all) {
		r.set(nx, nf)
	} else {
		r.move(nx)
	}
	r.report("step", math.NaN())
	return goOn
}

// stalled is what a step along a central estimate over every sample does
// when no trial step decreased f: with a new difference step (see
// run.stall), a check with it next (again); otherwise the run has ended.
func (st *sgd) stalled(e sgdEstimate) flow {
	r := st.r
	if !r.stall(norm(e.g)) {
		return stop
	}
	st.trial, st.check = r.s.Step*r.scale, true
	st.lastX, st.lastF = nil, math.NaN() // measured with the old step
	return again
}

// estCost is the number of queries per sample of one estimate by the
// named estimator in dimension d with n directions or coordinates.
func estCost(name string, d, n int) int {
	n = directions(n, d)
	switch name {
	case EstCoordForward:
		return d + 1
	case EstRand:
		return 2 * n
	case EstGauss:
		return n + 1
	case EstRandomK:
		return 2 * min(n, d)
	}
	return 2 * d
}
