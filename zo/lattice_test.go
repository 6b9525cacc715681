package zo_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
)

// integers makes the coordinates marked in ints of a box take integer
// values only.
type integers []bool

func (l integers) Discrete(i int) bool                          { return l[i] }
func (integers) Round(_ int, t float64) float64                 { return math.Round(t) }
func (integers) Neighbours(_ int, t float64) (float64, float64) { return t - 1, t + 1 }

// bounded clips a lattice's neighbours to [lo, hi].
type bounded struct {
	integers
	lo, hi float64
}

func (b bounded) Neighbours(i int, t float64) (float64, float64) {
	lo, hi := b.integers.Neighbours(i, t)
	return math.Max(lo, b.lo), math.Min(hi, b.hi)
}

// latticeOracle answers f, fails the test on a query off the lattice, and
// counts the evaluations of each distinct point.
type latticeOracle struct {
	t     *testing.T
	f     func([]float64) float64
	ints  integers
	box   zo.Box
	evals int
}

func (o *latticeOracle) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for k, q := range batch {
		if !o.box.Contains(q.X) {
			o.t.Fatalf("query outside the box: %v", q.X)
		}
		for i, x := range q.X {
			if o.ints[i] && x != math.Round(x) {
				o.t.Fatalf("coordinate %d of a query is not an integer: %v", i, q.X)
			}
		}
		o.evals++
		out[k].Value = o.f(q.X)
	}
	return out, nil
}

// latticeRun minimizes f over box with the coordinates in ints discrete,
// from x0, with zo-gd and the adaptive Lanczos.
func latticeRun(t *testing.T, f func([]float64) float64, ints integers, lo, hi float64, x0 []float64) (*zo.Outcome, *latticeOracle) {
	t.Helper()
	box := zo.Cube(len(x0), lo, hi)
	box.Lattice = bounded{ints, lo, hi}
	o := &latticeOracle{t: t, f: f, ints: ints, box: box}
	m, err := zo.NewMethod(zo.MethodGD, zo.Settings{Epsilon: 1e-4, Delta: 1e-2, EstimateNoise: true}, negcurv.Lanczos{Adaptive: true}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 20000}, zo.Problem{X0: x0, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s at %v, f = %g, %d evaluations: %s", out.Status, out.X, out.F, o.evals, out.Reason)
	return out, o
}

// On a convex quadratic whose continuous minimizer (0.3, 2.7, −1.4, 4.6)
// is not on the lattice, every query is integral and the run converges at
// the integer optimum (0, 3, −1, 5), certified lattice-optimal.
func TestLatticeQuadratic(t *testing.T) {
	c := []float64{0.3, 2.7, -1.4, 4.6}
	w := []float64{1, 3, 0.5, 2}
	f := func(x []float64) float64 {
		s := 0.0
		for i := range x {
			s += w[i] * (x[i] - c[i]) * (x[i] - c[i])
		}
		return s
	}
	out, _ := latticeRun(t, f, integers{true, true, true, true}, -8, 8, []float64{-6, -6, 6, 0})
	if out.Status != zo.StatusConverged || !slices.Equal(out.X, []float64{0, 3, -1, 5}) || !strings.Contains(out.Reason, "lattice-optimal") {
		t.Errorf("%s at %v (%s); want converged at [0 3 -1 5], lattice-optimal", out.Status, out.X, out.Reason)
	}
}

// A saddle on a lattice: f(n, y) = q(n₁) + q(y₁) + (n₂ − 1.3)² + y₂²/2
// with q(a) = −a²/2 + a⁴/16, started at the saddle n = y = 0. The integer
// coordinate n₁ leaves its saddle through a ±1 neighbour (q(±1) < 0), the
// continuous y₁ through the curvature finder; the run ends at n₁ = ±2
// (q(±2) = −1 = the continuous minimum of q), n₂ = 1, y₁ = ±2 and y₂ = 0,
// with the certificate over y and lattice-optimality over n.
func TestLatticeSaddle(t *testing.T) {
	q := func(a float64) float64 { return -a*a/2 + a*a*a*a/16 }
	f := func(x []float64) float64 {
		return q(x[0]) + q(x[2]) + (x[1]-1.3)*(x[1]-1.3) + x[3]*x[3]/2
	}
	out, _ := latticeRun(t, f, integers{true, true, false, false}, -4, 4, []float64{0, 0, 0, 0})
	want := -2 + 0.09
	if out.Status != zo.StatusConverged || math.Abs(out.F-want) > 1e-6 || math.Abs(math.Abs(out.X[0])-2) > 0 || out.X[1] != 1 {
		t.Errorf("%s at %v, f = %g (%s); want converged at n = (±2, 1), f = %g", out.Status, out.X, out.F, out.Reason, want)
	}
	if !strings.Contains(out.Reason, "2 continuous parameters; lattice-optimal") {
		t.Errorf("reason %q does not say the certificate is over the continuous parameters", out.Reason)
	}
}

// An integer coordinate whose spacing is below the difference step, its
// optimum next to a bound: the better neighbour lies towards the bound,
// within μ of it, and the coordinate must not be held there (no query off
// the lattice, the optimum reached).
func TestLatticeNearBound(t *testing.T) {
	f := func(x []float64) float64 { return (x[0]-199.6)*(x[0]-199.6) + (x[1]-0.5)*(x[1]-0.5) }
	box := zo.Box{Lower: []float64{0, -1}, Upper: []float64{200, 1}, Lattice: bounded{integers{true, false}, 0, 200}}
	o := &latticeOracle{t: t, f: f, ints: integers{true, false}, box: box}
	m, err := zo.NewMethod(zo.MethodGD, zo.Settings{Epsilon: 1e-4, Delta: 1e-2, Mu: 2}, negcurv.Lanczos{Adaptive: true}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 20000}, zo.Problem{X0: []float64{199, 0.5}, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != zo.StatusConverged || out.X[0] != 200 {
		t.Errorf("%s at %v (%s); want converged at n = 200", out.Status, out.X, out.Reason)
	}
}
