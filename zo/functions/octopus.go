package functions

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Octopus implements the octopus function of Du et al. (2017), a chain of
// D strict saddles that gradient descent visits one after the other.
//
// With aⱼ = |xⱼ|, i the first index (1-based) with aᵢ ≤ 2τ, and
//
//	g₁(a) = −γa² + (−14L+10γ)/(3τ)·(a−τ)³ + (5L−3γ)/(2τ²)·(a−τ)⁴,
//	g₂(a) = −γ − 10(L+γ)/τ³·(a−2τ)³ − 15(L+γ)/τ⁴·(a−2τ)⁴ − 6(L+γ)/τ⁵·(a−2τ)⁵,
//
// the function is
//
//	no such i:        Σⱼ L(aⱼ−4τ)² − Dν
//	aᵢ ≤ τ:           Σ_{j<i} L(aⱼ−4τ)² − γaᵢ² + Σ_{j>i} L aⱼ² − (i−1)ν
//	τ < aᵢ ≤ 2τ:      Σ_{j<i} L(aⱼ−4τ)² + g₁(aᵢ) + g₂(aᵢ)aᵢ₊₁² + Σ_{j>i+1} L aⱼ² − (i−1)ν
//
// (for i = D the terms in aᵢ₊₁ and beyond are absent), with
//
//	ν = 4Lτ² − g₁(2τ) = (13/6)γτ² + (37/6)Lτ²,
//
// the value that makes the pieces meet at aᵢ = 2τ (≈ 139.87 for τ = L = e,
// γ = 1). The pieces then match in value, gradient and Hessian at aᵢ = τ
// (g₁(τ) = −γτ², g₂(τ) = L, g₁′, g₁″, g₂′ and g₂″ agreeing with −γa² and
// the constant L there) and at aᵢ = 2τ (g₁′(2τ) = −4Lτ, g₁″(2τ) = 2L,
// g₂(2τ) = −γ, g₂′(2τ) = g₂″(2τ) = 0), so f is twice continuously
// differentiable inside its domain; its third derivatives jump there.
//
// Domain. The construction is consistent only where the coordinates after
// the i-th are small: the domain is
//
//	D = {x : aⱼ ≤ τ for every j > i},
//
// reported by Domain. On D the pieces join as described above; leaving D
// (some later aⱼ past τ while aᵢ ≤ 2τ) the formulas of the neighbouring
// pieces disagree, so f has no meaningful extension. There Func returns
// +Inf, as the reference implementation accompanying the zeroth-order
// experiments does, and Grad and Hess write NaN; a tuner must treat such
// values as failed evaluations. Func returns NaN if x contains a NaN. The
// paper also bounds the coordinates by 6τ for its Lipschitz constants;
// here the quadratics L(aⱼ−4τ)² simply continue beyond 6τ.
//
// Critical points (in D):
//
//   - the saddles xₖ = (±4τ, …, ±4τ, 0, …, 0) with k = 0, …, D−1 leading
//     coordinates at ±4τ (Saddle(k) gives the positive one), with
//     f = −kν, ∇f = 0 exactly and Hessian diag(2L, …, 2L, −2γ, 2L, …, 2L)
//     (−2γ in position k+1): strict saddles with λ_min = −2γ;
//   - the 2ᴰ global minima (±4τ, …, ±4τ), with f* = −Dν and Hessian 2L·I.
//
// Gradient descent started near the origin leaves the k-th saddle along
// coordinate k+1 and reaches the next one, so the number of coordinates
// already past 2τ (Basin) counts the saddles escaped; Basin(x) = D means x
// is in the basin of the minima.
//
// Standard starting point: the first saddle, x = 0 (f = 0).
//
// Source: Du, Jin, Lee, Jordan, Póczos & Singh, "Gradient Descent Can
// Take Exponential Time to Escape Saddle Points", NeurIPS 2017; parameters
// τ = e, L = e, γ = 1 as in the experiments of Zhang, Xiong & Gu,
// "Zeroth-Order Negative Curvature Finding", NeurIPS 2022; the project's
// problem list (problem 4).
type Octopus struct {
	D     int     // dimension, at least 1
	Tau   float64 // width τ of the saddle regions, positive
	L     float64 // curvature L of the ascending directions, positive
	Gamma float64 // curvature −γ of the descending direction, γ positive
}

