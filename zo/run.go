package zo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// This file holds what the methods share: the batched line search and
// escape, the run state with its batch helpers, the finder call that
// certifies or escapes, Hessian-vector products for the baselines'
// step sizes and power iteration, and the perturbation test.

// lineSearch tries cands step lengths 2t·2^-j along −dir in one batch
// and keeps the lowest value among those with Armijo sufficient decrease
// on the slope estimate g; if none qualifies it shrinks all lengths and
// tries again. It returns the accepted length, point and value, or
// nx == nil when nothing decreased. A NaN fx means f(x) is not known: x
// is then evaluated in the first batch with the candidates.
func lineSearch(ctx context.Context, o Oracle, b Box, x []float64, fx float64, g, dir []float64, t float64, cands int, samples []int) (float64, []float64, float64, error) {
	const c1 = 1e-4
	gn := norm(dir)
	for round := 0; round < maxShrink; round++ {
		lens := make([]float64, cands)
		pts := make([][]float64, cands)
		for j := range lens {
			lens[j] = 2 * t * math.Pow(2, -float64(j))
			pts[j] = step(b, x, dir, -lens[j]/gn)
		}
		ask := pts
		if math.IsNaN(fx) {
			ask = append([][]float64{x}, pts...)
		}
		vals, _, err := Values(ctx, o, ask, samples)
		if err != nil {
			return 0, nil, 0, err
		}
		if math.IsNaN(fx) {
			fx, vals = vals[0], vals[1:]
		}
		bestJ := -1
		for j, v := range vals {
			// Armijo on the projected step: f(x⁺) ≤ f(x) + c₁ gᵀ(x⁺ − x).
			if v <= fx+c1*dot(g, sub(pts[j], x)) && v < fx && (bestJ < 0 || v < vals[bestJ]) {
				bestJ = j
			}
		}
		if bestJ >= 0 {
			return lens[bestJ], pts[bestJ], vals[bestJ], nil
		}
		t /= math.Pow(2, float64(cands))
	}
	return 0, nil, 0, nil
}

// escapeSearch tries x ± s_j·v for cands lengths s_j = r·2^-j, both signs
// in one batch, and keeps the lowest value below f(x); it shrinks and
// retries when none is lower.
func escapeSearch(ctx context.Context, o Oracle, b Box, x []float64, fx float64, v []float64, r float64, cands int, samples []int) (float64, []float64, float64, error) {
	for round := 0; round < maxShrink; round++ {
		n := cands
		pts := make([][]float64, 0, 2*n)
		lens := make([]float64, 0, 2*n)
		for j := 0; j < n; j++ {
			l := r * math.Pow(2, -float64(j))
			pts = append(pts, step(b, x, v, l), step(b, x, v, -l))
			lens = append(lens, l, l)
		}
		vals, _, err := Values(ctx, o, pts, samples)
		if err != nil {
			return 0, nil, 0, err
		}
		bestJ := -1
		for j, val := range vals {
			if val < fx && (bestJ < 0 || val < vals[bestJ]) {
				bestJ = j
			}
		}
		if bestJ >= 0 {
			return lens[bestJ], pts[bestJ], vals[bestJ], nil
		}
		r /= math.Pow(2, float64(n))
	}
	return 0, nil, 0, nil
}

// samGradient returns the sharpness-aware direction: the estimate, with
// the same stencil and samples, at P(x + ρ g/‖g‖). It returns g itself
// when that estimate is void or not a descent direction for g.
func samGradient(ctx context.Context, o Oracle, st Stencil, b Box, x, g []float64, rho float64, samples []int) ([]float64, error) {
	y := step(b, x, g, rho/norm(g))
	sg, failed, err := EstimateWith(ctx, o, st, y, samples)
	if err != nil {
		return nil, err
	}
	if failed == len(x) || dot(sg, g) <= 0 {
		return g, nil
	}
	return sg, nil
}

