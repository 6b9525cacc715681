// Package multistart runs a zeroth-order method from more than one start
// point: a space-filling first batch that picks where the first run
// starts, and restarts while the budget lasts.
//
// A local method that stalls — a line search that finds no decrease on a
// piecewise-constant or noisy objective, a finder that cannot certify —
// has said all it can from where it is. With budget left, giving up
// wastes what the user allowed. Method therefore starts another run from
// the best point of the space-filling batches not yet used: a point that
// is no nearer than Separation to where an earlier run started or ended.
// When none is left, another space-filling batch is evaluated, in one
// round, and the runs go on from its best points. A run that converges
// (its certificate holds), reaches the target or fails ends the search
// with its outcome. The budget (or an interrupt, the target or an abort
// between runs) ends it with the point of the run that ended lowest and
// the status of what ended it: "budget", so that a larger budget resumes
// the study. On an objective a run found piecewise constant
// (zo.Outcome.Flat) a certificate is of f smoothed at the difference step
// and says little of f: there the runs go on until the budget ends them.
// Each run after the first starts with the noise estimate of the one
// before (see KnownNoise): the noise is the objective's, not the point's.
//
// Every choice is drawn from Method.Rand and from the values seen, so the
// same seed and the same answers give the same runs.
package multistart

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/zotune/zotune/zo"
)

// Separation is how far, in units of the box's diagonal (see distance), a
// restart's start point must be from every point an earlier run started
// or ended at.
const Separation = 0.1

// DefaultExplore is the number of points of a space-filling batch in d
// dimensions: 2d, at least 8 and at most 64 — one round on a fleet of
// that many slots.
func DefaultExplore(d int) int { return min(max(8, 2*d), 64) }

// errNoStart ends a search whose space-filling batches left no point far
// enough from the earlier runs to start another from.
var errNoStart = errors.New("every run stalled, and three space-filling batches found no point to start another from that is not near an earlier run's start or end")

// Method runs the method New builds from the best point of a space-filling
// batch (with Explore > 0), and again from other points while runs stall
// (with Restart). The zero Explore and Restart make it one run of New's
// method from the problem's start point.
type Method struct {
	// New builds the method of run k, which reports its progress to
	// progress and starts with the noise estimate noise of run k−1 (nil:
	// none; it estimates its own, see zo.Settings.Noise).
	New func(k int, noise *zo.NoiseEstimate, progress func(zo.Progress)) (zo.Method, error)
	// Explore is the number of points of a Latin hypercube evaluated in
	// the first batch, with the start point; the first run starts at the
	// best of them all. 0: the first run starts at the start point.
	Explore int
	// Restart starts another run when one stalls (zo.StatusStopped with
	// its context alive) or converges on a piecewise-constant objective.
	// A restart's batch, when no explored point is
	// left, has max(Explore, DefaultExplore(d)) points.
	Restart bool
	// Samples is the number of samples each explored point's value is
	// averaged over, as the runs do at their start; default 1.
	Samples int
	// Rand draws the space-filling batches; required with Explore or
	// Restart.
	Rand *rand.Rand
	// Switches, if set, are the problem's categorical coordinates: see
	// Switches.
	Switches Switches
	// Progress, if set, is told of every iteration of every run (numbered
	// on across runs), of each space-filling batch ("explore", the best
	// value of the points not yet started from) and of each restart
	// ("restart", the value it starts from).
	Progress func(zo.Progress)
}

var _ zo.Method = (*Method)(nil)

// Minimize runs the method from the start point chosen, and again while
// runs stall and the budget lasts. The outcome is the run's that decided
// the search (a certificate, the target, a failure) or, when the budget,
// an interrupt, an abort or the lack of start points ended it, the
// lowest run's point with the status of that ending; with the iterations
// and escapes of all the runs and, when there was more than one or a
// space-filling batch chose the start, the record of each in
// Outcome.Runs.
func (m *Method) Minimize(ctx context.Context, o zo.Oracle, p zo.Problem) (*zo.Outcome, error) {
	if m.New == nil {
		return nil, errors.New("multistart: no method")
	}
	if (m.Explore > 0 || m.Restart) && m.Rand == nil {
		return nil, errors.New("multistart: exploring or restarting needs a Rand")
	}
	s := &search{m: m, mem: &memo{next: o, known: map[string]zo.Result{}}, box: p.Box, samples: max(m.Samples, 1)}
	if !bounded(p.Box, len(p.X0)) {
		s.m = &Method{New: m.New, Progress: m.Progress, Samples: m.Samples, Switches: m.Switches} // nowhere to spread points
	}
	return s.minimize(ctx, p.X0)
}

