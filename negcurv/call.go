package negcurv

import (
	"context"
	"errors"
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/zotune/zotune/zo"
)

// What the finders share during one call: its state, its answers, the
// estimate of L and the iteration counts that theory asks for, and the
// verification of a direction by a probe; for the power-type finders, the
// whole course of a call (find).

// maxIterCap caps the default iteration counts derived from theory.
const maxIterCap = 10000

// lIters is the number of Lanczos steps that estimate L.
const lIters = 4

// call is the state of one Find: the request, the products at its point,
// the queries spent and the estimates, which are reported when done,
// vertex, unprobed or unverified gives the answer. start begins it (for
// Lanczos, newCall).
type call struct {
	req    zo.FindRequest
	d, n   int     // dimension, free coordinates
	r      float64 // probe length, absolute
	h      *zo.HVP // products of the Hessian of f averaged over req.Samples
	extra  int     // queries spent outside h
	spread float64 // θ_max − θ_min of the Lanczos steps that estimated L; 0 if L was given
	est    Estimates
	report func(Estimates)
}

// start begins a call of the finder called name with settings s: the
// products at s's probe length, central or forward, and the estimates for
// s.Report.
func start(req zo.FindRequest, name string, s Settings) (*call, error) {
	if req.Rand == nil {
		return nil, errors.New("negcurv: " + name + " needs a Rand")
	}
	if !(req.Delta > 0) {
		return nil, errors.New("negcurv: " + name + " needs delta > 0")
	}
	return newCall(req, name, s), nil
}

// newCall is start without the checks of the request.
func newCall(req zo.FindRequest, name string, s Settings) *call {
	d := len(req.X)
	r := s.probeLength(req.Estimator)
	return &call{
		req: req, d: d, n: countFree(req.Free, d), r: r, report: s.Report,
		h:   &zo.HVP{Oracle: req.Oracle, Estimator: req.Estimator, X: req.X, G: req.G, Samples: req.Samples, R: r, Central: s.Central},
		est: Estimates{Finder: name},
	}
}

// iteration is the iteration of a power-type finder in a call (see find),
// from the unit start y0 with H·y0 = hy0 and the L to use.
type iteration func(ctx context.Context, c *call, y0, hy0 []float64, L float64) (zo.Curvature, error)

// find is one call of the power-type finder called name (Online,
// Deterministic, Dimer, Power) with settings s and the L setting givenL:
// it starts the call (see start), answers at a vertex, takes the unit
// start y0 from first, estimates L along with H·y0 (see lipschitz) and
// runs the finder's iteration from there. An error comes back with the
// queries spent (see fail).
func find(ctx context.Context, req zo.FindRequest, name string, s Settings, givenL float64, first func(*call) []float64, iterate iteration) (zo.Curvature, error) {
	c, err := start(req, name, s)
	if err != nil {
		return zo.Curvature{}, err
	}
	if c.n == 0 {
		return c.vertex(), nil
	}
	y0 := first(c)
	L, hy0, err := c.lipschitz(ctx, givenL, y0)
	if err != nil {
		return c.fail(err)
	}
	ans, err := iterate(ctx, c, y0, hy0, L)
	if err != nil {
		return c.fail(err)
	}
	return ans, nil
}

// countFree is the number of coordinates marked free among d (all when
// free is nil).
func countFree(free []bool, d int) int {
	n := 0
	for i := 0; i < d; i++ {
		if free == nil || free[i] {
			n++
		}
	}
	return n
}

func (c *call) queries() int { return c.h.Queries + c.extra }

// vertex answers at a point with no free coordinate: no feasible
// direction, nothing to find.
func (c *call) vertex() zo.Curvature {
	return c.done(nil, math.Inf(1))
}

// done builds the answer and reports the estimates.
func (c *call) done(v []float64, lambda float64) zo.Curvature {
	c.est.Lambda = lambda
	c.est.Found = v != nil
	c.est.Queries = c.queries()
	if c.report != nil {
		c.report(c.est)
	}
	return zo.Curvature{Direction: v, Lambda: lambda, Queries: c.est.Queries}
}

// unprobed answers none with the estimate NaN: the curvature probe of a
// candidate direction still failed after probeTries sends, so the call
// measured nothing that could certify x (see the package doc).
func (c *call) unprobed() zo.Curvature {
	return c.done(nil, math.NaN())
}

// unverified is the answer of a power-type finder whose final probe still
// failed after probeTries sends, given the estimate lambda its none would
// report. Above −δ/2 the iteration itself found no negative curvature
// (the probe checks a candidate the estimate does not support, and the
// none does not rest on it): none with lambda. Otherwise the candidate
// could not be checked: none with NaN (unprobed).
func (c *call) unverified(lambda float64) zo.Curvature {
	if lambda > -c.req.Delta/2 {
		return c.done(nil, lambda)
	}
	return c.unprobed()
}

// fail returns the queries spent with an error.
func (c *call) fail(err error) (zo.Curvature, error) {
	return zo.Curvature{Queries: c.queries()}, err
}

// randomUnit returns a uniformly random unit vector on the free
// coordinates.
func (c *call) randomUnit() []float64 {
	return randomUnit(c.d, c.req.Free, c.req.Rand)
}

// product returns H y for any y ≠ 0 (not only unit vectors), restricted to
// the free coordinates: ‖y‖·h(y/‖y‖). The probe length is h's, whatever
// ‖y‖ is: the iterations are linear in y, so only its direction needs
// probing.
func (c *call) product(ctx context.Context, h *zo.HVP, y []float64) ([]float64, error) {
	ny := floats.Norm(y, 2)
	u := make([]float64, len(y))
	if ny == 0 {
		return u, nil // H·0 = 0
	}
	// Divide rather than multiply by 1/ny: an iterate that has decayed to
	// subnormal size (Oja's iteration at a minimum) would overflow 1/ny.
	for i := range y {
		u[i] = y[i] / ny
	}
	hy, err := h.Apply(ctx, u)
	if err != nil {
		return nil, err
	}
	maskFree(hy, c.req.Free)
	floats.Scale(ny, hy)
	return hy, nil
}

