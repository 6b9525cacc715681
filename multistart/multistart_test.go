package multistart

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zotune/zotune/zo"
)

// fake is a method that records where each run started, evaluates its
// start point over samples (as every method does first) and ends with the
// next of its outcomes.
type fake struct {
	starts   [][]float64
	outcomes []zo.Outcome
	samples  int
}

func (f *fake) New(k int, _ *zo.NoiseEstimate, progress func(zo.Progress)) (zo.Method, error) {
	return fakeRun{f: f, k: k, progress: progress}, nil
}

type fakeRun struct {
	f        *fake
	k        int
	progress func(zo.Progress)
}

func (r fakeRun) Minimize(ctx context.Context, o zo.Oracle, p zo.Problem) (*zo.Outcome, error) {
	r.f.starts = append(r.f.starts, slices.Clone(p.X0))
	samples := make([]int, max(r.f.samples, 1))
	for i := range samples {
		samples[i] = i
	}
	vals, _, err := zo.Values(ctx, o, [][]float64{p.X0}, samples)
	if err != nil {
		st, reason := zo.StatusOf(err)
		return &zo.Outcome{Status: st, Reason: reason, X: p.X0, F: math.NaN()}, nil
	}
	out := r.f.outcomes[min(r.k, len(r.f.outcomes)-1)]
	out.X, out.F = slices.Clone(p.X0), vals[0]
	r.progress(zo.Progress{Iteration: out.Iterations, Event: "step", F: vals[0]})
	return &out, nil
}

// sphere is ‖x − c‖² over samples that add sample/1000.
func sphere(c []float64) zo.Func {
	return func(x []float64, sample int) float64 {
		s := float64(sample) / 1000
		for i := range x {
			s += (x[i] - c[i]) * (x[i] - c[i])
		}
		return s
	}
}

func TestLatinHypercube(t *testing.T) {
	box := zo.Box{Lower: []float64{0, -2, 10}, Upper: []float64{1, 2, 11}}
	pts := LatinHypercube(7, box, rand.New(rand.NewPCG(1, 2)))
	if len(pts) != 7 {
		t.Fatalf("%d points, want 7", len(pts))
	}
	for j := range 3 {
		seen := make([]bool, 7)
		w := (box.Upper[j] - box.Lower[j]) / 7
		for _, x := range pts {
			s := int((x[j] - box.Lower[j]) / w)
			if s < 0 || s >= 7 || seen[s] {
				t.Fatalf("coordinate %d: stratum %d out of range or taken twice: %v", j, s, pts)
			}
			seen[s] = true
		}
	}
	again := LatinHypercube(7, box, rand.New(rand.NewPCG(1, 2)))
	if !slices.EqualFunc(pts, again, slices.Equal) {
		t.Error("the same seed drew another design")
	}
}

// TestExploreStartsAtBest: the first run starts at the best of the start
// point and the explored points, and its first query there, over every
// sample, is answered from what the batch found: nothing is evaluated
// twice.
func TestExploreStartsAtBest(t *testing.T) {
	c := []float64{0.8, 0.15, 0.6}
	counter := &zo.Counter{Oracle: sphere(c)}
	f := &fake{outcomes: []zo.Outcome{{Status: zo.StatusConverged}}, samples: 3}
	m := &Method{New: f.New, Explore: 12, Samples: 3, Rand: rand.New(rand.NewPCG(3, 4))}
	x0 := []float64{0.5, 0.5, 0.5}
	out, err := m.Minimize(context.Background(), counter, zo.Problem{X0: x0, Box: zo.UnitBox(3)})
	if err != nil {
		t.Fatal(err)
	}
	if counter.Queries != 13*3 || counter.Rounds != 1 {
		t.Fatalf("%d queries in %d rounds, want 39 in 1: the start point was evaluated again", counter.Queries, counter.Rounds)
	}
	design := LatinHypercube(12, zo.UnitBox(3), rand.New(rand.NewPCG(3, 4)))
	best := x0
	for _, x := range design {
		if sphere(c)(x, 0) < sphere(c)(best, 0) {
			best = x
		}
	}
	if !slices.Equal(f.starts[0], best) {
		t.Errorf("started at %v, want the best explored point %v", f.starts[0], best)
	}
	if len(out.Runs) != 1 || out.Runs[0].Start == nil || *out.Runs[0].Start != out.F {
		t.Errorf("runs %+v: want one, starting from the explored value %g", out.Runs, out.F)
	}
}