// search is the state of one Minimize.
type search struct {
	m       *Method
	mem     *memo
	box     zo.Box
	samples int
	pool    []candidate // explored points not yet started from, best first
	runs    []zo.RunRecord
	outs    []*zo.Outcome // each run's
	ends    [][]float64   // where each run started and ended
	iters   int           // iterations of the runs before the current one
	escapes []zo.Escape
	noise   float64
	flat    bool
	// tried are the categorical values runs started from or ended at,
	// switches the starts queued for runs (see Switches).
	tried    map[string]bool
	switches [][]float64
}

// candidate is an explored point and its value.
type candidate struct {
	x []float64
	f float64
}

func (s *search) minimize(ctx context.Context, x0 []float64) (*zo.Outcome, error) {
	start, f0 := x0, math.NaN()
	if s.m.Explore > 0 {
		if err := s.explore(ctx, s.m.Explore, x0); err != nil {
			return s.ended(x0, err), nil
		}
		if len(s.pool) > 0 { // else every point failed: the run finds out at x0
			c := s.take()
			start, f0 = c.x, c.f
		}
	}
	for k := 0; ; k++ {
		out, err := s.run(ctx, k, start, f0)
		if err != nil {
			return nil, err
		}
		switch {
		case s.decisive(out) || s.switching() && ctx.Err() == nil && out.Status != zo.StatusBudget:
			if x, ok := s.nextSwitch(out); ok {
				s.report(zo.Progress{Event: "switch", F: math.NaN()})
				start, f0 = x, math.NaN()
				continue
			}
			return s.decided(out), nil
		case ctx.Err() != nil || out.Status == zo.StatusBudget:
			// Cancelled, or out of time or evaluations, in a run.
			return s.outcome(s.lowest(), out.Status, out.Reason), nil
		case !s.m.Restart:
			return s.outcome(s.lowest(), out.Status, ""), nil
		}
		c, err := s.next(ctx)
		if err != nil { // the budget, the target, an abort, no point left to start from
			st, reason := zo.StatusOf(err)
			if errors.Is(err, errNoStart) {
				st = zo.StatusStopped
			}
			return s.outcome(s.lowest(), st, reason), nil
		}
		s.report(zo.Progress{Event: "restart", F: c.f})
		start, f0 = c.x, c.f
	}
}

// decisive reports whether a run that ended with out ends the search
// with its own outcome: a certificate (unless a run found the objective
// piecewise constant, see zo.Outcome.Flat: there a certificate holds for
// f smoothed at the difference step and says little of f), the target
// reached, an objective that kept failing. A stall is followed by
// another run; the budget ends the search with the run that ended lowest.
func (s *search) decisive(out *zo.Outcome) bool {
	switch out.Status {
	case zo.StatusConverged:
		return !s.flat
	case zo.StatusTarget, zo.StatusFailed:
		return true
	}
	return false
}

// lowest is the outcome of the run that ended at the lowest value, the
// earliest of equals; the last run's when none has a value.
func (s *search) lowest() *zo.Outcome {
	best := s.outs[len(s.outs)-1]
	for _, o := range s.outs {
		if o.F < best.F || math.IsNaN(best.F) && !math.IsNaN(o.F) {
			best = o
		}
	}
	for _, o := range s.outs { // the earliest of equal values
		if o.F == best.F {
			return o
		}
	}
	return best
}

// run is run k from start, whose value f0 is known (NaN: not yet).
func (s *search) run(ctx context.Context, k int, start []float64, f0 float64) (*zo.Outcome, error) {
	var noise *zo.NoiseEstimate
	if k > 0 {
		noise = KnownNoise(s.outs[k-1])
	}
	meth, err := s.m.New(k, noise, s.progress)
	if err != nil {
		return nil, err
	}
	sent := s.mem.sent
	out, err := meth.Minimize(ctx, s.mem, zo.Problem{X0: start, Box: s.box})
	if err != nil {
		return nil, err
	}
	rec := zo.RunRecord{Start: finite(f0), Value: finite(out.F), Status: out.Status, Reason: out.Reason, Evaluations: s.mem.sent - sent}
	s.runs = append(s.runs, rec)
	s.outs = append(s.outs, out)
	s.ends = append(s.ends, slices.Clone(start), slices.Clone(out.X))
	for _, e := range out.Escapes {
		e.Iteration += s.iters
		s.escapes = append(s.escapes, e)
	}
	s.iters += out.Iterations
	s.noise = math.Max(s.noise, out.Noise)
	s.flat = s.flat || out.Flat
	return out, nil
}

// progress passes a run's progress on, its iterations numbered on from
// the earlier runs'.
func (s *search) progress(p zo.Progress) {
	p.Iteration += s.iters
	s.report(p)
}

