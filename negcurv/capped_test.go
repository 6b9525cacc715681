package negcurv_test

import (
	"context"
	"math"
	"testing"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
)

// quadratic is ½·Σ aᵢxᵢ², whose Hessian is diag(a).
func quadratic(a []float64) zo.Func {
	return func(x []float64, _ int) float64 {
		v := 0.0
		for i, ai := range a {
			v += 0.5 * ai * x[i] * x[i]
		}
		return v
	}
}

// TestLanczosCappedOnlyWhenWeakened: Lanczos reports Capped (and a study
// then warns that its none is weaker than promised) only when its steps
// fall short of the certificate's bound. A Krylov space that spans the
// free space, or stops growing sooner (an invariant subspace, whose Ritz
// values are exact eigenvalues), certifies λ_min whatever the bound says;
// 20 steps on 60 spread eigenvalues do not.
func TestLanczosCappedOnlyWhenWeakened(t *testing.T) {
	const delta = 0.01
	spread := func(d int) []float64 {
		a := make([]float64, d)
		for i := range a {
			a[i] = 1 + 99*float64(i)/float64(d-1)
		}
		return a
	}
	cases := []struct {
		name   string
		a      []float64
		lambda float64 // the true λ_min
		capped bool
	}{
		{"2-d, H = 2I: one step spans an invariant space", []float64{2, 2}, 2, false},
		{"2-d, H = 0: the first product vanishes", []float64{0, 0}, 0, false},
		{"2-d, H = diag(1, 100): two steps span the space", []float64{1, 100}, 1, false},
		{"10-d, H = 3I", []float64{3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, 3, false},
		{"10-d, spread spectrum: ten steps span the space", spread(10), 1, false},
		{"60-d, spread spectrum: 20 steps, short of the bound", spread(60), 1, true},
	}
	for _, tc := range cases {
		for _, adaptive := range []bool{false, true} {
			d := len(tc.a)
			if adaptive && tc.capped {
				continue // adaptive runs to the bound: never capped here
			}
			b := zo.Cube(d, -2, 2)
			var e negcurv.Estimates
			l := negcurv.Lanczos{Settings: negcurv.Settings{Report: func(x negcurv.Estimates) { e = x }}, Adaptive: adaptive}
			c, err := l.Find(context.Background(), request(t, quadratic(tc.a), b, make([]float64, d), delta, 3))
			if err != nil {
				t.Fatal(err)
			}
			if c.Direction != nil || e.Capped != tc.capped {
				t.Errorf("%s (adaptive %v): direction %v, capped %v after %d of %d steps; want none, capped %v",
					tc.name, adaptive, c.Direction, e.Capped, e.Iterations, e.MaxIterations, tc.capped)
			}
			if !tc.capped && math.Abs(c.Lambda-tc.lambda) > 1e-3*math.Max(1, tc.lambda) {
				t.Errorf("%s (adaptive %v): λ̂ = %g, true λ_min %g", tc.name, adaptive, c.Lambda, tc.lambda)
			}
		}
	}
}
