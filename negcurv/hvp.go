package negcurv

import (
	"context"
	"math"

	"github.com/zotune/zotune/zo"
)

// HVP computes Hessian-vector products at a fixed point X from function
// values, by differencing coordinate-wise gradient estimates:
//
//	H v ≈ [ĝ(x + r v) − ĝ(x)] / r
//
// with ĝ(x) given (it is the optimizer's cached gradient), so each product
// costs one gradient estimate: 2d queries per sample, in one batch. The
// error is O(ρ r) from the Taylor remainder plus O(estimator error / r).
// When x + r v would leave the box the backward difference
// [ĝ(x) − ĝ(x − r v)]/r is used instead, and when neither fits the probe
// length shrinks to what the box allows.
type HVP struct {
	Oracle    zo.Oracle
	Estimator zo.CoordGE
	X, G      []float64 // the point and the gradient estimate there
	Samples   []int
	R         float64 // probe length; must be > 0
	Queries   int     // queries spent so far
}

// Apply returns H v for a unit vector v.
func (h *HVP) Apply(ctx context.Context, v []float64) ([]float64, error) {
	r, sign := h.probe(v)
	y := make([]float64, len(h.X))
	for i := range y {
		y[i] = h.X[i] + sign*r*v[i]
	}
	h.Estimator.Box.Project(y) // guards round-off only: r was chosen to fit
	g, _, err := h.Estimator.Estimate(ctx, h.Oracle, y, h.Samples)
	if err != nil {
		return nil, err
	}
	h.Queries += 2 * len(y) * len(h.Samples)
	for i := range g {
		g[i] = sign * (g[i] - h.G[i]) / r
	}
	return g, nil
}

// probe picks the probe length and side for direction v.
func (h *HVP) probe(v []float64) (r, sign float64) {
	fwd, bwd := reach(h.Estimator.Box, h.X, v), reach(h.Estimator.Box, h.X, neg(v))
	switch {
	case fwd >= h.R:
		return h.R, 1
	case bwd >= h.R:
		return h.R, -1
	case fwd >= bwd:
		return fwd, 1
	default:
		return bwd, -1
	}
}

// reach is the largest a ≥ 0 with x + a·v inside the box (capped at 1e300).
func reach(b zo.Box, x, v []float64) float64 {
	a := 1e300
	for i, vi := range v {
		switch {
		case vi > 0 && b.Upper != nil:
			a = math.Min(a, (b.Upper[i]-x[i])/vi)
		case vi < 0 && b.Lower != nil:
			a = math.Min(a, (b.Lower[i]-x[i])/vi)
		}
	}
	return math.Max(a, 0)
}

func neg(v []float64) []float64 {
	w := make([]float64, len(v))
	for i := range v {
		w[i] = -v[i]
	}
	return w
}
