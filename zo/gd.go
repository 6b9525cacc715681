package zo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// GD is ZO-GD with negative-curvature finding (ZO-GD-NCF of "Zeroth-Order
// Negative Curvature Finding: Escaping Saddle Points without Gradients",
// Zhang, Xiong & Gu, NeurIPS 2022):
//
//	g ← CoordGE(x)
//	if ‖g‖ > ε: p ← H·g, H the L-BFGS inverse-Hessian approximation (p = g without curvature pairs)
//	            x ← P(x − t·p/‖p‖), t from a batched Armijo line search (trial length ‖p‖; for p = g the last step's)
//	else: v ← Finder(x); none with λ̂ ≥ −δ ⇒ stop, certified; a direction ⇒ x ← P(x ± s·v), the better sign
//
// Every line search and escape sends all its candidate steps (several
// lengths, both signs for an escape) as one batch, so on a fleet of
// evaluators each iteration costs two rounds, not one per trial step.
// Descent steps are preconditioned by L-BFGS (Settings.Memory): the
// trial lengths are 2‖p‖, ‖p‖, ‖p‖/2, ‖p‖/4 (‖p‖ is the quasi-Newton
// step); when p is not a descent direction, or its search finds no
// decrease, the pairs are dropped and the search is made along g from
// the last accepted step length. A none whose estimate is NaN or
// below −δ certifies nothing: the finder is called again from a fresh
// random start, up to 3 calls in all, and then the run stops, uncertified
// (StatusStopped).
//
// With Settings.SAMRadius set the descent follows the sharpness-aware
// direction of "Sharpness-Aware Minimization for Efficiently Improving
// Generalization" (Foret et al., ICLR 2021), the gradient estimate at
// x + ρ g/‖g‖ (one more estimate per step), still with the Armijo test
// on g; the stationarity test and the certificate use g.
type GD struct {
	Settings Settings
	Finder   Finder     // nil: stop at first-order stationarity (curvature "none")
	Rand     *rand.Rand // required when Finder is set
}

var _ Method = (*GD)(nil)

