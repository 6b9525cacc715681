package zo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// The driver: how a run (see types.go) starts, counts its iterations,
// moves its iterate, talks to the oracle in batches and ends. The
// methods are sequential code over these helpers; what only some of
// them share lives with its concept: search.go (line search and
// escape), finder.go (certificate and escape by a finder), lipschitz.go
// (L̂), epochs.go (variance-reduced epochs), perturb.go (the perturbation
// test).

// StatusOf maps an oracle error to the terminal status of a run it ends,
// with the reason.
func StatusOf(err error) (Status, string) {
	switch {
	case errors.Is(err, ErrTarget):
		return StatusTarget, "target value reached"
	case errors.Is(err, ErrBudget):
		return StatusBudget, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return StatusBudget, "time budget exhausted"
	case errors.Is(err, context.Canceled):
		return StatusStopped, "cancelled"
	default:
		return StatusFailed, err.Error()
	}
}

// flow tells a method's loop how to go on after a helper.
type flow int

const (
	goOn  flow = iota // carry on with this iteration
	again             // start the next iteration
	stop              // the run has ended: return r.out
)

// newRun validates the input of the method called name, which draws its
// random choices from rng, and sets up its run. It does not query the
// oracle.
func newRun(ctx context.Context, o Oracle, p Problem, set Settings, rng *rand.Rand, name string) (*run, error) {
	if err := validate(p, set); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("zo: %s needs a Rand", name)
	}
	return setup(ctx, o, p, set, rng)
}

// validate reports a problem or settings no method can run with.
func validate(p Problem, set Settings) error {
	d := len(p.X0)
	if d == 0 {
		return errors.New("zo: empty start point")
	}
	if err := p.Box.Validate(d); err != nil {
		return err
	}
	return set.Validate()
}

// setup builds the run of a valid problem and settings; rng may be nil
// for a method that draws nothing (GD without a finder).
func setup(ctx context.Context, o Oracle, p Problem, set Settings, rng *rand.Rand) (*run, error) {
	d := len(p.X0)
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
		r.bigB = DefaultBigBatch(s.Samples)
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

// start evaluates f at the start point over every sample; it returns
// false, with the run ended, when that fails.
func (r *run) start() bool {
	vals, _, err := Values(r.ctx, r.o, [][]float64{r.x}, r.all)
	if err != nil {
		r.fail(err)
		return false
	}
	return r.started(vals[0])
}

// started takes f = v at the start point; it returns false, with the run
// ended, when v is +Inf: a sample failed there.
func (r *run) started(v float64) bool {
	if math.IsInf(v, 1) {
		r.finish(StatusFailed, "the objective failed at the start point")
		return false
	}
	r.set(r.x, v)
	return true
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

// fail ends the run with the status an oracle error maps to.
func (r *run) fail(err error) flow {
	r.finish(StatusOf(err))
	return stop
}

// noDecrease ends the run when a line search along an estimated gradient
// of norm gn found no decrease.
func (r *run) noDecrease(gn float64) {
	r.finish(StatusStopped, fmt.Sprintf("line search found no decrease along the estimated gradient (norm %.3g > ε = %.3g): the estimate is below the objective's noise or round-off", gn, r.s.Epsilon))
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

// report passes the run's progress to Settings.Progress, if set.
func (r *run) report(ev string, lambda float64) {
	if r.s.Progress != nil {
		r.s.Progress(Progress{Iteration: r.out.Iterations, Event: ev, F: r.out.F, GradNorm: r.out.GradNorm, Lambda: lambda})
	}
}

// maxFailedGradients is the number of consecutive gradient estimates that
// failed on every coordinate before the run ends as failed.
const maxFailedGradients = 3

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

// coordGradient estimates the gradient at x by central CoordGE over every
// sample, in a batch of its own unless a speculative stencil answered it
// (see ahead.go), with the lattice rule on discrete coordinates (see
// lattice.go), and masks it to the free coordinates,
// which it returns; GradNorm is its norm (and LambdaMin NaN: no curvature
// is known at x yet). A void estimate is counted (again, or stop after
// maxFailedGradients in a row).
func (r *run) coordGradient() (g []float64, free []bool, fl flow) {
	res, ok := r.answered(r.x)
	var failed int
	if !ok && r.tooLarge() {
		var err error
		if g, failed, err = r.chunkedGradient(); err != nil {
			return nil, nil, r.fail(err)
		}
	} else {
		if !ok {
			var err error
			if res, err = r.o.Evaluate(r.ctx, r.coord.Queries(r.x, r.all)); err != nil {
				return nil, nil, r.fail(err)
			}
		}
		g = make([]float64, r.d)
		failed = r.coord.Gradient(r.x, r.all, res, g)
		r.latticeGradient(r.x, res, g)
	}
	if failed == r.d {
		if r.void() {
			return nil, nil, stop
		}
		return nil, nil, again
	}
	r.fails = 0
	free = r.freeAt(r.x, g)
	r.out.GradNorm, r.out.LambdaMin = norm(g), math.NaN()
	return g, free, goOn
}

// tooLarge reports whether the query points of a whole gradient stencil
// (2d points of d coordinates) would take more than defaultBatchFloats
// (64 MiB; d above about 2000): the estimate is then sent in batches of a
// bound size (chunkedGradient), so that memory stays O(d) plus the bound,
// in the order of the whole stencil. Problems of several samples (whose
// whole stencil goes sample by sample, not coordinate by coordinate) or
// with integer or categorical parameters are sent whole.
func (r *run) tooLarge() bool {
	return len(r.all) == 1 && r.box.Lattice == nil && 2*r.d*r.d > gradientBatchFloats
}

// gradientBatchFloats is tooLarge's bound; a test lowers it.
var gradientBatchFloats = defaultBatchFloats

// chunkedGradient is the central coordinate estimate at the iterate sent
// in batches of at most defaultBatchFloats of query points (HVP's
// gradients): the same queries and estimate as one batch, in more rounds.
// It returns the estimate and the number of coordinates whose every query
// failed.
func (r *run) chunkedGradient() ([]float64, int, error) {
	h := &HVP{Oracle: r.o, Estimator: r.coord, X: r.x, Samples: r.all, MaxBatch: max(gradientBatchFloats/r.d, 1)}
	gs, bad, err := h.gradients(r.ctx, [][]float64{r.x})
	if err != nil {
		return nil, 0, err
	}
	failed := 0
	for _, b := range bad {
		if b {
			failed++
		}
	}
	return gs[0], failed, nil
}

// at records f and the gradient estimate g at the iterate.
func (r *run) at(g []float64, f float64) {
	r.set(r.x, f)
	r.out.GradNorm, r.out.LambdaMin = norm(g), math.NaN()
}

// freeAt masks g to the coordinates free at x and returns them.
func (r *run) freeAt(x, g []float64) []bool {
	free := freeCoords(r.box, x, g, r.s.Mu)
	for i := range free {
		// A discrete coordinate's slope points to a neighbour inside the
		// box (Box.Lattice): it is never held, whatever μ says.
		free[i] = free[i] || r.box.discrete(i)
	}
	mask(g, free)
	return free
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
