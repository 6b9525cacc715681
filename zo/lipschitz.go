package zo

import (
	"math"
)

// The curvature estimates of the methods whose steps need L: the largest
// |eigenvalue| of the Hessian by a power iteration on Hessian-vector
// products (HVP), and secants between two gradient estimates.

// products returns the Hessian-vector products at x, whose gradient
// estimate over samples is g: differences of central CoordGE estimates at
// the default probe length (see HVP).
func (r *run) products(x, g []float64, samples []int) *HVP {
	return &HVP{Oracle: r.o, Estimator: r.coord, X: x, G: g, Samples: samples, R: DefaultProbe * r.scale}
}

// product returns H·v on the free coordinates.
func (r *run) product(h *HVP, v []float64, free []bool) ([]float64, error) {
	w, err := h.Apply(r.ctx, v)
	if err != nil {
		return nil, err
	}
	mask(w, free)
	return w, nil
}

// lIters is the number of power iterations that estimate L.
const lIters = 8

// estimateL returns L̂, the largest ‖Hv‖ over lIters power iterations
// from a random unit start on the free coordinates: an estimate (from
// below) of the largest |eigenvalue| of the Hessian at x, for the step
// sizes of the methods that need one (2d·lIters queries per sample). It
// is at least ε/(Step·scale), so that a gradient of norm ε never asks
// for a step longer than the first trial step.
func (r *run) estimateL(x, g []float64, free []bool, samples []int) (float64, []float64, error) {
	h := r.products(x, g, samples)
	v := unitRandom(r.d, r.rng, free)
	l := 0.0
	for k := 0; k < lIters; k++ {
		w, err := r.product(h, v, free)
		if err != nil {
			return 0, nil, err
		}
		n := norm(w)
		l = math.Max(l, n)
		if n == 0 {
			break
		}
		for i := range v {
			v[i] = w[i] / n
		}
	}
	return math.Max(l, r.s.Epsilon/(r.s.Step*r.scale)), v, nil
}

// secant returns ‖g − h‖/‖x − y‖, the curvature seen between two points
// whose gradient estimates are g and h: 0 when the points coincide or
// when ‖g − h‖ is within 100 times the round-off floor of central
// differences, √d·ε_mach·max(1, |f|)/μ, where the ratio would be noise.
func (r *run) secant(x, y, g, h []float64) float64 {
	dx := norm(sub(x, y))
	dg := norm(sub(g, h))
	f := 1.0
	if !math.IsNaN(r.out.F) {
		f = math.Max(1, math.Abs(r.out.F))
	} else if r.stale {
		f = math.Max(1, math.Abs(r.knownF))
	}
	floor := 100 * math.Sqrt(float64(r.d)) * 0x1p-52 * f / r.s.Mu
	if dx == 0 || dg <= floor {
		return 0
	}
	return dg / dx
}
