package negcurv

import (
	"context"
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/zotune/zotune/zo"
)

// Online is ZO-NCF-Online of "Zeroth-Order Negative Curvature Finding:
// Escaping Saddle Points without Gradients" (Zhang, Xiong & Gu, NeurIPS
// 2022), the zeroth-order form of Neon2-online ("Neon2: Finding Local
// Minima via First-Order Oracles", Allen-Zhu & Li, 2018), which is Oja's
// method on displacements from x. From a small random displacement y₀ on
// the free coordinates it repeats, with a fresh sample i at every step,
//
//	y ← y − η·[ĝᵢ(x + y) − ĝᵢ(x)]
//
// without renormalising: ĝᵢ is CoordGE on sample i alone, the same sample
// at both points (a common-random-numbers pair), so each step is one
// gradient batch of 2d queries (4d the first time a sample is drawn: its
// base gradient ĝᵢ(x) goes in the same batch and is cached). The
// component of y along an eigenvalue λ of H changes by 1 − ηλ per step:
// it grows like (1 + ηδ)ᵗ where λ ≤ −δ. When ‖y‖ reaches the escape
// radius r the finder returns y/‖y‖; after T steps without escape, none.
//
// Neon2 escapes at r = Θ(δ/ρ), where the Taylor error starts to matter.
// Here every difference is probed at the fixed probe length R (the
// iteration is linear in y to that order, so only y's direction needs
// probing, and probing short is more accurate), and the start and escape
// radii enter only through their ratio Gain = r/‖y₀‖: no estimate of ρ is
// needed. With A = (16n/p²)·max(1, L/δ) (n free coordinates):
//
//	T = ⌈ln A / ln(1 + ηδ)⌉,  Gain = 2√A.
//
// If λ_min ≤ −δ, ‖y‖ reaches A·p/√n ≥ Gain within T steps with
// probability 1 − p; if λ_min ≥ −δ/2 it stays near or below √A < Gain.
//
// The weak finder above is run up to Repeats times; an escape is verified
// by an averaged curvature probe vᵀHv ≤ −3δ/4 — a second difference of f
// along v, on fresh samples (3 queries each, f(x) included) on a
// stochastic objective, on the request's samples otherwise — and returned
// only then. A run that does not escape, or whose escape is not verified,
// is followed by the next; after the last, none. The curvature estimate
// is the probe's mean for a direction. For a none it is the mean of the
// Rayleigh quotients yᵀ[ĝᵢ(x+y) − ĝᵢ(x)]/‖y‖² over the last eighth of a
// run (the iteration converges to λ_min's eigenvector like a power
// method), the smallest over the runs.
//
// Step: η = 1/L, which maps every eigenvalue in [0, 2L] into [−1, 1] (an
// underestimate of L by up to 2× is harmless). On a stochastic objective (req.NumSamples > 1) each
// single-sample product is noisy, with spread ν along a unit direction;
// the noise adds η²ν² per step to the squared growth of every component,
// so η is also capped at δ/(4ν²), which keeps that drift below a quarter
// of the signal's over the T steps. Then T = Θ(ν²·log(d/p)/δ²) steps of
// 2d queries (4d when every sample is new): the Õ(d/δ²) rate of the
// paper. L and ν are estimated when
// not given: L by four Lanczos steps on the Hessian of f averaged over
// req.Samples (with req.G; the first product is also the first step's on
// a deterministic objective), ν from two single-sample products
// along the same direction, ν̂² = ‖H_a u − H_b u‖²/2.
//
// On a deterministic objective (req.NumSamples ≤ 1) every step uses
// req.Samples and req.G, and the iteration is the power method on
// I − ηH without normalisation, stopped by the escape test.
//
// With Central set, every product is a central difference (4d queries a
// step, no base gradient needed).
//
// Memory is O(d): y, and the base gradients of at most 16 samples. The
// zero value is ready to use.
type Online struct {
	// Settings are those every finder has: P, R, Central, Report.
	Settings
	// L is the gradient Lipschitz constant; default 0: estimated.
	L float64
	// Step is η; default min(1/L, δ/(4ν²)) (1/L on a deterministic
	// objective).
	Step float64
	// MaxIter is the number of steps T of one weak run; default 0: the T
	// above, capped at 10000.
	MaxIter int
	// Gain is the ratio r/‖y₀‖ of the escape radius to the start radius;
	// default 0: 2√A as above.
	Gain float64
	// Repeats is the number of weak runs; default 1 on a deterministic
	// objective (one longer run certifies more cheaply than several
	// short ones), 2 on a stochastic one. Each run is sized for failure
	// probability P^(1/Repeats).
	Repeats int
	// VerifySamples is the number of fresh samples of the verification
	// probe on a stochastic objective; default 8 (at most NumSamples).
	VerifySamples int
}

