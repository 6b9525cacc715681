package negcurv

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Curvature estimates from iterates and their products: Rayleigh
// quotients, and Rayleigh–Ritz over a window of the last iterates.

// rayleigh returns yᵀ(Hy)/yᵀy and the relative residual ‖Hy − θy‖/‖y‖.
func rayleigh(y, hy []float64) (theta, res float64) {
	yy := floats.Dot(y, y)
	theta = floats.Dot(y, hy) / yy
	var s float64
	for i := range y {
		e := hy[i] - theta*y[i]
		s += e * e
	}
	return theta, math.Sqrt(s / yy)
}

// converged reports a Rayleigh quotient θ ≤ −δ whose residual is small
// enough (≤ |θ|/10) for θ to be within about 1% of an eigenvalue (the
// error is about res²/gap): the iteration can stop and verify.
func converged(theta, res, delta float64) bool {
	return theta <= -delta && res <= 0.1*math.Abs(theta)
}

// window keeps the last few iterates of a finder with their products,
// for a Rayleigh–Ritz estimate over their span at the end.
type window struct {
	size   int
	ys, hs [][]float64
}

func (w *window) push(y, hy []float64) {
	w.ys = append(w.ys, append([]float64(nil), y...))
	w.hs = append(w.hs, append([]float64(nil), hy...))
	if len(w.ys) > w.size {
		w.ys, w.hs = w.ys[1:], w.hs[1:]
	}
}

// smallest returns the smallest Ritz value of H on the span of the kept
// iterates (+Inf when none is kept): the best estimate of λ_min from that
// subspace, never below λ_min (up to the products' error). The span is
// orthonormalised by Gram–Schmidt, applied alike to the products (H is
// linear). An iterate with less than 30% of its norm outside the span of
// the earlier ones is dropped: the products' finite-difference errors
// would be amplified by the inverse of that fraction.
func (w *window) smallest() float64 {
	var qs, hqs [][]float64
	for k, y := range w.ys {
		q := append([]float64(nil), y...)
		hq := append([]float64(nil), w.hs[k]...)
		n0 := floats.Norm(q, 2)
		for pass := 0; pass < 2; pass++ {
			for j := range qs {
				c := floats.Dot(qs[j], q)
				floats.AddScaled(q, -c, qs[j])
				floats.AddScaled(hq, -c, hqs[j])
			}
		}
		n := floats.Norm(q, 2)
		if n <= 0.3*n0 {
			continue
		}
		floats.Scale(1/n, q)
		floats.Scale(1/n, hq)
		qs, hqs = append(qs, q), append(hqs, hq)
	}
	if len(qs) == 0 {
		return math.Inf(1)
	}
	m := len(qs)
	a := mat.NewSymDense(m, nil)
	for i := range m {
		for j := i; j < m; j++ {
			a.SetSym(i, j, 0.5*(floats.Dot(qs[i], hqs[j])+floats.Dot(qs[j], hqs[i])))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(a, false) {
		return math.Inf(1)
	}
	return eig.Values(nil)[0]
}
