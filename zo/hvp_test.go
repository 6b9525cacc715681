package zo_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

func hessian(f functions.Function, x []float64) *mat.SymDense {
	h := mat.NewSymDense(f.Dim(), nil)
	f.Hess(h, x)
	return h
}

func TestHVPMatchesHessian(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	f := functions.NewRotatedQuartic(12, 2, rng)
	b := zo.Cube(12, -2, 2)
	o := &boxed{tb: t, f: f, box: b}
	x := make([]float64, 12)
	for i := range x {
		x[i] = rng.Float64() - 0.5
	}
	est := zo.CoordGE{Mu: 1e-5, Box: b}
	g, _, err := est.Estimate(context.Background(), o, x, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float64, 12)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	var want mat.VecDense
	want.MulVec(hessian(f, x), mat.NewVecDense(12, v))
	for _, c := range []struct {
		name    string
		central bool
		tol     float64
		queries int
	}{
		{"forward", false, 1e-2, 24}, // O(ρr) error, 2d queries
		{"central", true, 1e-5, 48},  // O(r²) error, 4d queries
	} {
		h := &zo.HVP{Oracle: o, Estimator: est, X: x, G: g, Samples: []int{0}, R: 1e-3, Central: c.central}
		got, err := h.Apply(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-want.AtVec(i)) > c.tol {
				t.Fatalf("%s: Hv[%d] = %g, exact %g", c.name, i, got[i], want.AtVec(i))
			}
		}
		if h.Queries != c.queries {
			t.Fatalf("%s: HVP spent %d queries, want %d", c.name, h.Queries, c.queries)
		}
	}
}

// Without a cached gradient the first product estimates it in the same
// batch, exactly as the estimator does (stencils shifted inward at a
// bound); split into small batches the products are the same.
func TestHVPBaseAndBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	d := 9
	f := functions.NewRotatedQuartic(d, 2, rng)
	b := zo.Cube(d, -1, 1)
	x := make([]float64, d)
	for i := range x {
		x[i] = 0.5*rng.Float64() - 0.25
	}
	x[0] = 1 // on the upper bound
	v := make([]float64, d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	var hv mat.VecDense
	hv.MulVec(hessian(f, x), mat.NewVecDense(d, v))

	o := &boxed{tb: t, f: f, box: b}
	est := zo.CoordGE{Mu: 1e-5, Box: b}
	g, _, _ := est.Estimate(context.Background(), o, x, []int{0})
	cnt := &zo.Counter{Oracle: o}
	h := &zo.HVP{Oracle: cnt, Estimator: est, X: x, Samples: []int{0}, R: 1e-3}
	got, err := h.Apply(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if !floats.Equal(h.G, g) {
		t.Fatalf("base gradient %v, the estimator's %v", h.G, g)
	}
	if !floats.EqualApprox(got, hv.RawVector().Data, 2e-2) {
		t.Fatalf("Hv = %v, exact %v", got, hv.RawVector().Data)
	}
	if h.Queries != 4*d || cnt.Rounds != 1 || cnt.Queries != 4*d {
		t.Fatalf("base and product: %d queries in %d rounds, want %d in 1", h.Queries, cnt.Rounds, 4*d)
	}

	for _, central := range []bool{false, true} {
		one := &zo.HVP{Oracle: o, Estimator: est, X: x, G: g, Samples: []int{0, 1}, R: 1e-3, Central: central}
		want, _ := one.Apply(context.Background(), v)
		cnt := &zo.Counter{Oracle: o}
		split := &zo.HVP{Oracle: cnt, Estimator: est, X: x, G: g, Samples: []int{0, 1}, R: 1e-3, Central: central, MaxBatch: 5}
		for range 2 { // the second product reuses the buffers
			got, err := split.Apply(context.Background(), v)
			if err != nil {
				t.Fatal(err)
			}
			if !floats.Equal(got, want) {
				t.Fatalf("central=%v: in batches of 5: %v, in one: %v", central, got, want)
			}
		}
		if split.Queries != 2*one.Queries {
			t.Fatalf("central=%v: %d queries in batches, %d in one", central, split.Queries, 2*one.Queries)
		}
		if cnt.Rounds < split.Queries/5 {
			t.Fatalf("central=%v: %d rounds for %d queries in batches of ≤ 5", central, cnt.Rounds, split.Queries)
		}
	}
}

// TestHVPAtCorner: at a corner of the box, along a v that leaves the box
// both ways (neither x + Rv nor x − Rv fits), the product is the split
// difference [ĝ(x + Ra) − ĝ(x − Rb)]/R: it matches the exact H v, costs
// two gradient estimates in one batch (4d queries, no base gradient
// needed) and never leaves the box. Where the box is narrower than 2R|vᵢ|
// in a coordinate the split is made at a shorter length, still accurate.
func TestHVPAtCorner(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	rq := functions.NewRotatedQuartic(6, 2, rng)
	mixed := make([]float64, 6) // random, with both signs
	for i := range mixed {
		mixed[i] = (0.5 + rng.Float64()) * float64(1-2*(i%2))
	}
	floats.Scale(1/floats.Norm(mixed, 2), mixed)
	narrow := zo.Cube(4, 0, 2)
	narrow.Upper[3] = 1e-4
	for _, c := range []struct {
		name string
		f    functions.Function
		b    zo.Box
		x, v []float64
		tol  float64
	}{
		{"separable", functions.NewSeparableQuartic(4, 2), zo.Cube(4, 0, 2), make([]float64, 4), []float64{0.6, -0.8, 0, 0}, 1e-4},
		{"rotated", rq, zo.Cube(6, 0, 2), make([]float64, 6), mixed, 1e-4},
		{"upper-corner", rq, zo.Cube(6, -2, 0), make([]float64, 6), mixed, 1e-4},
		{"narrow", functions.NewSeparableQuartic(4, 2), narrow, make([]float64, 4), []float64{0.6, -0.6, 0, math.Sqrt(0.28)}, 1e-3},
	} {
		d := len(c.x)
		var want mat.VecDense
		want.MulVec(hessian(c.f, c.x), mat.NewVecDense(d, c.v))
		for _, central := range []bool{false, true} {
			cnt := &zo.Counter{Oracle: &boxed{tb: t, f: c.f, box: c.b}}
			h := &zo.HVP{Oracle: cnt, Estimator: zo.CoordGE{Mu: 1e-8, Box: c.b}, X: c.x, Samples: []int{0}, R: 2e-3, Central: central}
			got, err := h.Apply(context.Background(), c.v)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !(math.Abs(got[i]-want.AtVec(i)) <= c.tol) {
					t.Fatalf("%s (central %v): Hv[%d] = %g, exact %g", c.name, central, i, got[i], want.AtVec(i))
				}
			}
			if h.Queries != 4*d || cnt.Rounds != 1 || h.G != nil {
				t.Errorf("%s (central %v): %d queries in %d rounds, base gradient estimated: %v; want %d in 1, none", c.name, central, h.Queries, cnt.Rounds, h.G != nil, 4*d)
			}
		}
	}
}

