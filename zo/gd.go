package zo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Settings are the knobs shared by the optimizers. The zero value of every
// field means its default; defaults need no knowledge of L, ρ or the noise.
type Settings struct {
	// Epsilon is the target gradient norm ε; default 1e-3.
	Epsilon float64
	// Delta is the curvature tolerance δ: stop only where λ_min ≥ −δ.
	// Default √ε, the classical δ = √(ρε) with ρ = 1 in the optimizer's
	// coordinates (for a study, the unit box).
	Delta float64
	// Mu is the finite-difference step; default 1e-5 × Box.Scale().
	Mu float64
	// Samples is the number of component functions (simulator seeds);
	// default 1. ZO-GD averages over all of them at every point.
	Samples int
	// Step is the first trial step length as a fraction of Box.Scale();
	// default 0.1. It adapts afterwards.
	Step float64
	// Candidates is the number of step lengths tried at once in one batch
	// by a line search (and per sign by an escape); default 4.
	Candidates int
	// Memory is the number of curvature pairs kept to precondition descent
	// steps (L-BFGS); default 10; negative: plain gradient steps.
	Memory int
	// MaxIterations caps the iterations; default 0 = no cap (the oracle's
	// budget stops the run).
	MaxIterations int

	// Estimator names the gradient estimator of the mini-batch steps (see
	// Estimators and NewEstimator): "coord" (central CoordGE, the
	// default), "coord-forward", "rand", "gauss" or "randomk". zo-sgd uses
	// it for its steps, zo-scsg, zo-spider and zo-ssrgd inside their
	// epochs, pagd ("coord" or "coord-forward" only) for its descent.
	// zo-gd, the big-batch gradients (snapshots, refreshes, checks) and
	// every certificate use central CoordGE.
	Estimator string
	// Directions is the number q of random directions of "rand" and
	// "gauss", the number k of coordinates of "randomk", and zpsgd's
	// number m of Gaussian directions; default ⌈d/4⌉.
	Directions int
	// BigBatch is the number B of samples averaged by a big-batch gradient
	// (SCSG snapshots, SPIDER and SSRGD refreshes, SGD checks, finder
	// calls, certificates); default min(Samples, 64), the whole sum when
	// it has at most 64 components. With B < Samples the certificate is
	// the big batch's, drawn afresh each time: an ε below its sampling
	// error cannot be certified, and the run ends on its budget.
	BigBatch int
	// MiniBatch is the number b of samples of a mini-batch step; default
	// max(1, B/8). (A b above the default B raises B to b.)
	MiniBatch int
	// InnerSteps is SCSG's mean epoch length and the refresh period q of
	// SPIDER and SSRGD; default ⌈B/b⌉. With one sample (a deterministic
	// objective) it is 1, and those methods take full-gradient steps.
	InnerSteps int
	// SAMRadius turns on sharpness-aware descent steps (zo-gd, zo-sgd):
	// the step direction is the gradient estimate at x + ρ·ĝ/‖ĝ‖, with ρ
	// = SAMRadius·Box.Scale(). Default 0: off.
	SAMRadius float64
	// Perturb is the radius of the perturbation of the perturbation-based
	// baselines (pagd, zo-ssrgd: a uniform ball around the point; zpsgd:
	// the noise added to every gradient, in gradient units), in units of
	// the perturbed-gradient-descent radius r = ε/L̂ (pagd, zo-ssrgd) or
	// ε (zpsgd); default 1 and ½ respectively.
	Perturb float64
	// Progress, if set, is called after every iteration.
	Progress func(Progress)
}

// withDefaults returns s with zero fields set to their defaults for box b.
func (s Settings) withDefaults(b Box) Settings {
	if s.Epsilon == 0 {
		s.Epsilon = 1e-3
	}
	if s.Delta == 0 {
		s.Delta = math.Sqrt(s.Epsilon)
	}
	if s.Mu == 0 {
		s.Mu = 1e-5 * b.Scale()
	}
	if s.Samples == 0 {
		s.Samples = 1
	}
	if s.Step == 0 {
		s.Step = 0.1
	}
	if s.Candidates == 0 {
		s.Candidates = 4
	}
	if s.Memory == 0 {
		s.Memory = 10
	}
	return s
}