// valueQueries returns the queries of f at every point over samples,
// point by point.
func valueQueries(points [][]float64, samples []int) []Query {
	batch := make([]Query, 0, len(points)*len(samples))
	for _, p := range points {
		for _, s := range samples {
			batch = append(batch, Query{X: p, Sample: s})
		}
	}
	return batch
}

// meanValues averages the answers to valueQueries over the samples; a
// point with any failed sample gets +Inf and is counted in failed.
func meanValues(res []Result, points, samples int) (vals []float64, failed int) {
	vals = make([]float64, points)
	for i := range vals {
		sum := 0.0
		for k := 0; k < samples; k++ {
			r := res[i*samples+k]
			if r.Err != nil {
				sum = math.Inf(1)
				break
			}
			sum += r.Value
		}
		if math.IsInf(sum, 1) {
			failed++
			vals[i] = sum
			continue
		}
		vals[i] = sum / float64(samples)
	}
	return vals, failed
}

// run is the state every method except GD works on: the iterate, the
// outcome being built, and helpers that talk to the oracle. Methods stay
// sequential code over these helpers.
type run struct {
	ctx   context.Context
	o     Oracle
	box   Box
	s     Settings // with defaults
	d     int
	scale float64
	rng   *rand.Rand
	coord CoordGE   // central CoordGE: big batches, finders, certificates
	est   Estimator // Settings.Estimator, for mini-batch steps
	all   []int     // every sample, 0..Samples−1
	bigB  int       // B
	miniB int       // b
	inner int       // SCSG's mean epoch length, SPIDER's and SSRGD's q

	out *Outcome
	x   []float64 // the iterate; the same slice as out.X

	// stale is set while x has moved without a value; knownX and knownF
	// are then the last point with a known value, which an ending reports.
	stale  bool
	knownX []float64
	knownF float64

	fails  int     // consecutive void gradient estimates
	escLen float64 // trial length of the next escape
}

// newRun validates the input and sets up the shared state. It does not
// query the oracle.
func newRun(ctx context.Context, o Oracle, p Problem, set Settings, rng *rand.Rand, name string) (*run, error) {
	d := len(p.X0)
	if d == 0 {
		return nil, errors.New("zo: empty start point")
	}
	if err := p.Box.Validate(d); err != nil {
		return nil, err
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("zo: %s needs a Rand", name)
	}
	s := set.withDefaults(p.Box)
	est, err := NewEstimator(s.Estimator, s.Mu, p.Box, s.Directions)
	if err != nil {
		return nil, err
	}
	r := &run{
		ctx: ctx, o: o, box: p.Box, s: s, d: d, scale: p.Box.Scale(), rng: rng,
		coord: CoordGE{Mu: s.Mu, Box: p.Box}, est: est,
	}
	r.all = make([]int, s.Samples)
	for i := range r.all {
		r.all[i] = i
	}
	r.bigB = s.BigBatch
	if r.bigB == 0 {
		r.bigB = min(s.Samples, 64)
	}
	r.miniB = s.MiniBatch
	if r.miniB == 0 {
		r.miniB = max(1, r.bigB/8)
	}
	r.bigB = max(r.bigB, r.miniB) // a mini-batch set above the default B

	r.inner = s.InnerSteps
	if r.inner == 0 {
		r.inner = (r.bigB + r.miniB - 1) / r.miniB
	}
	r.x = append([]float64(nil), p.X0...)
	p.Box.Project(r.x)
	r.out = &Outcome{X: r.x, F: math.NaN(), GradNorm: math.NaN(), LambdaMin: math.NaN(), Epsilon: s.Epsilon, Delta: s.Delta}
	r.escLen = 0.25 * r.scale
	return r, nil
}

// iterate counts an iteration; it returns false, with the run ended, when
// the iteration cap is reached.
func (r *run) iterate() bool {
	if r.s.MaxIterations > 0 && r.out.Iterations >= r.s.MaxIterations {
		r.finish(StatusBudget, fmt.Sprintf("iteration cap %d reached", r.s.MaxIterations))
		return false
	}
	r.out.Iterations++
	return true
}

