package functions

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Rastrigin implements the Rastrigin function
//
//	f(x) = 10D + Σᵢ xᵢ² − 10 cos(2πxᵢ)
//
// in dimension D ≥ 1, a multimodal stress test rather than a saddle
// benchmark. It is separable: each coordinate contributes
// xᵢ² + 10(1 − cos 2πxᵢ) ≥ xᵢ² ≥ 0, with critical points where
// xᵢ + 10π sin 2πxᵢ = 0, which exist only for |xᵢ| < 10π. Then:
//
//   - the global minimum is f* = 0 at x = 0, with Hessian (2 + 40π²)I;
//   - every coordinate has a local minimum near each integer n (at
//     n − δ with δ ≈ n/(1 + 20π²)), so the box [−5.12, 5.12]^D holds 11^D
//     local minima, with values ≈ Σᵢ nᵢ²;
//   - between them, near the half-integers, each coordinate has a local
//     maximum, so the landscape also has a saddle for every mix of minimum
//     and maximum coordinates.
//
// Standard starting point: (2.5, …, 2.5), half way between the basins of
// 2 and 3 in every coordinate, with f = 26.25·D and gradient (5, …, 5).
// The conventional search box is [−5.12, 5.12]^D (Bounds).
//
// Source: Rastrigin, "Systems of Extremal Control", Nauka, Moscow (1974);
// the D-dimensional form of Mühlenbein, Schomisch & Born, "The Parallel
// Genetic Algorithm as Function Optimizer", Parallel Computing 17 (1991);
// the project's problem list (problem 9).
type Rastrigin struct {
	D int // dimension, at least 1
}

func (r Rastrigin) check() {
	if r.D < 1 {
		panic("functions: Rastrigin needs D ≥ 1")
	}
}

// Dim returns D.
func (r Rastrigin) Dim() int { return r.D }

// Bounds returns the conventional search box [−5.12, 5.12] on every
// coordinate.
func (Rastrigin) Bounds() (lower, upper float64) { return -5.12, 5.12 }

// Func returns f(x).
func (r Rastrigin) Func(x []float64) float64 {
	r.check()
	checkX(r.D, x)
	f := 10 * float64(r.D)
	for _, xi := range x {
		f += xi*xi - 10*math.Cos(2*math.Pi*xi)
	}
	return f
}

// Grad writes ∇f(x)ᵢ = 2xᵢ + 20π sin(2πxᵢ) into grad.
func (r Rastrigin) Grad(grad, x []float64) {
	r.check()
	checkGrad(r.D, grad, x)
	for i, xi := range x {
		grad[i] = 2*xi + 20*math.Pi*math.Sin(2*math.Pi*xi)
	}
}

// Hess writes ∇²f(x) = diag(2 + 40π² cos(2πxᵢ)) into dst.
func (r Rastrigin) Hess(dst *mat.SymDense, x []float64) {
	r.check()
	checkHess(r.D, dst, x)
	dst.Zero()
	for i, xi := range x {
		dst.SetSym(i, i, 2+40*math.Pi*math.Pi*math.Cos(2*math.Pi*xi))
	}
}

// Min returns the global minimum value, 0.
func (Rastrigin) Min() float64 { return 0 }

// Minimizer returns the global minimizer, x = 0.
func (r Rastrigin) Minimizer() []float64 { return make([]float64, r.D) }

// Start returns the standard starting point (2.5, …, 2.5).
func (r Rastrigin) Start() []float64 {
	x := make([]float64, r.D)
	for i := range x {
		x[i] = 2.5
	}
	return x
}
