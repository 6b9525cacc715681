package negcurv_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

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
	narrow := box(4, 0, 2)
	narrow.Upper[3] = 1e-4
	for _, c := range []struct {
		name string
		f    functions.Function
		b    zo.Box
		x, v []float64
		tol  float64
	}{
		{"separable", functions.NewSeparableQuartic(4, 2), box(4, 0, 2), make([]float64, 4), []float64{0.6, -0.8, 0, 0}, 1e-4},
		{"rotated", rq, box(6, 0, 2), make([]float64, 6), mixed, 1e-4},
		{"upper-corner", rq, box(6, -2, 0), make([]float64, 6), mixed, 1e-4},
		{"narrow", functions.NewSeparableQuartic(4, 2), narrow, make([]float64, 4), []float64{0.6, -0.6, 0, math.Sqrt(0.28)}, 1e-3},
	} {
		d := len(c.x)
		var want mat.VecDense
		want.MulVec(hessian(c.f, c.x), mat.NewVecDense(d, c.v))
		for _, central := range []bool{false, true} {
			cnt := &zo.Counter{Oracle: inBoxExact(t, c.f, c.b)}
			h := &negcurv.HVP{Oracle: cnt, Estimator: zo.CoordGE{Mu: 1e-8, Box: c.b}, X: c.x, Samples: []int{0}, R: 2e-3, Central: central}
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

// TestFindersAtCorner: at the corner 0 of [0, 2]⁴, a saddle of the
// separable quartic with curvature −1 along e₁ and e₂ (the free
// coordinates there: the gradient holds x₃ and x₄ at their bound), every
// finder returns a direction whose true curvature is ≤ −δ/2 and whose
// estimate is the true −1, whatever mix of e₁ and e₂ it finds (most mixes
// leave the box both ways, and its probe has to be shifted into the box).
func TestFindersAtCorner(t *testing.T) {
	const delta = 0.1
	f := functions.NewSeparableQuartic(4, 2)
	b := box(4, 0, 2)
	x := make([]float64, 4)
	h := hessian(f, x)
	for _, fd := range finders {
		for _, free := range [][]bool{{true, true, false, false}, nil} {
			for seed := range uint64(10) {
				req := request(t, inBoxExact(t, f, b), b, x, delta, seed)
				req.Free = free
				got, err := fd.new().Find(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if got.Direction == nil {
					t.Fatalf("%s, seed %d, free %v: no direction; estimate %g", fd.name, seed, free, got.Lambda)
				}
				if c := curvature(h, got.Direction); c > -delta/2 {
					t.Errorf("%s, seed %d: direction %v has true curvature %g", fd.name, seed, got.Direction, c)
				}
				if math.Abs(got.Lambda+1) > 0.01 {
					t.Errorf("%s, seed %d: estimate %g, true −1", fd.name, seed, got.Lambda)
				}
			}
		}
	}
}

// probeFlaky answers from an oracle but fails every batch of 2 or 3
// queries (the finders' curvature probes at one sample; every product of
// d = 6 is a batch of 12 or more) while fewer than failures probe batches
// have failed in a row.
type probeFlaky struct {
	zo.Oracle
	failures int
	streak   int // probe batches failed in a row
	sent     int // probe batches sent
}

func (p *probeFlaky) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	if len(batch) != 2 && len(batch) != 3 {
		return p.Oracle.Evaluate(ctx, batch)
	}
	p.sent++
	if p.streak < p.failures {
		p.streak++
		out := make([]zo.Result, len(batch))
		for i := range out {
			out[i].Err = errors.New("simulated probe failure")
		}
		return out, nil
	}
	p.streak = 0
	return p.Oracle.Evaluate(ctx, batch)
}

// TestFindersRetryFailedProbes: at the saddle of the rotated quartic
// (λ_min = −1), a curvature probe that fails twice and then answers
// still confirms a direction; one that always fails is sent 3 times and
// the answer is none with the estimate NaN, never a number that could
// certify the saddle.
func TestFindersRetryFailedProbes(t *testing.T) {
	const delta = 0.1
	q := quartics(6)[1]
	b := box(6, -2, 2)
	h := hessian(q.f, q.saddle)
	for _, fd := range finders {
		for seed := range uint64(5) {
			flaky := &probeFlaky{Oracle: inBoxExact(t, q.f, b), failures: 2}
			got, err := fd.new().Find(context.Background(), request(t, flaky, b, q.saddle, delta, seed))
			if err != nil {
				t.Fatal(err)
			}
			if got.Direction == nil || curvature(h, got.Direction) > -delta/2 || flaky.sent != 3 {
				t.Errorf("%s, seed %d, probe failing twice: direction %v, estimate %g, %d probe sends", fd.name, seed, got.Direction, got.Lambda, flaky.sent)
			}

			dead := &probeFlaky{Oracle: inBoxExact(t, q.f, b), failures: math.MaxInt}
			got, err = fd.new().Find(context.Background(), request(t, dead, b, q.saddle, delta, seed))
			if err != nil {
				t.Fatal(err)
			}
			if got.Direction != nil || !math.IsNaN(got.Lambda) || dead.sent != 3 {
				t.Errorf("%s, seed %d, probe always failing: direction %v, estimate %g after %d probe sends; want none, NaN, 3", fd.name, seed, got.Direction, got.Lambda, dead.sent)
			}
		}
	}
}

// failing answers from inner, but fails the queries fail picks.
type failing struct {
	inner zo.Oracle
	fail  func(q zo.Query) bool
}

func (o *failing) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
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
	b := box(d, -3, 3)
	x, v := make([]float64, d), make([]float64, d)
	for i := range x {
		x[i] = rng.Float64() - 0.5
		v[i] = rng.NormFloat64()
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	const r = 2e-3
	// The same product without failures: the reference, exact to within
	// the forward difference's O(r) error.
	clean := &negcurv.HVP{Oracle: inBoxExact(t, f, b), Estimator: zo.CoordGE{Mu: 1e-8, Box: b}, X: x, Samples: []int{0}, R: r}
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
		o := &failing{inner: inBoxExact(t, f, b), fail: c.fail}
		h := &negcurv.HVP{Oracle: o, Estimator: zo.CoordGE{Mu: 1e-8, Box: b}, X: x, Samples: []int{0}, R: r}
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
