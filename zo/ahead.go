package zo

import "slices"

// Speculative stencils (Settings.Speculate). A step of ZO-GD costs two
// rounds: the line search's candidates, then the gradient stencil at the
// candidate accepted. With speculation the line search's first batch also
// carries the stencil at the candidate most likely to win (see guess); when that candidate wins again, the next gradient is answered
// from that batch and the step costs one round. The stencil is central
// CoordGE, which draws nothing at random, so the answers are those the
// next estimate would have asked for: the run takes the same path, with
// the same values, in fewer rounds and with 2d·samples more queries for
// every step where another candidate won.

// ahead is a gradient stencil answered in advance: its point, the
// difference step and samples it was sent with, and the answers.
type ahead struct {
	x       []float64
	mu      float64
	samples int
	res     []Result
}

// guess returns the candidate position to speculate on among n, or -1
// for none: speculation is off, the search is over a subset of the
// samples, or it is not the search's first batch (round > 0). The guess
// is the second length, ‖p‖ for a quasi-Newton direction p (the step to
// the minimum of the local quadratic model) and the last accepted length
// for a gradient step. On the project's problem set it beat the position
// accepted last time, which hit less often (docs/benchmarks.md).
func (r *run) guess(n, round int, samples []int) int {
	if !r.speculate || round > 0 || len(samples) != len(r.all) || n == 0 {
		return -1
	}
	return min(1, n-1)
}

// searchBatch evaluates a line search's points over samples in one batch,
// with the gradient stencil at points[spec] when spec ≥ 0, which it keeps
// as r.ahead; it returns the mean values at the points.
func (r *run) searchBatch(points [][]float64, samples []int, spec int) ([]float64, error) {
	r.ahead = nil
	if spec < 0 {
		vals, _, err := Values(r.ctx, r.o, points, samples)
		return vals, err
	}
	res, err := r.send(valueQueries(points, samples), r.coord.Queries(points[spec], samples))
	if err != nil {
		return nil, err
	}
	r.ahead = &ahead{x: slices.Clone(points[spec]), mu: r.coord.Mu, samples: len(samples), res: res[1]}
	vals, _ := meanValues(res[0], len(points), len(samples))
	return vals, nil
}

// answered returns the answers to the gradient stencil at x over every
// sample from the speculative stencil, when it was sent for x with the
// current step; ok is false otherwise. Either way the stencil is used up.
func (r *run) answered(x []float64) (res []Result, ok bool) {
	a := r.ahead
	r.ahead = nil
	if a == nil || a.mu != r.coord.Mu || a.samples != len(r.all) || !slices.Equal(a.x, x) {
		return nil, false
	}
	return a.res, true
}
