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
// zeroth-order Hessian-vector products (see HVP), with full
// reorthogonalisation, from a random start on the free coordinates. The
// smallest Ritz value is the curvature estimate and its Ritz vector the
// direction. A direction is returned only after a direct curvature probe
//
//	vᵀHv ≈ [f(x+rv) − 2f(x) + f(x−rv)]/r²
//
// (2 queries per sample) confirms it; otherwise, and when the smallest
// Ritz value is above −δ/2, the answer is "none".
//
// Lanczos converges to the extreme eigenvalue like the Chebyshev-accelerated
// power method of ZO-NCF-Deterministic (Zhang, Xiong & Gu, NeurIPS 2022),
// but adaptively: it needs no estimate of L.
//
// The zero value is ready to use.
type Lanczos struct {
	// MaxIter is the largest Krylov dimension; default 20 (capped at the
	// number of free coordinates, where Lanczos is exact).
	MaxIter int
	// R is the HVP probe length as a fraction of the box scale; default 1e-3.
	R float64
}

var _ zo.Finder = Lanczos{}

// Find implements zo.Finder.
func (l Lanczos) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	d := len(req.X)
	if req.Rand == nil {
		return zo.Curvature{}, errors.New("negcurv: lanczos needs a Rand")
	}
	free := req.Free
	nfree := 0
	for i := 0; i < d; i++ {
		if free == nil || free[i] {
			nfree++
		}
	}
	if nfree == 0 {
		// A vertex of the box: no feasible direction, nothing to find.
		return zo.Curvature{Lambda: math.Inf(1)}, nil
	}
	k := l.MaxIter
	if k <= 0 {
		k = 20
	}
	k = min(k, nfree)
	r := l.R
	if r <= 0 {
		r = 1e-3
	}
	r *= req.Estimator.Box.Scale()
	h := &HVP{Oracle: req.Oracle, Estimator: req.Estimator, X: req.X, G: req.G, Samples: req.Samples, R: r}

	// Random unit start on the free coordinates.
	q := make([]float64, d)
	for i := range q {
		if free == nil || free[i] {
			q[i] = req.Rand.NormFloat64()
		}
	}
	floats.Scale(1/floats.Norm(q, 2), q)

	basis := [][]float64{q}
	var alpha, beta []float64
	for j := 0; j < k; j++ {
		w, err := h.Apply(ctx, basis[j])
		if err != nil {
			return zo.Curvature{Queries: h.Queries}, err
		}
		maskFree(w, free)
		a := floats.Dot(w, basis[j])
		alpha = append(alpha, a)
		// Full reorthogonalisation, twice (numerically safe at small k).
		for pass := 0; pass < 2; pass++ {
			for _, b := range basis {
				floats.AddScaled(w, -floats.Dot(w, b), b)
			}
		}
		bn := floats.Norm(w, 2)
		if j == k-1 || bn < 1e-10*math.Max(1, math.Abs(a)) {
			break
		}
		beta = append(beta, bn)
		floats.Scale(1/bn, w)
		basis = append(basis, w)
	}

	theta, s := smallestRitz(alpha, beta)
	v := make([]float64, d)
	for i, b := range basis[:len(alpha)] {
		floats.AddScaled(v, s[i], b)
	}
	floats.Scale(1/floats.Norm(v, 2), v)

	out := zo.Curvature{Lambda: theta}
	if theta > -req.Delta/2 {
		out.Queries = h.Queries
		return out, nil
	}
	// Verify with a direct second difference along v.
	curv, n, err := probeCurvature(ctx, req, v, r)
	out.Queries = h.Queries + n
	if err != nil {
		return out, err
	}
	if !math.IsNaN(curv) && curv <= -req.Delta/4 {
		out.Direction = v
		out.Lambda = curv
		return out, nil
	}
	// The probe does not confirm the Ritz value: report what was measured,
	// without a direction.
	if !math.IsNaN(curv) {
		out.Lambda = curv
	}
	return out, nil
}

// smallestRitz returns the smallest eigenvalue of the symmetric tridiagonal
// matrix with diagonal alpha and off-diagonal beta, and its eigenvector.
func smallestRitz(alpha, beta []float64) (float64, []float64) {
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
		return alpha[0], s
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	i := floats.MinIdx(vals)
	return vals[i], mat.Col(nil, i, &vecs)
}

// probeCurvature estimates vᵀHv by a second difference of f along v:
// central [f(x+rv) − 2f(x) + f(x−rv)]/r² when both sides fit in the box,
// else one-sided [f(x+2rv) − 2f(x+rv) + f(x)]/r² on the side that fits
// (first-order accurate, enough to confirm a sign). The radius shrinks to
// what the box allows. It returns NaN when an evaluation failed or no side
// fits.
func probeCurvature(ctx context.Context, req zo.FindRequest, v []float64, r float64) (float64, int, error) {
	box := req.Estimator.Box
	fwd, bwd := reach(box, req.X, v), reach(box, req.X, neg(v))
	var a, b float64 // the two probe offsets along v, besides 0
	switch {
	case fwd >= r && bwd >= r:
		a, b = r, -r
	case fwd >= bwd:
		r = math.Min(r, fwd/2)
		a, b = r, 2*r
	default:
		r = math.Min(r, bwd/2)
		a, b = -r, -2*r
	}
	if r <= 0 {
		return math.NaN(), 0, nil
	}
	pa, pb := make([]float64, len(v)), make([]float64, len(v))
	for i := range v {
		pa[i] = req.X[i] + a*v[i]
		pb[i] = req.X[i] + b*v[i]
	}
	box.Project(pa)
	box.Project(pb)
	vals, failed, err := zo.Values(ctx, req.Oracle, [][]float64{pa, pb}, req.Samples)
	n := 2 * len(req.Samples)
	if err != nil {
		return 0, n, err
	}
	if failed > 0 {
		return math.NaN(), n, nil
	}
	if b == -a { // central
		return (vals[0] - 2*req.F + vals[1]) / (r * r), n, nil
	}
	return (vals[1] - 2*vals[0] + req.F) / (r * r), n, nil
}

func maskFree(v []float64, free []bool) {
	if free == nil {
		return
	}
	for i := range v {
		if !free[i] {
			v[i] = 0
		}
	}
}
