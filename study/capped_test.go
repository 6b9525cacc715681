package study

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/wire"
)

// A study warns that its finder's certificate is weaker than promised only
// when it is. The adaptive Lanczos of curvature "lanczos" runs the steps its
// certificate needs: no warning for a 2-d study of an isotropic quadratic,
// where one step spans an invariant space and λ_min is exact, nor for a
// 25-d one of a spread spectrum, where it runs all 25 steps (with 20 fixed
// steps, as before, that was short of the bound). A finder that reports a
// capped none gets the warning, once.
func TestCappedWarning(t *testing.T) {
	for _, a := range [][]float64{{1, 1}, spreadSpectrum(25)} {
		quadratic := handler(func(_ context.Context, task *wire.Task) wire.Reply {
			v := 0.0
			for i, k := range slices.Sorted(maps.Keys(task.Params)) {
				x := task.Params[k]
				v += 0.5 * a[i] * x * x
			}
			return wire.Reply{Value: v}
		})
		sc := testStudy("direct", 5000)
		sc.Params = nil
		for i := range a {
			sc.Params = append(sc.Params, Param{Name: fmt.Sprintf("p%02d", i), Min: -2, Max: 2, Scale: "linear"})
		}
		var logs bytes.Buffer
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(quadratic), Logger: zerolog.New(&logs)})
		if err != nil || s.Status != "converged" || s.FinderEstimates == nil {
			t.Fatalf("%d-d: %v, %+v", len(a), err, s)
		}
		if strings.Contains(logs.String(), "weaker than promised") || s.FinderEstimates.Capped {
			t.Errorf("%d-d: warned, or capped after %d of %d steps", len(a), s.FinderEstimates.Iterations, s.FinderEstimates.MaxIterations)
		}
	}

	var logs bytes.Buffer
	sc := testStudy("direct", 50)
	r, err := newRun(&sc, RunOptions{DataDir: t.TempDir(), Backend: mem(quartic3), Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r.estimates(negcurv.Estimates{Finder: "power", Capped: true, Lambda: 0.1})
	}
	if n := strings.Count(logs.String(), "weaker than promised"); n != 1 {
		t.Errorf("a capped none warned %d times, want once:\n%s", n, logs.String())
	}
}

// spreadSpectrum is d eigenvalues evenly from 1 to 100.
func spreadSpectrum(d int) []float64 {
	a := make([]float64, d)
	for i := range a {
		a[i] = 1 + 99*float64(i)/float64(d-1)
	}
	return a
}