// NewOctopus returns the d-dimensional octopus with τ = e, L = e and γ = 1.
// It panics if d < 1.
func NewOctopus(d int) Octopus {
	o := Octopus{D: d, Tau: math.E, L: math.E, Gamma: 1}
	o.check()
	return o
}

func (o Octopus) check() {
	if o.D < 1 || !(o.Tau > 0) || !(o.L > 0) || !(o.Gamma > 0) {
		panic("functions: Octopus needs D ≥ 1 and positive Tau, L and Gamma")
	}
}

// Dim returns D.
func (o Octopus) Dim() int { return o.D }

// Nu returns ν = (13/6)γτ² + (37/6)Lτ², the drop in value from one saddle
// to the next.
func (o Octopus) Nu() float64 {
	t2 := o.Tau * o.Tau
	return 13.0/6*o.Gamma*t2 + 37.0/6*o.L*t2
}

// g1 returns g₁(a), g₁′(a) and g₁″(a).
func (o Octopus) g1(a float64) (v, d1, d2 float64) {
	tau, gam := o.Tau, o.Gamma
	c3 := (-14*o.L + 10*gam) / (3 * tau)
	c4 := (5*o.L - 3*gam) / (2 * tau * tau)
	u := a - tau
	u2 := u * u
	v = -gam*a*a + c3*u2*u + c4*u2*u2
	d1 = -2*gam*a + 3*c3*u2 + 4*c4*u2*u
	d2 = -2*gam + 6*c3*u + 12*c4*u2
	return v, d1, d2
}

// g2 returns g₂(a), g₂′(a) and g₂″(a).
func (o Octopus) g2(a float64) (v, d1, d2 float64) {
	tau := o.Tau
	k := o.L + o.Gamma
	t3 := tau * tau * tau
	b3 := -10 * k / t3
	b4 := -15 * k / (t3 * tau)
	b5 := -6 * k / (t3 * tau * tau)
	w := a - 2*tau
	w2 := w * w
	v = -o.Gamma + b3*w2*w + b4*w2*w2 + b5*w2*w2*w
	d1 = 3*b3*w2 + 4*b4*w2*w + 5*b5*w2*w2
	d2 = 6*b3*w + 12*b4*w2 + 20*b5*w2*w
	return v, d1, d2
}

// basin returns the number of leading coordinates with |xⱼ| > 2τ.
func (o Octopus) basin(x []float64) int {
	for i, xi := range x {
		if math.Abs(xi) <= 2*o.Tau {
			return i
		}
	}
	return len(x)
}

// Basin returns the number of leading coordinates of x with |xⱼ| > 2τ:
// the (0-based) index of the coordinate along which the current piece
// descends, and the number of saddles already escaped. It is k near the
// k-th saddle and D in the basin of the minima. It panics if
// len(x) != D.
func (o Octopus) Basin(x []float64) int {
	o.check()
	checkX(o.D, x)
	return o.basin(x)
}

// Domain reports whether x lies in the domain of the construction: every
// coordinate after the first one with |xᵢ| ≤ 2τ satisfies |xⱼ| ≤ τ, and
// none is NaN. It panics if len(x) != D.
func (o Octopus) Domain(x []float64) bool {
	o.check()
	checkX(o.D, x)
	return o.domain(x)
}

func (o Octopus) domain(x []float64) bool {
	for _, xi := range x {
		if math.IsNaN(xi) {
			return false
		}
	}
	i := o.basin(x)
	if i == len(x) {
		return true
	}
	for _, xj := range x[i+1:] {
		if math.Abs(xj) > o.Tau {
			return false
		}
	}
	return true
}

// Func returns f(x) on the domain, +Inf outside it, and NaN if x has a
// NaN coordinate.
func (o Octopus) Func(x []float64) float64 {
	o.check()
	checkX(o.D, x)
	return o.eval(x, nil, nil)
}

// Grad writes ∇f(x) into grad; outside the domain it writes NaN.
func (o Octopus) Grad(grad, x []float64) {
	o.check()
	checkGrad(o.D, grad, x)
	o.eval(x, grad, nil)
}

// Hess writes ∇²f(x) into dst; outside the domain it fills dst with NaN.
// It is tridiagonal: only the two coordinates of the current piece are
// coupled.
func (o Octopus) Hess(dst *mat.SymDense, x []float64) {
	o.check()
	checkHess(o.D, dst, x)
	o.eval(x, nil, dst)
}