// TestRestartAfterStall: stalled runs are followed by runs from other
// explored points, each at least Separation from where earlier runs
// started and ended; a converged run ends the search, with the
// iterations and escapes of every run, numbered on.
func TestRestartAfterStall(t *testing.T) {
	stalled := zo.Outcome{Status: zo.StatusStopped, Reason: "line search found no decrease", Iterations: 5,
		Escapes: []zo.Escape{{Iteration: 2}}}
	f := &fake{outcomes: []zo.Outcome{stalled, stalled, {Status: zo.StatusConverged, Iterations: 4}}}
	var events []zo.Progress
	m := &Method{New: f.New, Explore: 8, Restart: true, Rand: rand.New(rand.NewPCG(5, 6)),
		Progress: func(p zo.Progress) { events = append(events, p) }}
	out, err := m.Minimize(context.Background(), sphere([]float64{0.3, 0.7}), zo.Problem{X0: []float64{0.5, 0.5}, Box: zo.UnitBox(2)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != zo.StatusConverged || len(f.starts) != 3 || len(out.Runs) != 3 {
		t.Fatalf("status %s after %d runs (%d recorded), want converged after 3", out.Status, len(f.starts), len(out.Runs))
	}
	for k := 1; k < 3; k++ {
		for i := range k {
			if dist := distance(f.starts[k], f.starts[i], zo.UnitBox(2)); dist < Separation {
				t.Errorf("run %d starts %.3g from run %d's start", k, dist, i)
			}
		}
	}
	if out.Iterations != 14 || len(out.Escapes) != 2 || out.Escapes[1].Iteration != 7 {
		t.Errorf("iterations %d, escapes %+v: want 14, at iterations 2 and 7", out.Iterations, out.Escapes)
	}
	var restarts []int
	for _, e := range events {
		if e.Event == "restart" {
			restarts = append(restarts, e.Iteration)
		}
	}
	if !slices.Equal(restarts, []int{5, 10}) {
		t.Errorf("restarts reported at iterations %v, want [5 10]", restarts)
	}
}

// TestWhatEndsTheSearch: the budget, a failure, the target and a
// certificate end it; a stall and a certificate on a piecewise-constant
// objective do not while there is budget; without Restart nothing
// follows a stall.
func TestWhatEndsTheSearch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		out     zo.Outcome
		restart bool
		runs    int
		last    zo.Status
	}{
		{"converged", zo.Outcome{Status: zo.StatusConverged}, true, 1, zo.StatusConverged},
		{"budget", zo.Outcome{Status: zo.StatusBudget}, true, 1, zo.StatusBudget},
		{"failed", zo.Outcome{Status: zo.StatusFailed}, true, 1, zo.StatusFailed},
		{"target", zo.Outcome{Status: zo.StatusTarget}, true, 1, zo.StatusTarget},
		// Each explored point at least Separation from the earlier runs'
		// starts is started from, free; the next batch exceeds the budget,
		// and the search ends "budget" at the run that ended lowest.
		{"stalled", zo.Outcome{Status: zo.StatusStopped}, true, 0, zo.StatusBudget},
		{"converged on a plateau", zo.Outcome{Status: zo.StatusConverged, Flat: true}, true, 0, zo.StatusBudget},
		{"stalled, no restarts", zo.Outcome{Status: zo.StatusStopped}, false, 1, zo.StatusStopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{outcomes: []zo.Outcome{tc.out}}
			budget := &zo.Budget{Oracle: sphere([]float64{0.5}), Max: 11} // explore 8 + 3 more starts
			m := &Method{New: f.New, Explore: 8, Restart: tc.restart, Rand: rand.New(rand.NewPCG(1, 1))}
			out, err := m.Minimize(context.Background(), budget, zo.Problem{X0: []float64{0.5}, Box: zo.UnitBox(1)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.runs == 0 {
				tc.runs = far(append([][]float64{{0.5}}, LatinHypercube(8, zo.UnitBox(1), rand.New(rand.NewPCG(1, 1)))...))
			}
			if len(f.starts) != tc.runs || out.Status != tc.last {
				t.Errorf("%d runs ending %s (%s), want %d ending %s", len(f.starts), out.Status, out.Reason, tc.runs, tc.last)
			}
		})
	}
}

// TestRestartWithoutExplore: a study with a start point of its own runs
// from it first, and a stall brings in a space-filling batch to restart
// from.
func TestRestartWithoutExplore(t *testing.T) {
	f := &fake{outcomes: []zo.Outcome{{Status: zo.StatusStopped}, {Status: zo.StatusConverged}}}
	counter := &zo.Counter{Oracle: sphere([]float64{0.1, 0.1, 0.1})}
	m := &Method{New: f.New, Restart: true, Rand: rand.New(rand.NewPCG(1, 1))}
	x0 := []float64{0.9, 0.9, 0.9}
	out, err := m.Minimize(context.Background(), counter, zo.Problem{X0: x0, Box: zo.UnitBox(3)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.starts[0], x0) || len(f.starts) != 2 {
		t.Fatalf("starts %v: want x0, then one restart", f.starts)
	}
	if want := 1 + DefaultExplore(3); counter.Queries != want {
		t.Errorf("%d queries, want %d: x0 and one batch, the restart's start answered from it", counter.Queries, want)
	}
	if out.Runs[0].Start != nil || out.Runs[1].Start == nil {
		t.Errorf("runs %+v: the first start's value is not known before it runs, the second's is", out.Runs)
	}
}

// TestUnboundedBox: with nowhere to spread points, a search is one run
// from the start point.
func TestUnboundedBox(t *testing.T) {
	f := &fake{outcomes: []zo.Outcome{{Status: zo.StatusStopped}}}
	m := &Method{New: f.New, Explore: 8, Restart: true, Rand: rand.New(rand.NewPCG(1, 1))}
	if _, err := m.Minimize(context.Background(), sphere([]float64{0, 0}), zo.Problem{X0: []float64{1, 1}}); err != nil {
		t.Fatal(err)
	}
	if len(f.starts) != 1 || !slices.Equal(f.starts[0], []float64{1, 1}) {
		t.Errorf("starts %v, want one run from [1 1]", f.starts)
	}
}

// far counts the points of pts, best first by sphere(0.5), that are at
// least Separation from every earlier one taken.
func far(pts [][]float64) int {
	f := sphere([]float64{0.5})
	slices.SortStableFunc(pts, func(a, b []float64) int { return cmp.Compare(f(a, 0), f(b, 0)) })
	var taken [][]float64
	for _, x := range pts {
		if !slices.ContainsFunc(taken, func(y []float64) bool { return distance(x, y, zo.UnitBox(1)) < Separation }) {
			taken = append(taken, x)
		}
	}
	return len(taken)
}

// steps is a piecewise-constant objective on [0, 1]², values in steps of
// 1/200, with two basins: a shallow one at a (its floor 0.3) that a
// descent from the centre falls into, and the global one at b (floor 0).
func steps(x []float64, _ int) float64 {
	a, b := []float64{0.4, 0.45}, []float64{0.85, 0.1}
	d2 := func(c []float64) float64 { return (x[0]-c[0])*(x[0]-c[0]) + (x[1]-c[1])*(x[1]-c[1]) }
	q := math.Min(0.3+4*d2(a), 8*d2(b))
	return math.Floor(200*q) / 200
}

// TestStepObjective: on a piecewise-constant objective, one run of zo-gd
// with its noise estimate ends in the shallow basin it starts above; the
// same budget with restarts from a space-filling batch ends in the global
// one.
func TestStepObjective(t *testing.T) {
	newGD := func(k int, noise *zo.NoiseEstimate, progress func(zo.Progress)) (zo.Method, error) {
		return &zo.GD{Settings: zo.Settings{EstimateNoise: true, Noise: noise, Progress: progress}}, nil
	}
	p := zo.Problem{X0: []float64{0.5, 0.5}, Box: zo.UnitBox(2)}
	for _, tc := range []struct {
		name string
		m    *Method
		lo   float64 // best value within [lo, hi]
		hi   float64
	}{
		{"one run", &Method{New: newGD}, 0.3, 0.31},
		{"restarts", &Method{New: newGD, Explore: 8, Restart: true, Rand: rand.New(rand.NewPCG(1, 2))}, 0, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			best := math.Inf(1)
			o := zo.Func(func(x []float64, s int) float64 {
				v := steps(x, s)
				best = math.Min(best, v)
				return v
			})
			out, err := tc.m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 400}, p)
			if err != nil {
				t.Fatal(err)
			}
			if best < tc.lo || best > tc.hi {
				t.Errorf("best %g, want it in [%g, %g] (%s: %s; runs %d)", best, tc.lo, tc.hi, out.Status, out.Reason, len(out.Runs))
			}
		})
	}
}

