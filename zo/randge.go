package zo

import (
	"math"
	"math/rand/v2"
)

// The random-direction estimators: RandGE (directions uniform on the
// sphere) and GaussGE (Gaussian directions).

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
	q := directions(e.Directions, d)
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
	used := combine(g, s.u, func(j int) (float64, int) {
		if _, mu := s.pair(x, j); mu != 0 {
			return quotient(res, len(samples), 2*q, 2*j, 2*j+1, 2*mu)
		}
		return 0, 0
	})
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
	q := directions(e.Directions, d)
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
	used := combine(g, s.z, func(j int) (float64, int) {
		if mu != 0 {
			return quotient(res, len(samples), q+1, 1+j, 0, mu)
		}
		return 0, 0
	})
	if used == 0 {
		return d
	}
	for i := range g {
		g[i] /= float64(used)
	}
	return 0
}
