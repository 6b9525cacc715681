package zo

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// perturbation is the escape test of perturbed gradient descent ("How to
// Escape Saddle Points Efficiently", Jin et al., ICML 2017), shared by the
// perturbation-based baselines: from x̃ with a small gradient, perturb,
// run up to tThres steps of size η, and call x̃ second-order stationary
// when f has not dropped by fThres below f(x̃).
//
// With ρ = δ²/ε (from δ = √(ρε)) and the proof's constants set to 1
// (tune): fThres = √(ε³/ρ) = ε²/δ. Along curvature −δ a displacement z
// lowers f by δz²/2, which reaches fThres at z* = √(2·fThres/δ); the
// component of the perturbation along one direction is about r/√d (taken
// 10 times smaller, for unlucky draws) and grows by (1 + ηδ) per step, so
// tThres = ⌈ln(z*·10√d/r) / ln(1 + ηδ)⌉.
type perturbation struct {
	x0, g0  []float64 // x̃ and its gradient estimate
	f0      float64   // f(x̃) over samples
	free    []bool
	samples []int
	radius  float64
	steps   int // steps taken since the perturbation
	tThres  int
	fThres  float64
}

func (r *run) newPerturbation(g []float64, free []bool, samples []int, radius, eta float64) *perturbation {
	p := &perturbation{
		x0: append([]float64(nil), r.x...), g0: append([]float64(nil), g...), f0: r.out.F,
		free: free, samples: samples, radius: radius,
		fThres: r.s.Epsilon * r.s.Epsilon / r.s.Delta,
	}
	p.setStep(eta, r.s.Delta, r.d)
	return p
}

// setStep sets tThres for step size eta.
func (p *perturbation) setStep(eta, delta float64, d int) {
	zs := math.Sqrt(2 * p.fThres / delta)
	z0 := p.radius / (10 * math.Sqrt(float64(d)))
	p.tThres = max(1, int(math.Ceil(math.Log(math.Max(zs/z0, math.E))/math.Log1p(eta*delta))))
}

// ball returns a point uniform in the ball of radius p.radius on the free
// coordinates.
func (p *perturbation) ball(rng *rand.Rand) []float64 {
	u := unitRandom(len(p.x0), rng, p.free)
	n := 0
	for _, f := range p.free {
		if f {
			n++
		}
	}
	a := p.radius * math.Pow(rng.Float64(), 1/float64(max(n, 1)))
	for i := range u {
		u[i] *= a
	}
	return u
}

// escaped reports whether f (at x, over p.samples) is fThres below f(x̃).
func (p *perturbation) escaped(f float64) bool { return p.f0-f >= p.fThres }

// record appends the escape from x̃ to x, whose value is f. Its curvature
// is the secant estimate along the displacement Δ = x − x̃,
// 2(f − f(x̃) − g̃ᵀΔ)/‖Δ‖² (the baselines have no finder direction).
func (p *perturbation) record(r *run, x []float64, f float64) {
	dx := sub(x, p.x0)
	n := norm(dx)
	lambda := 0.0
	if n > 0 {
		lambda = 2 * (f - p.f0 - dot(p.g0, dx)) / (n * n)
	}
	r.out.Escapes = append(r.out.Escapes, Escape{Iteration: r.out.Iterations, Lambda: lambda, Step: n, From: p.f0, To: f})
	r.report("escape", lambda)
}

