package negcurv

import (
	"context"
	"errors"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/zo"
)

// Lanczos finds the smallest Hessian eigenvalue with the Lanczos method on
// zeroth-order Hessian-vector products (see zo.HVP), with full
// reorthogonalisation, from a random start on the free coordinates. The
// smallest Ritz value is the curvature estimate and its Ritz vector the
// direction. A direction is returned only after a direct curvature probe
//
//	vᵀHv ≈ [f(x+rv) − 2f(x) + f(x−rv)]/r²
//
// (2 queries per sample) confirms it; otherwise, and when the smallest
// Ritz value is above −δ/2, the answer is "none". A none after a probe
// carries the probe's value as its estimate; if the probe kept failing
// it carries NaN (see the package doc).
//
// Lanczos converges to the extreme eigenvalue like the Chebyshev-accelerated
// power method of ZO-NCF-Deterministic (Zhang, Xiong & Gu, NeurIPS 2022),
// but adaptively: it needs no estimate of L (the largest Ritz value is
// one, reported in Estimates.L).
//
// By default it runs MaxIter = 20 steps, and confirms a direction when
// the probe's curvature is ≤ −δ/2. With Adaptive set it runs as long as
// the certificate needs and no longer: it stops as soon as the smallest
// Ritz pair has converged below −δ (residual ‖Hv − θv‖ ≤ |θ|/10) and then
// confirms at ≤ −3δ/4 like the other finders; and it answers none once
// the smallest Ritz value is above −3δ/4 after
//
//	k ≥ ½·(1 + ln(1.648·√n/p) / √ε),  ε = δ / (4·(θ_max − θ_min)),
//
// steps (n free coordinates), the bound of Kuczyński & Woźniakowski
// ("Estimating the largest eigenvalue by the power and Lanczos algorithms
// with a random start", 1992) under which the smallest Ritz value is
// within δ/4 of λ_min with probability 1 − p, with the Ritz spread
// θ_max − θ_min standing for λ_max − λ_min. That is Θ(√(L/δ)·log(d/p))
// steps, as Deterministic, with a smaller constant.
//
// Memory is O(k·d) for k Lanczos vectors. The zero value is ready to use.
type Lanczos struct {
	// Settings are those every finder has: P, R, Central, Report.
	Settings
	// MaxIter is the largest Krylov dimension; default 20, or with
	// Adaptive the number of free coordinates (where Lanczos is exact).
	// It is always capped at the number of free coordinates.
	MaxIter int
	// Adaptive stops on convergence or on the certificate's step count
	// (see above); default false: MaxIter steps.
	Adaptive bool
}

var _ zo.Finder = Lanczos{}

// Find implements zo.Finder.
func (l Lanczos) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	if req.Rand == nil {
		return zo.Curvature{}, errors.New("negcurv: lanczos needs a Rand")
	}
	c := newCall(req, "lanczos", l.Settings)
	c.est.LEstimated = true
	if c.n == 0 {
		return c.vertex(), nil
	}
	k := l.MaxIter
	if k <= 0 {
		k = 20
		if l.Adaptive {
			k = c.n
		}
	}
	k = min(k, c.n)
	c.est.MaxIterations = k
	p := l.failureProb()
	basis, alpha, beta, invariant, err := l.steps(ctx, c, k, p)
	if err != nil {
		return c.fail(err)
	}
	vals, s := ritz(alpha, beta)
	theta := vals[0]
	c.est.L, c.est.Iterations = math.Max(math.Abs(vals[0]), math.Abs(vals[len(vals)-1])), len(alpha)
	// The step count the certificate needs, by the Ritz spread seen: no
	// more than the free dimension, where the Krylov space is the whole
	// space and the Ritz values are the eigenvalues.
	need := math.Min(kwSteps(vals[len(vals)-1]-theta, req.Delta, c.n, p), float64(c.n))
	if l.Adaptive {
		c.est.MaxIterations = min(k, int(math.Ceil(need)))
	}
	// A Krylov space that stopped growing is invariant: from a random
	// start it holds a component of every eigenspace (the premise of the
	// bound), so its Ritz values are the Hessian's distinct eigenvalues,
	// λ_min among them, however few steps that took (H = cI: one).
	c.est.Capped = theta > -req.Delta && !invariant && float64(len(alpha)) < need
	v := make([]float64, c.d)
	for i, b := range basis[:len(alpha)] {
		floats.AddScaled(v, s[i], b)
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	return l.confirm(ctx, c, v, theta)
}

