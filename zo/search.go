package zo

import (
	"context"
	"math"
)

// The batched searches of the methods: every candidate step of a line
// search or an escape goes out in one batch, so that on a fleet of
// evaluators a search costs one round, not one per trial.

// maxShrink is the number of consecutive failed line-search or escape
// rounds (each dividing the trial lengths by 2^Candidates) before the
// method gives up: with 4 candidates, lengths fall by 2^-24 ≈ 6e-8.
const maxShrink = 6

// lineSearch tries Settings.Candidates step lengths 2t·2^-j along −dir
// in one batch and keeps the lowest value among those with Armijo
// sufficient decrease on the slope estimate g; if none qualifies it
// shrinks all lengths and tries again, down to the run's shortest step
// (see minStep). It returns the accepted length, point and value, or
// nx == nil when nothing decreased. A NaN fx means f(x) is not known: x
// is then evaluated in the first batch with the candidates.
func (r *run) lineSearch(x []float64, fx float64, g, dir []float64, t float64, samples []int) (float64, []float64, float64, error) {
	const c1 = 1e-4
	gn := norm(dir)
	short := r.minStep()
	for round := 0; round < maxShrink; round++ {
		var lens []float64
		var pts [][]float64
		for j := range r.s.Candidates {
			if l := 2 * t * math.Pow(2, -float64(j)); l >= short {
				lens = append(lens, l)
				pts = append(pts, step(r.box, x, dir, -l/gn))
			}
		}
		if len(pts) == 0 {
			break
		}
		ask, spec := pts, r.guess(len(pts), round, samples)
		if math.IsNaN(fx) {
			ask = append([][]float64{x}, pts...)
			if spec >= 0 {
				spec++
			}
		}
		vals, err := r.searchBatch(ask, samples, spec)
		if err != nil {
			return 0, nil, 0, err
		}
		if math.IsNaN(fx) {
			fx, vals = vals[0], vals[1:]
		}
		bestJ := -1
		for j, v := range vals {
			// Armijo on the projected step: f(x⁺) ≤ f(x) + c₁ gᵀ(x⁺ − x).
			if v <= fx+c1*dot(g, sub(pts[j], x)) && v < fx && (bestJ < 0 || v < vals[bestJ]) {
				bestJ = j
			}
		}
		if bestJ >= 0 {
			return lens[bestJ], pts[bestJ], vals[bestJ], nil
		}
		t /= math.Pow(2, float64(r.s.Candidates))
	}
	return 0, nil, 0, nil
}

// minStep is the shortest step a line search tries: none (0) on a smooth
// objective; where the noise estimate found noise or flat stretches, a
// quarter of the difference step. The gradient was measured at the scale
// of that step, and a shorter step moves f less than the noise or stays
// on the flat stretch it starts on: its value says nothing, and a search
// that halves down to it only spends evaluations.
func (r *run) minStep() float64 {
	if !r.s.EstimateNoise || (r.out.Noise == 0 && !r.flat) {
		return 0
	}
	return r.s.Mu / 4
}

// descend steps along −g, by the Armijo line search on f_S from the trial
// length t0 (see lineSearch), to the point it accepts; t is the accepted
// length. With no decrease the next iteration draws another batch (again)
// if S does not hold every sample; if it does (the search was on the
// objective itself), a new difference step from the noise (run.stall)
// goes on (again), and otherwise the run has ended.
func (r *run) descend(g []float64, t0 float64, S []int) (t float64, fl flow) {
	t, nx, nf, err := r.lineSearch(r.x, r.out.F, g, g, t0, S)
	if err != nil {
		return 0, r.fail(err)
	}
	if nx == nil {
		if len(S) != len(r.all) || r.stall(r.out.GradNorm) {
			return 0, again // another batch, or a new step: a new epoch
		}
		return 0, stop
	}
	r.set(nx, nf)
	r.report("step", math.NaN())
	return t, goOn
}

// escapeSearch tries x ± s_j·v for cands lengths s_j = r·2^-j, both signs
// in one batch, and keeps the lowest value below f(x); it shrinks and
// retries when none is lower.
func escapeSearch(ctx context.Context, o Oracle, b Box, x []float64, fx float64, v []float64, r float64, cands int, samples []int) (float64, []float64, float64, error) {
	for round := 0; round < maxShrink; round++ {
		n := cands
		pts := make([][]float64, 0, 2*n)
		lens := make([]float64, 0, 2*n)
		for j := 0; j < n; j++ {
			l := r * math.Pow(2, -float64(j))
			pts = append(pts, step(b, x, v, l), step(b, x, v, -l))
			lens = append(lens, l, l)
		}
		vals, _, err := Values(ctx, o, pts, samples)
		if err != nil {
			return 0, nil, 0, err
		}
		bestJ := -1
		for j, val := range vals {
			if val < fx && (bestJ < 0 || val < vals[bestJ]) {
				bestJ = j
			}
		}
		if bestJ >= 0 {
			return lens[bestJ], pts[bestJ], vals[bestJ], nil
		}
		r /= math.Pow(2, float64(n))
	}
	return 0, nil, 0, nil
}

// samGradient returns the sharpness-aware direction: the estimate, with
// the same stencil and samples, at P(x + ρ g/‖g‖). It returns g itself
// when that estimate is void or not a descent direction for g.
func samGradient(ctx context.Context, o Oracle, st Stencil, b Box, x, g []float64, rho float64, samples []int) ([]float64, error) {
	y := step(b, x, g, rho/norm(g))
	sg, failed, err := EstimateWith(ctx, o, st, y, samples)
	if err != nil {
		return nil, err
	}
	if failed == len(x) || dot(sg, g) <= 0 {
		return g, nil
	}
	return sg, nil
}
