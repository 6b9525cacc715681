package functions

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// GrowingSaddle implements the growing-dimension saddle
//
//	f(x₁, …, x_m, y) = ¼ Σᵢ xᵢ⁴ − y Σᵢ xᵢ + (m/2) y²,   m = D − 1,
//
// on the box [−3, 3]^D; the last coordinate is y. Its critical points are
// exactly three (∂f/∂xᵢ = xᵢ³ − y = 0 forces all xᵢ = y^{1/3}, and then
// ∂f/∂y = 0 gives y ∈ {0, ±1}):
//
//   - the origin, a strict saddle with f = 0 and ∇f = 0 exactly. Its
//     Hessian has the eigenvalues (m ± √(m² + 4m))/2, so
//     λ_min = (m − √(m² + 4m))/2 (−0.618… for D = 2, tending to −1 as D
//     grows), and 0 with multiplicity m − 1: for D ≥ 3 the saddle is
//     degenerate, flat in every direction of the x block orthogonal to
//     (1, …, 1).
//   - the global minima ±(1, …, 1), with f* = −m/4 = −(D−1)/4 and a
//     positive definite Hessian. They are global because minimising over
//     y gives ¼Σxᵢ⁴ − (Σxᵢ)²/(2m) ≥ Σ(¼xᵢ⁴ − ½xᵢ²) ≥ −m/4.
//
// Standard starting point: the saddle, x = 0.
//
// Source: Lucchi, Orvieto & Solomou, "On the Second-order Convergence
// Properties of Random Search Methods", NeurIPS 2021 (experiments); the
// project's problem list (problem 5).
type GrowingSaddle struct {
	D int // dimension, at least 2
}

func (s GrowingSaddle) check() {
	if s.D < 2 {
		panic("functions: GrowingSaddle needs D ≥ 2")
	}
}

// Dim returns D.
func (s GrowingSaddle) Dim() int { return s.D }

// Bounds returns the box [−3, 3] on every coordinate that the problem is
// posed on.
func (GrowingSaddle) Bounds() (lower, upper float64) { return -3, 3 }

// Func returns f(x).
func (s GrowingSaddle) Func(x []float64) float64 {
	s.check()
	checkX(s.D, x)
	m := s.D - 1
	y := x[m]
	var quart, sum float64
	for _, xi := range x[:m] {
		quart += xi * xi * xi * xi
		sum += xi
	}
	return 0.25*quart - y*sum + 0.5*float64(m)*y*y
}

// Grad writes ∇f(x) into grad: xᵢ³ − y for the x block, m·y − Σxᵢ for y.
func (s GrowingSaddle) Grad(grad, x []float64) {
	s.check()
	checkGrad(s.D, grad, x)
	m := s.D - 1
	y := x[m]
	var sum float64
	for i, xi := range x[:m] {
		grad[i] = xi*xi*xi - y
		sum += xi
	}
	grad[m] = float64(m)*y - sum
}

// Hess writes ∇²f(x) into dst: diag(3xᵢ²) in the x block, −1 between
// every xᵢ and y, and m for y.
func (s GrowingSaddle) Hess(dst *mat.SymDense, x []float64) {
	s.check()
	checkHess(s.D, dst, x)
	m := s.D - 1
	dst.Zero()
	for i, xi := range x[:m] {
		dst.SetSym(i, i, 3*xi*xi)
		dst.SetSym(i, m, -1)
	}
	dst.SetSym(m, m, float64(m))
}

// SaddleLambdaMin returns λ_min of the Hessian at the saddle x = 0,
// (m − √(m² + 4m))/2 with m = D − 1.
func (s GrowingSaddle) SaddleLambdaMin() float64 {
	s.check()
	m := float64(s.D - 1)
	return (m - math.Sqrt(m*m+4*m)) / 2
}

// Min returns the global minimum value f* = −(D−1)/4.
func (s GrowingSaddle) Min() float64 {
	s.check()
	return -float64(s.D-1) / 4
}

// Minimizer returns the global minimizer (1, …, 1); its negative is the
// other one.
func (s GrowingSaddle) Minimizer() []float64 {
	x := make([]float64, s.D)
	for i := range x {
		x[i] = 1
	}
	return x
}

// Start returns the standard starting point, the saddle x = 0.
func (s GrowingSaddle) Start() []float64 { return make([]float64, s.D) }
