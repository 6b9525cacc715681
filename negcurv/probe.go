package negcurv

import (
	"context"
	"math"

	"github.com/zotune/zotune/zo"
)

// probeOffsets returns the two probe offsets a, b along v (besides 0) of a
// second difference of radius at most r that stays in the box: central
// (a, b) = (r, −r) when both sides fit, else one-sided (r, 2r) or
// (−r, −2r) on the side that fits, with r shrunk to what the box allows.
// ok is false when no side fits.
func probeOffsets(box zo.Box, x, v []float64, r float64) (a, b, rr float64, ok bool) {
	fwd, bwd := reach(box, x, v), reach(box, x, neg(v))
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
	return a, b, r, r > 0
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

// secondDifference is the curvature estimate from f at x (f0) and at the
// offsets a, b of probeOffsets.
func secondDifference(f0, fa, fb, a, b, r float64) float64 {
	if b == -a { // central
		return (fa - 2*f0 + fb) / (r * r)
	}
	return (fb - 2*fa + f0) / (r * r)
}

// probeCurvature estimates vᵀHv by a second difference of f along v:
// central [f(x+rv) − 2f(x) + f(x−rv)]/r² when both sides fit in the box,
// else one-sided [f(x+2rv) − 2f(x+rv) + f(x)]/r² on the side that fits
// (first-order accurate, enough to confirm a sign). The radius shrinks to
// what the box allows. It averages over req.Samples and uses req.F for
// f(x), so it costs 2 queries per sample. It returns NaN when an
// evaluation failed or no side fits.
func probeCurvature(ctx context.Context, req zo.FindRequest, v []float64, r float64) (float64, int, error) {
	box := req.Estimator.Box
	a, b, r, ok := probeOffsets(box, req.X, v, r)
	if !ok {
		return math.NaN(), 0, nil
	}
	pa, pb := offsetPoint(box, req.X, v, a), offsetPoint(box, req.X, v, b)
	vals, failed, err := zo.Values(ctx, req.Oracle, [][]float64{pa, pb}, req.Samples)
	n := 2 * len(req.Samples)
	if err != nil {
		return 0, n, err
	}
	if failed > 0 {
		return math.NaN(), n, nil
	}
	return secondDifference(req.F, vals[0], vals[1], a, b, r), n, nil
}

// probeSeeds estimates vᵀHv on each of the given samples separately, by
// the second difference of probeCurvature with f(x) evaluated afresh on
// each sample (3 queries per sample, one batch): the same sample at the
// three points makes each difference a common-random-numbers triple. It
// returns the mean over the samples that did not fail and its standard
// error (NaN mean when every sample failed or no side fits).
func probeSeeds(ctx context.Context, req zo.FindRequest, v []float64, r float64, seeds []int) (mean, se float64, n int, err error) {
	box := req.Estimator.Box
	a, b, r, ok := probeOffsets(box, req.X, v, r)
	if !ok {
		return math.NaN(), 0, 0, nil
	}
	pa, pb := offsetPoint(box, req.X, v, a), offsetPoint(box, req.X, v, b)
	batch := make([]zo.Query, 0, 3*len(seeds))
	for _, s := range seeds {
		batch = append(batch, zo.Query{X: req.X, Sample: s}, zo.Query{X: pa, Sample: s}, zo.Query{X: pb, Sample: s})
	}
	res, err := req.Oracle.Evaluate(ctx, batch)
	if err != nil {
		return 0, 0, len(batch), err
	}
	var sum, sum2 float64
	m := 0
	for k := range seeds {
		r0, ra, rb := res[3*k], res[3*k+1], res[3*k+2]
		if r0.Err != nil || ra.Err != nil || rb.Err != nil {
			continue
		}
		c := secondDifference(r0.Value, ra.Value, rb.Value, a, b, r)
		sum += c
		sum2 += c * c
		m++
	}
	if m == 0 {
		return math.NaN(), 0, len(batch), nil
	}
	mean = sum / float64(m)
	if m > 1 {
		se = math.Sqrt(math.Max(sum2/float64(m)-mean*mean, 0) * float64(m) / float64(m-1) / float64(m))
	}
	return mean, se, len(batch), nil
}
