package study

import (
	"context"
	"testing"

	"github.com/zotune/zotune/pareto"
	"github.com/zotune/zotune/wire"
)

// Two objectives: the error f₁ = ‖x − a‖² (minimised) and a score
// −‖x − b‖² (maximised), both in the simulator's JSON answer; the
// Pareto set is the segment [a, b]. The study runs MGDA from a
// population, every run ends Pareto-stationary, and the non-dominated set
// in summary.json reports each objective in the simulator's sign and
// covers the true front: at least 97% of its hypervolume.
func TestSeveralObjectives(t *testing.T) {
	a, b := []float64{0.5, -0.5, 0}, []float64{-0.5, 0.5, 1}
	dist := func(p map[string]float64, c []float64) float64 {
		s := 0.0
		for i, n := range []string{"x1", "x2", "x3"} {
			s += (p[n] - c[i]) * (p[n] - c[i])
		}
		return s
	}
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		e := dist(task.Params, a)
		return wire.Reply{Value: e, Metrics: map[string]float64{"error": e, "score": -dist(task.Params, b)}}
	})
	sc := testStudy("direct", 20000)
	sc.Objectives = []Objective{{Metric: "error", Goal: "min"}, {Metric: "score", Goal: "max"}}
	// A categorical parameter the objectives ignore: the summary must not
	// claim the single-objective certificate for it.
	sc.Params = append(sc.Params, Param{Name: "unused", Type: TypeCategorical, Values: []string{"p", "q"}})
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s) after %d evaluations, %d rounds, %d runs, %d Pareto points: %s", s.Status, s.Algorithm, s.Spent, s.Rounds, len(s.Runs), len(s.Pareto), s.Reason)
	if s.Status != "converged" || s.Algorithm != MethodMGDA || s.Final != nil || s.Best != nil || s.Certificate != nil {
		t.Fatalf("%s with algorithm %s, final %+v, best %+v, certificate %+v; want converged zo-mgda, no final, best or single-objective certificate", s.Status, s.Algorithm, s.Final, s.Best, s.Certificate)
	}
	var pts [][2]float64
	for _, p := range s.Pareto {
		e, sc := p.Values["error"], p.Values["score"]
		if e != dist(p.Params, a) || sc != -dist(p.Params, b) {
			t.Fatalf("pareto point %+v: values not the simulator's", p)
		}
		pts = append(pts, [2]float64{e, -sc})
	}
	// The true front is (s²L², (1 − s)²L²), L² = ‖a − b‖² = 3.
	var truth [][2]float64
	for k := 0; k <= 10000; k++ {
		u := float64(k) / 10000
		truth = append(truth, [2]float64{3 * u * u, 3 * (1 - u) * (1 - u)})
	}
	ref := [2]float64{6, 6}
	if got, want := pareto.Hypervolume2(pts, ref), pareto.Hypervolume2(truth, ref); got < 0.97*want || got > want*(1+1e-9) {
		t.Errorf("hypervolume of the %d Pareto points %.4f, of the true front %.4f: want at least 97%%", len(pts), got, want)
	}
}
