package negcurv

import (
	"context"
	"math"

	"github.com/zotune/zotune/zo"
)

// Power is the plain power method on I − H/L, the baseline finder: the
// finite-difference power iteration of random search with curvature
// ("On the Second-order Convergence Properties of Random Search Methods",
// Lucchi, Orvieto & Solomou, NeurIPS 2021, RSPI). From a random unit y₀ on
// the free coordinates,
//
//	y ← normalise(y − H y / L)
//
// with H y a zeroth-order Hessian-vector product (see zo.HVP). Eigenvalues in
// [0, 2L] map into [−1, 1]; an eigenvalue ≤ −δ maps above 1 + δ/L, so its
// component grows by (1 + δ/L) per step against the rest. After
//
//	T = ⌈ln A / ln(1 + δ/L)⌉,  A = (16n/p²)·max(1, L/δ)
//
// steps (n free coordinates) the Rayleigh quotient is ≤ −3δ/4 with
// probability 1 − p when λ_min ≤ −δ: Θ((L/δ)·log(d/p)) products, the
// unaccelerated rate. It stops early once a Rayleigh quotient ≤ −δ has a
// small residual (‖Hy − θy‖ ≤ |θ|/10). The direction is verified by a
// direct second difference of f (2 queries per sample) and returned only
// if its curvature is ≤ −3δ/4; otherwise the answer is none, with the
// smallest Rayleigh quotient seen as the estimate (the last one, the
// iteration converging to λ_min).
//
// L is estimated when not set, as for Deterministic; the iteration
// tolerates an underestimate by up to 2×.
//
// Memory is O(d). The zero value is ready to use.
type Power struct {
	// Settings are those every finder has: P, R, Central, Report.
	Settings
	// L is the gradient Lipschitz constant; default 0: estimated.
	L float64
	// MaxIter is the number of steps T; default 0: the T above, capped at
	// 10000.
	MaxIter int
}

var _ zo.Finder = Power{}

// Find implements zo.Finder.
func (f Power) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	return find(ctx, req, "power", f.Settings, f.L, (*call).randomUnit, f.iterate)
}

// iterate is the power method from y, with hy0 = H·y.
func (f Power) iterate(ctx context.Context, c *call, y, hy0 []float64, L float64) (zo.Curvature, error) {
	delta := c.req.Delta
	p := f.failureProb()
	c.est.Step = 1 / L
	T := c.iterations(f.MaxIter, growthSteps(amplification(c.n, p, L, delta), delta/L))
	thetaMin := math.Inf(1)
	earlyExit := true
	for t := 0; t < T; t++ {
		hy, err := c.stepProduct(ctx, t, y, hy0)
		if err != nil {
			return zo.Curvature{}, err
		}
		c.est.Iterations++
		theta, res := rayleigh(y, hy)
		thetaMin = math.Min(thetaMin, theta)
		if earlyExit && converged(theta, res, delta) {
			ans, final, _, err := c.check(ctx, y, thetaMin)
			if err != nil || final {
				return ans, err
			}
			earlyExit = false // the probe disagrees: run the full T
		}
		next := make([]float64, len(y))
		for i := range y {
			next[i] = y[i] - hy[i]/L
		}
		if !unitFree(next, c.req.Free) {
			break
		}
		y = next
	}
	return c.conclude(ctx, y, thetaMin, thetaMin)
}
