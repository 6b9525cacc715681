package zo

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/zo/functions"
)

// failCoordinate fails, in every batch, the stencil pairs of coordinate k:
// two consecutive queries that differ in coordinate k alone.
type failCoordinate struct {
	inner  Oracle
	k      int
	failed int // queries failed
}

func (o *failCoordinate) Evaluate(ctx context.Context, batch []Query) ([]Result, error) {
	res, err := o.inner.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(batch); i += 2 {
		a, b := batch[i].X, batch[i+1].X
		pair := a[o.k] != b[o.k]
		for j := range a {
			if j != o.k && a[j] != b[j] {
				pair = false
			}
		}
		if pair {
			res[i] = Result{Err: errors.New("simulated failure")}
			res[i+1] = res[i]
			o.failed += 2
		}
	}
	return res, nil
}

// TestEstimateLFailedCoordinate: the baselines' L̂ (the largest ‖Hv‖ of a
// power iteration on Hessian-vector products) is an estimate of the
// largest |eigenvalue| of the Hessian even when one coordinate's gradient
// estimate fails at every product's point: that coordinate is unknown in
// the product, not the |gₖ|/h that differencing a zeroed estimate gives,
// which would make L̂ of order |gₖ|/h.
func TestEstimateLFailedCoordinate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	f := functions.NewRotatedQuartic(6, 2, rng)
	d := f.Dim()
	b := Cube(d, -3, 3)
	x := make([]float64, d)
	for i := range x {
		x[i] = rng.Float64() - 0.5
	}
	h := mat.NewSymDense(d, nil)
	f.Hess(h, x)
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		t.Fatal("no eigendecomposition")
	}
	ev := eig.Values(nil)
	lmax := math.Max(math.Abs(ev[0]), math.Abs(ev[d-1]))
	exact := Func(func(x []float64, _ int) float64 {
		if !b.Contains(x) {
			t.Fatalf("query outside the box: %v", x)
		}
		return f.Func(x)
	})
	for k := range d {
		r, err := newRun(context.Background(), exact, Problem{X0: x, Box: b}, Settings{}, rand.New(rand.NewPCG(1, 1)), "test")
		if err != nil {
			t.Fatal(err)
		}
		g, _, err := EstimateWith(context.Background(), exact, r.coord, r.x, r.all)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(g[k])/(DefaultProbe*r.scale) < 10*lmax {
			t.Fatalf("coordinate %d: |g| = %g is too small for the test", k, math.Abs(g[k]))
		}
		free := make([]bool, d)
		for i := range free {
			free[i] = true
		}
		o := &failCoordinate{inner: exact, k: k}
		r.o = o
		l, _, err := r.estimateL(r.x, g, free, r.all)
		if err != nil {
			t.Fatal(err)
		}
		if o.failed == 0 {
			t.Fatalf("coordinate %d: no query failed", k)
		}
		// A power iteration estimates the largest |eigenvalue| from below;
		// the forward differences add O(ρh).
		if !(l <= 1.01*lmax && l >= 0.5*lmax) {
			t.Errorf("coordinate %d failing: L̂ = %g, largest |eigenvalue| %g", k, l, lmax)
		}
	}
}
