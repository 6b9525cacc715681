package negcurv_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

func box(d int, lo, hi float64) zo.Box {
	l, h := make([]float64, d), make([]float64, d)
	for i := range l {
		l[i], h[i] = lo, hi
	}
	return zo.Box{Lower: l, Upper: h}
}

// inBox answers from f and fails the test on any query outside b.
func inBox(tb testing.TB, f functions.Function, b zo.Box) zo.Oracle {
	return zo.Func(func(x []float64, _ int) float64 {
		if !b.Contains(x) {
			tb.Fatalf("query outside the box: %v", x)
		}
		return f.Func(x)
	})
}

func hessian(f functions.Function, x []float64) *mat.SymDense {
	h := mat.NewSymDense(f.Dim(), nil)
	f.Hess(h, x)
	return h
}

// request builds a finder request at x with the exact-enough CoordGE gradient.
func request(t *testing.T, o zo.Oracle, b zo.Box, x []float64, delta float64, seed uint64) zo.FindRequest {
	t.Helper()
	est := zo.CoordGE{Mu: 1e-5, Box: b}
	g, _, err := est.Estimate(context.Background(), o, x, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := o.Evaluate(context.Background(), []zo.Query{{X: x}})
	return zo.FindRequest{Oracle: o, X: x, F: res[0].Value, G: g, Estimator: est, Samples: []int{0}, NumSamples: 1, Delta: delta, Rand: rand.New(rand.NewPCG(seed, 9))}
}

func TestHVPMatchesHessian(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	f := functions.NewRotatedQuartic(12, 2, rng)
	b := box(12, -2, 2)
	o := inBox(t, f, b)
	x := make([]float64, 12)
	for i := range x {
		x[i] = rng.Float64() - 0.5
	}
	req := request(t, o, b, x, 0.1, 1)
	h := &negcurv.HVP{Oracle: o, Estimator: req.Estimator, X: x, G: req.G, Samples: []int{0}, R: 1e-3}
	v := make([]float64, 12)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	got, err := h.Apply(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	var want mat.VecDense
	want.MulVec(hessian(f, x), mat.NewVecDense(12, v))
	for i := range got {
		if math.Abs(got[i]-want.AtVec(i)) > 1e-2 {
			t.Fatalf("Hv[%d] = %g, exact %g", i, got[i], want.AtVec(i))
		}
	}
	if h.Queries != 24 {
		t.Fatalf("HVP spent %d queries, want 2d = 24", h.Queries)
	}
}

// At the saddle of each quartic the finder returns a direction of true
// curvature ≤ −δ/2 with an estimate close to the true λ_min; at a minimum
// it returns none. Issue-level statistics (100 seeds, d up to 200) are in
// the package benchmarks; this runs a few seeds per problem.
func TestLanczosAtSaddlesAndMinima(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	type tc struct {
		name    string
		f       functions.Function
		saddle  []float64
		minimum []float64
	}
	var cases []tc
	for _, d := range []int{10, 50} {
		sq := functions.NewSeparableQuartic(d, 2)
		rq := functions.NewRotatedQuartic(d, 1, rng)
		iq := functions.NewIsotropicQuartic(d, -0.5, 1, rng)
		cases = append(cases,
			tc{"separable", sq, make([]float64, d), sq.Minimizer()},
			tc{"rotated", rq, make([]float64, d), rq.Minimizer()},
			tc{"isotropic", iq, make([]float64, d), iq.Minimizer()},
		)
	}
	const delta = 0.1
	for _, c := range cases {
		d := c.f.Dim()
		b := box(d, -2, 2)
		o := inBox(t, c.f, b)
		trueMin := functions.Spectrum(hessian(c.f, c.saddle))[0]
		for seed := uint64(0); seed < 5; seed++ {
			got, err := negcurv.Lanczos{}.Find(context.Background(), request(t, o, b, c.saddle, delta, seed))
			if err != nil {
				t.Fatal(err)
			}
			if got.Direction == nil {
				t.Fatalf("%s d=%d seed %d: no direction at a saddle with λ_min = %g (estimate %g)", c.name, d, seed, trueMin, got.Lambda)
			}
			var hv mat.VecDense
			hv.MulVec(hessian(c.f, c.saddle), mat.NewVecDense(d, got.Direction))
			if curv := floats.Dot(got.Direction, hv.RawVector().Data); curv > -delta/2 {
				t.Errorf("%s d=%d: true curvature along v is %g > −δ/2", c.name, d, curv)
			}
			if math.Abs(got.Lambda-trueMin) > 0.1*math.Abs(trueMin)+delta {
				t.Errorf("%s d=%d: estimate %g, true λ_min %g", c.name, d, got.Lambda, trueMin)
			}
			if got.Queries <= 0 {
				t.Errorf("queries not reported")
			}
			at, err := negcurv.Lanczos{}.Find(context.Background(), request(t, o, b, c.minimum, delta, seed))
			if err != nil {
				t.Fatal(err)
			}
			if at.Direction != nil {
				t.Errorf("%s d=%d: direction at a minimum (estimate %g)", c.name, d, at.Lambda)
			}
			if trueAt := functions.Spectrum(hessian(c.f, c.minimum))[0]; at.Lambda < trueAt-delta {
				t.Errorf("%s d=%d: estimate %g below true λ_min %g at the minimum", c.name, d, at.Lambda, trueAt)
			}
		}
	}
}

// At a point on a face of the box the search is restricted to the free
// coordinates and never queries outside.
func TestLanczosRespectsTheBox(t *testing.T) {
	d := 6
	f := functions.NewSeparableQuartic(d, 2) // negative curvature on x1, x2
	b := box(d, 0, 2)                        // x1 = 0 is on the lower bound
	o := inBox(t, f, b)
	x := make([]float64, d)
	x[1] = 0 // also on the bound
	x[2], x[3], x[4], x[5] = 1, 1, 1, 1
	req := request(t, o, b, x, 0.1, 1)
	req.Free = []bool{false, true, true, true, true, true}
	got, err := negcurv.Lanczos{}.Find(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Direction == nil {
		t.Fatalf("no direction; estimate %g", got.Lambda)
	}
	if got.Direction[0] != 0 {
		t.Fatalf("moved a fixed coordinate: %v", got.Direction)
	}
	if math.Abs(math.Abs(got.Direction[1])-1) > 1e-3 {
		t.Fatalf("direction %v, want ±e2", got.Direction)
	}
}
