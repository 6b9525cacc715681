package study

import (
	"context"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/zotune/zotune/wire"
)

// A categorical parameter whose best value changes the continuous
// optimum: "adam" is best at lr = 1e-3, y = 0.2 (value 0.3), "lamb" at
// 1e-2, 0 (0.1), "sgd" at 0.1, −0.5 (0). The study starts at adam's
// optimum, where neither other value is better; the runs from each single
// change re-optimize lr and y for it, and the study ends at sgd's optimum,
// converged, with the certificate naming opt as categorical. The
// simulator computes from the label it gets (never the index).
func TestCategoricalParams(t *testing.T) {
	type optimum struct{ lg, y, off float64 }
	opts := map[string]optimum{"adam": {-3, 0.2, 0.3}, "sgd": {-1, -0.5, 0}, "lamb": {-2, 0, 0.1}}
	var mu sync.Mutex
	var bad []string
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		o, ok := opts[task.Labels["opt"]]
		if !ok || task.V != wire.VersionVector {
			mu.Lock()
			bad = append(bad, task.Trial)
			mu.Unlock()
			return wire.Reply{Error: "no such optimizer", Reason: wire.ReasonExit}
		}
		l := math.Log10(task.Params["lr"]) - o.lg
		y := task.Params["y"] - o.y
		return wire.Reply{Value: l*l + y*y + o.off}
	})
	sc := DefaultSpec()
	sc.Name, sc.Objective, sc.Dispatch, sc.MaxEvaluations = "cat", "q", "direct", 5000
	sc.Params = []Param{
		{Name: "opt", Type: TypeCategorical, Values: []string{"adam", "sgd", "lamb"}},
		{Name: "lr", Min: 1e-4, Max: 1, Scale: "log", Init: ptr(1e-3)},
		{Name: "y", Min: -1, Max: 1, Scale: "linear", Init: ptr(0.2)},
	}
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %d evaluations, %d runs: %+v; %s", s.Status, s.Spent, len(s.Runs), s.Final, s.Reason)
	if len(bad) > 0 {
		t.Fatalf("trials %v came without a known label", bad)
	}
	f := s.Final
	if s.Status != "converged" || f.Labels["opt"] != "sgd" || f.Params["opt"] != 1 || math.Abs(f.Params["lr"]-0.1) > 1e-3 || math.Abs(f.Params["y"]+0.5) > 1e-3 {
		t.Errorf("%s at %+v; want converged at opt = sgd, lr = 0.1, y = -0.5", s.Status, f)
	}
	if s.Best == nil || s.Best.Labels["opt"] != "sgd" {
		t.Errorf("best %+v: want opt = sgd", s.Best)
	}
	want := &Certificate{Continuous: []string{"lr", "y"}, Lattice: []string{}, Categorical: []string{"opt"}}
	if !reflect.DeepEqual(s.Certificate, want) {
		t.Errorf("certificate %+v, want %+v", s.Certificate, want)
	}
}

// A categorical value the simulator cannot run (every evaluation with it
// fails) does not fail the study: its run from the converged point fails,
// and the study ends at the lowest converged run.
func TestCategoricalValueThatFails(t *testing.T) {
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		if task.Labels["opt"] == "broken" {
			return wire.Reply{Error: "unknown optimizer", Reason: wire.ReasonExit}
		}
		x := task.Params["x"] - 0.3
		return wire.Reply{Value: x * x}
	})
	sc := DefaultSpec()
	sc.Name, sc.Objective, sc.Dispatch, sc.MaxEvaluations = "cat", "q", "direct", 2000
	sc.Params = []Param{
		{Name: "opt", Type: TypeCategorical, Values: []string{"adam", "broken"}},
		{Name: "x", Min: -1, Max: 1, Scale: "linear", Init: ptr(0)},
	}
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "converged" || s.Final == nil || s.Final.Labels["opt"] != "adam" || math.Abs(s.Final.Params["x"]-0.3) > 1e-3 {
		t.Errorf("%s at %+v (%s); want converged at adam, x = 0.3", s.Status, s.Final, s.Reason)
	}
}
