// Package pareto minimises several objectives at once: zeroth-order
// multiple-gradient descent to Pareto-stationary points, from a population
// of start points advanced together, and the non-dominated set of the
// points evaluated.
package pareto

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/zotune/zotune/zo"
)

// Method is zeroth-order multiple-gradient descent (MGDA: Désidéri,
// "Multiple-gradient descent algorithm (MGDA) for multiobjective
// optimization", C. R. Acad. Sci. Paris 2012; the steepest-descent form
// of Fliege & Svaiter, Math. Methods Oper. Res. 2000) over a population of
// walkers, one per start point, advanced in lockstep (a walker with
// Weights descends a weighted sum instead; see Weights):
//
//	ĝⱼ ← CoordGE of objective j at x, every j from one batch (one
//	     evaluation returns every objective: Result.Value and Values)
//	d  ← the least-norm element of the convex hull of the ĝⱼ (minNorm)
//	if ‖d‖ ≤ ε: x is Pareto-stationary; the walker stops, converged
//	x  ← P(x − t d/‖d‖), t the longest of Candidates lengths with
//	     fⱼ(x⁺) ≤ fⱼ(x) + c₁ĝⱼᵀ(x⁺ − x) for every j (Armijo on each)
//
// Every walker's stencil goes out in one batch and every walker's
// candidates in the next: an iteration costs two rounds whatever the
// population, which shares the fleet. There is no curvature finding: a
// Pareto-stationary point is a first-order notion (no convex combination
// of the gradients is a descent direction of all objectives), and where
// the objectives disagree the set of such points is a curve or a surface,
// along which the Hessian of any one objective has negative directions
// that are not escapes. A saddle of every objective at once is stationary
// too; the spread of start points, not curvature, is what keeps the
// population off such points in practice.
type Method struct {
	// Objectives is the number of objectives m ≥ 2: a query's Result.Value
	// is objective 0, Result.Values[j−1] objective j.
	Objectives int
	// Epsilon is the Pareto-stationarity tolerance on ‖d‖ in the
	// problem's coordinates; default 1e-3.
	Epsilon float64
	// Mu is the difference step; default zo.DefaultMu·Box.Scale().
	Mu float64
	// Step is the first trial step as a fraction of Box.Scale(); default
	// 0.1. Each walker's adapts to its last accepted step.
	Step float64
	// Candidates is the number of step lengths tried at once; default 4.
	Candidates int
	// Starts are the start points after Problem.X0 (a space-filling
	// design): one walker each.
	Starts [][]float64
	// Weights, if set, hold one weight vector per walker (X0's first,
	// then each start's): a walker with weights w > 0 descends the
	// weighted sum Σⱼ wⱼfⱼ/sⱼ instead of following the MGDA direction (sⱼ:
	// objective j's spread over the start points), and ends where its
	// gradient is below ε; a nil entry is an MGDA walker. A point where a
	// positive combination of the gradients vanishes is Pareto-stationary
	// either way, but MGDA walkers, which improve every objective at once,
	// tend to drift to the same end of a front (ZDT1: every one to x₁ = 0),
	// while spread weights spread the walkers over a convex front.
	Weights [][]float64
	// Progress, if set, is told of each iteration (Event "step") with F
	// the number of walkers still moving.
	Progress func(zo.Progress)
}

// walker is one start point's descent.
type walker struct {
	x, f   []float64 // the point and its objectives
	w      []float64 // weights of its scalarization, divided by the scales; nil: MGDA
	t      float64   // trial step length
	fails  int       // consecutive searches with no acceptable step
	evals  int       // queries sent for it
	status zo.Status // "" while it moves
	reason string
}

// maxFails is the number of consecutive searches without an acceptable
// step, each with lengths 2^Candidates shorter, before a walker stops.
const maxFails = 6

var _ zo.Method = (*Method)(nil)

// Minimize runs the walkers from p.X0 and m.Starts until each is
// Pareto-stationary or stuck, or the oracle stops them. The outcome's
// Front holds every walker's end point; its X and F are the first
// walker's; its status is converged when every walker converged (those
// whose objectives kept failing aside), else the ending of the first that
// did not (see outcome).
func (m *Method) Minimize(ctx context.Context, o zo.Oracle, p zo.Problem) (*zo.Outcome, error) {
	if m.Objectives < 2 {
		return nil, errors.New("pareto: needs at least two objectives")
	}
	if err := p.Box.Validate(len(p.X0)); err != nil {
		return nil, err
	}
	r := m.newRun(ctx, o, p)
	if err := r.start(); err != nil {
		r.endAll(err)
		return r.outcome(), nil
	}
	for it := 1; r.active() > 0; it++ {
		if err := r.iterate(); err != nil {
			r.endAll(err)
			break
		}
		if m.Progress != nil {
			m.Progress(zo.Progress{Iteration: it, Event: "step", F: float64(r.active()), GradNorm: math.NaN(), Lambda: math.NaN()})
		}
	}
	return r.outcome(), nil
}

