package negcurv_test

import (
	"context"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// full enables the heavy statistics (d = 200, all seeds at the minima of
// d = 50): go test ./negcurv -negcurv.full, or NEGCURV_FULL=1.
var full = flag.Bool("negcurv.full", false, "run the full finder statistics (d = 200)")

func fullRun() bool { return *full || os.Getenv("NEGCURV_FULL") != "" }

// inBox answers from f and fails the test on any query outside b.
func inBox(tb testing.TB, f functions.Function, b zo.Box) zo.Oracle {
	return inBoxBy(tb, fastEval(f), b)
}

// inBoxExact is inBox with f.Func itself: the same point always gets the
// same value, whatever was asked before.
func inBoxExact(tb testing.TB, f functions.Function, b zo.Box) zo.Oracle {
	return inBoxBy(tb, f.Func, b)
}

func inBoxBy(tb testing.TB, eval func([]float64) float64, b zo.Box) zo.Oracle {
	return zo.Func(func(x []float64, _ int) float64 {
		if !b.Contains(x) {
			tb.Fatalf("query outside the box: %v", x)
		}
		return eval(x)
	})
}

// fastEval returns f.Func, computed in O(d) per query instead of O(d²)
// for the rotated and isotropic quartics, whose values go through a
// matrix-vector product A·x (A = Q, or H). The finders' queries come in
// gradient stencils y ± μeᵢ, which differ from the first query of the
// batch in at most two coordinates; A·x is updated from that base by a
// column or two. The values agree with f.Func to rounding. Not safe for
// concurrent use (each oracle has its own).
func fastEval(f functions.Function) func([]float64) float64 {
	switch f := f.(type) {
	case *functions.RotatedQuartic:
		c := &linCache{a: f.Q}
		return func(x []float64) float64 { return f.Base.Func(c.mul(x)) }
	case *functions.IsotropicQuartic:
		var h mat.Dense
		h.CloneFrom(f.H)
		c := &linCache{a: &h}
		return func(x []float64) float64 {
			hx := c.mul(x)
			xx := floats.Dot(x, x)
			return 0.5*floats.Dot(x, hx) + 0.25*f.Rho*xx*xx
		}
	}
	return f.Func
}

type linCache struct {
	a           *mat.Dense
	base, abase []float64 // a point and A times it
	out         []float64
}

// mul returns A·x (valid until the next call).
func (c *linCache) mul(x []float64) []float64 {
	var diff [2]int
	nd := 0
	if c.base != nil {
		for i := range x {
			if x[i] != c.base[i] {
				if nd == 2 {
					nd = 3
					break
				}
				diff[nd] = i
				nd++
			}
		}
	}
	if c.base == nil || nd > 2 {
		c.base = append(c.base[:0], x...)
		c.abase = append(c.abase[:0], x...)
		mat.NewVecDense(len(x), c.abase).MulVec(c.a, mat.NewVecDense(len(x), c.base))
		nd = 0
	}
	c.out = append(c.out[:0], c.abase...)
	raw := c.a.RawMatrix()
	for _, i := range diff[:nd] {
		dx := x[i] - c.base[i]
		for r := range c.out {
			c.out[r] += dx * raw.Data[r*raw.Stride+i]
		}
	}
	return c.out
}

func hessian(f functions.Function, x []float64) *mat.SymDense {
	h := mat.NewSymDense(f.Dim(), nil)
	f.Hess(h, x)
	return h
}

// curvature is vᵀHv.
func curvature(h *mat.SymDense, v []float64) float64 {
	x := mat.NewVecDense(len(v), v)
	return mat.Inner(x, h, x)
}

// request builds a finder request at x with the exact-enough CoordGE gradient.
func request(tb testing.TB, o zo.Oracle, b zo.Box, x []float64, delta float64, seed uint64) zo.FindRequest {
	tb.Helper()
	est := zo.CoordGE{Mu: 1e-5, Box: b}
	g, _, err := est.Estimate(context.Background(), o, x, []int{0})
	if err != nil {
		tb.Fatal(err)
	}
	res, _ := o.Evaluate(context.Background(), []zo.Query{{X: x}})
	return zo.FindRequest{Oracle: o, X: x, F: res[0].Value, G: g, Estimator: est, Samples: []int{0}, NumSamples: 1, Delta: delta, Rand: rand.New(rand.NewPCG(seed, 9))}
}

// finderCase is a finder of the tests and benchmarks, built afresh for
// each call (a *Dimer keeps state between calls).
type finderCase struct {
	name string
	make func(negcurv.Settings) zo.Finder
}

// new returns the finder with its defaults.
func (fc finderCase) new() zo.Finder { return fc.make(negcurv.Settings{}) }

// reporting returns the finder with its defaults, reporting its estimates
// to report.
func (fc finderCase) reporting(report func(negcurv.Estimates)) zo.Finder {
	return fc.make(negcurv.Settings{Report: report})
}

// finders is the table every finder test and benchmark runs over.
var finders = []finderCase{
	{"online", func(s negcurv.Settings) zo.Finder { return negcurv.Online{Settings: s} }},
	{"deterministic", func(s negcurv.Settings) zo.Finder { return negcurv.Deterministic{Settings: s} }},
	{"dimer", func(s negcurv.Settings) zo.Finder { return &negcurv.Dimer{Settings: s} }},
	{"power", func(s negcurv.Settings) zo.Finder { return negcurv.Power{Settings: s} }},
	{"lanczos", func(s negcurv.Settings) zo.Finder { return negcurv.Lanczos{Settings: s} }},
	{"lanczos-adaptive", func(s negcurv.Settings) zo.Finder { return negcurv.Lanczos{Settings: s, Adaptive: true} }},
}

type quartic struct {
	name            string
	f               functions.Function
	saddle, minimum []float64
}

// quartics returns the three quartic saddles of dimension d: separable
// (λ_min = −1 twice), rotated (−1) and isotropic (−0.5), each with its
// saddle at 0 and a global minimum (λ_min = 1).
func quartics(d int) []quartic {
	rng := rand.New(rand.NewPCG(11, uint64(d)))
	sq := functions.NewSeparableQuartic(d, 2)
	rq := functions.NewRotatedQuartic(d, 1, rng)
	iq := functions.NewIsotropicQuartic(d, -0.5, 1, rng)
	return []quartic{
		{"separable", sq, sq.Start(), sq.Minimizer()},
		{"rotated", rq, rq.Start(), rq.Minimizer()},
		{"isotropic", iq, iq.Start(), iq.Minimizer()},
	}
}

type stats struct {
	runs, found, sound, estimated, none, certified int
	queries                                        int
}

// TestFinderStatistics is the acceptance test of the finders: at the
// quartic saddles, started at the saddle, a direction with true
// vᵀHv ≤ −δ/2 and an estimate within 10% + δ of the true λ_min in ≥ 95
// of 100 seeded runs; at the true minima, none (with an estimate ≥ −δ) in
// ≥ 95 of 100. δ = 0.1, below the gaps (λ_min = −1, −0.5 at the saddles,
// +1 at the minima).
//
// The default run covers d = 10 (100 seeds at saddles and minima) and
// d = 50 (100 seeds at the saddles, 10 at the minima, where the
// power-type finders spend Θ((L/δ) log(d/p)) products each); -negcurv.full
// or NEGCURV_FULL=1 adds all 100 seeds at the d = 50 minima and d = 200,
// and -short keeps d = 10 only.
func TestFinderStatistics(t *testing.T) {
	const delta = 0.1
	dims := []int{10, 50}
	if fullRun() {
		dims = append(dims, 200)
	}
	for _, fd := range finders {
		t.Run(fd.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range dims {
				for _, q := range quartics(d) {
					minSeeds := 100
					if d > 10 && !fullRun() {
						minSeeds = 10
					}
					if d > 10 && testing.Short() {
						continue
					}
					s := finderStats(t, fd.new, q, d, delta, 100, minSeeds)
					t.Logf("d=%d %s: saddle %d/%d found, %d sound, %d estimated; minimum %d/%d none, %d certified; %.0f queries/call",
						d, q.name, s[0].found, s[0].runs, s[0].sound, s[0].estimated, s[1].none, s[1].runs, s[1].certified,
						float64(s[0].queries+s[1].queries)/float64(s[0].runs+s[1].runs))
					if s[0].sound < 95*s[0].runs/100 || s[0].estimated < 95*s[0].runs/100 {
						t.Errorf("d=%d %s saddle: %d/%d sound directions, %d/%d estimates within 10%%+δ; want ≥ 95%%",
							d, q.name, s[0].sound, s[0].runs, s[0].estimated, s[0].runs)
					}
					if s[1].certified < 95*s[1].runs/100 {
						t.Errorf("d=%d %s minimum: %d/%d certified nones; want ≥ 95%%", d, q.name, s[1].certified, s[1].runs)
					}
				}
			}
		})
	}
}

