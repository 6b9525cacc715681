package zo

import (
	"context"
	"errors"
)

// HVP computes Hessian-vector products at a fixed point X from function
// values, by differencing coordinate-wise gradient estimates. The default
// is the forward difference
//
//	H v ≈ [ĝ(x + r v) − ĝ(x)] / r
//
// with ĝ(x) given in G (the optimizer's cached gradient), so each product
// costs one gradient estimate: 2d queries per sample, in one batch. Its
// error is O(ρ r) from the Taylor remainder plus O(estimator error / r).
// When x + r v would leave the box the backward difference
// [ĝ(x) − ĝ(x − r v)]/r is used instead.
//
// When neither x + r v nor x − r v is in the box (at a corner, along a v
// that points out of the box in both senses), v is split coordinate-wise
// (Box.Split): v = a + b, with aᵢ = vᵢ where xᵢ + r vᵢ is within the
// bounds and b the rest, which fits backwards. Then x + r a and x − r b
// are both in the box and
//
//	H v ≈ [ĝ(x + r a) − ĝ(x − r b)] / r,
//
// two gradient estimates in one batch (4d queries per sample, G not
// needed), first-order accurate like the forward difference. If some
// coordinate fits neither way (the box narrower than 2r|vᵢ| in it), the
// split is made at the largest length at which every coordinate fits one
// way, which is shorter than r but no shorter than either side's reach.
//
// With Central set, the product is the central difference
//
//	H v ≈ [ĝ(x + r v) − ĝ(x − r v)] / (2r)
//
// 4d queries per sample in one batch, second-order accurate (the O(ρ r)
// term cancels) and independent of G. It needs both x ± r v in the box;
// where one side does not fit, the forward or backward difference above
// is used instead, and the split where neither fits.
//
// Samples are common random numbers: every gradient estimate of one
// product uses the same samples, so for a stochastic objective the
// product is that of the sample-average Hessian.
//
// A coordinate whose estimate failed (Result.Err on its stencil) gives
// 0 in the product (unknown), not the |gᵢ|/r that differencing a zeroed
// estimate would give. Failed queries are not sent again: the simulator
// would run the same point and seed twice. G, when the caller supplies
// it, is taken as it is.
//
// No d×d matrix is ever formed. A gradient estimate is sent as one batch
// while its query points fit in MaxBatch; above that (large d) it is
// split into batches of whole coordinate stencils, so memory stays
// O(MaxBatch·d) and the results are the same. The query points are
// buffers owned by the HVP and reused by its next product: an Oracle must
// not keep them after Evaluate returns (as Oracle requires). An HVP is
// not safe for concurrent use.
type HVP struct {
	Oracle    Oracle
	Estimator CoordGE
	// X is the point; G the gradient estimate there over Samples. A nil G
	// is estimated with the first one-sided product (in the same batch,
	// 2d more queries per sample) and kept.
	X, G    []float64
	Samples []int
	R       float64 // probe length; must be > 0
	// Central selects the central difference (4d queries per sample per
	// product); default false: forward with the cached G (2d).
	Central bool
	// MaxBatch is the largest number of queries sent in one batch; default
	// 0: a whole gradient estimate per batch while its query points take
	// at most 2^23 floats (64 MiB, d up to about 2000 at one sample), and
	// batches of 2^23/d queries above.
	MaxBatch int
	Queries  int // queries spent so far

	gBad  []bool      // coordinates of a G estimated here whose estimate failed
	bufs  [][]float64 // query points, reused from batch to batch
	moved []int       // the coordinate each buffer differs from its point in
}

// DefaultProbe is the default probe length of a Hessian-vector product,
// HVP.R, as a fraction of Box.Scale(): short against the scale on which
// the Hessian changes, long against the estimator's step μ (by default
// 1e-5 of the scale).
const DefaultProbe = 1e-3

// defaultBatchFloats bounds the memory of one batch of query points when
// HVP.MaxBatch is 0.
const defaultBatchFloats = 1 << 23

// Apply returns H v for a unit vector v.
func (h *HVP) Apply(ctx context.Context, v []float64) ([]float64, error) {
	d := len(h.X)
	box := h.Estimator.Box
	fwd, bwd := box.Reach(h.X, v)
	if h.Central && fwd >= h.R && bwd >= h.R {
		return h.difference(ctx, v, v, h.R, 2*h.R)
	}
	if fwd < h.R && bwd < h.R {
		return h.split(ctx, v)
	}
	sign := 1.0
	if fwd < h.R {
		sign = -1
	}
	y := make([]float64, d)
	for i := range y {
		y[i] = h.X[i] + sign*h.R*v[i]
	}
	box.Project(y) // guards round-off only: R fits
	pts := [][]float64{y}
	if h.G == nil {
		pts = append(pts, h.X)
	}
	gs, bad, err := h.gradients(ctx, pts)
	if err != nil {
		return nil, err
	}
	if h.G == nil {
		h.G, h.gBad = gs[1], bad // bad covers both points
	}
	g := gs[0]
	for i := range g {
		g[i] = sign * (g[i] - h.G[i]) / h.R
		if bad[i] || (h.gBad != nil && h.gBad[i]) {
			g[i] = 0 // unknown: see gradients
		}
	}
	return g, nil
}

