package zo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Estimator is a zeroth-order gradient estimator. Draw fixes the random
// choices of one estimate (directions, coordinates) with rng and returns
// them as a Stencil; a deterministic estimator ignores rng, which may then
// be nil, and returns itself.
//
// Every estimator keeps every query inside its Box, shifting a stencil
// inward (or shortening μ) near a bound, and uses the same sample on both
// sides of every difference (common random numbers).
type Estimator interface {
	Draw(d int, rng *rand.Rand) Stencil
}

// Stencil is one gradient estimate with its random choices fixed. The same
// Stencil queried at two points with the same samples gives a
// common-random-numbers pair of estimates (same directions, same seeds):
// their difference is what variance-reduced methods (SCSG, SPIDER) need.
type Stencil interface {
	// Queries returns the batch that estimates the gradient at x,
	// averaged over samples.
	Queries(x []float64, samples []int) []Query
	// Gradient turns the answers to Queries(x, samples) into the
	// estimate, written into g. failed counts the coordinates of g the
	// answers said nothing about although the stencil meant to estimate
	// them; failed == len(x) means the estimate carries no information.
	Gradient(x []float64, samples []int, res []Result, g []float64) (failed int)
}

// Estimator names accepted by NewEstimator and Settings.Estimator.
const (
	EstCoord        = "coord"         // CoordGE, central: 2d queries
	EstCoordForward = "coord-forward" // ForwardGE: d+1 queries
	EstRand         = "rand"          // RandGE, sphere directions: 2q queries
	EstGauss        = "gauss"         // GaussGE, Gaussian directions: q+1 queries
	EstRandomK      = "randomk"       // RandomK, k random coordinates: 2k queries
)

// Estimators lists the estimator names, in the order of the table in the
// design notes.
var Estimators = []string{EstCoord, EstCoordForward, EstRand, EstGauss, EstRandomK}

// NewEstimator returns the estimator called name with finite-difference
// step mu on box b. n is the number of directions q (rand, gauss) or of
// coordinates k (randomk); 0 means the default ⌈d/4⌉, and it is ignored by
// the coordinate estimators. The empty name means "coord".
func NewEstimator(name string, mu float64, b Box, n int) (Estimator, error) {
	if !(mu > 0) {
		return nil, fmt.Errorf("zo: estimator step mu must be positive, got %g", mu)
	}
	if n < 0 {
		return nil, fmt.Errorf("zo: estimator %q: number of directions must not be negative, got %d", name, n)
	}
	switch name {
	case EstCoord, "":
		return CoordGE{Mu: mu, Box: b}, nil
	case EstCoordForward:
		return ForwardGE{Mu: mu, Box: b}, nil
	case EstRand:
		return RandGE{Mu: mu, Box: b, Directions: n}, nil
	case EstGauss:
		return GaussGE{Mu: mu, Box: b, Directions: n}, nil
	case EstRandomK:
		return RandomK{Mu: mu, Box: b, K: n}, nil
	}
	return nil, fmt.Errorf("zo: unknown estimator %q (want one of %v)", name, Estimators)
}

// defaultDirections is the default number of random directions or
// coordinates in dimension d: ⌈d/4⌉, a quarter of the coordinate
// estimator's cost.
func defaultDirections(d int) int { return max(1, (d+3)/4) }

// Draw implements Estimator: central CoordGE has no random part.
func (e CoordGE) Draw(int, *rand.Rand) Stencil { return e }

