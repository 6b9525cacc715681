package functions

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// SeparableQuartic implements the separable quartic saddle
//
//	f(x) = ½ Σᵢ aᵢxᵢ² + ¼ Σᵢ xᵢ⁴.
//
// NewSeparableQuartic(d, k) sets aᵢ = −1 on the first k coordinates and
// aᵢ = +1 on the others. Then:
//
//   - the origin is a strict saddle (for k ≥ 1) with f = 0, ∇f = 0 exactly
//     and Hessian diag(a), so λ_min = −1 with multiplicity k;
//   - the 2ᵏ global minima have xᵢ = ±1 on the k negative coordinates and
//     xᵢ = 0 elsewhere, with f* = −k/4 and Hessian diag(2, …, 2, 1, …, 1);
//   - every other point with xᵢ ∈ {0, ±1} on the negative coordinates (and
//     0 elsewhere) is a saddle.
//
// For general A, the minima have xᵢ = ±√(−aᵢ) where aᵢ < 0 and 0 elsewhere,
// and f* = −Σ_{aᵢ<0} aᵢ²/4.
//
// Standard starting point: the saddle, x = 0.
//
// Source: the project's problem list (problem 1), a standard strict-saddle
// example (Ge et al. 2015).
type SeparableQuartic struct {
	A []float64 // quadratic coefficients aᵢ; the dimension is len(A)
}

// NewSeparableQuartic returns the d-dimensional separable quartic with
// aᵢ = −1 for i < k and aᵢ = +1 otherwise. It panics unless d ≥ 1 and
// 0 ≤ k ≤ d.
func NewSeparableQuartic(d, k int) *SeparableQuartic {
	if d < 1 || k < 0 || k > d {
		panic("functions: separable quartic needs d ≥ 1 and 0 ≤ k ≤ d")
	}
	a := make([]float64, d)
	for i := range a {
		a[i] = 1
		if i < k {
			a[i] = -1
		}
	}
	return &SeparableQuartic{A: a}
}

// Dim returns len(A).
func (s *SeparableQuartic) Dim() int { return len(s.A) }

// Func returns f(x).
func (s *SeparableQuartic) Func(x []float64) float64 {
	checkX(len(s.A), x)
	var f float64
	for i, a := range s.A {
		x2 := x[i] * x[i]
		f += 0.5*a*x2 + 0.25*x2*x2
	}
	return f
}

// Grad writes ∇f(x)ᵢ = aᵢxᵢ + xᵢ³ into grad.
func (s *SeparableQuartic) Grad(grad, x []float64) {
	checkGrad(len(s.A), grad, x)
	for i, a := range s.A {
		grad[i] = a*x[i] + x[i]*x[i]*x[i]
	}
}

// Hess writes ∇²f(x) = diag(aᵢ + 3xᵢ²) into dst.
func (s *SeparableQuartic) Hess(dst *mat.SymDense, x []float64) {
	checkHess(len(s.A), dst, x)
	dst.Zero()
	for i, a := range s.A {
		dst.SetSym(i, i, a+3*x[i]*x[i])
	}
}

// Min returns the global minimum value f* = −Σ_{aᵢ<0} aᵢ²/4 (−k/4 for
// NewSeparableQuartic(d, k)).
func (s *SeparableQuartic) Min() float64 {
	var f float64
	for _, a := range s.A {
		if a < 0 {
			f -= a * a / 4
		}
	}
	return f
}

// Minimizer returns the global minimizer with xᵢ = +√(−aᵢ) where aᵢ < 0
// and xᵢ = 0 elsewhere. Flipping the sign of any of its non-zero
// coordinates gives the other minimizers.
func (s *SeparableQuartic) Minimizer() []float64 {
	x := make([]float64, len(s.A))
	for i, a := range s.A {
		if a < 0 {
			x[i] = math.Sqrt(-a)
		}
	}
	return x
}

// Start returns the standard starting point, the saddle x = 0.
func (s *SeparableQuartic) Start() []float64 { return make([]float64, len(s.A)) }