// eval returns f(x) and writes ∇f(x) into grad and ∇²f(x) into hess when
// they are not nil.
func (o Octopus) eval(x, grad []float64, hess *mat.SymDense) float64 {
	d := o.D
	if !o.domain(x) {
		return o.outside(x, grad, hess)
	}
	if hess != nil {
		hess.Zero()
	}
	ll := o.L
	i := o.basin(x)
	f := -float64(i) * o.Nu()

	// Coordinates already past 2τ: L(aⱼ − 4τ)².
	for j, xj := range x[:i] {
		s := 1.0
		if xj < 0 {
			s = -1
		}
		u := math.Abs(xj) - 4*o.Tau
		f += ll * u * u
		if grad != nil {
			grad[j] = 2 * ll * u * s
		}
		if hess != nil {
			hess.SetSym(j, j, 2*ll)
		}
	}
	if i == d {
		return f
	}
	f, rest := o.current(f, x, grad, i, hess)

	// Trailing coordinates j ≥ rest: L aⱼ².
	for j := rest; j < d; j++ {
		xj := x[j]
		f += ll * xj * xj
		if grad != nil {
			grad[j] = 2 * ll * xj
		}
		if hess != nil {
			hess.SetSym(j, j, 2*ll)
		}
	}
	return f
}

// current adds to f the terms of basin i's coordinate (−γaᵢ² up to τ,
// then g₁(aᵢ) + g₂(aᵢ)·xᵢ₊₁²) and their derivatives, and returns the
// first trailing coordinate: i+1, or i+2 when xᵢ₊₁ is coupled.
func (o Octopus) current(f float64, x, grad []float64, i int, hess *mat.SymDense) (float64, int) {
	xi := x[i]
	a := math.Abs(xi)
	if a <= o.Tau {
		f -= o.Gamma * a * a
		if grad != nil {
			grad[i] = -2 * o.Gamma * xi
		}
		if hess != nil {
			hess.SetSym(i, i, -2*o.Gamma)
		}
		return f, i + 1
	}
	s := 1.0
	if xi < 0 {
		s = -1
	}
	g1, g1p, g1pp := o.g1(a)
	f += g1
	if grad != nil {
		grad[i] = s * g1p
	}
	if hess != nil {
		hess.SetSym(i, i, g1pp)
	}
	if i+1 >= o.D {
		return f, i + 1
	}
	y := x[i+1]
	y2 := y * y
	g2, g2p, g2pp := o.g2(a)
	f += g2 * y2
	if grad != nil {
		grad[i] += s * g2p * y2
		grad[i+1] = 2 * g2 * y
	}
	if hess != nil {
		hess.SetSym(i, i, g1pp+g2pp*y2)
		hess.SetSym(i, i+1, 2*s*g2p*y)
		hess.SetSym(i+1, i+1, 2*g2)
	}
	return f, i + 2
}

// outside is eval outside the domain: NaN derivatives, and f = NaN at a
// point with a NaN coordinate, +Inf otherwise.
func (o Octopus) outside(x, grad []float64, hess *mat.SymDense) float64 {
	for j := range grad {
		grad[j] = math.NaN()
	}
	if hess != nil {
		for j := range o.D {
			for k := j; k < o.D; k++ {
				hess.SetSym(j, k, math.NaN())
			}
		}
	}
	for _, xi := range x {
		if math.IsNaN(xi) {
			return math.NaN()
		}
	}
	return math.Inf(1)
}

// Min returns the global minimum value f* = −Dν.
func (o Octopus) Min() float64 {
	o.check()
	return -float64(o.D) * o.Nu()
}

// Minimizer returns the global minimizer (4τ, …, 4τ); flipping the sign
// of any coordinate gives the others.
func (o Octopus) Minimizer() []float64 {
	o.check()
	x := make([]float64, o.D)
	for i := range x {
		x[i] = 4 * o.Tau
	}
	return x
}

// Saddle returns the k-th saddle (4τ, …, 4τ, 0, …, 0), with k leading
// coordinates at 4τ, where f = −kν and λ_min = −2γ. It panics unless
// 0 ≤ k < D.
func (o Octopus) Saddle(k int) []float64 {
	o.check()
	if k < 0 || k >= o.D {
		panic("functions: Octopus saddle index out of range")
	}
	x := make([]float64, o.D)
	for i := range k {
		x[i] = 4 * o.Tau
	}
	return x
}

// Start returns the standard starting point, the saddle x = 0.
func (o Octopus) Start() []float64 {
	o.check()
	return make([]float64, o.D)
}