var _ zo.Finder = Online{}

// onlineCache is the number of samples whose base gradient ĝᵢ(x) Online
// keeps during a call.
const onlineCache = 16

// Find implements zo.Finder.
func (f Online) Find(ctx context.Context, req zo.FindRequest) (zo.Curvature, error) {
	return find(ctx, req, "online", f.Settings, f.L, (*call).randomUnit, f.runs)
}

// runs are the weak runs, the first from y0, with hy0 = H·y0.
func (f Online) runs(ctx context.Context, c *call, y0, hy0 []float64, L float64) (zo.Curvature, error) {
	req := c.req
	o := &oja{f: f, c: c, stochastic: req.NumSamples > 1, hy0: hy0}
	o.sp = &sampleProducts{c: c, h: &zo.HVP{Oracle: req.Oracle, Estimator: req.Estimator, X: req.X, R: c.r, Central: f.Central}, cache: map[int][]float64{}}
	repeats := f.Repeats
	if repeats <= 0 {
		repeats = 1
		if o.stochastic {
			repeats = 2
		}
	}
	pw := math.Pow(f.failureProb(), 1/float64(repeats))
	var err error
	if o.eta, err = o.step(ctx, L, y0); err != nil {
		return zo.Curvature{}, err
	}
	A := amplification(c.n, pw, L, req.Delta)
	o.T = c.iterations(f.MaxIter, growthSteps(A, o.eta*req.Delta))
	o.gain = f.Gain
	if o.gain <= 0 {
		o.gain = 2 * math.Sqrt(A)
	}
	lambda := math.Inf(1)
	for run := 0; run < repeats; run++ {
		c.est.Runs++
		y := y0
		if run > 0 {
			y = c.randomUnit()
		}
		ans, final, l, err := o.weak(ctx, run, y)
		if err != nil || final {
			return ans, err
		}
		lambda = math.Min(lambda, l)
	}
	return c.done(nil, lambda), nil
}

// oja is what the weak runs of one Online call share.
type oja struct {
	f          Online
	c          *call
	sp         *sampleProducts // single-sample products (stochastic objective)
	stochastic bool
	hy0        []float64 // H y₀ from the estimate of L, the first step's product on a deterministic objective
	eta        float64   // step η
	T          int       // steps of a weak run
	gain       float64   // escape radius over start radius
}

// step returns η: Online.Step if set, else 1/L and, on a stochastic
// objective, at most δ/(4ν̂²), with ν̂² = ‖H_a u − H_b u‖²/2 from the
// single-sample products of two random samples a ≠ b along y0.
func (o *oja) step(ctx context.Context, L float64, y0 []float64) (float64, error) {
	c, req := o.c, o.c.req
	eta := o.f.Step
	if o.stochastic && eta <= 0 {
		a := req.Rand.IntN(req.NumSamples)
		b := (a + 1 + req.Rand.IntN(req.NumSamples-1)) % req.NumSamples
		ha, err := o.sp.product(ctx, a, y0)
		if err != nil {
			return 0, err
		}
		hb, err := o.sp.product(ctx, b, y0)
		if err != nil {
			return 0, err
		}
		nu2 := 0.0
		for i := range ha {
			e := ha[i] - hb[i]
			nu2 += e * e
		}
		nu2 /= 2
		c.est.Noise = math.Sqrt(nu2)
		eta = 1 / L
		if nu2 > 0 {
			eta = math.Min(eta, req.Delta/(4*nu2))
		}
	}
	if eta <= 0 {
		eta = 1 / L
	}
	c.est.Step = eta
	return eta, nil
}