// EstimateWith sends the queries of one stencil as one batch and returns
// the gradient estimate at x.
func EstimateWith(ctx context.Context, o Oracle, st Stencil, x []float64, samples []int) (g []float64, failed int, err error) {
	res, err := o.Evaluate(ctx, st.Queries(x, samples))
	if err != nil {
		return nil, 0, err
	}
	g = make([]float64, len(x))
	return g, st.Gradient(x, samples, res, g), nil
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
		h := e.step(x, i)
		sum, n := 0.0, 0
		for k := range samples {
			r0, ri := res[k*(d+1)], res[k*(d+1)+1+i]
			if r0.Err != nil || ri.Err != nil || h == 0 {
				continue
			}
			sum += (ri.Value - r0.Value) / h
			n++
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

// RandGE is the two-point random gradient estimator with directions
// uniform on the unit sphere
//
//	ĝ(x) = (d/(2μq)) Σⱼ [f(x+μuⱼ) − f(x−μuⱼ)] uⱼ,
//
// an unbiased estimate of the gradient of f smoothed over the ball of
// radius μ (Flaxman, Kalai & McMahan, "Online convex optimization in the
// bandit setting", 2005; the ZO form used by Liu et al., "Zeroth-Order
// Stochastic Variance Reduction for Nonconvex Optimization", 2018). It
// costs 2q queries per sample, one batch. Near a bound the centre of the
// pair along uⱼ is shifted inward (by at most μ), and μ is shortened for
// that direction where the box is narrower than the stencil.
type RandGE struct {
	Mu         float64 // smoothing radius; must be > 0
	Box        Box
	Directions int // q; default ⌈d/4⌉
}

// Draw implements Estimator: q directions uniform on the sphere.
func (e RandGE) Draw(d int, rng *rand.Rand) Stencil {
	q := e.Directions
	if q <= 0 {
		q = defaultDirections(d)
	}
	u := make([][]float64, q)
	for j := range u {
		u[j] = unitRandom(d, rng, nil)
	}
	return sphereStencil{mu: e.Mu, box: e.Box, u: u}
}

type sphereStencil struct {
	mu  float64
	box Box
	u   [][]float64
}

// pair returns the centre and radius of the pair along direction j.
func (s sphereStencil) pair(x []float64, j int) ([]float64, float64) {
	u := s.u[j]
	mu := s.mu
	for i, ui := range u {
		if a := math.Abs(ui); a > 0 {
			mu = math.Min(mu, (s.box.hi(i)-s.box.lo(i))/(2*a))
		}
	}
	c := make([]float64, len(x))
	for i := range x {
		a := mu * math.Abs(u[i])
		c[i] = math.Min(math.Max(x[i], s.box.lo(i)+a), s.box.hi(i)-a)
	}
	return c, mu
}

func (s sphereStencil) Queries(x []float64, samples []int) []Query {
	batch := make([]Query, 0, 2*len(s.u)*len(samples))
	for _, smp := range samples {
		for j, u := range s.u {
			c, mu := s.pair(x, j)
			p, m := make([]float64, len(x)), make([]float64, len(x))
			for i := range x {
				p[i] = c[i] + mu*u[i]
				m[i] = c[i] - mu*u[i]
			}
			s.box.Project(p) // round-off only
			s.box.Project(m)
			batch = append(batch, Query{X: p, Sample: smp}, Query{X: m, Sample: smp})
		}
	}
	return batch
}

func (s sphereStencil) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	d, q := len(x), len(s.u)
	clear(g)
	used := 0
	for j, u := range s.u {
		_, mu := s.pair(x, j)
		sum, n := 0.0, 0
		for k := range samples {
			rp, rm := res[2*(k*q+j)], res[2*(k*q+j)+1]
			if rp.Err != nil || rm.Err != nil || mu == 0 {
				continue
			}
			sum += (rp.Value - rm.Value) / (2 * mu)
			n++
		}
		if n == 0 {
			continue
		}
		used++
		c := sum / float64(n)
		for i := range g {
			g[i] += c * u[i]
		}
	}
	if used == 0 {
		return d
	}
	for i := range g {
		g[i] *= float64(d) / float64(used)
	}
	return 0
}

// GaussGE is the Gaussian-smoothing gradient estimator
//
//	ĝ(x) = (1/(μq)) Σⱼ [f(x+μzⱼ) − f(x)] zⱼ,   zⱼ ~ N(0, I),
//
// an unbiased estimate of the gradient of the Gaussian smoothing
// f_μ(x) = E f(x+μz) (Nesterov & Spokoiny, "Random Gradient-Free
// Minimization of Convex Functions", 2017). It costs q+1 queries per
// sample, one batch. Near a bound the common base point is shifted inward
// so that it and every x±μzⱼ stay in the box (μ shortens where the box is
// too narrow).
//
// Each one-sided term carries (μ/2)·zⱼᵀ∇²f zⱼ·zⱼ, of mean zero but of
// spread about (μ/2)·tr ∇²f·√(d/q): near a stationary point of a function
// with many positive curvatures it can exceed the gradient itself. With
// Central set the terms are the symmetric [f(x+μzⱼ) − f(x−μzⱼ)]/(2μ)·zⱼ
// (the same paper's symmetric estimator), 2q queries, where that term
// cancels.
type GaussGE struct {
	Mu         float64 // smoothing radius; must be > 0
	Box        Box
	Directions int  // q; default ⌈d/4⌉
	Central    bool // symmetric differences (2q queries); default one-sided (q+1)
}

// Draw implements Estimator: q standard normal directions.
func (e GaussGE) Draw(d int, rng *rand.Rand) Stencil { return e.drawOn(d, rng, nil) }

// drawOn draws directions that are standard normal on the coordinates
// marked free (all when free is nil) and zero elsewhere: the estimate is
// then that of the gradient restricted to those coordinates.
func (e GaussGE) drawOn(d int, rng *rand.Rand, free []bool) gaussStencil {
	q := e.Directions
	if q <= 0 {
		q = defaultDirections(d)
	}
	z := make([][]float64, q)
	for j := range z {
		z[j] = make([]float64, d)
		for i := range z[j] {
			if free == nil || free[i] {
				z[j][i] = rng.NormFloat64()
			}
		}
	}
	return gaussStencil{mu: e.Mu, box: e.Box, z: z, central: e.Central}
}

type gaussStencil struct {
	mu      float64
	box     Box
	z       [][]float64
	central bool
}

// base returns the common base point and the radius used at x.
func (s gaussStencil) base(x []float64) ([]float64, float64) {
	reach := make([]float64, len(x)) // max_j |z_ji|
	for _, z := range s.z {
		for i, zi := range z {
			reach[i] = math.Max(reach[i], math.Abs(zi))
		}
	}
	mu := s.mu
	for i, a := range reach {
		if a > 0 {
			mu = math.Min(mu, (s.box.hi(i)-s.box.lo(i))/(2*a))
		}
	}
	c := make([]float64, len(x))
	for i := range x {
		a := mu * reach[i]
		c[i] = math.Min(math.Max(x[i], s.box.lo(i)+a), s.box.hi(i)-a)
	}
	return c, mu
}

func (s gaussStencil) Queries(x []float64, samples []int) []Query {
	if s.central {
		return sphereStencil{mu: s.mu, box: s.box, u: s.z}.Queries(x, samples)
	}
	c, mu := s.base(x)
	batch := make([]Query, 0, (len(s.z)+1)*len(samples))
	for _, smp := range samples {
		batch = append(batch, Query{X: append([]float64(nil), c...), Sample: smp})
		for _, z := range s.z {
			p := make([]float64, len(x))
			for i := range p {
				p[i] = c[i] + mu*z[i]
			}
			s.box.Project(p) // round-off only
			batch = append(batch, Query{X: p, Sample: smp})
		}
	}
	return batch
}

func (s gaussStencil) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	d, q := len(x), len(s.z)
	if s.central {
		// The sphere stencil's pairs along zⱼ, without its d/q scaling
		// (E zzᵀ = I already).
		failed = sphereStencil{mu: s.mu, box: s.box, u: s.z}.Gradient(x, samples, res, g)
		if failed < d {
			for i := range g {
				g[i] /= float64(d)
			}
		}
		return failed
	}
	_, mu := s.base(x)
	clear(g)
	used := 0
	for j, z := range s.z {
		sum, n := 0.0, 0
		for k := range samples {
			r0, rj := res[k*(q+1)], res[k*(q+1)+1+j]
			if r0.Err != nil || rj.Err != nil || mu == 0 {
				continue
			}
			sum += (rj.Value - r0.Value) / mu
			n++
		}
		if n == 0 {
			continue
		}
		used++
		c := sum / float64(n)
		for i := range g {
			g[i] += c * z[i]
		}
	}
	if used == 0 {
		return d
	}
	for i := range g {
		g[i] /= float64(used)
	}
	return 0
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
	k := e.K
	if k <= 0 {
		k = defaultDirections(d)
	}
	k = min(k, d)
	coords := rng.Perm(d)[:k]
	slices.Sort(coords)
	return kStencil{est: CoordGE{Mu: e.Mu, Box: e.Box}, coords: coords}
}