// run is one Minimize.
type run struct {
	m       *Method
	ctx     context.Context
	o       zo.Oracle
	box     zo.Box
	coord   zo.CoordGE
	eps     float64
	cands   int
	walkers []*walker
	iters   int
}

func (m *Method) newRun(ctx context.Context, o zo.Oracle, p zo.Problem) *run {
	scale := p.Box.Scale()
	r := &run{m: m, ctx: ctx, o: o, box: p.Box, eps: m.Epsilon, cands: m.Candidates}
	if r.eps <= 0 {
		r.eps = 1e-3
	}
	if r.cands <= 0 {
		r.cands = 4
	}
	mu, step := m.Mu, m.Step
	if mu <= 0 {
		mu = zo.DefaultMu * scale
	}
	if step <= 0 {
		step = 0.1
	}
	r.coord = zo.CoordGE{Mu: mu, Box: p.Box}
	for k, x := range append([][]float64{p.X0}, m.Starts...) {
		x = slices.Clone(x)
		p.Box.Project(x)
		w := &walker{x: x, t: step * scale}
		if k < len(m.Weights) {
			w.w = m.Weights[k]
		}
		r.walkers = append(r.walkers, w)
	}
	return r
}

// active counts the walkers still moving.
func (r *run) active() int {
	n := 0
	for _, w := range r.walkers {
		if w.status == "" {
			n++
		}
	}
	return n
}

// start evaluates every start point in one batch; a walker whose start
// failed ends failed.
func (r *run) start() error {
	pts := make([][]float64, len(r.walkers))
	for i, w := range r.walkers {
		pts[i] = w.x
	}
	vals, err := r.values(pts)
	if err != nil {
		return err
	}
	for i, w := range r.walkers {
		if vals[i] == nil {
			w.status, w.reason = zo.StatusFailed, "the objectives failed at the start point"
			continue
		}
		w.f = vals[i]
	}
	r.scaleWeights(vals)
	return nil
}

// scaleWeights divides each weighted walker's weights by the objectives'
// spreads over the start points (max − min; 1 where that is 0 or
// unknown), so that a weight says how much an objective counts relative
// to its own range, not to its units.
func (r *run) scaleWeights(vals [][]float64) {
	for j := range r.m.Objectives {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			if v != nil {
				lo, hi = math.Min(lo, v[j]), math.Max(hi, v[j])
			}
		}
		s := hi - lo
		if !(s > 0) || math.IsInf(s, 0) {
			s = 1
		}
		for _, w := range r.walkers {
			if w.w != nil {
				w.w = slices.Clone(w.w)
				w.w[j] /= s
			}
		}
	}
}

// values evaluates points in one batch (sample 0) and returns each
// point's objectives, nil for a point whose evaluation failed.
func (r *run) values(pts [][]float64) ([][]float64, error) {
	qs := make([]zo.Query, len(pts))
	for i, x := range pts {
		qs[i] = zo.Query{X: x}
	}
	res, err := r.o.Evaluate(r.ctx, qs)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(pts))
	for i, rs := range res {
		out[i] = r.objectives(rs)
	}
	return out, nil
}

// objectives is the vector of a result, nil if it failed or lacks one.
func (r *run) objectives(rs zo.Result) []float64 {
	if rs.Err != nil || len(rs.Values) != r.m.Objectives-1 {
		return nil
	}
	return append([]float64{rs.Value}, rs.Values...)
}

// endAll ends every moving walker for the oracle error err.
func (r *run) endAll(err error) {
	st, reason := zo.StatusOf(err)
	for _, w := range r.walkers {
		if w.status == "" {
			w.status, w.reason = st, reason
		}
	}
}

// iterate is one iteration of every moving walker: the gradients of all
// in one batch, then the line searches of all in another.
func (r *run) iterate() error {
	r.iters++
	moving := slices.DeleteFunc(slices.Clone(r.walkers), func(w *walker) bool { return w.status != "" })
	var qs []zo.Query
	for _, w := range moving {
		st := r.coord.Queries(w.x, []int{0})
		qs = append(qs, st...)
		w.evals += len(st)
	}
	res, err := r.o.Evaluate(r.ctx, qs)
	if err != nil {
		return err
	}
	n := len(qs) / len(moving)
	dirs := make([][]float64, len(moving))
	grads := make([][][]float64, len(moving))
	for k, w := range moving {
		grads[k], dirs[k] = r.direction(w, res[k*n:(k+1)*n])
	}
	return r.search(moving, grads, dirs)
}

