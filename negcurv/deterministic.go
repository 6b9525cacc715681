package negcurv

import (
	"context"
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/zotune/zotune/zo"
)

// Deterministic is ZO-NCF-Deterministic of "Zeroth-Order Negative
// Curvature Finding: Escaping Saddle Points without Gradients" (Zhang,
// Xiong & Gu, NeurIPS 2022), the zeroth-order form of Neon2-det ("Neon2:
// Finding Local Minima via First-Order Oracles", Allen-Zhu & Li, 2018): a
// Chebyshev-accelerated power method on
//
//	M = (1 − 3δ/(4L))·I − H/L
//
// applied to displacements from x, from a random unit y₀ on the free
// coordinates:
//
//	y₁ = M y₀,   y_{t+1} = 2·M y_t − y_{t−1},
//
// each M y from one zeroth-order Hessian-vector product (see zo.HVP), so that
// y_t = T_t(M) y₀ with T_t the Chebyshev polynomial. Eigenvalues of H in
// [−3δ/4, 2L − 3δ/2] map into [−1, 1], where |T_t| ≤ 1; eigenvalues ≤ −δ
// map above 1 + δ/(4L), where T_t grows like exp(t·√(δ/(2L))). After
//
//	T = ⌈ln(2K√n/p) / arccosh(1 + δ/(4L))⌉,  K = √(8·max(1, L/δ))
//
// iterations (n free coordinates), if λ_min ≤ −δ the iterate's Rayleigh
// quotient is ≤ −7δ/8 with probability 1 − p: Θ(√(L/δ)·log(d/p))
// products of 2d queries each, the Õ(d·√(1/δ)) rate. The iteration stops
// early once a Rayleigh quotient ≤ −δ has a small residual
// (‖Hy − θy‖ ≤ |θ|/10·‖y‖). The final direction is verified by a direct
// second difference of f (2 queries per sample) and returned only if its
// curvature is ≤ −3δ/4; otherwise the answer is none.
//
// The curvature estimate is the probe's value when a direction is
// returned. For a none it is the smallest Ritz value of H on the span of
// the last four iterates (whose products are at hand: a Rayleigh–Ritz
// step that costs no query), or a smaller Rayleigh quotient of an earlier
// iterate: an upper bound of λ_min, looser than Lanczos's, which keeps
// its whole Krylov basis.
//
// L is estimated when not set: the largest |Ritz value| of four Lanczos
// steps from y₀ (the first product is also the iteration's first). The
// paper's M tolerates an underestimate of L by up to 2×: eigenvalues up to
// 2L − 3δ/2 still map into [−1, 1].
//
// Memory is O(d): eleven vectors. The zero value is ready to use.
type Deterministic struct {
	// Settings are those every finder has: P, R, Central, Report.
	Settings
	// L is the gradient Lipschitz constant (largest |eigenvalue| of H);
	// default 0: estimated (see Estimates.L).
	L float64
	// MaxIter is the number of Chebyshev iterations T; default 0: the T
	// above, capped at 10000.
	MaxIter int
}

var _ zo.Finder = Deterministic{}

// Find implements zo.Finder.
func (f Deterministic) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	return find(ctx, req, "deterministic", f.Settings, f.L, (*call).randomUnit, f.iterate)
}

// iterate is the Chebyshev iteration from y0, with hy = H·y0.
func (f Deterministic) iterate(ctx context.Context, c *call, y0, hy []float64, L float64) (zo.Curvature, error) {
	req := c.req
	delta := req.Delta
	p := f.failureProb()
	K := math.Sqrt(8 * math.Max(1, L/delta))
	T := c.iterations(f.MaxIter, math.Log(2*K*math.Sqrt(float64(c.n))/p)/math.Acosh(1+delta/(4*L)))

	a := 1 - 3*delta/(4*L)
	// m returns M y given y and H y.
	m := func(y, hy []float64) []float64 {
		out := make([]float64, len(y))
		for i := range y {
			out[i] = a*y[i] - hy[i]/L
		}
		return out
	}
	prev, y := y0, m(y0, hy)
	maskFree(y, req.Free)
	thetaMin, _ := rayleigh(y0, hy)
	last := &window{size: 4}
	last.push(y0, hy)
	c.est.Iterations = 1
	earlyExit := true
	for t := 1; t < T && floats.Norm(y, 2) > 0; t++ {
		hy, err := c.product(ctx, c.h, y)
		if err != nil {
			return zo.Curvature{}, err
		}
		c.est.Iterations++
		theta, res := rayleigh(y, hy)
		thetaMin = math.Min(thetaMin, theta)
		last.push(y, hy)
		if earlyExit && converged(theta, res, delta) {
			ans, final, _, err := c.check(ctx, unit(y), thetaMin)
			if err != nil || final {
				return ans, err
			}
			earlyExit = false // the probe disagrees: run the full T
		}
		next := m(y, hy)
		for i := range next {
			next[i] = 2*next[i] - prev[i]
		}
		maskFree(next, req.Free)
		// Rescale both iterates alike: the recurrence is linear, and
		// T_t(M) y₀ grows exponentially along negative curvature.
		s := 1 / floats.Norm(next, 2)
		floats.Scale(s, y)
		floats.Scale(s, next)
		prev, y = y, next
	}
	thetaMin = math.Min(thetaMin, last.smallest())
	if floats.Norm(y, 2) == 0 {
		return c.done(nil, thetaMin), nil
	}
	return c.conclude(ctx, unit(y), thetaMin, thetaMin)
}