// split is the product where neither x + R v nor x − R v is in the box:
// [ĝ(x + r a) − ĝ(x − r b)]/r with v = a + b split by Box.Split.
func (h *HVP) split(ctx context.Context, v []float64) ([]float64, error) {
	box := h.Estimator.Box
	a, b, r := box.Split(h.X, v, h.R)
	if !(r > 0) {
		return nil, errors.New("zo: no Hessian-vector probe fits the box at x (x outside the box?)")
	}
	return h.difference(ctx, a, b, r, r)
}

// difference is [ĝ(x + r a) − ĝ(x − r b)]/den, both gradient estimates in
// one batch; the caller has chosen r so that both points are in the box.
func (h *HVP) difference(ctx context.Context, a, b []float64, r, den float64) ([]float64, error) {
	box := h.Estimator.Box
	yp, ym := make([]float64, len(h.X)), make([]float64, len(h.X))
	for i := range yp {
		yp[i] = h.X[i] + r*a[i]
		ym[i] = h.X[i] - r*b[i]
	}
	box.Project(yp) // guards round-off only
	box.Project(ym)
	gs, bad, err := h.gradients(ctx, [][]float64{yp, ym})
	if err != nil {
		return nil, err
	}
	g := gs[0]
	for i := range g {
		g[i] = (g[i] - gs[1][i]) / den
		if bad[i] {
			g[i] = 0 // unknown: see gradients
		}
	}
	return g, nil
}

// gradients estimates the gradient at each point, with the same samples,
// and adds the queries spent to h.Queries.
//
// The estimate is the estimator's, coordinate by coordinate: each
// coordinate's stencil comes from the estimator restricted to that
// coordinate (its box reduced to the coordinate's bounds), so the queries
// and the estimate are those of Estimator.Estimate. The points go out in
// batches of at most MaxBatch queries (but at least one coordinate's
// stencil at every point); in the common case that is one batch. The
// query points are buffers kept from product to product: filled once per
// product with a copy of the point, then only the coordinate that moves
// is rewritten from batch to batch, so memory stays O(MaxBatch·d) and
// nothing is allocated per query.
//
// bad[i] is true when coordinate i's estimate failed (every query of its
// stencil failed) at some point: its value there is 0, which says
// nothing, and the product's coordinate i must not be taken from it.
func (h *HVP) gradients(ctx context.Context, pts [][]float64) (out [][]float64, bad []bool, err error) {
	d := len(h.X)
	if d == 0 {
		return make([][]float64, len(pts)), nil, nil
	}
	box := h.Estimator.Box
	one := func(i int) CoordGE {
		e := h.Estimator
		e.Box = Box{}
		if box.Lower != nil {
			e.Box.Lower = []float64{box.Lower[i]}
		}
		if box.Upper != nil {
			e.Box.Upper = []float64{box.Upper[i]}
		}
		return e
	}
	out = make([][]float64, len(pts))
	for j := range out {
		out[j] = make([]float64, d)
	}
	bad = make([]bool, d)
	// The coordinates estimated: not the discrete ones (Box.Lattice), whose
	// products are unknown (bad) — the relaxation's curvature is not
	// measured across lattice values.
	idx := make([]int, 0, d)
	for i := range d {
		if box.discrete(i) {
			bad[i] = true
		} else {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return out, bad, nil
	}
	// Stencil size of one coordinate at one point.
	group := len(one(idx[0]).Queries(h.X[:1], h.Samples))
	perCoord := group * len(pts)
	coords := min(max(h.maxBatch(d)/perCoord, 1), len(idx))
	size := coords * perCoord
	for len(h.bufs) < size {
		h.bufs = append(h.bufs, make([]float64, d))
	}
	h.moved = h.moved[:0]
	for k := 0; k < size; k++ {
		copy(h.bufs[k], pts[(k/group)%len(pts)])
		h.moved = append(h.moved, -1)
	}
	batch := make([]Query, 0, size)
	ests := make([]CoordGE, 0, coords)
	g1 := make([]float64, 1)
	for start := 0; start < len(idx); start += coords {
		end := min(start+coords, len(idx))
		batch, ests = batch[:0], ests[:0]
		k := 0
		for _, i := range idx[start:end] {
			e := one(i)
			ests = append(ests, e)
			for _, p := range pts {
				for _, q := range e.Queries([]float64{p[i]}, h.Samples) {
					b := h.bufs[k]
					if m := h.moved[k]; m >= 0 {
						b[m] = p[m]
					}
					b[i] = q.X[0]
					h.moved[k] = i
					batch = append(batch, Query{X: b, Sample: q.Sample})
					k++
				}
			}
		}
		res, err := h.Oracle.Evaluate(ctx, batch)
		if err != nil {
			return nil, nil, err
		}
		h.Queries += len(batch)
		off := 0
		for c, e := range ests {
			i := idx[start+c]
			for j, p := range pts {
				if e.Gradient([]float64{p[i]}, h.Samples, res[off:off+group], g1) > 0 {
					bad[i] = true
				}
				out[j][i] = g1[0]
				off += group
			}
		}
	}
	return out, bad, nil
}

func (h *HVP) maxBatch(d int) int {
	if h.MaxBatch > 0 {
		return h.MaxBatch
	}
	return max(defaultBatchFloats/max(d, 1), 1)
}