// direction is the common descent direction d of walker w from its
// stencil's answers, with the objectives' gradients; nil when w stopped
// (Pareto-stationary, or its gradients failed).
func (r *run) direction(w *walker, res []zo.Result) (grads [][]float64, d []float64) {
	grads = make([][]float64, r.m.Objectives)
	for j := range grads {
		one := make([]zo.Result, len(res)) // objective j's answers
		for i, rs := range res {
			one[i] = zo.Result{Err: rs.Err}
			if v := r.objectives(rs); v != nil {
				one[i].Value = v[j]
			} else if rs.Err == nil {
				one[i].Err = errMissing
			}
		}
		grads[j] = make([]float64, len(w.x))
		if r.coord.Gradient(w.x, []int{0}, one, grads[j]) == len(w.x) {
			w.status, w.reason = zo.StatusFailed, "every gradient query failed"
			return nil, nil
		}
	}
	if r.latticeMove(w, res) {
		return nil, nil // a neighbour on the integers dominates: moved there
	}
	// The direction moves the continuous coordinates not held at a bound:
	// each gradient is restricted to them before they are combined (a
	// lattice's differences, over a whole unit, would swamp the rest).
	d = r.combine(w, grads)
	free := r.box.AtBound(w.x, d, r.coord.Mu)
	for i := range free {
		free[i] = !free[i] && !r.discrete(i)
	}
	for _, g := range grads {
		for i, ok := range free {
			if !ok {
				g[i] = 0
			}
		}
	}
	d = r.combine(w, grads)
	if dn := norm(d); dn <= r.eps {
		w.status = zo.StatusConverged
		w.reason = fmt.Sprintf("Pareto-stationary: ‖Σαⱼĝⱼ‖ = %.3g ≤ ε = %.3g", dn, r.eps)
		if w.w != nil {
			w.reason = fmt.Sprintf("Pareto-stationary: the gradient of its weighted sum has norm %.3g ≤ ε = %.3g", dn, r.eps)
		}
		if r.box.Lattice != nil {
			w.reason += " over the continuous parameters, and no ±1 change of an integer parameter dominates the point"
		}
		return nil, nil
	}
	return grads, d
}

// combine is w's direction from the gradients: their weighted sum for a
// weighted walker, MGDA's least-norm convex combination otherwise.
func (r *run) combine(w *walker, grads [][]float64) []float64 {
	if w.w != nil {
		return weighted(w.w, grads)
	}
	_, d := minNorm(grads)
	return d
}

// discrete reports whether coordinate i is on the box's lattice (an
// integer or categorical parameter).
func (r *run) discrete(i int) bool { return r.box.Lattice != nil && r.box.Lattice.Discrete(i) }

// latticeMove moves w to a ±1 neighbour along a discrete coordinate that
// dominates it (no objective worse, one better), the one with the lowest
// sum of objectives, whose values the stencil's answers res hold; it
// reports whether it moved. Descent moves only the continuous
// coordinates: a walker ends Pareto-stationary in them with no dominating
// neighbour on the integers (a categorical coordinate has none and keeps
// its start's value: the population's spread covers the categories).
func (r *run) latticeMove(w *walker, res []zo.Result) bool {
	best, bestSum := -1, math.Inf(1)
	for i := range w.x {
		if !r.discrete(i) {
			continue
		}
		for k := range 2 { // the stencil's pair: x + unit, then x − unit
			f := r.objectives(res[2*i+k])
			if f == nil || !dominates(f, w.f) {
				continue
			}
			if s := sum(f); s < bestSum {
				best, bestSum = 2*i+k, s
			}
		}
	}
	if best < 0 {
		return false
	}
	i := best / 2
	lo, hi := r.coord.Box.Lattice.Neighbours(i, w.x[i])
	w.x = slices.Clone(w.x)
	w.x[i] = [2]float64{hi, lo}[best%2]
	w.f = r.objectives(res[best])
	w.fails = 0
	return true
}

func sum(f []float64) float64 {
	s := 0.0
	for _, v := range f {
		s += v
	}
	return s
}

// errMissing marks an answer without every objective.
var errMissing = errors.New("pareto: an objective is missing from the answer")