// RotatedQuartic implements the rotated quartic saddle
//
//	f(x) = g(Qx),
//
// where g is the separable quartic Base and Q is orthogonal. Its gradient
// is Qᵀ∇g(Qx) and its Hessian Qᵀ∇²g(Qx)Q, so it has the same critical
// values and curvatures as Base, with the critical points rotated by Qᵀ:
//
//   - the origin is a strict saddle with f = 0, ∇f = 0 exactly and
//     λ_min = −1 (multiplicity k), the negative-curvature directions being
//     the first k rows of Q;
//   - the global minima are Qᵀz for the minima z of Base, with f* = −k/4.
//
// Coordinate searches that rely on the saddle's directions being aligned
// with the axes (Powell, coordinate descent) stall at the origin here.
//
// Standard starting point: the saddle, x = 0.
//
// Source: the project's problem list (problem 2).
type RotatedQuartic struct {
	Base *SeparableQuartic
	Q    *mat.Dense // d×d orthogonal
}

// NewRotatedQuartic returns the rotated version of NewSeparableQuartic(d, k)
// with a Q drawn uniformly from the orthogonal group using rng: the Q
// factor, with sign correction, of a d×d matrix of standard normal entries
// drawn from rng row by row.
func NewRotatedQuartic(d, k int, rng *rand.Rand) *RotatedQuartic {
	base := NewSeparableQuartic(d, k)
	return &RotatedQuartic{Base: base, Q: randomOrthogonal(d, rng)}
}

// Dim returns the dimension.
func (r *RotatedQuartic) Dim() int { return r.Base.Dim() }

// Func returns f(x) = g(Qx).
func (r *RotatedQuartic) Func(x []float64) float64 {
	checkX(r.Dim(), x)
	return r.Base.Func(mulQ(r.Q, x))
}

// Grad writes ∇f(x) = Qᵀ∇g(Qx) into grad.
func (r *RotatedQuartic) Grad(grad, x []float64) {
	checkGrad(r.Dim(), grad, x)
	z := mulQ(r.Q, x)
	gz := make([]float64, len(z))
	r.Base.Grad(gz, z)
	mulQT(grad, r.Q, gz)
}

// Hess writes ∇²f(x) = Qᵀ∇²g(Qx)Q into dst.
func (r *RotatedQuartic) Hess(dst *mat.SymDense, x []float64) {
	d := r.Dim()
	checkHess(d, dst, x)
	z := mulQ(r.Q, x)
	s := make([]float64, d)
	for i, a := range r.Base.A {
		s[i] = a + 3*z[i]*z[i]
	}
	congruence(dst, r.Q, s)
}

// Min returns the global minimum value f*, that of Base.
func (r *RotatedQuartic) Min() float64 { return r.Base.Min() }

// Minimizer returns the global minimizer Qᵀz, where z = Base.Minimizer().
func (r *RotatedQuartic) Minimizer() []float64 {
	x := make([]float64, r.Dim())
	mulQT(x, r.Q, r.Base.Minimizer())
	return x
}

// Start returns the standard starting point, the saddle x = 0.
func (r *RotatedQuartic) Start() []float64 { return make([]float64, r.Dim()) }

// IsotropicQuartic implements
//
//	f(x) = ½ xᵀHx + (ρ/4)‖x‖⁴
//
// with H symmetric and ρ > 0. Its critical points are 0 and the vectors
// x = ±√(−λ/ρ)·u for each eigenpair (λ, u) of H with λ < 0, where
// f = −λ²/(4ρ). Since f(x) ≥ ½λ_min‖x‖² + (ρ/4)‖x‖⁴ ≥ −λ_min²/(4ρ), when
// λ_min < 0:
//
//   - the global minima are ±√(−λ_min/ρ)·u_min, with f* = −λ_min²/(4ρ) and
//     Hessian H − λ_min·I + 2ρxxᵀ (positive definite if λ_min is simple);
//   - the origin is a strict saddle with f = 0, ∇f = 0 exactly and
//     Hessian H, so λ_min(∇²f(0)) = λ_min(H);
//   - the critical points on other negative eigenvalues are saddles.
//
// When H is positive semi-definite, the origin is the global minimum, f* = 0.
//
// Standard starting point: the saddle, x = 0.
//
// Source: the project's problem list (problem 3).
type IsotropicQuartic struct {
	H   *mat.SymDense
	Rho float64

	// Set by NewIsotropicQuartic, which knows the spectrum; otherwise
	// Min and Minimizer compute it from H.
	lmin float64
	umin []float64
}

