package study

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/zotune/zotune/wire"
)

// twoBasins is piecewise constant (steps of 1/200) on [−2, 2]³, with a
// shallow basin at the centre (floor 0.3) and the global one at
// (1.4, −1.2, 0.8) (floor 0): a cross-validation error has this shape.
func twoBasins(p map[string]float64) float64 {
	x := []float64{p["x1"], p["x2"], p["x3"]}
	var near, far float64
	for i, c := range []float64{1.4, -1.2, 0.8} {
		near += x[i] * x[i]
		far += (x[i] - c) * (x[i] - c)
	}
	return math.Floor(200*math.Min(0.3+near/4, far/2)) / 200
}

// A study without init on a piecewise-constant objective explores, runs
// again while the budget lasts, finds the global basin and ends "budget"
// (not "converged" on a plateau, which would not resume); without either
// it ends in the basin it starts in. The same seed gives the same
// runs, and a study stopped half way and resumed with the rest of its
// budget ends as the uninterrupted one, replaying what it had.
func TestExploreAndRestarts(t *testing.T) {
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply { return wire.Reply{Value: twoBasins(task.Params)} })
	newSpec := func(budget int) Spec {
		sc := testStudy("durable", budget)
		for i := range sc.Params {
			sc.Params[i].Init = nil
		}
		return sc
	}
	run := func(sc Spec, dir string) *Summary {
		t.Helper()
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: mem(h)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	single := newSpec(400)
	single.Explore, single.Restarts = ptrInt(0), false
	if s := run(single, t.TempDir()); s.Best.Value < 0.3 || len(s.Runs) != 0 {
		t.Errorf("one run from the centre: best %g, runs %+v; want the shallow basin (0.3), one run", s.Best.Value, s.Runs)
	}

	full := run(newSpec(400), t.TempDir())
	t.Logf("%s after %d evaluations: best %g, %d runs (%s)", full.Status, full.Spent, full.Best.Value, len(full.Runs), full.Reason)
	if full.Explored != 8 || len(full.Runs) < 2 || full.Best.Value > 0.01 || full.Spent > 400 {
		t.Fatalf("explored %d, %d runs, best %g, spent %d: want 8 explored, restarts, the global basin", full.Explored, len(full.Runs), full.Best.Value, full.Spent)
	}
	if full.Status != "budget" {
		t.Errorf("status %s: want budget, which a larger budget resumes", full.Status)
	}
	again := run(newSpec(400), t.TempDir())
	if !reflect.DeepEqual(again.Runs, full.Runs) || !reflect.DeepEqual(again.Best, full.Best) {
		t.Errorf("same seed, other runs: %+v, best %+v; first %+v, best %+v", again.Runs, again.Best, full.Runs, full.Best)
	}

	// Half the budget, then the rest: the same study carried further.
	m := mem(h)
	dir := t.TempDir()
	half := newSpec(200)
	if _, err := Run(context.Background(), &half, RunOptions{DataDir: dir, Backend: m}); err != nil {
		t.Fatal(err)
	}
	rest := newSpec(400)
	resumed, err := Run(context.Background(), &rest, RunOptions{DataDir: dir, Backend: m})
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Replayed == 0 || !reflect.DeepEqual(resumed.Runs, full.Runs) || !reflect.DeepEqual(resumed.Final, full.Final) {
		t.Errorf("resumed: replayed %d, runs %+v, final %+v; want the uninterrupted runs %+v, final %+v", resumed.Replayed, resumed.Runs, resumed.Final, full.Runs, full.Final)
	}
}
