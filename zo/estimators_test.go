package zo_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/floats"

	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// newEstimator builds a named estimator or fails the test.
func newEstimator(tb testing.TB, name string, mu float64, b zo.Box, n int) zo.Estimator {
	tb.Helper()
	e, err := zo.NewEstimator(name, mu, b, n)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestNewEstimator(t *testing.T) {
	b := zo.Cube(3, -1, 1)
	for name, want := range map[string]zo.Estimator{
		"":              zo.CoordGE{Mu: 1e-5, Box: b},
		"coord":         zo.CoordGE{Mu: 1e-5, Box: b},
		"coord-forward": zo.ForwardGE{Mu: 1e-5, Box: b},
		"rand":          zo.RandGE{Mu: 1e-5, Box: b, Directions: 2},
		"gauss":         zo.GaussGE{Mu: 1e-5, Box: b, Directions: 2},
		"randomk":       zo.RandomK{Mu: 1e-5, Box: b, K: 2},
	} {
		got := newEstimator(t, name, 1e-5, b, 2)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("NewEstimator(%q) = %#v, want %#v", name, got, want)
		}
	}
	for _, c := range []struct {
		name string
		mu   float64
		n    int
	}{{"sphere", 1e-5, 0}, {"coord", 0, 0}, {"rand", math.NaN(), 0}, {"gauss", 1e-5, -1}} {
		if _, err := zo.NewEstimator(c.name, c.mu, b, c.n); err == nil {
			t.Errorf("NewEstimator(%q, %g, %d) accepted", c.name, c.mu, c.n)
		}
	}
}

// namedEstimator is an estimator under test.
type namedEstimator struct {
	name string
	est  zo.Estimator
}

// allEstimators returns every named estimator and the central GaussGE, in
// a fixed order.
func allEstimators(tb testing.TB, mu float64, b zo.Box, n int) []namedEstimator {
	tb.Helper()
	var out []namedEstimator
	for _, name := range zo.Estimators {
		out = append(out, namedEstimator{name, newEstimator(tb, name, mu, b, n)})
	}
	return append(out, namedEstimator{"gauss-central", zo.GaussGE{Mu: mu, Box: b, Directions: n, Central: true}})
}

func pick(ests []namedEstimator, name string) zo.Estimator {
	for _, e := range ests {
		if e.name == name {
			return e.est
		}
	}
	panic("no estimator " + name)
}

// TestEstimatorCosts: queries per sample, as in the design notes' table.
func TestEstimatorCosts(t *testing.T) {
	const d, n = 12, 5
	b := zo.Cube(d, -1, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, d)
	ests := allEstimators(t, 1e-5, b, n)
	for name, want := range map[string]int{"coord": 2 * d, "coord-forward": d + 1, "rand": 2 * n, "gauss": n + 1, "gauss-central": 2 * n, "randomk": 2 * n} {
		st := pick(ests, name).Draw(d, rng)
		if got := len(st.Queries(x, []int{0, 1, 2})); got != 3*want {
			t.Errorf("%s: %d queries for 3 samples, want %d", name, got, 3*want)
		}
	}
	// The default number of directions is ⌈d/4⌉.
	st := newEstimator(t, "rand", 1e-5, b, 0).Draw(d, rng)
	if got := len(st.Queries(x, []int{0})); got != 2*3 {
		t.Errorf("rand with default directions: %d queries, want 6", got)
	}
}

