package negcurv

import (
	"context"
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/zotune/zotune/zo"
)

// Dimer finds negative curvature by rotating a unit "dimer" direction N
// toward the lowest curvature, as in "Dimer-Enhanced Optimization" (Hu,
// Cao & Liu, 2025), after the dimer method of Henkelman & Jónsson ("A
// dimer method for finding saddle points on high dimensional potential
// surfaces using only first derivatives", 1999). One rotation costs one
// zeroth-order Hessian-vector product (see zo.HVP):
//
//	N ← normalise(N − η·(HN − (NᵀHN)·N)).
//
// The sign is a minus: HN − (NᵀHN)N is the gradient of the Rayleigh
// quotient NᵀHN on the sphere, and the rotation descends it. (The
// published code adds it, which turns N toward the largest curvature.)
//
// The rotation is the power step on (1 + ηθ)·I − η·H with θ = NᵀHN, a
// power method whose shift follows the Rayleigh quotient. It converges to
// the lowest eigenvector only while η < 2/(λ_max − λ_min): with η = 1/L
// and a spectrum in [−L, L] the two ends stall at equal magnitude once θ
// reaches λ_min. The default step is η = 1/S with S the spread
// θ_max − θ_min of the four Lanczos steps that estimate L (a lower bound
// of λ_max − λ_min, tight at the ends of the spectrum, so the condition
// holds with a factor 2 of margin), or η = 1/(2L) when L is given.
//
// The rotations stop when NᵀHN has converged (changed by at most Tol in a
// rotation) at a value ≤ −3δ/4; N is then verified by a direct second
// difference of f (2 queries per sample) and returned if its curvature is
// ≤ −3δ/4. Converging to a value above −3δ/4 is not a certificate — a
// direction whose component in N is still small may yet take over — so a
// none is answered only after the T rotations that certify it, as for
// Power:
//
//	T = ⌈ln A / ln(1 + ηδ/(1 + ηS))⌉,  A = (16n/p²)·max(1, L/δ),
//
// where 1 + ηδ/(1 + ηS) bounds below the growth per rotation of an
// eigenvalue ≤ −δ against one ≥ 0 (S = 2L when L is given); the last
// NᵀHN is the estimate.
//
// A *Dimer keeps N from one call to the next (the dimer of an optimizer
// that rotates it every few steps): each call starts from N + u,
// normalised, with u a fresh random unit vector, so that the certificate
// still holds while a direction that persists from one point to the next
// is found in a few rotations. Set Cold to start every call from u alone.
// A *Dimer is not safe for concurrent use. L is estimated when not set, as
// for Deterministic.
//
// Memory is O(d). The zero value is ready to use.
type Dimer struct {
	// Settings are those every finder has: P, R, Central, Report.
	Settings
	// L is the gradient Lipschitz constant; default 0: estimated.
	L float64
	// Step is the rotation step η; default 1/S, or 1/(2L) when L is set
	// (see above).
	Step float64
	// Tol is the change of NᵀHN in one rotation below which it has
	// converged; default δ/8.
	Tol float64
	// MaxIter caps the rotations at T; default 0: the T above, capped at
	// 10000.
	MaxIter int
	// Cold starts every call from a random direction; default false: warm.
	Cold bool

	n []float64 // the dimer direction after the last call
}

var _ zo.Finder = (*Dimer)(nil)

// Find implements zo.Finder.
func (f *Dimer) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	return find(ctx, req, "dimer", f.Settings, f.L, f.initial, f.rotate)
}

// rotate is the rotations from n, with hn0 = H·n. The direction they end
// at is kept for the next call.
func (f *Dimer) rotate(ctx context.Context, c *call, n, hn0 []float64, L float64) (zo.Curvature, error) {
	delta := c.req.Delta
	p := f.failureProb()
	spread := c.spread
	if spread <= 0 {
		spread = 2 * L
	}
	spread = math.Max(spread, delta)
	eta := f.Step
	if eta <= 0 {
		eta = 1 / spread
	}
	c.est.Step = eta
	tol := f.Tol
	if tol <= 0 {
		tol = delta / 8
	}
	T := c.iterations(f.MaxIter, growthSteps(amplification(c.n, p, L, delta), eta*delta/(1+eta*spread)))
	defer func() { f.n = n }()

	theta, prev := math.NaN(), math.NaN()
	earlyExit := true
	for t := 0; t < T; t++ {
		hn, err := c.stepProduct(ctx, t, n, hn0)
		if err != nil {
			return zo.Curvature{}, err
		}
		c.est.Iterations++
		theta = floats.Dot(n, hn)
		if earlyExit && theta <= -0.75*delta && math.Abs(theta-prev) <= tol {
			ans, final, _, err := c.check(ctx, n, theta)
			if err != nil || final {
				return ans, err
			}
			earlyExit = false // the probe disagrees: run the full T
		}
		prev = theta
		next := make([]float64, len(n))
		for i := range n {
			next[i] = n[i] - eta*(hn[i]-theta*n[i])
		}
		if !unitFree(next, c.req.Free) {
			break
		}
		n = next
	}
	// A none's estimate is the probe's alone.
	return c.conclude(ctx, n, theta, math.Inf(1))
}

// initial returns the unit direction the rotations start from: a random
// one, plus, unless Cold, the last call's direction (on the free
// coordinates).
func (f *Dimer) initial(c *call) []float64 {
	n := c.randomUnit()
	if f.Cold || len(f.n) != c.d {
		return n
	}
	warm := append([]float64(nil), f.n...)
	maskFree(warm, c.req.Free)
	if nw := floats.Norm(warm, 2); nw > 0 {
		floats.AddScaled(n, 1/nw, warm)
		if nn := floats.Norm(n, 2); nn > 0 {
			floats.Scale(1/nn, n)
		} else {
			n = c.randomUnit()
		}
	}
	return n
}