// finderStats runs the finder from the given number of seeds at the
// saddle and at the minimum.
func finderStats(t *testing.T, newFinder func() zo.Finder, q quartic, d int, delta float64, saddleSeeds, minSeeds int) [2]stats {
	b := zo.Cube(d, -2, 2)
	o := inBox(t, q.f, b)
	var out [2]stats
	for k, x := range [][]float64{q.saddle, q.minimum} {
		h := hessian(q.f, x)
		trueMin := functions.Spectrum(h)[0]
		base := request(t, o, b, x, delta, 0)
		seeds := saddleSeeds
		if k == 1 {
			seeds = minSeeds
		}
		s := &out[k]
		for seed := range uint64(seeds) {
			req := base
			req.Rand = rand.New(rand.NewPCG(seed, 9))
			got, err := newFinder().Find(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			s.runs++
			s.queries += got.Queries
			if got.Queries <= 0 {
				t.Errorf("queries not reported")
			}
			if got.Direction == nil {
				s.none++
				// The certificate as a user reads it: none, with λ̂ ≥ −δ
				// and not below the truth by more than δ.
				if got.Lambda >= -delta && got.Lambda >= trueMin-delta {
					s.certified++
				}
				continue
			}
			s.found++
			if n := floats.Norm(got.Direction, 2); math.Abs(n-1) > 1e-9 {
				t.Fatalf("direction of norm %g", n)
			}
			if curvature(h, got.Direction) <= -delta/2 {
				s.sound++
			}
			if math.Abs(got.Lambda-trueMin) <= 0.1*math.Abs(trueMin)+delta {
				s.estimated++
			}
		}
	}
	return out
}

// Near the threshold: with λ_min = −2δ every finder finds a direction
// (of true curvature ≤ −δ/2); with λ_min = −δ/4 no direction can meet
// the contract, and every finder must answer none. The rotated quartic
// with a = (λ_min, 1, …, 1), δ = 0.1, d = 20.
func TestFindersNearTheThreshold(t *testing.T) {
	const (
		d     = 20
		delta = 0.1
		seeds = 20
	)
	for _, lmin := range []float64{-2 * delta, -delta / 4} {
		f := functions.NewRotatedQuartic(d, 1, rand.New(rand.NewPCG(2, 2)))
		f.Base.A[0] = lmin
		b := zo.Cube(d, -2, 2)
		o := inBox(t, f, b)
		h := hessian(f, f.Start())
		for _, fd := range finders {
			good := 0
			for seed := range uint64(seeds) {
				got, err := fd.new().Find(context.Background(), request(t, o, b, f.Start(), delta, seed))
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case got.Direction != nil && curvature(h, got.Direction) > -delta/2:
					t.Errorf("%s, λ_min = %g: a direction of true curvature %g > −δ/2", fd.name, lmin, curvature(h, got.Direction))
				case lmin < -delta && got.Direction != nil:
					good++
				case lmin > -delta && got.Direction == nil && got.Lambda >= -delta:
					good++
				}
			}
			if good < seeds*19/20 {
				t.Errorf("%s, λ_min = %g: %d/%d right answers", fd.name, lmin, good, seeds)
			}
		}
	}
}