// failAfter answers the first n queries from next and fails every batch
// after them with err.
type failAfter struct {
	next zo.Oracle
	n    int
	err  error
}

func (f *failAfter) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	if f.n < len(batch) {
		return nil, f.err
	}
	f.n -= len(batch)
	return f.next.Evaluate(ctx, batch)
}

// TestEndingsBetweenRuns: what ends the search while it looks for the
// next start point sets the status (the target, an abort, the time
// budget), and the final point is the lowest run's.
func TestEndingsBetweenRuns(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want zo.Status
	}{
		{zo.ErrTarget, zo.StatusTarget},
		{errors.New("aborted on a failed evaluation"), zo.StatusFailed},
		{context.DeadlineExceeded, zo.StatusBudget},
		{zo.ErrBudget, zo.StatusBudget},
	} {
		f := &fake{outcomes: []zo.Outcome{{Status: zo.StatusStopped}}}
		o := &failAfter{next: sphere([]float64{0.3}), n: 9, err: tc.err} // the first batch
		m := &Method{New: f.New, Explore: 8, Restart: true, Rand: rand.New(rand.NewPCG(1, 1))}
		out, err := m.Minimize(context.Background(), o, zo.Problem{X0: []float64{0.5}, Box: zo.UnitBox(1)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != tc.want || len(f.starts) < 2 || !slices.Equal(out.X, f.starts[0]) {
			t.Errorf("%v: %s at %v after %d runs (%s); want %s at the first run's point %v", tc.err, out.Status, out.X, len(f.starts), out.Reason, tc.want, f.starts[0])
		}
	}
}

// TestBudgetInARun: the budget (or the time) that ends a run ends the
// search with the point of the run that ended lowest, not the last one.
func TestBudgetInARun(t *testing.T) {
	f := &fake{outcomes: []zo.Outcome{{Status: zo.StatusStopped}, {Status: zo.StatusBudget, Reason: "time budget exhausted"}}}
	m := &Method{New: f.New, Explore: 8, Restart: true, Rand: rand.New(rand.NewPCG(1, 1))}
	out, err := m.Minimize(context.Background(), sphere([]float64{0.3}), zo.Problem{X0: []float64{0.5}, Box: zo.UnitBox(1)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != zo.StatusBudget || len(f.starts) != 2 || !slices.Equal(out.X, f.starts[0]) {
		t.Errorf("%s at %v after %d runs (%s); want budget at the first run's point %v", out.Status, out.X, len(f.starts), out.Reason, f.starts[0])
	}
}