// TestDeterministicEstimators compares central and forward CoordGE with
// the exact gradient, inside the box and on its bounds (shifted or
// one-sided stencils).
func TestDeterministicEstimators(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, f := range []functions.Function{
		functions.NewRotatedQuartic(12, 3, rng),
		functions.Rosenbrock{D: 5},
		functions.NewIsotropicQuartic(15, -2, 0.5, rng),
	} {
		d := f.Dim()
		b := zo.Cube(d, -2, 2)
		o := &boxed{tb: t, f: f, box: b}
		// Central: truncation O(ρμ²), shifted stencils O(Lμ); forward: O(Lμ).
		for _, c := range []struct {
			name string
			tol  float64 // relative to max(1, ‖∇f‖∞)
		}{{"coord", 1e-4}, {"coord-forward", 1e-2}} {
			est := newEstimator(t, c.name, 1e-5, b, 0)
			for trial := 0; trial < 5; trial++ {
				x := make([]float64, d)
				for i := range x {
					x[i] = -1.5 + 3*rng.Float64()
				}
				if trial == 4 {
					// On the bounds: the stencils must shift inward (or
					// turn backward) and stay accurate.
					x[0], x[d-1] = -2, 2
				}
				g, failed, err := zo.EstimateWith(context.Background(), o, est.Draw(d, rng), x, []int{0})
				if err != nil || failed != 0 {
					t.Fatal(err, failed)
				}
				want := make([]float64, d)
				f.Grad(want, x)
				tol := c.tol * math.Max(1, floats.Norm(want, math.Inf(1)))
				for i := range g {
					if math.Abs(g[i]-want[i]) > tol {
						t.Fatalf("%s on %T, trial %d, coordinate %d: %g, exact %g", c.name, f, trial, i, g[i], want[i])
					}
				}
			}
		}
	}
}

// TestRandomEstimatorsUnbiased: the average of many independent draws of
// RandGE, GaussGE and RandomK approaches the exact gradient (they are
// unbiased up to the O(μ²) smoothing bias).
func TestRandomEstimatorsUnbiased(t *testing.T) {
	const d, draws = 8, 20000
	rng := rand.New(rand.NewPCG(3, 3))
	f := functions.NewRotatedQuartic(d, 2, rng)
	b := zo.Cube(d, -2, 2)
	o := &boxed{tb: t, f: f, box: b}
	x := make([]float64, d)
	for i := range x {
		x[i] = -1 + 2*rng.Float64()
	}
	want := make([]float64, d)
	f.Grad(want, x)
	ests := allEstimators(t, 1e-5, b, 2)
	for _, name := range []string{"rand", "gauss", "gauss-central", "randomk"} {
		est := pick(ests, name)
		mean := make([]float64, d)
		spread := 0.0 // mean squared deviation of one draw
		for k := 0; k < draws; k++ {
			g, failed, err := zo.EstimateWith(context.Background(), o, est.Draw(d, rng), x, []int{0})
			if err != nil || failed != 0 {
				t.Fatal(err, failed)
			}
			floats.Add(mean, g)
			spread += math.Pow(floats.Distance(g, want, 2), 2) / draws
		}
		floats.Scale(1.0/draws, mean)
		// The mean's error is about √(spread/draws); allow 4 of those
		// (about 5% of ‖∇f‖ here: a bias of that size would show).
		errNorm, bound := floats.Distance(mean, want, 2), 4*math.Sqrt(spread/draws)
		if errNorm > bound {
			t.Errorf("%s: mean of %d draws is %.3g from the gradient (norm %.3g), bound %.3g", name, draws, errNorm, floats.Norm(want, 2), bound)
		}
		if spread == 0 {
			t.Errorf("%s: every draw gave the same estimate", name)
		}
	}
}

// quadratic is ½xᵀAx, on which central differences are exact up to
// round-off, so stencils can be compared exactly.
type quadratic struct{ a [][]float64 }

func (q quadratic) value(x []float64, _ int) float64 {
	s := 0.0
	for i := range x {
		for j := range x {
			s += x[i] * q.a[i][j] * x[j]
		}
	}
	return s / 2
}