// weak is the weak finder's run number run from the start y: Oja's
// iteration y ← y − η·H y for up to T steps, each product on a fresh
// sample on a stochastic objective. An escape (‖y‖ ≥ gain) is verified:
// final is true, with the answer, when that settles the call (a verified
// direction, or a probe that kept failing). Otherwise lambda is the run's
// estimate: the smaller of an escape's measured curvature and the mean
// Rayleigh quotient over the last eighth of the steps (+Inf without
// either).
func (o *oja) weak(ctx context.Context, run int, y []float64) (ans zo.Curvature, final bool, lambda float64, err error) {
	c, req := o.c, o.c.req
	tail := max(o.T/8, 1)
	lambda = math.Inf(1)
	var sum float64
	var cnt int
	shrunk := false
	for t := 0; t < o.T; t++ {
		var hy []float64
		switch {
		case o.stochastic:
			hy, err = o.sp.product(ctx, req.Rand.IntN(req.NumSamples), y)
		case run == 0 && t == 0:
			hy = o.hy0
		default:
			hy, err = c.product(ctx, c.h, y)
		}
		if err != nil {
			return zo.Curvature{}, false, 0, err
		}
		c.est.Iterations++
		if t >= o.T-tail {
			theta, _ := rayleigh(y, hy)
			sum += theta
			cnt++
		}
		next := make([]float64, len(y))
		for i := range y {
			next[i] = y[i] - o.eta*hy[i]
		}
		maskFree(next, req.Free)
		y = next
		ny := floats.Norm(y, 2)
		if ny == 0 {
			break
		}
		if ny < 0x1p-500 {
			// Decayed by 150 orders of magnitude (a minimum): rescale,
			// exactly, so that Rayleigh quotients stay computable. It
			// cannot grow back to the escape gain within T steps.
			floats.Scale(0x1p500, y)
			shrunk = true
		}
		if !shrunk && ny >= o.gain {
			v := unit(y)
			curv, err := o.f.verify(ctx, c, v, o.stochastic)
			if err != nil {
				return zo.Curvature{}, false, 0, err
			}
			if math.IsNaN(curv) {
				return c.unprobed(), true, 0, nil
			}
			if verified(curv, req.Delta) {
				return c.done(v, curv), true, 0, nil
			}
			lambda = curv
			break
		}
	}
	if cnt > 0 {
		lambda = math.Min(lambda, sum/float64(cnt))
	}
	return zo.Curvature{}, false, lambda, nil
}

// sampleProducts are the single-sample products of Online, with the base
// gradients ĝᵢ(x) of the last onlineCache samples kept. One HVP serves
// every sample, so its query buffers are reused.
type sampleProducts struct {
	c     *call
	h     *zo.HVP
	cache map[int][]float64
	order []int // the cached samples, oldest first
}

// product returns H_i y on the free coordinates, for sample i.
func (sp *sampleProducts) product(ctx context.Context, i int, y []float64) ([]float64, error) {
	sp.h.Samples, sp.h.G = []int{i}, sp.cache[i]
	before := sp.h.Queries
	hy, err := sp.c.product(ctx, sp.h, y)
	sp.c.extra += sp.h.Queries - before
	if err != nil {
		return nil, err
	}
	if _, ok := sp.cache[i]; !ok && sp.h.G != nil {
		if len(sp.order) == onlineCache {
			delete(sp.cache, sp.order[0])
			sp.order = sp.order[1:]
		}
		sp.cache[i] = sp.h.G
		sp.order = append(sp.order, i)
	}
	return hy, nil
}

// verify probes the curvature along v: on fresh samples for a stochastic
// objective, on the request's samples otherwise.
func (f Online) verify(ctx context.Context, c *call, v []float64, stochastic bool) (float64, error) {
	if !stochastic {
		return c.verify(ctx, v)
	}
	m := f.VerifySamples
	if m <= 0 {
		m = 8
	}
	seeds := distinctSamples(c, min(m, c.req.NumSamples))
	mean, se, n, err := probeSeeds(ctx, c.req, v, c.r, seeds)
	c.extra += n
	c.est.ProbeStdErr = se
	return mean, err
}

// distinctSamples draws m distinct samples uniformly from
// [0, NumSamples).
func distinctSamples(c *call, m int) []int {
	seen := make(map[int]bool, m)
	out := make([]int, 0, m)
	for len(out) < m {
		s := c.req.Rand.IntN(c.req.NumSamples)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
