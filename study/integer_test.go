package study

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/zotune/zotune/wire"
)

// A study with integer parameters (one on a log scale) and a continuous
// one, on a convex objective whose continuous minimizer (3.4, −1.6, 37.3,
// 0.25) is off the integers: it ends at the integer optimum (3, −2, 37)
// with y at 0.25, converged and lattice-optimal in the integers; the
// simulator gets integers only and never the same point twice.
func TestIntegerParams(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var offLattice []string
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		p := task.Params
		mu.Lock()
		k := fmt.Sprintf("%v|%v|%v|%v|%d", p["n1"], p["n2"], p["n3"], p["y"], task.Seed)
		seen[k]++
		for _, n := range []string{"n1", "n2", "n3"} {
			if p[n] != math.Round(p[n]) {
				offLattice = append(offLattice, k)
			}
		}
		mu.Unlock()
		l := math.Log(p["n3"]) - math.Log(37.3)
		return wire.Reply{Value: 2*(p["n1"]-3.4)*(p["n1"]-3.4) + (p["n2"]+1.6)*(p["n2"]+1.6) + l*l + (p["y"]-0.25)*(p["y"]-0.25)}
	})
	sc := DefaultSpec()
	sc.Name, sc.Objective, sc.Dispatch, sc.MaxEvaluations = "ints", "q", "direct", 3000
	sc.Params = []Param{
		{Name: "n1", Min: 0, Max: 10, Scale: "linear", Type: TypeInt},
		{Name: "n2", Min: -5, Max: 5, Scale: "linear", Type: TypeInt, Init: ptr(4)},
		{Name: "n3", Min: 1, Max: 1000, Scale: "log", Type: TypeInt},
		{Name: "y", Min: -1, Max: 1, Scale: "linear"},
	}
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %d evaluations (%d explored): %v; %s", s.Status, s.Spent, s.Explored, s.Final, s.Reason)
	f := s.Final.Params
	if s.Status != "converged" || f["n1"] != 3 || f["n2"] != -2 || f["n3"] != 37 || math.Abs(f["y"]-0.25) > 1e-3 {
		t.Errorf("%s at %v; want converged at n = (3, -2, 37), y = 0.25", s.Status, f)
	}
	want := &Certificate{Continuous: []string{"y"}, Lattice: []string{"n1", "n2", "n3"}}
	if !reflect.DeepEqual(s.Certificate, want) {
		t.Errorf("certificate %+v, want %+v", s.Certificate, want)
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("point %s evaluated %d times", k, n)
		}
	}
	if len(offLattice) > 0 {
		t.Errorf("%d queries off the integers, e.g. %s", len(offLattice), offLattice[0])
	}
	if len(seen) != s.Spent {
		t.Errorf("%d distinct points, %d evaluations spent", len(seen), s.Spent)
	}
}