// search sends every moving walker's candidate steps along −d in one
// batch and moves each to its longest step that decreases every objective
// by Armijo's rule; a walker with none tries shorter steps next time, and
// stops after maxFails such searches in a row.
func (r *run) search(moving []*walker, grads [][][]float64, dirs [][]float64) error {
	var pts [][]float64
	var lens []float64
	for k, w := range moving {
		if dirs[k] == nil {
			continue
		}
		dn := norm(dirs[k])
		for j := range r.cands {
			l := 2 * w.t * math.Pow(2, -float64(j))
			y := slices.Clone(w.x)
			for i := range y {
				y[i] -= l * dirs[k][i] / dn
			}
			r.box.Project(y)
			pts, lens = append(pts, y), append(lens, l)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	vals, err := r.values(pts)
	if err != nil {
		return err
	}
	at := 0
	for k, w := range moving {
		if dirs[k] == nil {
			continue
		}
		w.evals += r.cands
		r.accept(w, grads[k], pts[at:at+r.cands], lens[at:at+r.cands], vals[at:at+r.cands])
		at += r.cands
	}
	return nil
}

// accept moves w to the first (longest) candidate that satisfies Armijo's
// rule (see acceptable); with none, the next search tries shorter steps,
// and after maxFails such searches in a row the walker stops.
func (r *run) accept(w *walker, grads [][]float64, pts [][]float64, lens []float64, vals [][]float64) {
	for k, y := range pts {
		if vals[k] != nil && acceptable(w, grads, y, vals[k]) {
			w.x, w.f, w.t, w.fails = y, vals[k], lens[k], 0
			return
		}
	}
	w.t /= math.Pow(2, float64(r.cands))
	if w.fails++; w.fails >= maxFails {
		w.status, w.reason = zo.StatusStopped, "no step along the common descent direction decreases every objective: the estimate is below the objectives' noise or round-off"
		if w.w != nil {
			w.status, w.reason = zo.StatusStopped, "no step along the gradient of its weighted sum decreases it: the estimate is below the objectives' noise or round-off"
		}
	}
}

// acceptable reports whether the step of w to y, with objectives fy,
// passes Armijo's rule, fⱼ(y) ≤ fⱼ(x) + c₁ĝⱼᵀ(y − x), for every objective
// with one strictly lower (an MGDA walker), or for its weighted sum (a
// weighted one).
func acceptable(w *walker, grads [][]float64, y, fy []float64) bool {
	const c1 = 1e-4
	slope := func(g []float64) float64 {
		s := 0.0
		for i := range y {
			s += g[i] * (y[i] - w.x[i])
		}
		return s
	}
	if w.w != nil {
		phi, phi0 := dot(w.w, fy), dot(w.w, w.f)
		return phi < phi0 && phi <= phi0+c1*slope(weighted(w.w, grads))
	}
	ok, better := true, false
	for j, g := range grads {
		ok = ok && fy[j] <= w.f[j]+c1*slope(g)
		better = better || fy[j] < w.f[j]
	}
	return ok && better
}

// weighted is Σⱼ wⱼgⱼ.
func weighted(w []float64, grads [][]float64) []float64 {
	d := make([]float64, len(grads[0]))
	for j, g := range grads {
		for i := range d {
			d[i] += w[j] * g[i]
		}
	}
	return d
}

// outcome is the search's outcome: every walker's end in Front and its
// record in Runs. A walker whose objectives kept failing is left out of
// the status unless every one did: converged when every other walker
// converged, else the ending of the first that did not.
func (r *run) outcome() *zo.Outcome {
	out := &zo.Outcome{
		Status: zo.StatusConverged, X: r.walkers[0].x, F: math.NaN(), GradNorm: math.NaN(), LambdaMin: math.NaN(),
		Epsilon: r.eps, Iterations: r.iters,
	}
	if f := r.walkers[0].f; f != nil {
		out.F = f[0]
	}
	converged, failed := 0, 0
	var other *walker // the first that ended otherwise, failures aside
	for _, w := range r.walkers {
		out.Front = append(out.Front, w.x)
		rec := zo.RunRecord{Status: w.status, Reason: w.reason, Evaluations: w.evals}
		if w.f != nil {
			v := w.f[0]
			rec.Value = &v
		}
		out.Runs = append(out.Runs, rec)
		switch {
		case w.status == zo.StatusConverged:
			converged++
		case w.status == zo.StatusFailed:
			failed++ // its objectives kept failing: the others go on
		case other == nil:
			other = w
		}
	}
	n := len(r.walkers)
	switch {
	case failed == n:
		out.Status, out.Reason = zo.StatusFailed, fmt.Sprintf("every one of the %d runs failed: %s", n, r.walkers[0].reason)
	case other != nil:
		out.Status = other.status
		out.Reason = fmt.Sprintf("%d of %d runs ended at Pareto-stationary points (%d failed); another ended %s: %s", converged, n, failed, other.status, other.reason)
	default:
		out.Reason = fmt.Sprintf("%d of %d runs ended at Pareto-stationary points: a convex combination of the %d objectives' gradient estimates (MGDA's least-norm one, or a weighted run's weights) has norm ≤ ε = %.3g, so no direction decreases them all", converged, n, r.m.Objectives, r.eps)
		if failed > 0 {
			out.Reason += fmt.Sprintf("; %d failed (their objectives kept failing; see runs)", failed)
		}
	}
	return out
}
