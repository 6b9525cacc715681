package negcurv

import (
	"context"
	"math"

	"github.com/zotune/zotune/zo"
)

// probeTries is the number of times a curvature probe sends the points
// whose evaluation failed before it gives up: a failed probe is retried,
// never read as an absence of curvature.
const probeTries = 3

// stencil is a second difference of f along a unit v at x whose points
// stay in the box:
//
//	vᵀHv ≈ (w0·f(x) + Σₖ w[k]·f(pts[k])) / r².
type stencil struct {
	pts [][]float64
	w   []float64
	w0  float64
	r   float64
}

// probeStencil returns the second difference along v of radius at most r
// that stays in the box:
//
//   - central, [f(x+rv) − 2f(x) + f(x−rv)]/r², when both sides fit;
//   - else one-sided, [f(x+2rv) − 2f(x+rv) + f(x)]/r² (or along −v) on the
//     side that reaches further, with r shrunk to half that reach if
//     needed: the central difference at x+rv, first-order accurate;
//   - else (at a corner, along a v that points out of the box in both
//     senses; the reach of both sides is below r) the central difference
//     [f(c+rv) − 2f(c) + f(c−rv)]/r² at the shifted centre c = x + r(a−b),
//     with v = a + b split coordinate-wise by zo.Box.Split at length 2r:
//     c + rv = x + 2ra and c − rv = x − 2rb are in the box, and so is c.
//     It costs 3 points (f(x) is not among them), first-order accurate
//     (the centre moved by r‖a − b‖ = r).
//
// ok is false only when no radius fits (x outside the box).
func probeStencil(box zo.Box, x, v []float64, r float64) (st stencil, ok bool) {
	fwd, bwd := box.Reach(x, v)
	at := func(offs ...float64) [][]float64 {
		pts := make([][]float64, len(offs))
		for k, a := range offs {
			pts[k] = offsetPoint(box, x, v, a)
		}
		return pts
	}
	switch {
	case fwd >= r && bwd >= r:
		return stencil{pts: at(r, -r), w: []float64{1, 1}, w0: -2, r: r}, true
	case math.Max(fwd, bwd) >= r:
		s := 1.0
		if fwd < bwd {
			s, fwd = -1, bwd
		}
		r = math.Min(r, fwd/2)
		return stencil{pts: at(s*r, 2*s*r), w: []float64{-2, 1}, w0: 1, r: r}, true
	}
	a, b, l := box.Split(x, v, 2*r)
	r = l / 2
	if !(r > 0) {
		return stencil{}, false
	}
	pa, pb, pc := make([]float64, len(x)), make([]float64, len(x)), make([]float64, len(x))
	for i := range x {
		pa[i] = x[i] + 2*r*a[i]
		pb[i] = x[i] - 2*r*b[i]
		pc[i] = x[i] + r*(a[i]-b[i])
	}
	for _, p := range [][]float64{pa, pb, pc} {
		box.Project(p) // guards round-off only
	}
	return stencil{pts: [][]float64{pa, pb, pc}, w: []float64{1, 1, -2}, r: r}, true
}

// curvature combines f(x) = f0 and the values at the stencil's points.
func (st stencil) curvature(f0 float64, vals []float64) float64 {
	s := 0.0
	if st.w0 != 0 {
		s = st.w0 * f0
	}
	for k, w := range st.w {
		s += w * vals[k]
	}
	return s / (st.r * st.r)
}

// offsetPoint returns P(x + a·v); the projection guards round-off only.
func offsetPoint(box zo.Box, x, v []float64, a float64) []float64 {
	p := make([]float64, len(x))
	for i := range p {
		p[i] = x[i] + a*v[i]
	}
	box.Project(p)
	return p
}

// probeCurvature estimates vᵀHv by a second difference of f along v that
// stays in the box (see probeStencil). It averages over req.Samples and
// uses req.F for f(x), so it costs 2 queries per sample (3 at a corner
// where v leaves the box both ways). A point whose evaluation failed is
// sent again, up to probeTries sends in all; the result is NaN only when
// a point still failed then (or, for x outside the box, when no radius
// fits).
func probeCurvature(ctx context.Context, req zo.FindRequest, v []float64, r float64) (float64, int, error) {
	st, ok := probeStencil(req.Estimator.Box, req.X, v, r)
	if !ok {
		return math.NaN(), 0, nil
	}
	vals := make([]float64, len(st.pts))
	todo := make([]int, len(st.pts)) // the points still without a value
	for k := range todo {
		todo[k] = k
	}
	n := 0
	for try := 0; try < probeTries && len(todo) > 0; try++ {
		pts := make([][]float64, len(todo))
		for j, k := range todo {
			pts[j] = st.pts[k]
		}
		got, _, err := zo.Values(ctx, req.Oracle, pts, req.Samples)
		n += len(pts) * len(req.Samples)
		if err != nil {
			return 0, n, err
		}
		left := todo[:0]
		for j, k := range todo {
			if math.IsInf(got[j], 1) { // a failed sample
				left = append(left, k)
				continue
			}
			vals[k] = got[j]
		}
		todo = left
	}
	if len(todo) > 0 {
		return math.NaN(), n, nil
	}
	return st.curvature(req.F, vals), n, nil
}

// probeSeeds estimates vᵀHv on each of the given samples separately, by
// the second difference of probeCurvature with f(x) evaluated afresh on
// each sample (3 queries per sample, one batch; at a corner the 3 points
// of the shifted stencil, without x): the same sample at every
// point makes each difference a common-random-numbers set. It returns the
// mean over the samples that did not fail and its standard error. When
// every sample failed the batch is sent again, up to probeTries sends in
// all; the mean is NaN only when every sample still failed then (or no
// radius fits).
func probeSeeds(ctx context.Context, req zo.FindRequest, v []float64, r float64, seeds []int) (mean, se float64, n int, err error) {
	st, ok := probeStencil(req.Estimator.Box, req.X, v, r)
	if !ok {
		return math.NaN(), 0, 0, nil
	}
	pts, off := st.pts, 0
	if st.w0 != 0 {
		pts, off = append([][]float64{req.X}, st.pts...), 1
	}
	batch := make([]zo.Query, 0, len(pts)*len(seeds))
	for _, s := range seeds {
		for _, p := range pts {
			batch = append(batch, zo.Query{X: p, Sample: s})
		}
	}
	for try := 0; try < probeTries; try++ {
		res, err := req.Oracle.Evaluate(ctx, batch)
		n += len(batch)
		if err != nil {
			return 0, 0, n, err
		}
		var sum, sum2 float64
		m := 0
		vals := make([]float64, len(st.pts))
	seed:
		for k := range seeds {
			rs := res[len(pts)*k : len(pts)*(k+1)]
			for _, q := range rs {
				if q.Err != nil {
					continue seed
				}
			}
			for j := range vals {
				vals[j] = rs[j+off].Value
			}
			c := st.curvature(rs[0].Value, vals) // rs[0] is f(x) when w0 ≠ 0
			sum += c
			sum2 += c * c
			m++
		}
		if m == 0 {
			continue
		}
		mean = sum / float64(m)
		if m > 1 {
			se = math.Sqrt(math.Max(sum2/float64(m)-mean*mean, 0) * float64(m) / float64(m-1) / float64(m))
		}
		return mean, se, n, nil
	}
	return math.NaN(), 0, n, nil
}