// On the noisy quartics (σ = 1e-3, every sample its own smooth noise
// field, common random numbers within a step) Online with fresh samples
// still finds the direction, and (with -negcurv.full) still certifies the
// minima.
func TestOnlineNoisy(t *testing.T) {
	const (
		delta = 0.1
		seeds = 20
	)
	d := 10
	for _, q := range quartics(d) {
		b := zo.Cube(d, -2, 2)
		nf := functions.Noisy{F: q.f, Sigma: 1e-3}
		o := zo.Func(func(x []float64, s int) float64 {
			if !b.Contains(x) {
				t.Fatalf("query outside the box: %v", x)
			}
			return nf.Eval(x, s)
		})
		samples := []int{0, 1, 2, 3}
		est := zo.CoordGE{Mu: 1e-5, Box: b}
		ctx := context.Background()
		for k, x := range [][]float64{q.saddle, q.minimum} {
			if k == 1 && !fullRun() {
				continue
			}
			h := hessian(q.f, x)
			g, _, _ := est.Estimate(ctx, o, x, samples)
			f, _, _ := zo.Values(ctx, o, [][]float64{x}, samples)
			good := 0
			for seed := range uint64(seeds) {
				var e negcurv.Estimates
				req := zo.FindRequest{Oracle: o, X: x, F: f[0], G: g, Estimator: est, Samples: samples,
					NumSamples: 1 << 20, Delta: delta, Rand: rand.New(rand.NewPCG(seed, 3))}
				got, err := negcurv.Online{Settings: negcurv.Settings{Report: func(x negcurv.Estimates) { e = x }}}.Find(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if e.Noise <= 0 {
					t.Errorf("%s: no noise estimate on a stochastic objective", q.name)
				}
				switch {
				case k == 0 && got.Direction != nil && curvature(h, got.Direction) <= -delta/2:
					good++
				case k == 1 && got.Direction == nil && got.Lambda >= -delta:
					good++
				}
			}
			if good < seeds*9/10 {
				t.Errorf("%s (point %d): %d/%d right answers on the noisy objective", q.name, k, good, seeds)
			}
		}
	}
}

// At a point on a face of the box every finder searches the free
// coordinates only and never queries outside (inBox fails the test).
func TestFindersRespectTheBox(t *testing.T) {
	d := 6
	f := functions.NewSeparableQuartic(d, 2) // negative curvature on x1, x2
	b := zo.Cube(d, 0, 2)                    // x1 = 0 is on the lower bound
	o := inBox(t, f, b)
	x := make([]float64, d)
	x[1] = 0 // also on the bound, but free: the gradient pushes inward
	x[2], x[3], x[4], x[5] = 1, 1, 1, 1
	for _, fd := range finders {
		for seed := range uint64(10) {
			req := request(t, o, b, x, 0.1, seed)
			req.Free = []bool{false, true, true, true, true, true}
			got, err := fd.new().Find(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Direction == nil {
				t.Fatalf("%s: no direction; estimate %g", fd.name, got.Lambda)
			}
			if got.Direction[0] != 0 {
				t.Fatalf("%s: moved a fixed coordinate: %v", fd.name, got.Direction)
			}
			if math.Abs(math.Abs(got.Direction[1])-1) > 1e-2 {
				t.Fatalf("%s: direction %v, want ±e2", fd.name, got.Direction)
			}
		}
		// A vertex: nothing free, nothing to find, no query.
		req := request(t, o, b, x, 0.1, 1)
		req.Free = make([]bool, d)
		got, err := fd.new().Find(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got.Direction != nil || got.Queries != 0 {
			t.Fatalf("%s at a vertex: %+v", fd.name, got)
		}
	}
}

// The same seed gives the same answer; the queries add up.
func TestFindersReproducible(t *testing.T) {
	d := 8
	q := quartics(d)[2]
	b := zo.Cube(d, -2, 2)
	for _, fd := range finders {
		var first zo.Curvature
		for i := range 2 {
			cnt := &zo.Counter{Oracle: inBoxExact(t, q.f, b)}
			req := request(t, cnt, b, q.saddle, 0.1, 7)
			before := cnt.Queries
			got, err := fd.new().Find(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Queries != cnt.Queries-before {
				t.Errorf("%s: reported %d queries, oracle saw %d", fd.name, got.Queries, cnt.Queries-before)
			}
			if i == 0 {
				first = got
				continue
			}
			if got.Lambda != first.Lambda || !floats.Equal(got.Direction, first.Direction) || got.Queries != first.Queries {
				t.Errorf("%s: same seed, different answers: %+v then %+v", fd.name, first, got)
			}
		}
	}
}

// The estimates are reported, and L̂ is close to the true largest
// |eigenvalue| (a lower bound within 2×, as the finders need, up to the
// O(ρr) error of forward products).
func TestFindersReportEstimates(t *testing.T) {
	d := 20
	for _, q := range quartics(d) {
		b := zo.Cube(d, -2, 2)
		o := inBox(t, q.f, b)
		for _, x := range [][]float64{q.saddle, q.minimum} {
			spec := functions.Spectrum(hessian(q.f, x))
			trueL := math.Max(-spec[0], spec[len(spec)-1])
			var got []negcurv.Estimates
			rep := func(e negcurv.Estimates) { got = append(got, e) }
			for _, fd := range finders {
				c, err := fd.reporting(rep).Find(context.Background(), request(t, o, b, x, 0.1, 2))
				if err != nil {
					t.Fatal(err)
				}
				e := got[len(got)-1]
				if e.Lambda != c.Lambda || e.Queries != c.Queries || e.Found != (c.Direction != nil) {
					t.Errorf("%s: reported %+v for answer %+v", e.Finder, e, c)
				}
				if !e.LEstimated || e.L > trueL*1.02 || e.L < trueL/2 {
					t.Errorf("%s %s: L̂ = %g, true %g", e.Finder, q.name, e.L, trueL)
				}
				if e.MaxIterations <= 0 || e.Iterations <= 0 {
					t.Errorf("%s: iterations not reported: %+v", e.Finder, e)
				}
				if e.Capped {
					t.Errorf("%s: the default T is capped at d = %d: %+v", e.Finder, d, e)
				}
			}
			if len(got) != len(finders) {
				t.Fatalf("%d reports for %d calls", len(got), len(finders))
			}
		}
	}
	// A given L is used as is.
	var e negcurv.Estimates
	set := negcurv.Settings{Report: func(x negcurv.Estimates) { e = x }}
	q := quartics(5)[0]
	b := zo.Cube(5, -2, 2)
	if _, err := (negcurv.Power{Settings: set, L: 3}).Find(context.Background(), request(t, inBox(t, q.f, b), b, q.saddle, 0.1, 1)); err != nil {
		t.Fatal(err)
	}
	if e.L != 3 || e.LEstimated || e.Step != 1.0/3 {
		t.Errorf("given L = 3: reported %+v", e)
	}
	// Fewer iterations than the certificate needs are reported as such.
	c, err := (negcurv.Power{Settings: set, MaxIter: 3}).Find(context.Background(), request(t, inBox(t, q.f, b), b, q.minimum, 0.1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if c.Direction != nil || !e.Capped || e.MaxIterations != 3 {
		t.Errorf("MaxIter = 3 at a minimum: %+v, reported %+v", c, e)
	}
}

// A *Dimer keeps its direction: a second call at the same saddle starts
// close to the answer and converges in fewer rotations.
func TestDimerWarm(t *testing.T) {
	d := 30
	q := quartics(d)[1]
	b := zo.Cube(d, -2, 2)
	o := inBox(t, q.f, b)
	var e negcurv.Estimates
	dm := &negcurv.Dimer{Settings: negcurv.Settings{Report: func(x negcurv.Estimates) { e = x }}}
	first, err := dm.Find(context.Background(), request(t, o, b, q.saddle, 0.1, 1))
	if err != nil {
		t.Fatal(err)
	}
	cold := e.Iterations
	second, err := dm.Find(context.Background(), request(t, o, b, q.saddle, 0.1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if first.Direction == nil || second.Direction == nil {
		t.Fatal("no direction at the saddle")
	}
	if e.Iterations > cold {
		t.Errorf("warm start took %d rotations, cold %d", e.Iterations, cold)
	}
	if c := math.Abs(floats.Dot(first.Direction, second.Direction)); c < 0.99 {
		t.Errorf("warm direction moved: |cos| = %g", c)
	}
}

// The dimer rotation descends the Rayleigh quotient: with the sign of the
// published code it would climb to the largest curvature instead. A step
// of the rotation from a mixed direction lowers NᵀHN.
func TestDimerRotationSign(t *testing.T) {
	d := 10
	q := quartics(d)[1]
	b := zo.Cube(d, -2, 2)
	o := inBox(t, q.f, b)
	for seed := range uint64(10) {
		got, err := (&negcurv.Dimer{MaxIter: 5, Cold: true}).Find(context.Background(), request(t, o, b, q.saddle, 0.1, seed))
		if err != nil {
			t.Fatal(err)
		}
		// Five rotations from a random start on {−1, +1, …, +1} reach
		// the negative eigenvector only if the sign is right.
		if got.Direction == nil || got.Lambda > -0.5 {
			t.Fatalf("seed %d: after 5 rotations λ̂ = %g, direction %v", seed, got.Lambda, got.Direction != nil)
		}
	}
}

// Every finder refuses a request without a Rand, and the power-type
// finders one with δ = 0; a cancelled context ends the search with the
// context's error.
func TestFindersRefuse(t *testing.T) {
	q := quartics(4)[0]
	b := zo.Cube(4, -2, 2)
	o := inBox(t, q.f, b)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, fd := range finders {
		req := request(t, o, b, q.saddle, 0.1, 1)
		req.Rand = nil
		if _, err := fd.new().Find(context.Background(), req); err == nil {
			t.Errorf("%s: no error without a Rand", fd.name)
		}
		if _, err := fd.new().Find(cancelled, request(t, o, b, q.minimum, 0.1, 1)); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled context, error %v", fd.name, err)
		}
	}
	for _, f := range []zo.Finder{negcurv.Online{}, negcurv.Deterministic{}, &negcurv.Dimer{}, negcurv.Power{}} {
		if _, err := f.Find(context.Background(), request(t, o, b, q.saddle, 0, 1)); err == nil {
			t.Errorf("%T: no error with δ = 0", f)
		}
	}
}
