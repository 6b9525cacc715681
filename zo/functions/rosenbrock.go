package functions

import "gonum.org/v1/gonum/mat"

// Rosenbrock implements the extended Rosenbrock function
//
//	f(x) = Σ_{i=1}^{D−1} 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²
//
// in dimension D ≥ 2. Its global minimum is f* = 0 at x = (1, …, 1), at
// the bottom of a long curved valley. For D ≥ 4 it also has a local
// minimum with x₁ ≈ −1 and f ≈ 4 (f = 3.70… at D = 4, x = (−0.776, 0.613,
// 0.382, 0.146); found by Newton's method from (−1, 1, …, 1) for every D
// from 4 to 9).
//
// Standard starting point: (−1.2, 1, −1.2, 1, …).
//
// Source: Rosenbrock, "An Automatic Method for Finding the Greatest or Least
// Value of a Function", The Computer Journal 3 (1960); the extension to
// D dimensions is the chained form, as in the project's problem list
// (problem 6).
type Rosenbrock struct {
	D int // dimension, at least 2
}

func (r Rosenbrock) check() {
	if r.D < 2 {
		panic("functions: Rosenbrock needs D ≥ 2")
	}
}

// Dim returns D.
func (r Rosenbrock) Dim() int { return r.D }

// Func returns f(x).
func (r Rosenbrock) Func(x []float64) float64 {
	r.check()
	checkX(r.D, x)
	var f float64
	for i := 0; i < r.D-1; i++ {
		a := x[i+1] - x[i]*x[i]
		b := 1 - x[i]
		f += 100*a*a + b*b
	}
	return f
}

// Grad writes ∇f(x) into grad.
func (r Rosenbrock) Grad(grad, x []float64) {
	r.check()
	checkGrad(r.D, grad, x)
	for i := range grad {
		grad[i] = 0
	}
	for i := 0; i < r.D-1; i++ {
		a := x[i+1] - x[i]*x[i]
		grad[i] += -400*x[i]*a - 2*(1-x[i])
		grad[i+1] += 200 * a
	}
}

// Hess writes ∇²f(x) into dst. It is tridiagonal.
func (r Rosenbrock) Hess(dst *mat.SymDense, x []float64) {
	r.check()
	checkHess(r.D, dst, x)
	dst.Zero()
	for i := 0; i < r.D-1; i++ {
		dst.SetSym(i, i, dst.At(i, i)+1200*x[i]*x[i]-400*x[i+1]+2)
		dst.SetSym(i, i+1, -400*x[i])
		dst.SetSym(i+1, i+1, dst.At(i+1, i+1)+200)
	}
}

// Min returns the global minimum value, 0.
func (Rosenbrock) Min() float64 { return 0 }

// Minimizer returns the global minimizer (1, …, 1).
func (r Rosenbrock) Minimizer() []float64 {
	x := make([]float64, r.D)
	for i := range x {
		x[i] = 1
	}
	return x
}

// Start returns the standard starting point (−1.2, 1, −1.2, 1, …).
func (r Rosenbrock) Start() []float64 {
	x := make([]float64, r.D)
	for i := range x {
		x[i] = 1
		if i%2 == 0 {
			x[i] = -1.2
		}
	}
	return x
}
