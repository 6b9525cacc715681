package functions

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// MatrixFactorization implements symmetric low-rank matrix factorisation
//
//	f(U) = ¼‖UUᵀ − M‖²_F,   M = U*U*ᵀ,
//
// over U ∈ ℝ^{n×r}, flattened row-major into x (x[a·r+p] = U_{ap}, so
// d = n·r). With the residual R = UUᵀ − M, the gradient is RU and the
// Hessian acts on a direction V as RV + VUᵀU + UVᵀU, that is
//
//	∂²f/∂U_{ap}∂U_{bq} = R_{ab}δ_{pq} + δ_{ab}(UᵀU)_{pq} + U_{aq}U_{bp}.
//
// Then:
//
//   - U = 0 is a strict saddle (for M ≠ 0) with f = ¼‖M‖²_F, ∇f = 0
//     exactly and Hessian −M ⊗ I_r, so λ_min = −λ_max(M) with multiplicity
//     r;
//   - the global minima are U = U*O for every r×r orthogonal O, with
//     f* = 0. For r = 1 they are the two isolated points ±u*, with Hessian
//     ‖u*‖²I + u*u*ᵀ; for r ≥ 2 they form a manifold, and (when U* has
//     full column rank) the Hessian there has exactly r(r−1)/2 zero
//     eigenvalues, along the rotations, the others being positive;
//   - every local minimum is global and every other critical point is a
//     strict saddle (Ge, Jin & Zheng 2017).
//
// Standard starting point: the saddle, U = 0.
//
// Source: Ge, Jin & Zheng, "No Spurious Local Minima in Nonconvex Low Rank
// Problems: A Unified Geometric Analysis", ICML 2017; the project's
// problem list (problem 7).
type MatrixFactorization struct {
	UStar *mat.Dense // n×r ground-truth factor U*

	m *mat.SymDense // U*U*ᵀ, set by NewMatrixFactorization
}

// NewMatrixFactorization returns the factorisation problem for an n×r
// ground truth U* of independent standard normal entries drawn from rng
// row by row. It panics unless n ≥ 1 and r ≥ 1.
func NewMatrixFactorization(n, r int, rng *rand.Rand) *MatrixFactorization {
	if n < 1 || r < 1 {
		panic("functions: matrix factorization needs n ≥ 1 and r ≥ 1")
	}
	data := make([]float64, n*r)
	for i := range data {
		data[i] = rng.NormFloat64()
	}
	p := &MatrixFactorization{UStar: mat.NewDense(n, r, data)}
	p.m = p.target()
	return p
}

// Dims returns n and r.
func (p *MatrixFactorization) Dims() (n, r int) { return p.UStar.Dims() }

// Dim returns d = n·r.
func (p *MatrixFactorization) Dim() int {
	n, r := p.UStar.Dims()
	return n * r
}

// target returns M = U*U*ᵀ, computing it if the problem was built without
// the constructor.
func (p *MatrixFactorization) target() *mat.SymDense {
	if p.m != nil {
		return p.m
	}
	n, _ := p.UStar.Dims()
	m := mat.NewSymDense(n, nil)
	m.SymOuterK(1, p.UStar)
	return m
}

// Target returns a copy of the target matrix M = U*U*ᵀ.
func (p *MatrixFactorization) Target() *mat.SymDense {
	t := p.target()
	m := mat.NewSymDense(t.SymmetricDim(), nil)
	m.CopySym(t)
	return m
}

// factor returns x viewed as the n×r matrix U.
func (p *MatrixFactorization) factor(x []float64) *mat.Dense {
	n, r := p.UStar.Dims()
	return mat.NewDense(n, r, x)
}

// residual returns R = UUᵀ − M.
func (p *MatrixFactorization) residual(u *mat.Dense) *mat.SymDense {
	m := p.target()
	res := mat.NewSymDense(m.SymmetricDim(), nil)
	res.ScaleSym(-1, m)
	res.SymRankK(res, 1, u)
	return res
}

// Func returns f(x) = ¼‖UUᵀ − M‖²_F.
func (p *MatrixFactorization) Func(x []float64) float64 {
	checkX(p.Dim(), x)
	res := p.residual(p.factor(x))
	n := res.SymmetricDim()
	var f float64
	for a := range n {
		f += res.At(a, a) * res.At(a, a)
		for b := a + 1; b < n; b++ {
			f += 2 * res.At(a, b) * res.At(a, b)
		}
	}
	return f / 4
}

// Grad writes ∇f(x) = (UUᵀ − M)U, flattened row-major, into grad.
func (p *MatrixFactorization) Grad(grad, x []float64) {
	checkGrad(p.Dim(), grad, x)
	u := p.factor(x)
	res := p.residual(u)
	n, r := u.Dims()
	mat.NewDense(n, r, grad).Mul(res, u)
}

// Hess writes ∇²f(x) into dst, indexed like x.
func (p *MatrixFactorization) Hess(dst *mat.SymDense, x []float64) {
	checkHess(p.Dim(), dst, x)
	u := p.factor(x)
	res := p.residual(u)
	n, r := u.Dims()
	var utu mat.SymDense
	utu.SymOuterK(1, u.T())
	for a := range n {
		for pp := range r {
			i := a*r + pp
			for b := a; b < n; b++ {
				q0 := 0
				if b == a {
					q0 = pp
				}
				for q := q0; q < r; q++ {
					h := u.At(a, q) * u.At(b, pp)
					if pp == q {
						h += res.At(a, b)
					}
					if a == b {
						h += utu.At(pp, q)
					}
					dst.SetSym(i, b*r+q, h)
				}
			}
		}
	}
}

// Min returns the global minimum value, 0.
func (*MatrixFactorization) Min() float64 { return 0 }

// Minimizer returns the global minimizer U*, flattened row-major; U*O is
// one too for every orthogonal O.
func (p *MatrixFactorization) Minimizer() []float64 {
	n, r := p.UStar.Dims()
	x := make([]float64, n*r)
	mat.NewDense(n, r, x).Copy(p.UStar)
	return x
}

// Start returns the standard starting point, the saddle U = 0.
func (p *MatrixFactorization) Start() []float64 { return make([]float64, p.Dim()) }
