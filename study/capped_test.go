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

	"github.com/zotune/zotune/wire"
)

// A study warns that its finder's certificate is weaker than promised only
// when it is: not for a 2-d study of an isotropic quadratic, where one
// Lanczos step spans an invariant space and λ_min is exact, but for a
// 25-d one of a spread spectrum, where 20 steps are short of the bound.
func TestCappedWarning(t *testing.T) {
	for _, tc := range []struct {
		a    []float64 // Hessian diagonal, parameters in name order
		warn bool
	}{
		{[]float64{1, 1}, false},
		{spreadSpectrum(25), true},
	} {
		quadratic := handler(func(_ context.Context, task *wire.Task) wire.Reply {
			v := 0.0
			for i, k := range slices.Sorted(maps.Keys(task.Params)) {
				x := task.Params[k]
				v += 0.5 * tc.a[i] * x * x
			}
			return wire.Reply{Value: v}
		})
		sc := testStudy("direct", 5000)
		sc.Params = nil
		for i := range tc.a {
			sc.Params = append(sc.Params, Param{Name: fmt.Sprintf("p%02d", i), Min: -2, Max: 2, Scale: "linear"})
		}
		var logs bytes.Buffer
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(quadratic), Logger: zerolog.New(&logs)})
		if err != nil || s.Status != "converged" || s.FinderEstimates == nil {
			t.Fatalf("%d-d: %v, %+v", len(tc.a), err, s)
		}
		warned := strings.Contains(logs.String(), "weaker than promised")
		if warned != tc.warn || s.FinderEstimates.Capped != tc.warn {
			t.Errorf("%d-d: warned %v, capped %v after %d of %d steps; want %v", len(tc.a), warned,
				s.FinderEstimates.Capped, s.FinderEstimates.Iterations, s.FinderEstimates.MaxIterations, tc.warn)
		}
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