// steps runs up to k Lanczos steps (with Adaptive, until settled) on the
// call's products, from a random unit start on the free coordinates (see
// krylov). invariant reports that they ended because the Krylov space
// stopped growing: the next residual vanished.
func (l Lanczos) steps(ctx context.Context, c *call, k int, p float64) (basis [][]float64, alpha, beta []float64, invariant bool, err error) {
	apply := func(_ int, q []float64) ([]float64, error) {
		w, err := c.h.Apply(ctx, q)
		if err != nil {
			return nil, err
		}
		maskFree(w, c.req.Free)
		return w, nil
	}
	enough := func(j int, alpha, beta []float64, bn float64) bool {
		if bn < 1e-10*math.Max(1, math.Abs(alpha[j])) {
			invariant = true
			return true
		}
		return j == k-1 || l.Adaptive && l.settled(alpha, beta, bn, c.req.Delta, c.n, p)
	}
	basis, alpha, beta, err = krylov(c.randomUnit(), apply, enough)
	return basis, alpha, beta, invariant, err
}

// confirm answers with the smallest Ritz value theta and its Ritz vector
// v: none when theta is above −δ/2, else after a direct curvature probe
// along v, a direction only when the probe confirms the curvature
// (≤ −δ/2, or −3δ/4 with Adaptive like the other finders). The probe's
// value replaces the Ritz value as the estimate: a probe that kept failing
// (NaN) measured nothing, and the answer is none with λ̂ = NaN, which
// certifies nothing.
func (l Lanczos) confirm(ctx context.Context, c *call, v []float64, theta float64) (zo.Curvature, error) {
	delta := c.req.Delta
	if theta > -delta/2 {
		return c.done(nil, theta), nil
	}
	curv, err := c.verify(ctx, v)
	if err != nil {
		return zo.Curvature{Lambda: theta, Queries: c.queries()}, err
	}
	accept := -delta / 2
	if l.Adaptive {
		accept = -0.75 * delta
	}
	if curv <= accept {
		return c.done(v, curv), nil
	}
	return c.done(nil, curv), nil
}

// settled reports, in Adaptive mode, whether the Lanczos steps so far
// (alpha, beta, and bn, the norm of the next residual) suffice: the
// smallest Ritz pair has converged below −δ, or the smallest Ritz value is
// above −3δ/4 after the Kuczyński–Woźniakowski step count.
func (l Lanczos) settled(alpha, beta []float64, bn, delta float64, n int, p float64) bool {
	vals, s := ritz(alpha, beta)
	theta := vals[0]
	if converged(theta, bn*math.Abs(s[len(s)-1]), delta) {
		return true
	}
	if theta <= -0.75*delta {
		return false
	}
	return float64(len(alpha)) >= kwSteps(vals[len(vals)-1]-theta, delta, n, p)
}

// kwSteps is the Kuczyński–Woźniakowski step count
// ½·(1 + ln(1.648√n/p)/√ε), ε = δ/(4·spread), after which the smallest
// Ritz value is within δ/4 of λ_min with probability 1 − p. With no
// spread seen yet (one step) there is no bound: +Inf.
func kwSteps(spread, delta float64, n int, p float64) float64 {
	if spread <= 0 {
		return math.Inf(1)
	}
	eps := delta / (4 * spread)
	return 0.5 * (1 + math.Log(1.648*math.Sqrt(float64(n))/p)/math.Sqrt(eps))
}

// krylov runs Lanczos steps with full reorthogonalisation from the unit
// q. Step j takes the product H·q_j of the basis vector q_j from apply and
// ends the steps when enough says so, given j, the tridiagonal matrix so
// far (diagonal alpha, up to α_j, and off-diagonal beta) and the norm bn
// of the residual after reorthogonalisation, which would be β_j. It
// returns the Krylov basis and the tridiagonal matrix.
func krylov(q []float64, apply func(j int, q []float64) ([]float64, error), enough func(j int, alpha, beta []float64, bn float64) bool) (basis [][]float64, alpha, beta []float64, err error) {
	basis = [][]float64{q}
	for j := 0; ; j++ {
		w, err := apply(j, basis[j])
		if err != nil {
			return nil, nil, nil, err
		}
		alpha = append(alpha, floats.Dot(w, basis[j]))
		// Full reorthogonalisation, twice (numerically safe at small k).
		for pass := 0; pass < 2; pass++ {
			for _, b := range basis {
				floats.AddScaled(w, -floats.Dot(w, b), b)
			}
		}
		bn := floats.Norm(w, 2)
		if enough(j, alpha, beta, bn) {
			return basis, alpha, beta, nil
		}
		beta = append(beta, bn)
		floats.Scale(1/bn, w)
		basis = append(basis, w)
	}
}

// ritz returns the eigenvalues, ascending, of the symmetric tridiagonal
// matrix with diagonal alpha and off-diagonal beta, and the eigenvector of
// the smallest.
func ritz(alpha, beta []float64) ([]float64, []float64) {
	m := len(alpha)
	t := mat.NewSymDense(m, nil)
	for i := 0; i < m; i++ {
		t.SetSym(i, i, alpha[i])
		if i+1 < m {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(t, true) {
		// Cannot happen for a finite symmetric matrix; fall back to the
		// Rayleigh quotient of the start vector.
		s := make([]float64, m)
		s[0] = 1
		return []float64{alpha[0]}, s
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	return vals, mat.Col(nil, 0, &vecs)
}