// certify ends the run at x̃ after its perturbation test, confirmed by
// the finder if there is one; ok is false when the finder did not certify
// x̃ (see confirm): the run goes on from the current iterate.
func (p *perturbation) certify(r *run, f Finder, what string) (ok bool, err error) {
	cur, curF, curStale := append([]float64(nil), r.x...), r.out.F, r.stale
	r.set(p.x0, p.f0)
	r.out.GradNorm = norm(p.g0)
	ok, lambda, err := r.confirm(f, p.g0, p.free, p.samples)
	if err != nil {
		return false, err
	}
	r.out.LambdaMin = lambda
	if !ok {
		// Back to where the run was.
		if curStale {
			r.move(cur)
		} else {
			r.set(cur, curF)
		}
		return false, nil
	}
	if math.IsNaN(lambda) {
		r.finish(StatusConverged, fmt.Sprintf("second-order stationary point by the perturbation test (no curvature estimate): ‖ĝ‖ = %.3g ≤ ε = %.3g, and %s %d steps after a perturbation of radius %.3g the value had not dropped by %.3g", r.out.GradNorm, r.s.Epsilon, what, p.steps, p.radius, p.fThres))
	} else {
		r.finish(StatusConverged, fmt.Sprintf("(ε, δ) second-order stationary point: ‖ĝ‖ = %.3g ≤ ε = %.3g by the perturbation test, λ̂_min = %.3g ≥ −δ = %.3g by the finder", r.out.GradNorm, r.s.Epsilon, lambda, -r.s.Delta))
	}
	r.report("certify", lambda)
	return true, nil
}

// verdict is how a perturbation test stands after a step.
type verdict int

const (
	ptPending verdict = iota // the test goes on
	ptEscaped                // f dropped by fThres: the escape is recorded
	ptRefuted                // the finder did not certify x̃ (negative curvature, or no certificate): patience doubles
	ptEnded                  // the run has ended: certified at x̃, or by an oracle error
)

// test runs the perturbation test at the current iterate, whose value over
// p.samples is f: an escape once f is fThres below f(x̃), else, after
// tThres·patience steps, the certificate at x̃ (see certify).
func (p *perturbation) test(r *run, fd Finder, what string, f float64, patience *int) verdict {
	if p.escaped(f) {
		p.record(r, r.x, f)
		return ptEscaped
	}
	if p.steps < p.tThres**patience {
		return ptPending
	}
	ok, err := p.certify(r, fd, what)
	if err != nil {
		r.fail(err)
		return ptEnded
	}
	if ok {
		return ptEnded
	}
	*patience *= 2
	return ptRefuted
}

// pgd is what PAGD and SSRGD carry of perturbed gradient descent from
// step to step: the perturbation test under way, the patience of the
// tests, L̂ with the step η = 1/L̂, and the last iterate of the test and
// its gradient estimate, for secants.
type pgd struct {
	pt        *perturbation // the test under way; nil when none is
	patience  int           // multiplies t_thres; doubles when the finder refutes the test
	lhat, eta float64
	sx, sg    []float64
}

// perturb starts the perturbation test at x̃ = x, whose gradient estimate
// over samples is g: L̂ by power iteration, η = 1/L̂, and x ← P(x̃ + ξ), ξ
// uniform in the ball of radius Perturb·ε/L̂. It returns again, or stop
// when the run has ended.
func (p *pgd) perturb(r *run, g []float64, free []bool, samples []int) flow {
	lhat, _, err := r.estimateL(r.x, g, free, samples)
	if err != nil {
		return r.fail(err)
	}
	p.lhat, p.eta = lhat, 1/lhat
	p.pt = r.newPerturbation(g, free, samples, perturbFactor(r.s, 1)*r.s.Epsilon/lhat, p.eta)
	p.sx, p.sg = append(p.sx[:0], r.x...), append(p.sg[:0], g...)
	r.move(step(r.box, r.x, p.pt.ball(r.rng), 1))
	r.report("step", math.NaN())
	return again
}

// raise raises L̂ to a secant l above it, with η = 1/L̂ and the test's
// t_thres.
func (p *pgd) raise(r *run, l float64) {
	if l > p.lhat {
		p.lhat, p.eta = l, 1/l
		p.pt.setStep(p.eta, r.s.Delta, r.d)
	}
}

// perturbFactor is Settings.Perturb, or def when it is zero.
func perturbFactor(s Settings, def float64) float64 {
	if s.Perturb == 0 {
		return def
	}
	return s.Perturb
}