// end finishes the run with the status an oracle error maps to.
func (r *run) end(err error) (*Outcome, error) {
	r.finish(statusOf(err))
	return r.out, nil
}

// finish sets the terminal status. If x has moved without a value since
// the last known one, the outcome reports that last known point instead,
// so that F is always f(X).
func (r *run) finish(st Status, reason string) {
	if r.stale {
		copy(r.x, r.knownX)
		r.out.F = r.knownF
		r.out.GradNorm, r.out.LambdaMin = math.NaN(), math.NaN()
		r.stale = false
	}
	r.out.Status, r.out.Reason = st, reason
}

// set moves the iterate to nx, whose value f is known.
func (r *run) set(nx []float64, f float64) {
	copy(r.x, nx)
	r.out.F = f
	r.stale = false
}

// move moves the iterate to nx without a value.
func (r *run) move(nx []float64) {
	if !r.stale && !math.IsNaN(r.out.F) {
		r.knownX = append(r.knownX[:0], r.x...)
		r.knownF = r.out.F
		r.stale = true
	}
	copy(r.x, nx)
	r.out.F = math.NaN()
}

func (r *run) report(ev string, lambda float64) {
	if r.s.Progress != nil {
		r.s.Progress(Progress{Iteration: r.out.Iterations, Event: ev, F: r.out.F, GradNorm: r.out.GradNorm, Lambda: lambda})
	}
}

// void records a gradient estimate that carried no information; it
// returns true, with the run ended as failed, after maxFailedGradients in
// a row.
func (r *run) void() bool {
	r.fails++
	if r.fails >= maxFailedGradients {
		r.finish(StatusFailed, fmt.Sprintf("every gradient query failed %d times in a row", r.fails))
		return true
	}
	return false
}

// flow tells a method's loop how to go on after a helper.
type flow int

const (
	goOn  flow = iota // carry on with this iteration
	again             // start the next iteration
	stop              // the run has ended: return r.out
)

// fail ends the run with the status an oracle error maps to.
func (r *run) fail(err error) flow {
	r.finish(statusOf(err))
	return stop
}

// noDecrease ends the run when a line search along an estimated gradient
// of norm gn found no decrease.
func (r *run) noDecrease(gn float64) {
	r.finish(StatusStopped, fmt.Sprintf("line search found no decrease along the estimated gradient (norm %.3g > ε = %.3g): the estimate is below the objective's noise or round-off", gn, r.s.Epsilon))
}

// gradient sends, as one batch, the stencil's gradient queries at x and
// the value at x, over samples. A void estimate or a failed value is
// counted (again, or stop after maxFailedGradients in a row); else the
// count of void estimates restarts and f is the value at x.
func (r *run) gradient(st Stencil, samples []int) (g []float64, f float64, fl flow) {
	g, failed, vals, err := r.probe(st, r.x, samples, [][]float64{r.x})
	if err != nil {
		return nil, 0, r.fail(err)
	}
	if failed == r.d || math.IsInf(vals[0], 1) {
		if r.void() {
			return nil, 0, stop
		}
		return nil, 0, again
	}
	r.fails = 0
	return g, vals[0], goOn
}

// at records f and the gradient estimate g at the iterate.
func (r *run) at(g []float64, f float64) {
	r.set(r.x, f)
	r.out.GradNorm, r.out.LambdaMin = norm(g), math.NaN()
}

// epochs is the state SCSG, SPIDER and SSRGD carry from one epoch to the
// next.
type epochs struct {
	trial float64   // trial length of the next line search
	kappa float64   // step factor: halved after an epoch that did harm, doubled back up to 1 after a good one
	x1    []float64 // the point after the first step of the last epoch, when the epoch went on
}

func (r *run) newEpochs() *epochs {
	return &epochs{trial: r.s.Step * r.scale, kappa: 1}
}

