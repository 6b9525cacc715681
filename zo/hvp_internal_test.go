package zo

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/zo/functions"
)

// TestRunHVPAtCorner: the baselines' Hessian-vector product at a corner of
// the box, along a v that leaves the box both ways, is the split
// difference: it matches the exact H v of the quartics (separable, and
// rotated so that H is dense), in one batch of 4d queries inside the box.
func TestRunHVPAtCorner(t *testing.T) {
	rq := functions.NewRotatedQuartic(6, 2, rand.New(rand.NewPCG(4, 4)))
	v6 := []float64{0.5, -0.3, 0.4, -0.5, 0.3, -0.4}
	n := math.Sqrt(dot(v6, v6))
	for i := range v6 {
		v6[i] /= n
	}
	for _, c := range []struct {
		name string
		f    functions.Function
		lo   float64
		v    []float64
	}{
		{"separable", functions.NewSeparableQuartic(4, 2), 0, []float64{0.6, -0.8, 0, 0}},
		{"rotated", rq, 0, v6},
		{"rotated-upper", rq, -2, v6}, // x = 0 is the upper corner of [−2, 0]^6
	} {
		d := c.f.Dim()
		b := Box{Lower: make([]float64, d), Upper: make([]float64, d)}
		for i := range b.Lower {
			b.Lower[i], b.Upper[i] = c.lo, c.lo+2
		}
		cnt := &Counter{Oracle: Func(func(x []float64, _ int) float64 {
			if !b.Contains(x) {
				t.Errorf("%s: query outside the box: %v", c.name, x)
			}
			return c.f.Func(x)
		})}
		r, err := newRun(context.Background(), cnt, Problem{X0: make([]float64, d), Box: b}, Settings{Mu: 1e-8}, rand.New(rand.NewPCG(1, 1)), "test")
		if err != nil {
			t.Fatal(err)
		}
		g, _, err := EstimateWith(context.Background(), cnt, r.coord, r.x, r.all)
		if err != nil {
			t.Fatal(err)
		}
		free := make([]bool, d)
		for i := range free {
			free[i] = true
		}
		q0, r0 := cnt.Queries, cnt.Rounds
		w, err := r.hvp(r.x, g, c.v, free, r.all)
		if err != nil {
			t.Fatal(err)
		}
		h := mat.NewSymDense(d, nil)
		c.f.Hess(h, r.x)
		var want mat.VecDense
		want.MulVec(h, mat.NewVecDense(d, c.v))
		for i := range w {
			if !(math.Abs(w[i]-want.AtVec(i)) <= 1e-4) {
				t.Errorf("%s: Hv[%d] = %g, exact %g", c.name, i, w[i], want.AtVec(i))
			}
		}
		if cnt.Queries-q0 != 4*d || cnt.Rounds-r0 != 1 {
			t.Errorf("%s: %d queries in %d rounds, want %d in 1", c.name, cnt.Queries-q0, cnt.Rounds-r0, 4*d)
		}
	}
}