// TestStencilCommonRandomNumbers: one Stencil at two points uses the same
// directions and samples, so for a quadratic the difference of the two
// estimates is exactly the estimator applied to A(x − y); and the same
// Stencil at the same point gives the same estimate.
func TestStencilCommonRandomNumbers(t *testing.T) {
	const d = 6
	rng := rand.New(rand.NewPCG(4, 4))
	q := quadratic{a: make([][]float64, d)}
	for i := range q.a {
		q.a[i] = make([]float64, d)
	}
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := rng.NormFloat64()
			q.a[i][j], q.a[j][i] = v, v
		}
	}
	b := zo.Cube(d, -5, 5)
	o := zo.Func(q.value)
	x, y := make([]float64, d), make([]float64, d)
	for i := range x {
		x[i], y[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	dx := make([]float64, d) // x − y
	floats.SubTo(dx, x, y)
	for _, ne := range allEstimators(t, 1e-3, b, 3) {
		name, st := ne.name, ne.est.Draw(d, rng)
		samples := []int{0, 1}
		qx, qy := st.Queries(x, samples), st.Queries(y, samples)
		for i := range qx {
			if qx[i].Sample != qy[i].Sample {
				t.Fatalf("%s: query %d has sample %d at x, %d at y", name, i, qx[i].Sample, qy[i].Sample)
			}
		}
		gx, _, _ := zo.EstimateWith(context.Background(), o, st, x, samples)
		gx2, _, _ := zo.EstimateWith(context.Background(), o, st, x, samples)
		gy, _, _ := zo.EstimateWith(context.Background(), o, st, y, samples)
		if !reflect.DeepEqual(gx, gx2) {
			t.Errorf("%s: the same stencil twice at x gave %v and %v", name, gx, gx2)
		}
		// The estimator is linear in f; for ½xᵀAx, ĝ(x) − ĝ(y) is the
		// estimator of the linear function (A(x−y))ᵀz, which for these
		// stencils is exact along their directions: compare with the
		// stencil applied to that linear function.
		lin := zo.Func(func(z []float64, _ int) float64 {
			s := 0.0
			for i := range z {
				for j := range dx {
					s += z[i] * q.a[i][j] * dx[j]
				}
			}
			return s
		})
		gl, _, _ := zo.EstimateWith(context.Background(), lin, st, x, samples)
		diff := make([]float64, d)
		floats.SubTo(diff, gx, gy)
		if dist := floats.Distance(diff, gl, math.Inf(1)); dist > 1e-6*math.Max(1, floats.Norm(gl, math.Inf(1))) {
			t.Errorf("%s: ĝ(x) − ĝ(y) = %v, stencil on A(x−y) = %v", name, diff, gl)
		}
	}
}

// TestEstimatorsStayInBox: at corners and on faces, with μ large against
// the box and a box narrower than the stencil on one coordinate, no query
// leaves the box and the estimate stays finite.
func TestEstimatorsStayInBox(t *testing.T) {
	const d = 5
	rng := rand.New(rand.NewPCG(5, 5))
	f := functions.NewRotatedQuartic(d, 1, rng)
	b := zo.Cube(d, -1, 1)
	b.Lower[2], b.Upper[2] = 0, 0.1 // narrower than 2μ
	o := &boxed{tb: t, f: f, box: b}
	points := [][]float64{
		{-1, -1, 0, -1, -1},
		{1, 1, 0.1, 1, 1},
		{1, -1, 0.05, 0.5, -0.3},
		{0, 0, 0.1, 0, 0},
	}
	for _, ne := range allEstimators(t, 0.3, b, 4) {
		name, est := ne.name, ne.est
		for _, x := range points {
			for k := 0; k < 20; k++ {
				g, failed, err := zo.EstimateWith(context.Background(), o, est.Draw(d, rng), x, []int{0, 1})
				if err != nil || failed != 0 {
					t.Fatal(err, failed)
				}
				for _, v := range g {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("%s at %v: estimate %v", name, x, g)
					}
				}
			}
		}
	}
}

// TestEstimatorFailures: answers that all failed give failed == d;
// partly failed answers still give an estimate.
func TestEstimatorFailures(t *testing.T) {
	const d = 6
	rng := rand.New(rand.NewPCG(6, 6))
	b := zo.Cube(d, -1, 1)
	x := make([]float64, d)
	for _, ne := range allEstimators(t, 1e-4, b, 3) {
		name, st := ne.name, ne.est.Draw(d, rng)
		qs := st.Queries(x, []int{0, 1})
		all := make([]zo.Result, len(qs))
		for i := range all {
			all[i] = zo.Result{Err: errors.New("down")}
		}
		g := make([]float64, d)
		if failed := st.Gradient(x, []int{0, 1}, all, g); failed != d {
			t.Errorf("%s: everything failed, failed = %d, want %d", name, failed, d)
		}
		// The second sample's answers fail: the first's still count.
		some := make([]zo.Result, len(qs))
		for i := range some {
			some[i] = zo.Result{Value: qs[i].X[0]} // f(x) = x₀
			if i >= len(qs)/2 {
				some[i] = zo.Result{Err: errors.New("down")}
			}
		}
		if failed := st.Gradient(x, []int{0, 1}, some, g); failed == d {
			t.Errorf("%s: half the answers failed, failed = %d", name, failed)
		}
	}
}
