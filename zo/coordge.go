package zo

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
)

// The coordinate-wise estimators: CoordGE (central), ForwardGE and
// RandomK (CoordGE on k random coordinates).

// CoordGE is the central coordinate-wise gradient estimator
//
//	ĝ(x) = Σᵢ [f(x+μeᵢ) − f(x−μeᵢ)]/(2μ) eᵢ
//
// averaged over the given samples, with the same sample on both sides of
// every difference (common random numbers). It costs 2·d·len(samples)
// queries, sent as one batch. Its truncation error is O(ρμ²) per
// coordinate and its round-off O(ε_mach·|f|/μ).
//
// Near a bound the stencil is shifted inward (the pair straddles a centre
// moved at most μ from x) so that no query leaves the box.
type CoordGE struct {
	Mu  float64 // finite-difference step; must be > 0
	Box Box
}

// Draw implements Estimator: central CoordGE has no random part.
func (e CoordGE) Draw(int, *rand.Rand) Stencil { return e }

// Queries returns the batch that estimates the gradient at x.
func (e CoordGE) Queries(x []float64, samples []int) []Query {
	return coordStencil{est: e}.Queries(x, samples)
}

// stencil returns the two abscissae of coordinate i, inside the box: on
// a discrete coordinate the lattice values next to x's (see Box.Lattice).
func (e CoordGE) stencil(x []float64, i int) (lo, hi float64) {
	if e.Box.discrete(i) {
		return e.Box.Lattice.Neighbours(i, e.Box.Lattice.Round(i, x[i]))
	}
	mu := e.Mu
	bl, bh := e.Box.lo(i), e.Box.hi(i)
	if bh-bl < 2*mu {
		mu = (bh - bl) / 2
	}
	c := math.Min(math.Max(x[i], bl+mu), bh-mu)
	return c - mu, c + mu
}

// Gradient turns the answers to Queries(x, samples) into the estimate,
// written into g. A coordinate whose pair failed in every sample gets 0
// and is counted in failed.
func (e CoordGE) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	return coordStencil{est: e}.Gradient(x, samples, res, g)
}

// Estimate evaluates the batch and returns the gradient estimate at x:
// EstimateWith for CoordGE.
func (e CoordGE) Estimate(ctx context.Context, o Oracle, x []float64, samples []int) (g []float64, failed int, err error) {
	return EstimateWith(ctx, o, e, x, samples)
}

// with returns a copy of x with coordinate i set to v.
func with(x []float64, i int, v float64) []float64 {
	y := append([]float64(nil), x...)
	y[i] = v
	return y
}

// ForwardGE is the forward coordinate-wise gradient estimator
//
//	ĝ(x) = Σᵢ [f(x+μeᵢ) − f(x)]/μ eᵢ
//
// averaged over the samples (the same sample at x and at x+μeᵢ). It costs
// (d+1)·len(samples) queries, one batch, and has truncation error O(Lμ)
// per coordinate. Where x+μeᵢ would leave the box the backward difference
// [f(x) − f(x−μeᵢ)]/μ is used, and where the box is narrower than μ
// around x the longer side within it.
type ForwardGE struct {
	Mu  float64 // finite-difference step; must be > 0
	Box Box
}

// Draw implements Estimator: ForwardGE has no random part.
func (e ForwardGE) Draw(int, *rand.Rand) Stencil { return e }

// step returns the signed offset along coordinate i, inside the box.
func (e ForwardGE) step(x []float64, i int) float64 {
	lo, hi := e.Box.lo(i), e.Box.hi(i)
	switch {
	case x[i]+e.Mu <= hi:
		return e.Mu
	case x[i]-e.Mu >= lo:
		return -e.Mu
	case hi-x[i] >= x[i]-lo:
		return hi - x[i]
	default:
		return lo - x[i]
	}
}

// Queries implements Stencil: per sample, x then x+hᵢeᵢ for every i.
func (e ForwardGE) Queries(x []float64, samples []int) []Query {
	d := len(x)
	batch := make([]Query, 0, (d+1)*len(samples))
	for _, s := range samples {
		batch = append(batch, Query{X: append([]float64(nil), x...), Sample: s})
		for i := 0; i < d; i++ {
			batch = append(batch, Query{X: with(x, i, x[i]+e.step(x, i)), Sample: s})
		}
	}
	return batch
}

// Gradient implements Stencil.
func (e ForwardGE) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	d := len(x)
	for i := 0; i < d; i++ {
		sum, n := 0.0, 0
		if h := e.step(x, i); h != 0 {
			sum, n = quotient(res, len(samples), d+1, 1+i, 0, h)
		}
		if n == 0 {
			g[i] = 0
			failed++
			continue
		}
		g[i] = sum / float64(n)
	}
	return failed
}

// RandomK is central CoordGE on k coordinates drawn uniformly without
// replacement, scaled by d/k so that it is unbiased: the zeroth-order form
// of the RandomK compressor of "Escaping Saddle Points with Compressed
// SGD" (Avdiukhin & Yaroslavtsev, NeurIPS 2021). It costs 2k queries per
// sample, one batch; the stencils near a bound are CoordGE's.
type RandomK struct {
	Mu  float64 // finite-difference step; must be > 0
	Box Box
	K   int // coordinates per estimate; default ⌈d/4⌉
}

// Draw implements Estimator: k coordinates without replacement.
func (e RandomK) Draw(d int, rng *rand.Rand) Stencil {
	k := min(directions(e.K, d), d)
	coords := rng.Perm(d)[:k]
	slices.Sort(coords)
	return coordStencil{est: CoordGE{Mu: e.Mu, Box: e.Box}, coords: coords}
}

// coordStencil is central CoordGE on k of the d coordinates, coords (all
// of them when nil), scaled by d/k so that it is unbiased when they are
// drawn at random: RandomK's stencil, and with every coordinate (d/k = 1)
// CoordGE's.
type coordStencil struct {
	est    CoordGE
	coords []int
}

// size is k, the number of coordinates of the stencil in dimension d.
func (s coordStencil) size(d int) int {
	if s.coords == nil {
		return d
	}
	return len(s.coords)
}

// coord is the stencil's c-th coordinate.
func (s coordStencil) coord(c int) int {
	if s.coords == nil {
		return c
	}
	return s.coords[c]
}

// Queries implements Stencil: per sample, the pair of every coordinate.
func (s coordStencil) Queries(x []float64, samples []int) []Query {
	k := s.size(len(x))
	batch := make([]Query, 0, 2*k*len(samples))
	for _, smp := range samples {
		for c := 0; c < k; c++ {
			i := s.coord(c)
			lo, hi := s.est.stencil(x, i)
			batch = append(batch, Query{X: with(x, i, hi), Sample: smp}, Query{X: with(x, i, lo), Sample: smp})
		}
	}
	return batch
}

// Gradient implements Stencil: 0 off the stencil's coordinates and on
// those whose pair failed in every sample.
func (s coordStencil) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	d := len(x)
	k := s.size(d)
	clear(g)
	scale := float64(d) / float64(k)
	unordered := 0
	for c := 0; c < k; c++ {
		i := s.coord(c)
		lo, hi := s.est.stencil(x, i)
		if hi == lo { // an unordered coordinate (Box.Lattice): no slope
			unordered++
			continue
		}
		sum, n := quotient(res, len(samples), 2*k, 2*c, 2*c+1, hi-lo)
		if n == 0 {
			failed++
			continue
		}
		g[i] = scale * sum / float64(n)
	}
	if failed > 0 && failed == k-unordered {
		return d // every pair that could say something failed
	}
	return failed
}
