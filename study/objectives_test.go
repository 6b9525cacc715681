package study

import (
	"context"
	"math"
	"testing"

	"github.com/zotune/zotune/wire"
)

// Two objectives: the error f₁ = ‖x − a‖² (minimised) and a score
// −‖x − b‖² (maximised), both in the simulator's JSON answer; the
// Pareto set is the segment [a, b]. The study runs MGDA from a
// population, every run ends Pareto-stationary, and the non-dominated set
// in summary.json lies on the segment, spans it, and reports each
// objective in the simulator's sign.
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
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%s) after %d evaluations, %d rounds, %d runs, %d Pareto points: %s", s.Status, s.Algorithm, s.Spent, s.Rounds, len(s.Runs), len(s.Pareto), s.Reason)
	if s.Status != "converged" || s.Algorithm != MethodMGDA || s.Final != nil || s.Best != nil {
		t.Fatalf("%s with algorithm %s, final %+v, best %+v; want converged zo-mgda, no final or best", s.Status, s.Algorithm, s.Final, s.Best)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var onSegment int
	for _, p := range s.Pareto {
		e, sc := p.Values["error"], p.Values["score"]
		if e != dist(p.Params, a) || sc != -dist(p.Params, b) {
			t.Fatalf("pareto point %+v: values not the simulator's", p)
		}
		// On the segment, √e + √(−score) = ‖a − b‖ = √3.
		if math.Sqrt(e)+math.Sqrt(-sc) < math.Sqrt(3)+1e-3 {
			onSegment++
		}
		lo, hi = math.Min(lo, e), math.Max(hi, e)
	}
	if len(s.Pareto) < 5 || onSegment < len(s.Pareto)*9/10 || hi-lo < 1 {
		t.Errorf("%d Pareto points, %d on the segment, error spanning [%g, %g]: want at least 5, nearly all on it, spanning it", len(s.Pareto), onSegment, lo, hi)
	}
}