// failWhere answers from inner, but fails the queries fail picks.
type failWhere struct {
	inner zo.Oracle
	fail  func(q zo.Query) bool
}

func (o *failWhere) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	res, err := o.inner.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	for k, q := range batch {
		if o.fail(q) {
			res[k] = zo.Result{Err: errors.New("simulated failure")}
		}
	}
	return res, nil
}

// TestHVPFailedCoordinate: a coordinate whose gradient estimate failed at
// one of a product's points gives 0 in the product instead of the |g_i|/r
// a zeroed estimate would cause; the other coordinates are those of the
// product without failures, and nothing is sent again.
func TestHVPFailedCoordinate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	f := functions.NewRotatedQuartic(6, 2, rng)
	d := f.Dim()
	b := zo.Cube(d, -3, 3)
	x, v := make([]float64, d), make([]float64, d)
	for i := range x {
		x[i] = rng.Float64() - 0.5
		v[i] = rng.NormFloat64()
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	const r = 2e-3
	// The same product without failures: the reference, exact to within
	// the forward difference's O(r) error.
	clean := &zo.HVP{Oracle: &boxed{tb: t, f: f, box: b}, Estimator: zo.CoordGE{Mu: 1e-8, Box: b}, X: x, Samples: []int{0}, R: r}
	ref, err := clean.Apply(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	var exact mat.VecDense
	exact.MulVec(hessian(f, x), mat.NewVecDense(d, v))
	for i := range ref {
		if !(math.Abs(ref[i]-exact.AtVec(i)) <= 2e-3) {
			t.Fatalf("reference Hv[%d] = %g, exact %g", i, ref[i], exact.AtVec(i))
		}
	}
	for _, c := range []struct {
		name    string
		fail    func(q zo.Query) bool
		queries int
		zero    int // the coordinate that must be 0; -1: none
	}{
		{"no failures", func(zo.Query) bool { return false }, 4 * d, -1},
		{"coordinate 0 always fails at x + r v", func(q zo.Query) bool {
			// the stencil of coordinate 0 at y = x + r v: coordinate 1 is
			// y's, coordinate 0 is not
			return q.X[1] == x[1]+r*v[1] && q.X[0] != x[0]+r*v[0]
		}, 4 * d, 0},
	} {
		o := &failWhere{inner: &boxed{tb: t, f: f, box: b}, fail: c.fail}
		h := &zo.HVP{Oracle: o, Estimator: zo.CoordGE{Mu: 1e-8, Box: b}, X: x, Samples: []int{0}, R: r}
		got, err := h.Apply(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			w := ref[i]
			if i == c.zero {
				w = 0
			}
			if got[i] != w {
				t.Errorf("%s: Hv[%d] = %g, want %g", c.name, i, got[i], w)
			}
		}
		if h.Queries != c.queries {
			t.Errorf("%s: %d queries, want %d", c.name, h.Queries, c.queries)
		}
	}
}