// NewIsotropicQuartic returns an isotropic quartic in dimension d whose H
// has the eigenvalue lambdaMin once and d−1 eigenvalues spread evenly over
// [1, 2], in eigenvectors drawn uniformly from the orthogonal group using
// rng: H = Qᵀ diag(λ) Q. The origin is then a strict saddle with a single
// negative-curvature direction and the two minima are ±√(−lambdaMin/ρ)·u
// with f* = −lambdaMin²/(4ρ). It panics unless d ≥ 1, lambdaMin < 0 and
// rho > 0.
func NewIsotropicQuartic(d int, lambdaMin, rho float64, rng *rand.Rand) *IsotropicQuartic {
	if d < 1 || !(lambdaMin < 0) || !(rho > 0) {
		panic("functions: isotropic quartic needs d ≥ 1, lambdaMin < 0 and rho > 0")
	}
	q := randomOrthogonal(d, rng)
	lambda := make([]float64, d)
	lambda[0] = lambdaMin
	for i := 1; i < d; i++ {
		lambda[i] = 1
		if d > 2 {
			lambda[i] += float64(i-1) / float64(d-2)
		}
	}
	h := mat.NewSymDense(d, nil)
	congruence(h, q, lambda)
	// The eigenvector of lambdaMin is the first row of Q.
	u := mat.Row(nil, 0, q)
	return &IsotropicQuartic{H: h, Rho: rho, lmin: lambdaMin, umin: signed(u)}
}

// Dim returns the dimension of H.
func (q *IsotropicQuartic) Dim() int { return q.H.SymmetricDim() }

// Func returns f(x).
func (q *IsotropicQuartic) Func(x []float64) float64 {
	checkX(q.Dim(), x)
	v := mat.NewVecDense(len(x), x)
	r2 := mat.Dot(v, v)
	return 0.5*mat.Inner(v, q.H, v) + 0.25*q.Rho*r2*r2
}

// Grad writes ∇f(x) = Hx + ρ‖x‖²x into grad.
func (q *IsotropicQuartic) Grad(grad, x []float64) {
	checkGrad(q.Dim(), grad, x)
	v := mat.NewVecDense(len(x), x)
	r2 := mat.Dot(v, v)
	g := mat.NewVecDense(len(grad), grad)
	g.MulVec(q.H, v)
	g.AddScaledVec(g, q.Rho*r2, v)
}

// Hess writes ∇²f(x) = H + ρ‖x‖²I + 2ρxxᵀ into dst.
func (q *IsotropicQuartic) Hess(dst *mat.SymDense, x []float64) {
	d := q.Dim()
	checkHess(d, dst, x)
	v := mat.NewVecDense(len(x), x)
	r2 := mat.Dot(v, v)
	dst.CopySym(q.H)
	dst.SymRankOne(dst, 2*q.Rho, v)
	for i := range d {
		dst.SetSym(i, i, dst.At(i, i)+q.Rho*r2)
	}
}

// eigMin returns the smallest eigenvalue of H and a unit eigenvector for
// it, signed so that its largest-magnitude entry is positive.
func (q *IsotropicQuartic) eigMin() (float64, []float64) {
	if q.umin != nil {
		return q.lmin, append([]float64(nil), q.umin...)
	}
	var eig mat.EigenSym
	if !eig.Factorize(q.H, true) {
		panic("functions: eigendecomposition failed")
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	return eig.Values(nil)[0], signed(mat.Col(nil, 0, &vecs))
}

// signed flips u, in place, so that its largest-magnitude entry is
// positive, and returns it.
func signed(u []float64) []float64 {
	var big float64
	for _, ui := range u {
		if math.Abs(ui) > math.Abs(big) {
			big = ui
		}
	}
	if big < 0 {
		for i := range u {
			u[i] = -u[i]
		}
	}
	return u
}

// Min returns the global minimum value: −λ_min(H)²/(4ρ) if λ_min(H) < 0,
// else 0.
func (q *IsotropicQuartic) Min() float64 {
	l, _ := q.eigMin()
	if l >= 0 {
		return 0
	}
	return -l * l / (4 * q.Rho)
}

// Minimizer returns a global minimizer: √(−λ_min/ρ)·u_min, with u_min the
// unit eigenvector of λ_min(H) signed so that its largest-magnitude entry
// is positive (its negative is the other minimizer), or 0 if H is positive
// semi-definite.
func (q *IsotropicQuartic) Minimizer() []float64 {
	l, u := q.eigMin()
	if l >= 0 {
		return make([]float64, q.Dim())
	}
	s := math.Sqrt(-l / q.Rho)
	for i := range u {
		u[i] *= s
	}
	return u
}

// Start returns the standard starting point, the saddle x = 0.
func (q *IsotropicQuartic) Start() []float64 { return make([]float64, q.Dim()) }
