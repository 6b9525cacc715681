package functions

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// PhaseRetrieval implements real phase retrieval by least squares on the
// squared magnitudes,
//
//	f(x) = (1/4m) Σₖ ((aₖᵀx)² − yₖ)²,   yₖ = (aₖᵀx*)²,
//
// for m sensing vectors aₖ ∈ ℝ^d (the rows of A) and a signal x*. Its
// gradient is (1/m) Σₖ ((aₖᵀx)² − yₖ)(aₖᵀx)aₖ and its Hessian
// (1/m) Σₖ (3(aₖᵀx)² − yₖ)aₖaₖᵀ. Then:
//
//   - the origin is a strict saddle with f = (1/4m) Σₖ yₖ², ∇f = 0 exactly
//     and Hessian −(1/m) Σₖ yₖaₖaₖᵀ, whose expectation over Gaussian aₖ is
//     −(‖x*‖²I + 2x*x*ᵀ): λ_min ≈ −3‖x*‖², along x*;
//   - ±x* are global minima with f* = 0 and Hessian (2/m) Σₖ yₖaₖaₖᵀ,
//     positive definite when the aₖ with yₖ > 0 span ℝ^d (almost surely
//     for m ≥ d). For generic aₖ and m ≥ 2d − 1 they are the only zeros
//     of f (Balan, Casazza & Edidin 2006); for m large enough (of order
//     d log³ d in the analysis of Sun, Qu & Wright) every local minimum is
//     one of them and every other critical point is a strict saddle, with
//     high probability.
//
// NewPhaseRetrieval takes m = 10d by default, as the project's problem
// list does.
//
// Standard starting point: the saddle, x = 0.
//
// Source: Balan, Casazza & Edidin, "On Signal Reconstruction without
// Phase", Applied and Computational Harmonic Analysis 20 (2006); Candès,
// Li & Soltanolkotabi, "Phase Retrieval via Wirtinger Flow: Theory and
// Algorithms", IEEE Trans. Inf. Theory 61 (2015); Sun, Qu & Wright, "A
// Geometric Analysis of Phase Retrieval", Foundations of Computational
// Mathematics 18 (2018); the project's problem list (problem 8).
type PhaseRetrieval struct {
	A     *mat.Dense // m×d, row k is the sensing vector aₖ
	XStar []float64  // the signal x*

	y []float64 // yₖ = (aₖᵀx*)², set by NewPhaseRetrieval
}

// NewPhaseRetrieval returns a phase retrieval problem in dimension d with
// m measurements (m ≤ 0 means 10d). The signal x* is a uniformly random
// unit vector (d standard normal draws from rng, normalised) and the
// sensing vectors are then drawn from rng, row by row, with independent
// standard normal entries. It panics if d < 1.
func NewPhaseRetrieval(d, m int, rng *rand.Rand) *PhaseRetrieval {
	if d < 1 {
		panic("functions: phase retrieval needs d ≥ 1")
	}
	if m <= 0 {
		m = 10 * d
	}
	xs := make([]float64, d)
	for {
		for i := range xs {
			xs[i] = rng.NormFloat64()
		}
		if nrm := floats.Norm(xs, 2); nrm > 0 {
			floats.Scale(1/nrm, xs)
			break
		}
	}
	data := make([]float64, m*d)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	p := &PhaseRetrieval{A: mat.NewDense(m, d, data), XStar: xs}
	p.y = p.measurements()
	return p
}

// measurements returns yₖ = (aₖᵀx*)², computing them if the problem was
// built without the constructor.
func (p *PhaseRetrieval) measurements() []float64 {
	if p.y != nil {
		return p.y
	}
	y := p.project(p.XStar)
	for k, z := range y {
		y[k] = z * z
	}
	return y
}

// project returns Ax, the vector of aₖᵀx.
func (p *PhaseRetrieval) project(x []float64) []float64 {
	m, _ := p.A.Dims()
	z := make([]float64, m)
	mat.NewVecDense(m, z).MulVec(p.A, mat.NewVecDense(len(x), x))
	return z
}

// Dim returns d, the number of columns of A.
func (p *PhaseRetrieval) Dim() int {
	_, d := p.A.Dims()
	return d
}

// Measurements returns m, the number of rows of A.
func (p *PhaseRetrieval) Measurements() int {
	m, _ := p.A.Dims()
	return m
}

// Func returns f(x).
func (p *PhaseRetrieval) Func(x []float64) float64 {
	checkX(p.Dim(), x)
	y := p.measurements()
	var f float64
	for k, z := range p.project(x) {
		r := z*z - y[k]
		f += r * r
	}
	return f / (4 * float64(len(y)))
}

// Grad writes ∇f(x) = (1/m) Σₖ ((aₖᵀx)² − yₖ)(aₖᵀx)aₖ into grad.
func (p *PhaseRetrieval) Grad(grad, x []float64) {
	d := p.Dim()
	checkGrad(d, grad, x)
	y := p.measurements()
	w := p.project(x)
	m := float64(len(y))
	for k, z := range w {
		w[k] = (z*z - y[k]) * z / m
	}
	mat.NewVecDense(d, grad).MulVec(p.A.T(), mat.NewVecDense(len(w), w))
}

// Hess writes ∇²f(x) = (1/m) Σₖ (3(aₖᵀx)² − yₖ)aₖaₖᵀ into dst.
func (p *PhaseRetrieval) Hess(dst *mat.SymDense, x []float64) {
	d := p.Dim()
	checkHess(d, dst, x)
	y := p.measurements()
	m := float64(len(y))
	dst.Zero()
	for k, z := range p.project(x) {
		dst.SymRankOne(dst, (3*z*z-y[k])/m, p.A.RowView(k))
	}
}

// Min returns the global minimum value, 0.
func (*PhaseRetrieval) Min() float64 { return 0 }

// Minimizer returns the global minimizer x*; −x* is the other one.
func (p *PhaseRetrieval) Minimizer() []float64 { return append([]float64(nil), p.XStar...) }

// Start returns the standard starting point, the saddle x = 0.
func (p *PhaseRetrieval) Start() []float64 { return make([]float64, p.Dim()) }
