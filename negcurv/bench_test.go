package negcurv_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// benchCase is a point of the separable quartic f = ½Σaᵢxᵢ² + ¼Σxᵢ⁴
// (evaluated in O(d)) whose positive curvatures a₂…a_d are spread evenly
// over (0, 1] (aᵢ = (i−1)/(d−1)), so that, as in the worst case of the
// rates, some are close to 0:
//
//   - saddle: a₁ = −1 at x = 0, λ_min = −1 ≫ δ: finding is easy;
//   - weak: a₁ = −2δ at x = 0, λ_min = −2δ: finding takes the iterations
//     the 1/δ rates count;
//   - minimum: a₁ = −1 at its minimum x = e₁, λ_min = 1/(d−1): the none,
//     the certificate, costs the full T.
func benchCase(name string, d int, delta float64) (*functions.SeparableQuartic, []float64) {
	f := functions.NewSeparableQuartic(d, 1)
	for i := 1; i < d; i++ {
		f.A[i] = float64(i) / float64(d-1)
	}
	switch name {
	case "weak":
		f.A[0] = -2 * delta
		return f, f.Start()
	case "minimum":
		return f, f.Minimizer()
	}
	return f, f.Start()
}

// BenchmarkFinders reports the queries per call (queries/op) of every
// finder with its defaults, by dimension d, tolerance δ and case (see
// benchCase), with the iteration count T that certifies a none (T/op),
// the estimated L (L/op) and the fraction of calls that found a direction
// (found/op). Results are in docs/benchmarks.md; run with -benchtime 1x.
func BenchmarkFinders(b *testing.B) {
	for _, fd := range finders {
		for _, c := range []string{"saddle", "weak", "minimum"} {
			for _, d := range []int{10, 100, 1000} {
				for _, delta := range []float64{0.1, 0.01} {
					b.Run(fmt.Sprintf("%s/%s/d=%d/delta=%g", fd.name, c, d, delta), func(b *testing.B) {
						f, x := benchCase(c, d, delta)
						bx := zo.Cube(d, -2, 2)
						o := zo.Func(func(x []float64, _ int) float64 { return f.Func(x) })
						base := request(b, o, bx, x, delta, 0)
						var e negcurv.Estimates
						finder := fd.reporting(func(x negcurv.Estimates) { e = x })
						benchFinds(b, "L/op", func(i int) (zo.Curvature, negcurv.Estimates, float64) {
							req := base
							req.Rand = rand.New(rand.NewPCG(uint64(i), 9))
							if fd.name == "dimer" {
								finder = fd.reporting(func(x negcurv.Estimates) { e = x }) // cold
							}
							got, err := finder.Find(context.Background(), req)
							if err != nil {
								b.Fatal(err)
							}
							return got, e, e.L
						})
					})
				}
			}
		}
	}
}

// benchFinds times b.N finder calls, find(i) making call i and returning
// its answer, its estimates and one more figure, and reports per call the
// queries (queries/op), the fraction that found a direction (found/op),
// the iteration count T (T/op) and the mean of that figure (as unit).
func benchFinds(b *testing.B, unit string, find func(i int) (zo.Curvature, negcurv.Estimates, float64)) {
	queries, found, T, sum := 0, 0, 0, 0.0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, e, v := find(i)
		queries += got.Queries
		if got.Direction != nil {
			found++
		}
		T += e.MaxIterations
		sum += v
	}
	n := float64(b.N)
	b.ReportMetric(float64(queries)/n, "queries/op")
	b.ReportMetric(float64(found)/n, "found/op")
	b.ReportMetric(float64(T)/n, "T/op")
	b.ReportMetric(sum/n, unit)
}

// BenchmarkOnlineStochastic reports Online's queries per call on a
// stochastic objective, where its step is bounded by the noise of the
// single-sample products: the noisy separable quartic at its minimum (the
// none), σ = 0.4/√d so that the spread ν of a product stays about the
// same across d (measured: nu/op), and fresh samples at every step.
func BenchmarkOnlineStochastic(b *testing.B) {
	for _, d := range []int{10, 30} {
		for _, delta := range []float64{0.2, 0.1, 0.05} {
			b.Run(fmt.Sprintf("d=%d/delta=%g", d, delta), func(b *testing.B) {
				f := functions.NewSeparableQuartic(d, 1)
				x := f.Minimizer()
				nf := functions.Noisy{F: f, Sigma: 0.4 / math.Sqrt(float64(d))}
				o := zo.Func(nf.Eval)
				bx := zo.Cube(d, -2, 2)
				samples := []int{0, 1, 2, 3}
				est := zo.CoordGE{Mu: 1e-5, Box: bx}
				ctx := context.Background()
				g, _, _ := est.Estimate(ctx, o, x, samples)
				fx, _, _ := zo.Values(ctx, o, [][]float64{x}, samples)
				var e negcurv.Estimates
				finder := negcurv.Online{Settings: negcurv.Settings{Report: func(x negcurv.Estimates) { e = x }}}
				benchFinds(b, "nu/op", func(i int) (zo.Curvature, negcurv.Estimates, float64) {
					req := zo.FindRequest{Oracle: o, X: x, F: fx[0], G: g, Estimator: est, Samples: samples,
						NumSamples: 1 << 30, Delta: delta, Rand: rand.New(rand.NewPCG(uint64(i), 9))}
					got, err := finder.Find(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					return got, e, e.Noise
				})
			})
		}
	}
}

// BenchmarkFinderMemory runs one call of every finder at d = 100,000 on
// the separable quartic's saddle, with two iterations (L given where the
// finder estimates it, so that the call is two products of 2d queries):
// bytes/op is what a call allocates — a d×d matrix would be 80 GB. The
// gradient batches are split (zo.HVP.MaxBatch's default keeps a batch's
// points under 64 MiB). Expect minutes: each product is 2·10⁵ queries of
// an O(d) function.
func BenchmarkFinderMemory(b *testing.B) {
	const d = 100_000
	f := functions.NewSeparableQuartic(d, 1)
	x := f.Start()
	bx := zo.Cube(d, -2, 2)
	g := make([]float64, d)
	f.Grad(g, x) // exact: CoordGE's single batch of 2d points would not fit
	o := zo.Func(func(x []float64, _ int) float64 { return f.Func(x) })
	for _, c := range []struct {
		name   string
		finder zo.Finder
	}{
		{"online", negcurv.Online{L: 1, MaxIter: 2}},
		{"deterministic", negcurv.Deterministic{L: 1, MaxIter: 2}},
		{"dimer", &negcurv.Dimer{L: 1, MaxIter: 2}},
		{"power", negcurv.Power{L: 1, MaxIter: 2}},
		{"lanczos", negcurv.Lanczos{MaxIter: 2}},
	} {
		b.Run(c.name+"/d=100000", func(b *testing.B) {
			b.ReportAllocs()
			queries := 0
			for i := 0; i < b.N; i++ {
				req := zo.FindRequest{Oracle: o, X: x, F: f.Func(x), G: g, Estimator: zo.CoordGE{Mu: 1e-5, Box: bx},
					Samples: []int{0}, NumSamples: 1, Delta: 0.1, Rand: rand.New(rand.NewPCG(uint64(i), 9))}
				got, err := c.finder.Find(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				queries += got.Queries
			}
			b.ReportMetric(float64(queries)/float64(b.N), "queries/op")
		})
	}
}