func (s *search) report(p zo.Progress) {
	if s.m.Progress == nil {
		return
	}
	if p.Event == "explore" || p.Event == "restart" || p.Event == "switch" {
		p.Iteration = s.iters
		p.GradNorm, p.Lambda = math.NaN(), math.NaN()
	}
	s.m.Progress(p)
}

// explore evaluates n points of a Latin hypercube, with the extra points
// (the start point), in one batch, and adds those with a value to the
// pool.
func (s *search) explore(ctx context.Context, n int, extra ...[]float64) error {
	pts := append(slices.Clone(extra), LatinHypercube(n, s.box, s.m.Rand)...)
	vals, err := s.mem.values(ctx, pts, s.samples)
	if err != nil {
		return err
	}
	for i, x := range pts {
		if !math.IsInf(vals[i], 0) && !math.IsNaN(vals[i]) {
			s.pool = append(s.pool, candidate{x, vals[i]})
		}
	}
	slices.SortStableFunc(s.pool, func(a, b candidate) int { return cmp.Compare(a.f, b.f) })
	if len(s.pool) > 0 {
		s.report(zo.Progress{Event: "explore", F: s.pool[0].f})
	}
	return nil
}

// take removes the best point of the pool and returns it; the pool must
// not be empty.
func (s *search) take() candidate {
	c := s.pool[0]
	s.pool = s.pool[1:]
	return c
}

// next is the start point of the next run: the best pooled point far
// enough from the earlier runs, exploring another batch when none is.
func (s *search) next(ctx context.Context) (candidate, error) {
	for tries := 0; ; tries++ {
		s.pool = slices.DeleteFunc(s.pool, s.near)
		if len(s.pool) > 0 {
			return s.take(), nil
		}
		if tries == 3 {
			return candidate{}, errNoStart
		}
		if err := s.explore(ctx, max(s.m.Explore, DefaultExplore(len(s.box.Lower)))); err != nil {
			return candidate{}, err
		}
	}
}

// near reports whether c is within Separation of where a run started or
// ended.
func (s *search) near(c candidate) bool {
	return slices.ContainsFunc(s.ends, func(x []float64) bool { return distance(c.x, x, s.box) < Separation })
}

// ended is the outcome of a search that ended in its first batch, at x0,
// for the oracle error err.
func (s *search) ended(x0 []float64, err error) *zo.Outcome {
	st, reason := zo.StatusOf(err)
	return &zo.Outcome{Status: st, Reason: reason, X: slices.Clone(x0), F: math.NaN(), GradNorm: math.NaN(), LambdaMin: math.NaN()}
}

// outcome is the search's outcome: the point and estimates of run, with
// the iterations, escapes and records of all the runs, and the status st.
// end, if not empty, is what ended the search (the budget, the target, an
// abort, no point left to start from) when that is not run's own ending:
// the reason then says it, and which run the point is from.
func (s *search) outcome(run *zo.Outcome, st zo.Status, end string) *zo.Outcome {
	out := *run
	out.Status = st
	out.Iterations = s.iters
	out.Escapes = s.escapes
	out.Noise, out.Flat = s.noise, s.flat
	if len(s.runs) > 1 || s.m.Explore > 0 {
		out.Runs = s.runs
	}
	k, n := slices.Index(s.outs, run)+1, len(s.runs)
	switch {
	case end != "" && (end != run.Reason || st != run.Status):
		out.Reason = fmt.Sprintf("%s; the final point is run %d of %d's, which ended lowest (%s: %s)", end, k, n, run.Status, run.Reason)
	case n > 1:
		out.Reason = fmt.Sprintf("%s (run %d of %d; see runs)", out.Reason, k, n)
	}
	return &out
}

// bounded reports whether box b is bounded on all d coordinates.
func bounded(b zo.Box, d int) bool {
	if b.Lower == nil || b.Upper == nil {
		return false
	}
	for j := range d {
		if math.IsInf(b.Lower[j], 0) || math.IsInf(b.Upper[j], 0) {
			return false
		}
	}
	return true
}

// finite returns &v, or nil for a NaN or infinite v.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// KnownNoise is the noise estimate of the run that ended with prev, for
// the next run to start with (zo.Settings.Noise); nil when there was no
// run before or it found neither noise nor flat stretches, so that the
// next run estimates at its own start.
func KnownNoise(prev *zo.Outcome) *zo.NoiseEstimate {
	if prev == nil || prev.Noise == 0 && !prev.Flat {
		return nil
	}
	return &zo.NoiseEstimate{Level: prev.Noise, Mu: prev.Mu, Flat: prev.Flat}
}
