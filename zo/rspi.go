package zo

import (
	"context"
	"math"
	"math/rand/v2"
)

// RSPI is random search with power iteration, from "On the Second-order
// Convergence Properties of Random Search Methods" (Lucchi, Orvieto &
// Solomou, NeurIPS 2021): two-point random search, and where it stalls a
// finite-difference power iteration that supplies a direction of negative
// curvature, tried at both signs:
//
//	loop:
//	    u uniform on the unit sphere; x ← argmin{f(x), f(x+σu), f(x−σu)}    (one batch of 2)
//	    σ ← min(1.5σ, σ₀) after a success, max(σ/2, μ) after a failure
//	    every d steps:  g ← CoordGE(x)
//	        if ‖g‖ ≤ ε:
//	            L̂ ← power iteration on H; c ← 1.5·L̂
//	            v ← power iteration on I − H/c from a random start (HVPs from CoordGE differences)
//	            if vᵀHv ≤ −δ/2 within T products: x ← the best of x ± s·v (two-sign escape); σ ← its initial value
//	            else stop: certified with λ̂ = the smallest vᵀHv seen, if λ̂ ≥ −δ
//
// The paper's decreasing σ schedule is replaced by the adaptation above,
// which needs no constants of f. On a face of the box the directions u
// are drawn on the coordinates the last check found free (two-sided
// trials across a face would mostly leave it, uphill). M = I − H/c has H's bottom eigenvector
// as its top one when c ≥ L/2; T = ⌈(2c/δ)·ln(√d/p)⌉ with p = 0.1 (tune)
// is the number of products after which a component along curvature ≤ −δ
// would dominate one along curvature ≥ −δ/2. A Finder, if given, replaces
// the power iteration (its none is the certificate). As in GD, a none
// certifies only when λ̂ ≥ −δ: otherwise the finder (or the power
// iteration) is called again, up to 3 calls, and then the run stops
// uncertified. Every value averages over all Samples.
type RSPI struct {
	Settings Settings
	Finder   Finder     // nil: RSPI's own power iteration
	Rand     *rand.Rand // required
}

var _ Method = (*RSPI)(nil)

// rspiFailure is the random-search step's failure probability bound p in
// the power iteration's length.
const rspiFailure = 0.1

// Minimize runs RSPI from p.X0. The returned error is non-nil only for
// invalid input; every other ending is an Outcome.Status.
func (m *RSPI) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	r, err := newRun(ctx, o, p, m.Settings, m.Rand, "rspi")
	if err != nil {
		return nil, err
	}
	s := r.s
	S := r.all
	sigma0 := s.Step * r.scale
	sigma := sigma0
	since := 0
	var free []bool // the last check's free coordinates; nil: all

	if !r.start() {
		return r.out, nil
	}
	for r.iterate() {
		if since >= r.d {
			since = 0
			g, gfree, fl := r.coordGradient()
			switch fl {
			case stop:
				return r.out, nil
			case again:
				continue
			}
			free = gfree
			if r.out.GradNorm > s.Epsilon {
				continue
			}
			var fd Finder = rspiPower{r}
			if m.Finder != nil {
				fd = m.Finder
			}
			if r.stationary(fd, g, free, S) == stop {
				return r.out, nil
			}
			sigma = sigma0 // escaped
			continue
		}

		since++
		u := unitRandom(r.d, r.rng, free)
		pts := [][]float64{step(p.Box, r.x, u, sigma), step(p.Box, r.x, u, -sigma)}
		vals, _, err := Values(ctx, o, pts, S)
		if err != nil {
			r.fail(err)
			return r.out, nil
		}
		best := 0
		if vals[1] < vals[0] {
			best = 1
		}
		if vals[best] < r.out.F {
			r.set(pts[best], vals[best])
			r.out.GradNorm = math.NaN()
			sigma = math.Min(1.5*sigma, sigma0)
			r.report("step", math.NaN())
		} else {
			sigma = math.Max(sigma/2, s.Mu)
		}
	}
	return r.out, nil
}

// rspiPower is RSPI's own power iteration as a Finder, for
// findCurvature; it runs at the run's iterate (req.X).
type rspiPower struct{ r *run }

func (p rspiPower) Find(_ context.Context, req FindRequest) (Curvature, error) {
	return p.r.powerCurvature(req.G, req.Free, req.Samples)
}

// powerCurvature is RSPI's finite-difference power iteration at the
// iterate, whose gradient estimate over samples is g (see RSPI).
func (r *run) powerCurvature(g []float64, free []bool, samples []int) (Curvature, error) {
	lhat, _, err := r.estimateL(r.x, g, free, samples)
	if err != nil {
		return Curvature{}, err
	}
	c := 1.5 * lhat
	nfree := 0
	for _, f := range free {
		if f {
			nfree++
		}
	}
	if nfree == 0 {
		return Curvature{Lambda: math.Inf(1)}, nil
	}
	steps := int(math.Ceil(2 * c / r.s.Delta * math.Log(math.Sqrt(float64(nfree))/rspiFailure)))
	h := r.products(r.x, g, samples)
	v := unitRandom(r.d, r.rng, free)
	out := Curvature{Lambda: math.Inf(1)}
	for k := 0; k < steps; k++ {
		w, err := r.product(h, v, free)
		if err != nil {
			return Curvature{}, err
		}
		rq := dot(v, w)
		out.Lambda = math.Min(out.Lambda, rq)
		if rq <= -r.s.Delta/2 {
			out.Direction, out.Lambda = v, rq
			return out, nil
		}
		for i := range v {
			v[i] -= w[i] / c
		}
		n := norm(v)
		if n == 0 {
			break
		}
		for i := range v {
			v[i] /= n
		}
	}
	return out, nil
}