// refresh is the head of an epoch of SCSG, SPIDER and SSRGD: one batch
// with the central CoordGE gradient at x over S, the values over S at x
// and, if the last epoch went on, at x1, and, if test is not nil, the
// value at x over test. If x1 is lower than x, the epoch's inner steps
// did harm: x goes back to x1, κ halves and a new epoch starts (again).
// A void estimate is counted. Otherwise x gets its value and gradient
// norm over S, and fTest is the value at x over test (over S when test
// is nil).
func (r *run) refresh(e *epochs, S, test []int) (g []float64, free []bool, fTest float64, fl flow) {
	pts := [][]float64{r.x}
	if e.x1 != nil {
		pts = append(pts, e.x1)
	}
	lists := [][]Query{r.coord.Queries(r.x, S), valueQueries(pts, S)}
	if test != nil {
		lists = append(lists, valueQueries([][]float64{r.x}, test))
	}
	res, err := r.send(lists...)
	if err != nil {
		return nil, nil, 0, r.fail(err)
	}
	g = make([]float64, r.d)
	failed := r.coord.Gradient(r.x, S, res[0], g)
	vals, _ := meanValues(res[1], len(pts), len(S))
	fTest = vals[0]
	if test != nil {
		tv, _ := meanValues(res[2], 1, len(test))
		fTest = tv[0]
	}
	if e.x1 != nil {
		if vals[1] < vals[0] {
			// The epoch's inner steps did harm: back to its first step.
			r.set(e.x1, vals[1])
			e.x1 = nil
			e.kappa /= 2
			return nil, nil, 0, again
		}
		e.kappa = math.Min(1, 2*e.kappa)
	}
	if failed == r.d || math.IsInf(vals[0], 1) {
		if r.void() {
			return nil, nil, 0, stop
		}
		return nil, nil, 0, again
	}
	r.fails = 0
	e.x1 = nil
	free = r.freeAt(r.x, g)
	r.at(g, vals[0])
	return g, free, fTest, goOn
}

// firstStep is the first step of an epoch of SCSG, SPIDER and SSRGD,
// along the refreshed gradient g over S: the Armijo line search on f_S
// from the last accepted length, which becomes the next trial length.
// With no decrease the run stops if S holds every sample; else a new
// epoch draws another batch (again).
func (r *run) firstStep(e *epochs, g []float64, S []int) (t float64, fl flow) {
	t, nx, nf, err := lineSearch(r.ctx, r.o, r.box, r.x, r.out.F, g, g, e.trial, r.s.Candidates, S)
	if err != nil {
		return 0, r.fail(err)
	}
	if nx == nil {
		if len(S) == len(r.all) {
			r.noDecrease(r.out.GradNorm)
			return 0, stop
		}
		return 0, again
	}
	e.trial = t
	r.set(nx, nf)
	r.report("step", math.NaN())
	return t, goOn
}

// stationary is the step of the finder methods at a point whose gradient
// g over samples is small: see secondOrder. It returns stop when the run
// has ended, else again.
func (r *run) stationary(f Finder, g []float64, free []bool, samples []int) flow {
	done, err := r.secondOrder(f, g, free, samples)
	if err != nil {
		return r.fail(err)
	}
	if done {
		return stop
	}
	return again
}