// Validate reports settings that cannot work.
func (s Settings) Validate() error {
	switch {
	case s.Epsilon < 0 || math.IsNaN(s.Epsilon):
		return fmt.Errorf("zo: epsilon must be positive, got %g", s.Epsilon)
	case s.Delta < 0 || math.IsNaN(s.Delta):
		return fmt.Errorf("zo: delta must be positive, got %g", s.Delta)
	case s.Mu < 0 || math.IsNaN(s.Mu):
		return fmt.Errorf("zo: mu must be positive, got %g", s.Mu)
	case s.Samples < 0:
		return fmt.Errorf("zo: samples must be positive, got %d", s.Samples)
	case s.Step < 0 || s.Step > 1:
		return fmt.Errorf("zo: step must be in (0, 1], got %g", s.Step)
	case s.Candidates < 0:
		return fmt.Errorf("zo: candidates must be positive, got %d", s.Candidates)
	case s.Estimator != "" && !slices.Contains(Estimators, s.Estimator):
		return fmt.Errorf("zo: unknown estimator %q (want one of %v)", s.Estimator, Estimators)
	case s.Directions < 0:
		return fmt.Errorf("zo: directions must be positive, got %d", s.Directions)
	case s.BigBatch < 0 || s.BigBatch > max(s.Samples, 1):
		return fmt.Errorf("zo: big batch must be in [1, samples = %d], got %d", max(s.Samples, 1), s.BigBatch)
	case s.MiniBatch < 0 || (s.BigBatch > 0 && s.MiniBatch > s.BigBatch) || s.MiniBatch > max(s.Samples, 1):
		return fmt.Errorf("zo: mini-batch must be in [1, big batch], got %d", s.MiniBatch)
	case s.InnerSteps < 0:
		return fmt.Errorf("zo: inner steps must be positive, got %d", s.InnerSteps)
	case s.SAMRadius < 0 || s.SAMRadius >= 1 || math.IsNaN(s.SAMRadius):
		return fmt.Errorf("zo: SAM radius must be in [0, 1), got %g", s.SAMRadius)
	case s.Perturb < 0 || math.IsNaN(s.Perturb):
		return fmt.Errorf("zo: perturbation radius must be positive, got %g", s.Perturb)
	}
	return nil
}

// Problem is a start point in a box.
type Problem struct {
	X0  []float64
	Box Box
}

// Method is an optimizer.
type Method interface {
	Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error)
}

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

// maxShrink is the number of consecutive failed line-search or escape
// rounds (each dividing the trial lengths by 2^Candidates) before the
// method gives up: with 4 candidates, lengths fall by 2^-24 ≈ 6e-8.
const maxShrink = 6

// maxFailedGradients is the number of consecutive gradient estimates that
// failed on every coordinate before the run ends as failed.
const maxFailedGradients = 3

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

// step returns P(x + a·v).
func step(b Box, x, v []float64, a float64) []float64 {
	y := make([]float64, len(x))
	for i := range x {
		y[i] = x[i] + a*v[i]
	}
	b.Project(y)
	return y
}

// freeCoords marks the coordinates not held at a bound by the gradient.
func freeCoords(b Box, x, g []float64, tol float64) []bool {
	at := b.AtBound(x, g, tol)
	free := make([]bool, len(x))
	for i := range at {
		free[i] = !at[i]
	}
	return free
}

func mask(v []float64, free []bool) {
	for i := range v {
		if !free[i] {
			v[i] = 0
		}
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sub(a, b []float64) []float64 {
	c := make([]float64, len(a))
	for i := range a {
		c[i] = a[i] - b[i]
	}
	return c
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