// stepProduct returns H·y for the iterate y of step t of an iteration
// from y₀ whose product H·y₀ = hy0 is at hand: at t = 0, hy0 itself,
// without a query.
func (c *call) stepProduct(ctx context.Context, t int, y, hy0 []float64) ([]float64, error) {
	if t == 0 {
		return hy0, nil
	}
	return c.product(ctx, c.h, y)
}

// lipschitz returns the L to use, given the setting (0: estimate), and
// H·y0 for the unit start y0, which the caller's iteration reuses. The
// estimate is the largest |Ritz value| of lIters Lanczos steps from y0: a
// lower bound of max|λ|, but a tight one, since Lanczos converges fastest
// at the ends of the spectrum (a few power iterations can miss a large
// eigenvalue with a small weight in y0 by 2× or more). Every finder
// tolerates an underestimate of L by up to 2×. The estimate is at least δ.
func (c *call) lipschitz(ctx context.Context, given float64, y0 []float64) (float64, []float64, error) {
	hy0, err := c.product(ctx, c.h, y0)
	if err != nil {
		return 0, nil, err
	}
	if given > 0 {
		c.est.L = given
		return given, hy0, nil
	}
	apply := func(j int, q []float64) ([]float64, error) {
		if j == 0 {
			return append([]float64(nil), hy0...), nil
		}
		return c.product(ctx, c.h, q)
	}
	enough := func(j int, alpha, _ []float64, bn float64) bool {
		return j == lIters-1 || bn <= 1e-10*math.Max(1, math.Abs(alpha[j]))
	}
	_, alpha, beta, err := krylov(y0, apply, enough)
	if err != nil {
		return 0, nil, err
	}
	vals, _ := ritz(alpha, beta)
	c.spread = vals[len(vals)-1] - vals[0]
	L := math.Max(math.Abs(vals[0]), math.Abs(vals[len(vals)-1]))
	L = math.Max(L, c.req.Delta)
	c.est.L, c.est.LEstimated = L, true
	return L, hy0, nil
}

// amplification is A = (16n/p²)·max(1, L/δ): the growth, relative to
// the start, that the component of an eigenvalue ≤ −δ of a power-type
// iteration must reach for a none to be certified with probability 1−p.
// A random unit start has a component ≥ p/√n along a fixed direction
// with probability about 1−p. After a growth of A that component beats
// every eigenvalue in [0, L] (growth ≤ 1) by at least 16·max(1, L/δ) in
// amplitude, so together they add at most δ/256 to the Rayleigh quotient,
// and every eigenvalue in (−δ/2, 0) (growth ≤ √A) by at least 4: the
// Rayleigh quotient is then ≤ −(1 − 1/256)δ/(1 + 1/16 + 1/256) < −0.9δ
// and passes verification.
func amplification(n int, p, L, delta float64) float64 {
	return 16 * float64(n) / (p * p) * math.Max(1, L/delta)
}

// iterations returns the step count T to use: the setting if > 0, else
// the count theory needs, capped at maxIterCap; and records T and whether
// it falls short of theory in the estimates.
func (c *call) iterations(setting int, theory float64) int {
	T := setting
	if T <= 0 {
		T = maxIterCap
		if theory < maxIterCap {
			T = max(int(math.Ceil(theory)), 1)
		}
	}
	c.est.MaxIterations = T
	c.est.Capped = float64(T) < math.Ceil(theory)
	return T
}

// growthSteps is ln A / ln(1+rate): the steps at growth 1+rate per step
// to amplify by A.
func growthSteps(A, rate float64) float64 {
	return math.Log(A) / math.Log1p(rate)
}

// verified is the acceptance test of a direction: measured curvature
// ≤ −3δ/4, a margin of δ/4 over the contract's −δ/2 for the probe's error.
func verified(curv, delta float64) bool {
	return curv <= -0.75*delta
}

// check verifies the candidate direction v (unit, on the free
// coordinates) by a probe. When that settles the call, final is true and
// ans is the answer: v itself when the probe confirms it (see verified),
// or, when the probe kept failing, an unverified none carrying est, the
// finder's own estimate. Otherwise curv is the measured curvature, above
// the acceptance threshold, and the finder goes on.
func (c *call) check(ctx context.Context, v []float64, est float64) (ans zo.Curvature, final bool, curv float64, err error) {
	curv, err = c.verify(ctx, v)
	switch {
	case err != nil:
		return zo.Curvature{}, false, 0, err
	case verified(curv, c.req.Delta):
		return c.done(v, curv), true, curv, nil
	case math.IsNaN(curv):
		return c.unverified(est), true, curv, nil
	}
	return zo.Curvature{}, false, curv, nil
}

// conclude verifies the last candidate v of a power-type iteration, whose
// estimate for a none is est (see check): the answer, when that settles
// the call; else none, with the smaller of bound and the measured
// curvature as its estimate.
func (c *call) conclude(ctx context.Context, v []float64, est, bound float64) (zo.Curvature, error) {
	ans, final, curv, err := c.check(ctx, v, est)
	if err != nil || final {
		return ans, err
	}
	return c.done(nil, math.Min(bound, curv)), nil
}

// verify probes the curvature along the unit v on req.Samples.
func (c *call) verify(ctx context.Context, v []float64) (float64, error) {
	curv, n, err := probeCurvature(ctx, c.req, v, c.r)
	c.extra += n
	return curv, err
}