// Minimize runs ZO-GD from p.X0 until it converges or the oracle stops it.
// The returned error is non-nil only for invalid input; every other ending
// is a Outcome.Status.
func (m *GD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	d := len(p.X0)
	if d == 0 {
		return nil, errors.New("zo: empty start point")
	}
	if err := p.Box.Validate(d); err != nil {
		return nil, err
	}
	if err := m.Settings.Validate(); err != nil {
		return nil, err
	}
	if m.Finder != nil && m.Rand == nil {
		return nil, errors.New("zo: GD with a finder needs a Rand")
	}
	s := m.Settings.withDefaults(p.Box)
	samples := make([]int, s.Samples)
	for i := range samples {
		samples[i] = i
	}
	est := CoordGE{Mu: s.Mu, Box: p.Box}
	scale := p.Box.Scale()

	x := append([]float64(nil), p.X0...)
	p.Box.Project(x)
	res := &Outcome{X: x, F: math.NaN(), GradNorm: math.NaN(), LambdaMin: math.NaN(), Epsilon: s.Epsilon, Delta: s.Delta}
	end := func(err error) (*Outcome, error) {
		res.Status, res.Reason = statusOf(err)
		return res, nil
	}
	report := func(ev string, lambda float64) {
		if s.Progress != nil {
			s.Progress(Progress{Iteration: res.Iterations, Event: ev, F: res.F, GradNorm: res.GradNorm, Lambda: lambda})
		}
	}

	vals, _, err := Values(ctx, o, [][]float64{x}, samples)
	if err != nil {
		return end(err)
	}
	if math.IsInf(vals[0], 1) {
		res.Status, res.Reason = StatusFailed, "the objective failed at the start point"
		return res, nil
	}
	res.F = vals[0]

	step := s.Step * scale // current trial step length
	qn := &lbfgs{m: max(s.Memory, 0)}
	var prevX, prevG []float64 // last iterate and gradient, for curvature pairs
	escape := 0.25 * scale     // current trial escape length
	failedGrads := 0
	for {
		if s.MaxIterations > 0 && res.Iterations >= s.MaxIterations {
			res.Status, res.Reason = StatusBudget, fmt.Sprintf("iteration cap %d reached", s.MaxIterations)
			return res, nil
		}
		res.Iterations++
		g, failed, err := est.Estimate(ctx, o, x, samples)
		if err != nil {
			return end(err)
		}
		if failed == d {
			failedGrads++
			if failedGrads >= maxFailedGradients {
				res.Status, res.Reason = StatusFailed, fmt.Sprintf("every gradient query failed %d times in a row", failedGrads)
				return res, nil
			}
			continue
		}
		failedGrads = 0
		free := freeCoords(p.Box, x, g, s.Mu)
		mask(g, free)
		res.GradNorm = norm(g)
		res.LambdaMin = math.NaN()

		if prevX != nil {
			qn.push(sub(x, prevX), sub(g, prevG))
		}
		prevX, prevG = append(prevX[:0], x...), append(prevG[:0], g...)

		if res.GradNorm > s.Epsilon {
			// sg is the gradient the step follows: g, or with SAM the
			// estimate at x + ρ g/‖g‖.
			sg := g
			if s.SAMRadius > 0 {
				sg, err = samGradient(ctx, o, est, p.Box, x, g, s.SAMRadius*scale, samples)
				if err != nil {
					return end(err)
				}
				mask(sg, free)
			}
			dir, t0 := sg, step
			if len(qn.s) > 0 {
				// Quasi-Newton direction; its natural length is the trial step.
				dir = qn.direction(sg)
				mask(dir, free)
				t0 = norm(dir)
				if dot(dir, g) <= 0 || t0 == 0 || math.IsNaN(t0) {
					qn.reset()
					dir, t0 = sg, step
				}
			}
			t, nx, nf, err := lineSearch(ctx, o, p.Box, x, res.F, g, dir, t0, s.Candidates, samples)
			if err != nil {
				return end(err)
			}
			if nx == nil && len(qn.s) > 0 {
				// The preconditioner misled; retry from a plain gradient step.
				qn.reset()
				t, nx, nf, err = lineSearch(ctx, o, p.Box, x, res.F, g, sg, step, s.Candidates, samples)
				if err != nil {
					return end(err)
				}
			}
			if nx == nil {
				res.Status, res.Reason = StatusStopped, fmt.Sprintf("line search found no decrease along the estimated gradient (norm %.3g > ε = %.3g): the estimate is below the objective's noise or round-off", res.GradNorm, s.Epsilon)
				return res, nil
			}
			copy(x, nx)
			res.F = nf
			step = t
			report("step", math.NaN())
			continue
		}

		// Small gradient: look for negative curvature.
		if m.Finder == nil {
			res.Status, res.Reason = StatusConverged, "first-order stationary point (no curvature finder)"
			report("done", math.NaN())
			return res, nil
		}
		c, certified, err := findCurvature(ctx, m.Finder, FindRequest{
			Oracle: o, X: x, F: res.F, G: g, Estimator: est, Samples: samples,
			NumSamples: s.Samples, Delta: s.Delta, Free: free, Rand: m.Rand,
		})
		if err != nil {
			return end(err)
		}
		res.LambdaMin = c.Lambda
		if c.Direction == nil {
			if !certified {
				res.Status, res.Reason = StatusStopped, uncertified(res.GradNorm, c.Lambda, s)
				return res, nil
			}
			res.Status = StatusConverged
			res.Reason = fmt.Sprintf("(ε, δ) second-order stationary point: ‖ĝ‖ = %.3g ≤ ε = %.3g, λ̂_min = %.3g ≥ −δ = %.3g", res.GradNorm, s.Epsilon, c.Lambda, -s.Delta)
			report("certify", c.Lambda)
			return res, nil
		}
		from := res.F
		t, nx, nf, err := escapeSearch(ctx, o, p.Box, x, res.F, c.Direction, escape, s.Candidates, samples)
		if err != nil {
			return end(err)
		}
		if nx == nil {
			res.Status, res.Reason = StatusStopped, fmt.Sprintf("negative curvature %.3g found but no step along it decreases the objective", c.Lambda)
			return res, nil
		}
		copy(x, nx)
		res.F = nf
		escape = 2 * t
		qn.reset() // curvature pairs across a saddle say nothing about the new basin
		prevX = nil
		res.Escapes = append(res.Escapes, Escape{Iteration: res.Iterations, Lambda: c.Lambda, Step: t, From: from, To: nf})
		report("escape", c.Lambda)
	}
}

// lbfgs keeps the last m curvature pairs (s, y) = (Δx, Δĝ) and applies the
// L-BFGS inverse-Hessian approximation by the two-loop recursion (Nocedal
// & Wright, "Numerical Optimization", Algorithm 7.4). Pairs without
// positive curvature (sᵀy ≤ 0, as near a saddle) are skipped, so the
// approximation stays positive definite and its direction is a descent
// direction; escaping saddles stays the finder's job.
type lbfgs struct {
	m    int
	s, y [][]float64
}

func (q *lbfgs) push(s, y []float64) {
	if q.m == 0 {
		return
	}
	sy := dot(s, y)
	if !(sy > 1e-10*norm(s)*norm(y)) {
		return
	}
	q.s = append(q.s, s)
	q.y = append(q.y, y)
	if len(q.s) > q.m {
		q.s, q.y = q.s[1:], q.y[1:]
	}
}

func (q *lbfgs) reset() { q.s, q.y = nil, nil }

// direction returns H·g for the current approximation H of the inverse
// Hessian.
func (q *lbfgs) direction(g []float64) []float64 {
	k := len(q.s)
	d := append([]float64(nil), g...)
	alpha := make([]float64, k)
	for i := k - 1; i >= 0; i-- {
		alpha[i] = dot(q.s[i], d) / dot(q.s[i], q.y[i])
		for j := range d {
			d[j] -= alpha[i] * q.y[i][j]
		}
	}
	last := k - 1
	gamma := dot(q.s[last], q.y[last]) / dot(q.y[last], q.y[last])
	for j := range d {
		d[j] *= gamma
	}
	for i := 0; i < k; i++ {
		beta := dot(q.y[i], d) / dot(q.s[i], q.y[i])
		for j := range d {
			d[j] += (alpha[i] - beta) * q.s[i][j]
		}
	}
	return d
}