// batch returns n distinct samples drawn uniformly by the run's Rand, in
// increasing order; every sample, without a draw, when n ≥ Samples.
func (r *run) batch(n int) []int {
	if n >= len(r.all) {
		return r.all
	}
	p := append([]int(nil), r.all...)
	for i := 0; i < n; i++ {
		j := i + r.rng.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	out := p[:n]
	slices.Sort(out)
	return out
}

// send evaluates several query lists as one batch (one round) and splits
// the answers.
func (r *run) send(lists ...[]Query) ([][]Result, error) {
	var all []Query
	for _, l := range lists {
		all = append(all, l...)
	}
	res, err := r.o.Evaluate(r.ctx, all)
	if err != nil {
		return nil, err
	}
	if len(res) != len(all) {
		return nil, fmt.Errorf("zo: oracle answered %d of %d queries", len(res), len(all))
	}
	out := make([][]Result, len(lists))
	for i, l := range lists {
		out[i], res = res[:len(l)], res[len(l):]
	}
	return out, nil
}

// probe sends, as one batch, the stencil's gradient queries at x and the
// values at points, all over samples.
func (r *run) probe(st Stencil, x []float64, samples []int, points [][]float64) (g []float64, failed int, vals []float64, err error) {
	res, err := r.send(st.Queries(x, samples), valueQueries(points, samples))
	if err != nil {
		return nil, 0, nil, err
	}
	g = make([]float64, r.d)
	failed = st.Gradient(x, samples, res[0], g)
	vals, _ = meanValues(res[1], len(points), len(samples))
	return g, failed, vals, nil
}

// pair sends, as one batch, the stencil's gradient queries at x and at y
// with the same samples: a common-random-numbers pair of estimates. Any
// values at points over valSamples go in the same batch.
func (r *run) pair(st Stencil, x, y []float64, samples []int, points [][]float64, valSamples []int) (gx, gy []float64, void bool, vals []float64, err error) {
	res, err := r.send(st.Queries(x, samples), st.Queries(y, samples), valueQueries(points, valSamples))
	if err != nil {
		return nil, nil, false, nil, err
	}
	gx, gy = make([]float64, r.d), make([]float64, r.d)
	fx := st.Gradient(x, samples, res[0], gx)
	fy := st.Gradient(y, samples, res[1], gy)
	vals, _ = meanValues(res[2], len(points), len(valSamples))
	return gx, gy, fx == r.d || fy == r.d, vals, nil
}

// freeAt masks g to the coordinates free at x and returns them.
func (r *run) freeAt(x, g []float64) []bool {
	free := freeCoords(r.box, x, g, r.s.Mu)
	mask(g, free)
	return free
}

// findAttempts is the number of finder calls made at one point, each
// from a fresh random start, before a method gives up certifying it.
const findAttempts = 3

// certifies reports whether a finder's none with estimate lambda
// certifies λ_min ≥ −δ: lambda must be a number ≥ −δ (+Inf, at a vertex
// of the box, does). NaN (the finder's curvature probe kept failing) and
// values below −δ certify nothing.
func certifies(lambda, delta float64) bool { return lambda >= -delta }

// findCurvature is every method's call of its finder at a point with a
// small gradient: it calls f until it returns a direction or a none that
// certifies the point (see certifies), at most findAttempts times. Every
// call draws its random start afresh from req.Rand. certified is true for
// the latter. When neither happened, c is the last none, whose Lambda is
// NaN or below −δ. c.Queries counts the queries of every call.
func findCurvature(ctx context.Context, f Finder, req FindRequest) (c Curvature, certified bool, err error) {
	queries := 0
	for range findAttempts {
		c, err = f.Find(ctx, req)
		queries += c.Queries
		c.Queries = queries
		if err != nil || c.Direction != nil {
			return c, false, err
		}
		if certifies(c.Lambda, req.Delta) {
			return c, true, nil
		}
	}
	return c, false, nil
}

// uncertified is the reason of a run that ends stopped where the finder
// neither found a direction nor certified the point.
func uncertified(gradNorm, lambda float64, s Settings) string {
	why := "below −δ"
	if math.IsNaN(lambda) {
		why = "NaN: the finder could not measure the curvature, e.g. its probes kept failing"
	}
	return fmt.Sprintf("not certified: ‖ĝ‖ = %.3g ≤ ε = %.3g, but in %d calls the curvature finder found no direction and its estimate λ̂_min = %.3g is not ≥ −δ = %.3g (%s); the point is not a certified second-order stationary point", gradNorm, s.Epsilon, findAttempts, lambda, -s.Delta, why)
}

// secondOrder is the step of the negative-curvature-finding methods at a
// point whose big-batch gradient g (over samples, with r.out.F = f(x)
// over samples) is at most ε. The finder (see findCurvature) either
// certifies x (the run ends converged; done is true), or supplies a
// direction, along which the batched two-sign escape moves x, or does
// neither: the run ends stopped, uncertified. A nil finder stops at
// first-order stationarity, as ZO-GD does.
func (r *run) secondOrder(f Finder, g []float64, free []bool, samples []int) (done bool, err error) {
	if f == nil {
		r.finish(StatusConverged, "first-order stationary point (no curvature finder)")
		r.report("done", math.NaN())
		return true, nil
	}
	c, certified, err := findCurvature(r.ctx, f, r.request(g, free, samples))
	if err != nil {
		return false, err
	}
	r.out.LambdaMin = c.Lambda
	if c.Direction == nil {
		if !certified {
			r.finish(StatusStopped, uncertified(r.out.GradNorm, c.Lambda, r.s))
			return true, nil
		}
		r.finish(StatusConverged, fmt.Sprintf("(ε, δ) second-order stationary point: ‖ĝ‖ = %.3g ≤ ε = %.3g, λ̂_min = %.3g ≥ −δ = %.3g", r.out.GradNorm, r.s.Epsilon, c.Lambda, -r.s.Delta))
		r.report("certify", c.Lambda)
		return true, nil
	}
	from := r.out.F
	t, nx, nf, err := escapeSearch(r.ctx, r.o, r.box, r.x, r.out.F, c.Direction, r.escLen, r.s.Candidates, samples)
	if err != nil {
		return false, err
	}
	if nx == nil {
		r.finish(StatusStopped, fmt.Sprintf("negative curvature %.3g found but no step along it decreases the objective", c.Lambda))
		return true, nil
	}
	r.set(nx, nf)
	r.escLen = 2 * t
	r.out.Escapes = append(r.out.Escapes, Escape{Iteration: r.out.Iterations, Lambda: c.Lambda, Step: t, From: from, To: nf})
	r.report("escape", c.Lambda)
	return false, nil
}

// request is the finder request at the iterate, whose gradient estimate
// over samples is g.
func (r *run) request(g []float64, free []bool, samples []int) FindRequest {
	return FindRequest{
		Oracle: r.o, X: r.x, F: r.out.F, G: g, Estimator: r.coord, Samples: samples,
		NumSamples: r.s.Samples, Delta: r.s.Delta, Free: free, Rand: r.rng,
	}
}

// confirm is the baselines' use of a finder: at a point their own test
// calls second-order stationary, a finder (if any) gives the curvature
// estimate. ok is true only when the finder certifies the point (see
// findCurvature): it found no direction and its estimate is a number
// ≥ −δ. Otherwise (negative curvature found, or a none that certifies
// nothing) the baseline goes on with its own escape mechanism.
func (r *run) confirm(f Finder, g []float64, free []bool, samples []int) (ok bool, lambda float64, err error) {
	if f == nil {
		return true, math.NaN(), nil
	}
	c, certified, err := findCurvature(r.ctx, f, r.request(g, free, samples))
	if err != nil {
		return false, 0, err
	}
	return certified, c.Lambda, nil
}

// products returns the Hessian-vector products at x, whose gradient
// estimate over samples is g: differences of central CoordGE estimates at
// the default probe length (see HVP).
func (r *run) products(x, g []float64, samples []int) *HVP {
	return &HVP{Oracle: r.o, Estimator: r.coord, X: x, G: g, Samples: samples, R: DefaultProbe * r.scale}
}

// product returns H·v on the free coordinates.
func (r *run) product(h *HVP, v []float64, free []bool) ([]float64, error) {
	w, err := h.Apply(r.ctx, v)
	if err != nil {
		return nil, err
	}
	mask(w, free)
	return w, nil
}

// lIters is the number of power iterations that estimate L.
const lIters = 8

// estimateL returns L̂, the largest ‖Hv‖ over lIters power iterations
// from a random unit start on the free coordinates: an estimate (from
// below) of the largest |eigenvalue| of the Hessian at x, for the step
// sizes of the methods that need one (2d·lIters queries per sample). It
// is at least ε/(Step·scale), so that a gradient of norm ε never asks
// for a step longer than the first trial step.
func (r *run) estimateL(x, g []float64, free []bool, samples []int) (float64, []float64, error) {
	h := r.products(x, g, samples)
	v := unitRandom(r.d, r.rng, free)
	l := 0.0
	for k := 0; k < lIters; k++ {
		w, err := r.product(h, v, free)
		if err != nil {
			return 0, nil, err
		}
		n := norm(w)
		l = math.Max(l, n)
		if n == 0 {
			break
		}
		for i := range v {
			v[i] = w[i] / n
		}
	}
	return math.Max(l, r.s.Epsilon/(r.s.Step*r.scale)), v, nil
}

// perturbation is the escape test of perturbed gradient descent ("How to
// Escape Saddle Points Efficiently", Jin et al., ICML 2017), shared by the
// perturbation-based baselines: from x̃ with a small gradient, perturb,
// run up to tThres steps of size η, and call x̃ second-order stationary
// when f has not dropped by fThres below f(x̃).
//
// With ρ = δ²/ε (from δ = √(ρε)) and the proof's constants set to 1
// (tune): fThres = √(ε³/ρ) = ε²/δ. Along curvature −δ a displacement z
// lowers f by δz²/2, which reaches fThres at z* = √(2·fThres/δ); the
// component of the perturbation along one direction is about r/√d (taken
// 10 times smaller, for unlucky draws) and grows by (1 + ηδ) per step, so
// tThres = ⌈ln(z*·10√d/r) / ln(1 + ηδ)⌉.
type perturbation struct {
	x0, g0  []float64 // x̃ and its gradient estimate
	f0      float64   // f(x̃) over samples
	free    []bool
	samples []int
	radius  float64
	steps   int // steps taken since the perturbation
	tThres  int
	fThres  float64
}

func (r *run) newPerturbation(g []float64, free []bool, samples []int, radius, eta float64) *perturbation {
	p := &perturbation{
		x0: append([]float64(nil), r.x...), g0: append([]float64(nil), g...), f0: r.out.F,
		free: free, samples: samples, radius: radius,
		fThres: r.s.Epsilon * r.s.Epsilon / r.s.Delta,
	}
	p.setStep(eta, r.s.Delta, r.d)
	return p
}

// setStep sets tThres for step size eta.
func (p *perturbation) setStep(eta, delta float64, d int) {
	zs := math.Sqrt(2 * p.fThres / delta)
	z0 := p.radius / (10 * math.Sqrt(float64(d)))
	p.tThres = max(1, int(math.Ceil(math.Log(math.Max(zs/z0, math.E))/math.Log1p(eta*delta))))
}

// ball returns a point uniform in the ball of radius p.radius on the free
// coordinates.
func (p *perturbation) ball(rng *rand.Rand) []float64 {
	u := unitRandom(len(p.x0), rng, p.free)
	n := 0
	for _, f := range p.free {
		if f {
			n++
		}
	}
	a := p.radius * math.Pow(rng.Float64(), 1/float64(max(n, 1)))
	for i := range u {
		u[i] *= a
	}
	return u
}

// escaped reports whether f (at x, over p.samples) is fThres below f(x̃).
func (p *perturbation) escaped(f float64) bool { return p.f0-f >= p.fThres }

// record appends the escape from x̃ to x, whose value is f. Its curvature
// is the secant estimate along the displacement Δ = x − x̃,
// 2(f − f(x̃) − g̃ᵀΔ)/‖Δ‖² (the baselines have no finder direction).
func (p *perturbation) record(r *run, x []float64, f float64) {
	dx := sub(x, p.x0)
	n := norm(dx)
	lambda := 0.0
	if n > 0 {
		lambda = 2 * (f - p.f0 - dot(p.g0, dx)) / (n * n)
	}
	r.out.Escapes = append(r.out.Escapes, Escape{Iteration: r.out.Iterations, Lambda: lambda, Step: n, From: p.f0, To: f})
	r.report("escape", lambda)
}

// certify ends the run at x̃ after its perturbation test, confirmed by
// the finder if there is one; ok is false when the finder did not certify
// x̃ (see confirm): the run goes on from the current iterate.
func (p *perturbation) certify(r *run, f Finder, what string) (ok bool, err error) {
	cur, curF, curStale := append([]float64(nil), r.x...), r.out.F, r.stale
	r.set(p.x0, p.f0)
	r.out.GradNorm = norm(p.g0)
	ok, lambda, err := r.confirm(f, p.g0, p.free, p.samples)
	if err != nil {
		return false, err
	}
	r.out.LambdaMin = lambda
	if !ok {
		// Back to where the run was.
		if curStale {
			r.move(cur)
		} else {
			r.set(cur, curF)
		}
		return false, nil
	}
	if math.IsNaN(lambda) {
		r.finish(StatusConverged, fmt.Sprintf("second-order stationary point by the perturbation test (no curvature estimate): ‖ĝ‖ = %.3g ≤ ε = %.3g, and %s %d steps after a perturbation of radius %.3g the value had not dropped by %.3g", r.out.GradNorm, r.s.Epsilon, what, p.steps, p.radius, p.fThres))
	} else {
		r.finish(StatusConverged, fmt.Sprintf("(ε, δ) second-order stationary point: ‖ĝ‖ = %.3g ≤ ε = %.3g by the perturbation test, λ̂_min = %.3g ≥ −δ = %.3g by the finder", r.out.GradNorm, r.s.Epsilon, lambda, -r.s.Delta))
	}
	r.report("certify", lambda)
	return true, nil
}

// verdict is how a perturbation test stands after a step.
type verdict int

const (
	ptPending verdict = iota // the test goes on
	ptEscaped                // f dropped by fThres: the escape is recorded
	ptRefuted                // the finder did not certify x̃ (negative curvature, or no certificate): patience doubles
	ptEnded                  // the run has ended: certified at x̃, or by an oracle error
)

// test runs the perturbation test at the current iterate, whose value over
// p.samples is f: an escape once f is fThres below f(x̃), else, after
// tThres·patience steps, the certificate at x̃ (see certify).
func (p *perturbation) test(r *run, fd Finder, what string, f float64, patience *int) verdict {
	if p.escaped(f) {
		p.record(r, r.x, f)
		return ptEscaped
	}
	if p.steps < p.tThres**patience {
		return ptPending
	}
	ok, err := p.certify(r, fd, what)
	if err != nil {
		r.fail(err)
		return ptEnded
	}
	if ok {
		return ptEnded
	}
	*patience *= 2
	return ptRefuted
}

// secant returns ‖g − h‖/‖x − y‖, the curvature seen between two points
// whose gradient estimates are g and h: 0 when the points coincide or
// when ‖g − h‖ is within 100 times the round-off floor of central
// differences, √d·ε_mach·max(1, |f|)/μ, where the ratio would be noise.
func (r *run) secant(x, y, g, h []float64) float64 {
	dx := norm(sub(x, y))
	dg := norm(sub(g, h))
	f := 1.0
	if !math.IsNaN(r.out.F) {
		f = math.Max(1, math.Abs(r.out.F))
	} else if r.stale {
		f = math.Max(1, math.Abs(r.knownF))
	}
	floor := 100 * math.Sqrt(float64(r.d)) * 0x1p-52 * f / r.s.Mu
	if dx == 0 || dg <= floor {
		return 0
	}
	return dg / dx
}

// perturbFactor is Settings.Perturb, or def when it is zero.
func perturbFactor(s Settings, def float64) float64 {
	if s.Perturb == 0 {
		return def
	}
	return s.Perturb
}