type kStencil struct {
	est    CoordGE
	coords []int
}

func (s kStencil) Queries(x []float64, samples []int) []Query {
	batch := make([]Query, 0, 2*len(s.coords)*len(samples))
	for _, smp := range samples {
		for _, i := range s.coords {
			lo, hi := s.est.stencil(x, i)
			batch = append(batch, Query{X: with(x, i, hi), Sample: smp}, Query{X: with(x, i, lo), Sample: smp})
		}
	}
	return batch
}

func (s kStencil) Gradient(x []float64, samples []int, res []Result, g []float64) (failed int) {
	d, k := len(x), len(s.coords)
	clear(g)
	scale := float64(d) / float64(k)
	for c, i := range s.coords {
		lo, hi := s.est.stencil(x, i)
		sum, n := 0.0, 0
		for m := range samples {
			rp, rm := res[2*(m*k+c)], res[2*(m*k+c)+1]
			if rp.Err != nil || rm.Err != nil {
				continue
			}
			sum += (rp.Value - rm.Value) / (hi - lo)
			n++
		}
		if n == 0 {
			failed++
			continue
		}
		g[i] = scale * sum / float64(n)
	}
	if failed == k {
		return d
	}
	return failed
}

// unitRandom returns a vector uniform on the unit sphere of the
// coordinates marked free (all when free is nil), zero elsewhere.
func unitRandom(d int, rng *rand.Rand, free []bool) []float64 {
	for {
		u := make([]float64, d)
		for i := range u {
			if free == nil || free[i] {
				u[i] = rng.NormFloat64()
			}
		}
		if n := norm(u); n > 0 {
			for i := range u {
				u[i] /= n
			}
			return u
		}
		if free != nil && !slices.Contains(free, true) {
			return u
		}
	}
}

var (
	_ Estimator = CoordGE{}
	_ Estimator = ForwardGE{}
	_ Estimator = RandGE{}
	_ Estimator = GaussGE{}
	_ Estimator = RandomK{}
	_ Stencil   = CoordGE{}
	_ Stencil   = ForwardGE{}
)
